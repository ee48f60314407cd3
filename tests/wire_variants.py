"""Wire variants: other JSON forms of a reply that a client must read as the same values.

The forms come from what clients of the real service record (the reference notes' "Types
seen as other than ours", ``docs/service-notes.md``): integers as text or as floats,
booleans as numbers or text, timestamps in other ISO-8601 spellings, unknown keys, and
nulls left out. Which form a value may take follows its GraphQL type in the schema the
emulator serves, not the models: a model that misreads a type cannot bless its own mistake.

:func:`variants` is a hypothesis strategy of variants of one canonical value (e.g. a
``Charger(...).status()``); :func:`charger_states` gives emulator chargers in varied states.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, Final

from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    get_nullable_type,
)
from hypothesis import strategies as st

from andersen_ev.graphql import schema_sdl
from andersen_ev.testing import Charger
from andersen_ev.testing.state import StatusHub
from tests.fuzz_support import json_values

#: Keys no model reads, added to objects: a newer service may send anything.
UNKNOWN_KEYS: Final = st.sampled_from(["brandNewField", "sysFutureThing", "x", "__typename"])
_ONE_HOUR_EAST: Final = timezone(timedelta(hours=1))


@cache
def schema() -> GraphQLSchema:
    """The schema the emulator serves (and the client's documents are checked against)."""
    return build_schema(schema_sdl())


def object_type(name: str) -> GraphQLObjectType:
    """A type of the schema, e.g. ``DeviceStatus``."""
    found = schema().get_type(name)
    assert isinstance(found, GraphQLObjectType), name
    return found


def int_forms(value: int) -> list[object]:
    """An Int as sent, as text (padded too), as a float and as a float's text."""
    return [value, str(value), f" {value}\t", float(value), f"{float(value)}"]


def float_forms(value: float) -> list[object]:
    """A Float as sent, as text (padded too), as an int when whole, in exponent form."""
    forms: list[object] = [value, repr(value), f" {value!r} ", f"{value:.17e}"]
    if value.is_integer():
        forms.append(int(value))
    return forms


def bool_forms(value: bool) -> list[object]:
    """A Boolean as sent, as 0/1 (int, float, text) and as text in three cases."""
    word = str(value)
    return [value, int(value), float(value), str(int(value)), word.lower(), word, word.upper()]


def date_forms(value: str) -> list[object]:
    """A Date (ISO-8601 text) as sent, with ``+00:00``, with fractions, at another offset."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return [value]
    utc = moment.astimezone(UTC)
    forms: list[object] = [
        value,
        utc.isoformat(),
        utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        moment.astimezone(_ONE_HOUR_EAST).isoformat(),
    ]
    if utc.microsecond == 0:
        forms.append(int(utc.timestamp()))  # seconds since the epoch
    return forms


SCALAR_FORMS: Final[dict[str, Callable[[Any], list[object]]]] = {
    "Int": int_forms,
    "Float": float_forms,
    "Boolean": bool_forms,
    "Date": date_forms,
}


def variants(value: Any, kind: GraphQLOutputType) -> st.SearchStrategy[Any]:
    """Wire variants of ``value``, a canonical JSON value of GraphQL type ``kind``.

    Each leaf draws one of its forms by index, so that no strategy holds (and hypothesis
    never prints) the whole value.
    """

    @st.composite
    def wire_variant(draw: st.DrawFn) -> Any:
        return _variant(draw, value, kind)

    return wire_variant()


def _variant(draw: st.DrawFn, value: Any, kind: GraphQLOutputType) -> Any:
    if value is None:
        return None
    nullable = get_nullable_type(kind)
    if isinstance(nullable, GraphQLList):
        return [_variant(draw, item, nullable.of_type) for item in value]
    named = get_named_type(nullable)
    if isinstance(named, GraphQLObjectType):
        return _object_variant(draw, value, named)
    forms = SCALAR_FORMS.get(named.name)
    if forms is None or isinstance(value, bool) != (named.name == "Boolean"):
        return value  # String, ID, JSON: read as sent
    if named.name == "Float" and isinstance(value, int):
        value = float(value)
    choices = forms(value)
    return choices[draw(st.integers(0, len(choices) - 1))]


def _object_variant(draw: st.DrawFn, value: dict[str, Any], kind: GraphQLObjectType) -> Any:
    """Each field varied, nulls maybe left out, unknown keys maybe added."""
    varied: dict[str, Any] = {}
    for key, item in value.items():
        if item is None and draw(st.booleans()):
            continue  # a null may as well be missing
        field = kind.fields.get(key)
        varied[key] = item if field is None else _variant(draw, item, field.type)
    extra = draw(st.dictionaries(UNKNOWN_KEYS, json_values, max_size=2))
    return varied | {key: item for key, item in extra.items() if key not in kind.fields}


def new_charger(number: int = 0) -> Charger:
    """An emulated charger outside any cloud (its status is what the cloud would serve)."""
    return Charger(
        device_id=f"dev-{number}",
        friendly_name=f"Charger {number}",
        device_name=f"A2-{number:04d}",
        hub=StatusHub(),
    )


def _act(charger: Charger, action: tuple[str, Any]) -> None:
    name, argument = action
    if name == "plug_in" and charger.car is None:
        charger.plug_in(energy_wanted_kwh=argument, max_power_kw=7.2)
    elif name == "unplug":
        charger.unplug()
    elif name == "advance":
        charger.advance(argument)
    elif name == "lock":
        (charger.user_lock if argument else charger.user_unlock)()
    elif name == "fault":
        charger.set_error(argument)
    elif name == "sleep":
        charger.set_sleeping(argument)
    elif name == "online":
        charger.set_online(argument)
    elif name == "schedule":
        start, end = argument
        slot = {"startHour": start, "startMinute": 30, "endHour": end, "endMinute": 0}
        days = dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday"), True)
        charger.set_schedules({"sch2": slot | {"enabled": True, "dayMap": days}})
    elif name == "solar":
        charger.set(sysSolarPower=argument)


_ACTIONS: Final = st.one_of(
    st.tuples(st.just("plug_in"), st.none() | st.floats(0.5, 60)),
    st.tuples(st.just("unplug"), st.none()),
    st.tuples(st.just("advance"), st.floats(0, 4 * 3600)),
    st.tuples(st.just("lock"), st.booleans()),
    st.tuples(st.just("fault"), st.sampled_from([0, 0, 1, 7])),
    st.tuples(st.just("sleep"), st.booleans()),
    st.tuples(st.just("online"), st.booleans()),
    st.tuples(st.just("schedule"), st.tuples(st.integers(0, 23), st.integers(0, 23))),
    st.tuples(st.just("solar"), st.floats(0, 6)),
)


@st.composite
def charger_states(draw: st.DrawFn) -> Charger:
    """An emulated charger after a few random steps: a car, time, locks, faults, schedules."""
    charger = new_charger()
    for action in draw(st.lists(_ACTIONS, max_size=6)):
        _act(charger, action)
    return charger
