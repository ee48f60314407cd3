"""The operation table: every GraphQL operation the library sends, and the one typed call path.

Each :class:`Operation` says, for one ``.graphql`` document of :mod:`andersen_ev.graphql`,
where its result sits in the reply (the root field first), the type that result becomes,
and whether it is a mutation (sent at most once). :func:`call` is the only way queries and
commands reach the service: it sends the operation through
:class:`~andersen_ev.http.GraphQLHttp` and turns the reply into that type, or into

* :class:`~andersen_ev.exceptions.DeviceNotFoundError` when a ``getDevice``-rooted reply
  has no device (the service answers null for an id that is not in the account);
* :class:`~andersen_ev.exceptions.ResponseError` naming the path of anything that does not
  fit (``getDevice.deviceStatus.evseState``).

Nulls are part of each result type: an optional result is ``T | None``; a list may be
null or hold nulls, which are left out (:func:`items`); an object the service may leave
out is read as empty (:func:`or_empty`).

Replies are first validated straight from their JSON text against an adapter of the whole
envelope (``{"data": {"getDevice": {"deviceStatus": ...}}}``), which skips building
dicts; a reply that does not fit takes the slow path, whose checks say what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Final, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    create_model,
)

from andersen_ev.exceptions import DeviceNotFoundError, ResponseError
from andersen_ev.http import GraphQLHttp, GraphQLResult
from andersen_ev.models import (
    Address,
    ChargeLog,
    ChargeRate,
    CommandResult,
    Device,
    DeviceInfo,
    DeviceStatus,
    JsonValue,
    SolarSettings,
)

__all__ = ["OPERATIONS", "Operation", "Result", "call", "items", "optional", "or_empty", "single"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
V = TypeVar("V")

#: The root field of the queries about one device; null there means "no such device".
DEVICE_ROOT: Final = "getDevice"
_ENVELOPE_CONFIG: Final = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True, eq=False)
class Result(Generic[T]):
    """How one value of a reply becomes a ``T``: its pydantic type and that type's adapter.

    Build one with :func:`single`, :func:`optional`, :func:`items` or :func:`or_empty`.
    """

    annotation: Any

    @cached_property
    def adapter(self) -> TypeAdapter[T]:
        """Built on first use: building adapters at import would build every model then."""
        adapter: TypeAdapter[T] = TypeAdapter(self.annotation)
        return adapter


def single(model: type[M]) -> Result[M]:
    """Exactly one ``model``: a null is an error."""
    result: Result[M] = Result(model)
    return result


def optional(kind: type[V]) -> Result[V | None]:
    """A ``kind`` or None (the service answers null)."""
    result: Result[V | None] = Result(kind | None)
    return result


def items(model: type[M]) -> Result[list[M]]:
    """A list of ``model``: a null list is empty and null items are left out.

    Items are validated before nulls are dropped, so an error names the reply's index.
    """
    annotation: Any = Annotated[
        list[model | None],  # type: ignore[valid-type]
        BeforeValidator(_empty_list_if_null),
        AfterValidator(_without_nulls),
    ]
    result: Result[list[M]] = Result(annotation)
    return result


def or_empty(model: type[M]) -> Result[M]:
    """A ``model``, empty (all fields unset) when the service answers null."""
    result: Result[M] = Result(Annotated[model, BeforeValidator(_empty_object_if_null)])
    return result


def _empty_list_if_null(value: object) -> object:
    return [] if value is None else value


def _without_nulls(values: list[Any]) -> list[Any]:
    return [value for value in values if value is not None]


def _empty_object_if_null(value: object) -> object:
    return {} if value is None else value


OPTIONAL_TEXT: Final = optional(str)
OPTIONAL_FLAG: Final = optional(bool)
JSON: Final[Result[JsonValue]] = Result(JsonValue)


@dataclass(frozen=True, eq=False)
class Operation(Generic[T]):
    """One GraphQL operation the library sends, and how its reply becomes a ``T``.

    Attributes:
        name: The operation name, which is also its document's
            (``andersen_ev/graphql/operations/<name>.graphql``).
        path: The keys from the reply's ``data`` to the result, the root field first.
        result: What the value found there (null included) becomes.
        mutation: True for a mutation: sent at most once, never retried once it may
            have reached the service.
        if_null: When set, a null result is a :class:`ResponseError` saying this.
    """

    name: str
    path: tuple[str, ...]
    result: Result[T]
    mutation: bool = False
    if_null: str | None = None

    @property
    def where(self) -> str:
        """The path as users see it in errors: ``getDevice.deviceStatus``."""
        return ".".join(self.path)

    @cached_property
    def envelope(self) -> TypeAdapter[Any]:
        """An adapter validating a whole successful reply from its JSON text (the fast path)."""
        inner: Any = self.result.annotation
        for key in reversed(("data", *self.path)):
            fields: dict[str, Any] = {key: (inner, ...)}
            inner = create_model(f"_Reply_{key}", __config__=_ENVELOPE_CONFIG, **fields)
        return TypeAdapter(inner)

    def read(self, reply: GraphQLResult, variables: Mapping[str, object]) -> T:
        """The typed result of a successful reply to this operation.

        Raises:
            DeviceNotFoundError: a ``getDevice`` reply without the device.
            ResponseError: the reply does not fit; ``path`` says where.
        """
        fast = reply.validate(self.envelope)
        if fast is not None:  # the common case: validated straight from the JSON text
            value: Any = fast.data
            for key in self.path:
                value = getattr(value, key)
            result: T = value
            return result
        found = self._locate(reply.data, variables)
        if found is None and self.if_null is not None:
            raise ResponseError(
                f"{self.name}: {self.if_null}", operation=self.name, path=self.where
            )
        try:
            return self.result.adapter.validate_python(found)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join([self.where, *(str(part) for part in error["loc"])])
            raise ResponseError(
                f"{self.name}: unexpected value at {where}: {error['msg']}",
                operation=self.name,
                path=where,
            ) from None

    def _locate(self, data: dict[str, Any], variables: Mapping[str, object]) -> object:
        """The value at :attr:`path`, None when a parent is null; the device must exist."""
        value: object = data
        for depth, key in enumerate(self.path):
            if value is None:
                return None  # a null parent: the result is null too
            if not isinstance(value, dict):
                raise self._not_an_object(depth)
            value = value.get(key)
            if depth == 0 and key == DEVICE_ROOT:
                if value is None:
                    raise DeviceNotFoundError(
                        f"{self.name}: no device {variables.get('id')!r} in this account"
                        " (check the id with get_current_user_devices())",
                        operation=self.name,
                        errors=[],
                    )
                if not isinstance(value, dict):
                    raise self._not_an_object(1)
        return value

    def _not_an_object(self, depth: int) -> ResponseError:
        where = ".".join(self.path[:depth])
        return ResponseError(
            f"{self.name}: {where} is not an object", operation=self.name, path=where
        )


#: Every operation of the table, by name (the subscription ``deviceStatusUpdated`` is the
#: stream's: :mod:`andersen_ev.stream`).
OPERATIONS: Final[dict[str, Operation[Any]]] = {}


def _entry(
    name: str,
    path: str,
    result: Result[T],
    *,
    mutation: bool = False,
    if_null: str | None = None,
) -> Operation[T]:
    """Add an operation to the table; ``path`` is dotted, from the root field."""
    operation = Operation(name, tuple(path.split(".")), result, mutation, if_null)
    OPERATIONS[name] = operation
    return operation


async def call(
    graphql: GraphQLHttp,
    operation: Operation[T],
    variables: Mapping[str, object] | None = None,
    *,
    timeout: float | None = None,
) -> T:
    """Send one operation of the table and return its typed result.

    Every query and command of :class:`~andersen_ev.AndersenA2` goes through here.

    Raises:
        DeviceNotFoundError: no such device in this account.
        ResponseError: the reply does not fit the result type; ``path`` says where.
        AndersenError: whatever :meth:`~andersen_ev.http.GraphQLHttp.execute` raises.
    """
    sent = dict(variables or {})
    reply = await graphql.execute(
        operation.name, sent, mutation=operation.mutation, timeout=timeout
    )
    return operation.read(reply, sent)


_NO_STATUS: Final = "the device has no status"
_COMMAND: Final = optional(CommandResult)

# -- queries ----------------------------------------------------------------------------------
GET_SUPPORT_MESSAGE: Final = _entry("getSupportMessage", "getSupportMessage", OPTIONAL_TEXT)
GET_CURRENT_USER_DEVICES: Final = _entry(
    "getCurrentUserDevices", "getCurrentUserDevices", items(Device)
)
GET_DEVICE: Final = _entry("getDevice", "getDevice", single(Device))
GET_DEVICE_STATUS: Final = _entry(
    "getDeviceStatus", "getDevice.deviceStatus", single(DeviceStatus), if_null=_NO_STATUS
)
GET_DEVICE_STATUS_SIMPLE: Final = _entry(
    "getDeviceStatusSimple", "getDevice.deviceStatus", single(DeviceStatus), if_null=_NO_STATUS
)
GET_DEVICE_CHARGE_RATES: Final = _entry(
    "getDeviceChargeRates", "getDevice.deviceChargeRates", items(ChargeRate)
)
GET_DEVICE_LORA: Final = _entry("getDeviceLora", "getDevice.deviceInfo.loraDevices", JSON)
GET_DEVICE_SOLAR: Final = _entry("getDeviceSolar", "getDevice.deviceInfo", or_empty(DeviceInfo))
GET_CALCULATED_POWER_LOGS_BINNED: Final = _entry(
    "getCalculatedPowerLogsBinned", "getDevice.deviceCalculatedPowerLogsBinned", JSON
)
GET_DEVICE_CALCULATED_CHARGE_LOGS: Final = _entry(
    "getDeviceCalculatedChargeLogs", "getDevice.deviceCalculatedChargeLogs", items(ChargeLog)
)
SEARCH_ADDRESS: Final = _entry("searchAddress", "searchAddress", items(Address))
GET_SOLAR: Final = _entry("getSolar", "getSolar", optional(SolarSettings))

# -- mutations --------------------------------------------------------------------------------
RUN_AEV_COMMAND: Final = _entry("runAEVCommand", "runAEVCommand", _COMMAND, mutation=True)
SET_SCHEDULES: Final = _entry("setSchedules", "setSchedules", _COMMAND, mutation=True)
SET_ALL_SCHEDULES_DISABLED: Final = _entry(
    "setAllSchedulesDisabled", "setAllSchedulesDisabled", _COMMAND, mutation=True
)
SET_SOLAR: Final = _entry("setSolar", "setSolar", _COMMAND, mutation=True)
UPSERT_DEVICE_FRIENDLY_NAME: Final = _entry(
    "upsertDeviceFriendlyName", "upsertDeviceInfo", optional(DeviceInfo), mutation=True
)
SET_SCHEDULE_NAMES: Final = _entry(
    "setScheduleNames", "upsertDeviceInfo", or_empty(DeviceInfo), mutation=True
)
CREATE_CHARGE_RATE: Final = _entry(
    "createChargeRate", "createChargeRate", single(ChargeRate), mutation=True
)
UPDATE_CHARGE_RATE: Final = _entry(
    "updateChargeRate", "updateChargeRate", OPTIONAL_FLAG, mutation=True
)
DELETE_CHARGE_RATE: Final = _entry(
    "deleteChargeRate", "deleteChargeRate", OPTIONAL_FLAG, mutation=True
)
CLAIM_DEVICE_BY_NAME: Final = _entry(
    "claimDeviceByName", "claimDeviceByName", optional(Device), mutation=True
)
UNCLAIM_DEVICE: Final = _entry("unclaimDevice", "unclaimDevice", OPTIONAL_FLAG, mutation=True)
UPSERT_ACCOUNT: Final = _entry("upsertAccount", "upsertAccount", OPTIONAL_FLAG, mutation=True)
REGISTER_MOBILE_DEVICE: Final = _entry(
    "registerMobileDevice", "registerMobileDevice", OPTIONAL_FLAG, mutation=True
)
UNREGISTER_MOBILE_DEVICE: Final = _entry(
    "unregisterMobileDevice", "unregisterMobileDevice", OPTIONAL_FLAG, mutation=True
)
