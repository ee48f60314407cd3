"""The base of every model read from the service: names, tolerance, units and redaction."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.models.values import PERSONAL, Unit

__all__ = ["LazyAdapter", "WireModel"]

T = TypeVar("T")

#: What :meth:`WireModel.redacted` leaves out: ``{field: True | nested}`` for ``exclude=``.
_Exclude = dict[str, Any]


def _load_pydantic_plugins() -> None:
    """Have pydantic look for its plugins now, at import, not on the event loop.

    pydantic reads every installed distribution's metadata (file system calls) when it
    builds its first validator. The models build on first use, which is often in a
    coroutine: a one-validator adapter built here does that search off the loop, once.
    """
    TypeAdapter(bool)


_load_pydantic_plugins()


class WireModel(BaseModel):
    """Base of every model read from the service: camelCase aliases, unknown fields ignored.

    Attribute names are snake_case; the camelCase wire names are accepted as well and
    written with ``model_dump(by_alias=True)``. Every model also says which of its fields
    are measured in which unit (:attr:`UNITS`, :meth:`unit_of`) and which hold personal
    data (:attr:`TO_REDACT`, :meth:`redacted`).
    """

    # populate_by_name, not pydantic 2.11's validate_by_name: the models must work on
    # pydantic 2.10, which Home Assistant 2025.4 pins. defer_build: a model's validator is
    # built when it first validates, not at import. (Written out here, not shared as a
    # constant, so that pydantic's mypy plugin sees frozen and populate_by_name.)
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        defer_build=True,
    )

    UNITS: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """Units by attribute name (``{"charge_power": "kW", ...}``), derived properties included."""
    TO_REDACT: ClassVar[frozenset[str]] = frozenset()
    """Attribute names of the fields that hold personal data (leave them out of reports)."""
    DERIVED_UNITS: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """Units of a model's derived properties (set by the models that have some)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Collect :attr:`UNITS` and :attr:`TO_REDACT` from the fields' annotations."""
        super().__pydantic_init_subclass__(**kwargs)
        units = {
            name: marker.symbol
            for name, field in cls.model_fields.items()
            for marker in field.metadata
            if isinstance(marker, Unit)
        }
        cls.UNITS = MappingProxyType(units | dict(cls.DERIVED_UNITS))
        cls.TO_REDACT = frozenset(
            name for name, field in cls.model_fields.items() if PERSONAL in field.metadata
        )

    def __repr_args__(self) -> Any:
        # the API returns dozens of optional fields: show only those that are set
        return [(name, value) for name, value in super().__repr_args__() if value is not None]

    @classmethod
    def unit_of(cls, name: str) -> str | None:
        """The unit of a field or derived property (``"kW"``), or None for a unitless one.

        ``name`` is an attribute name (``charge_power``), a wire name (``chargePower``), or
        a dotted path into nested models (``charge_status.charge_power``).

        Raises:
            InvalidInputError: the model has no such field or property.
        """
        model: type[WireModel] | None = cls
        *parents, last = name.split(".") if isinstance(name, str) else [name]
        for part in parents:
            model = model._nested(part) if model is not None else None
        attribute = model._attribute(last) if model is not None else None
        if model is None or attribute is None:
            raise InvalidInputError(
                f"{cls.__name__} has no field {name!r}: give an attribute name"
                " (charge_power), a wire name (chargePower) or a dotted path"
                " (charge_status.charge_power)"
            )
        return model.UNITS.get(attribute)

    def redacted(self, *, by_alias: bool = True) -> dict[str, Any]:
        """This model as JSON-ready data without the fields that hold personal data.

        Fields in :attr:`TO_REDACT`, here and in nested models, are left out (not blanked),
        so neither their names nor their values appear in a report.
        """
        return self.model_dump(mode="json", by_alias=by_alias, exclude=_exclusions(type(self)))

    @classmethod
    def wire_name(cls, attribute: str) -> str:
        """The name a field has on the wire (``sys_ssid`` -> ``sysSSID``).

        Works before the model is built (pydantic before 2.11 sets generated aliases only
        then), so it does not force a build.
        """
        alias = cls.model_fields[attribute].alias
        if alias:
            return alias
        generator = cls.model_config.get("alias_generator")
        return generator(attribute) if callable(generator) else attribute

    @classmethod
    def _attribute(cls, name: object) -> str | None:
        """The attribute name for an attribute (or property) or wire name, else None."""
        if not isinstance(name, str):
            return None
        if name in cls.model_fields or isinstance(getattr(cls, name, None), property):
            return name
        return next((a for a in cls.model_fields if cls.wire_name(a) == name), None)

    @classmethod
    def _nested(cls, name: str) -> type[WireModel] | None:
        """The model a field holds (through ``| None`` and tuples), else None."""
        field = cls.model_fields.get(cls._attribute(name) or "")
        return _model_in(field.annotation) if field is not None else None


def _model_in(annotation: object) -> type[WireModel] | None:
    """The :class:`WireModel` an annotation holds (``X``, ``X | None``, ``tuple[X, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, WireModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


@cache
def _exclusions(model: type[WireModel]) -> _Exclude:
    """``exclude=`` leaving out ``model``'s personal fields and its nested models' ones."""
    excluded: _Exclude = dict.fromkeys(model.TO_REDACT, True)
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if name in excluded or nested is None:
            continue
        inner = _exclusions(nested)
        if inner:
            excluded[name] = {"__all__": inner} if _holds_tuple(field.annotation) else inner
    return excluded


def _holds_tuple(annotation: object) -> bool:
    """Whether a field holds a tuple of models (``tuple[X | None, ...] | None``)."""
    return any(get_origin(arg) is tuple for arg in (annotation, *get_args(annotation)))


class LazyAdapter(Generic[T]):
    """A pydantic ``TypeAdapter`` of ``annotation``, built when it first validates.

    A module-level ``TypeAdapter`` builds its validator (and every model it holds) at
    import; this one waits until it is used, so that importing the library stays cheap.
    It works the same on every pydantic version the library supports (2.10 has no
    ``defer_build`` for adapters).
    """

    __slots__ = ("_adapter", "_annotation")

    def __init__(self, annotation: Any) -> None:
        """Adapt ``annotation`` (any type pydantic accepts); nothing is built yet."""
        self._annotation = annotation
        self._adapter: TypeAdapter[T] | None = None

    @property
    def adapter(self) -> TypeAdapter[T]:
        """The ``TypeAdapter`` itself, built on first access."""
        if self._adapter is None:
            self._adapter = TypeAdapter(self._annotation)
        return self._adapter

    def validate_python(self, value: object) -> T:
        """``TypeAdapter.validate_python``: raises pydantic's ``ValidationError``."""
        return self.adapter.validate_python(value)

    def validate_json(self, data: str | bytes | bytearray) -> T:
        """``TypeAdapter.validate_json``: raises pydantic's ``ValidationError``."""
        return self.adapter.validate_json(data)
