"""Hypothesis over the emulator's wire-variant generator, and emulated chargers in varied states.

The forms themselves live in one place, the emulator's
:mod:`andersen_ev.testing.wire_variants` (``forms``, ``vary_typed``; its ``vary`` is the
one form the emulator sends in its wire-variant mode). Here hypothesis makes each choice,
so that the models meet every form, not only the emulator's habitual one. Which form a
value may take follows its GraphQL type in the schema the emulator serves, not the models:
a model that misreads a type cannot bless its own mistake.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from graphql import GraphQLObjectType, GraphQLOutputType, GraphQLSchema, build_schema
from hypothesis import strategies as st

from andersen_ev.graphql import schema_sdl
from andersen_ev.testing import Charger
from andersen_ev.testing.state import StatusHub
from andersen_ev.testing.wire_variants import vary_typed


@cache
def schema() -> GraphQLSchema:
    """The schema the emulator serves (and the client's documents are checked against)."""
    return build_schema(schema_sdl())


def object_type(name: str) -> GraphQLObjectType:
    """A type of the schema, e.g. ``DeviceStatus``."""
    found = schema().get_type(name)
    assert isinstance(found, GraphQLObjectType), name
    return found


def variants(value: Any, kind: GraphQLOutputType) -> st.SearchStrategy[Any]:
    """Wire variants of ``value``, a canonical JSON value of GraphQL type ``kind``.

    Each choice is drawn by index, so that no strategy holds (and hypothesis never prints)
    the whole value.
    """

    @st.composite
    def wire_variant(draw: st.DrawFn) -> Any:
        return vary_typed(
            value, kind, lambda options: options[draw(st.integers(0, len(options) - 1))]
        )

    return wire_variant()


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
