"""The short path for plain leaf fields answers exactly what graphql-core's own path does."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
from graphql import (
    ExecutionResult,
    GraphQLSchema,
    OperationType,
    build_schema,
    execute,
    parse,
    subscribe,
)

from andersen_ev.graphql import OPERATION_NAMES, operation_document
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from andersen_ev.testing.executable_schema import RequestContext, executable_schema
from andersen_ev.testing.leaf_executor import LeafExecutor, LeafSubscriptionExecutor
from tests.stream_helpers import until

QUERIES = [
    name
    for name in OPERATION_NAMES
    if parse(operation_document(name)).definitions[0].operation  # type: ignore[attr-defined]
    is OperationType.QUERY
]
ARGUMENTS = {
    "addressFragment": "10 Downing",
    "countryCode": "GB",
    "dateFrom": "2025-01-01",
    "binnedMinutes": 60,
    "limit": 5,
    "groupBy": "DAY",
}


def run(schema: GraphQLSchema, document: str, **options: Any) -> dict[str, Any]:
    both = []
    for executor in (None, LeafExecutor):
        result = execute(schema, parse(document), executor_class=executor, **options)
        assert isinstance(result, ExecutionResult)
        both.append(result.formatted)
    assert both[0] == both[1]
    return dict(both[1])


@pytest.mark.parametrize("name", QUERIES)
async def test_every_query_the_library_sends_answers_the_same(
    name: str, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser, andersen_charger: Charger
) -> None:
    andersen_charger.plug_in()
    andersen_cloud.advance(3600)
    variables = {"id": andersen_charger.id, "deviceId": andersen_charger.id, **ARGUMENTS}
    answer = run(
        executable_schema(),
        operation_document(name),
        context_value=RequestContext(andersen_cloud, andersen_user),
        variable_values=variables,
        operation_name=name,
    )
    assert "errors" not in answer
    assert answer["data"]


EDGES = build_schema("""
    enum Colour { RED GREEN }
    type Thing { must: Int! maybe: Int text: String colour: Colour called: Int nested: Thing
                 sized(n: Int): Int }
    type Query { thing: Thing }
""")


@pytest.mark.parametrize(
    "thing",
    [
        {"must": 1, "maybe": None, "text": "t", "colour": "RED", "called": 2, "sized": 3},
        {"must": None},  # a null in a non-null field: graphql-core's error
        {"must": "abc", "maybe": 2.5},  # values Int refuses: graphql-core's errors
        {"must": 1, "colour": "PURPLE"},  # no such enum value
        {"must": 1, "called": lambda _info: 7},  # the default resolver calls it
        {"must": 1, "nested": {"must": 2, "text": 3}},
    ],
)
def test_edge_cases_answer_the_same(thing: dict[str, Any]) -> None:
    query = "{ thing { must maybe text colour called sized(n: 2) nested { must text } } }"
    answer = run(EDGES, query, root_value={"thing": thing})
    assert "thing" in answer["data"]


def test_a_resolver_is_still_called() -> None:
    schema = build_schema("type Query { answer: Int }")
    schema.query_type.fields["answer"].resolve = lambda _source, _info: 42  # type: ignore[union-attr]
    assert run(schema, "{ answer }", root_value={"answer": 1}) == {"data": {"answer": 42}}


async def test_subscription_events_answer_the_same(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser, andersen_charger: Charger
) -> None:
    """Both executors follow the same charger: one event, two identical answers."""
    andersen_charger.plug_in()
    streams: list[AsyncGenerator[ExecutionResult, None]] = []
    for executor in (None, LeafSubscriptionExecutor):
        stream = subscribe(
            executable_schema(),
            parse(operation_document("deviceStatusUpdated")),
            context_value=RequestContext(andersen_cloud, andersen_user),
            variable_values={"id": andersen_charger.id},
            executor_class=executor,
        )
        if inspect.isawaitable(stream):
            stream = await stream
        assert isinstance(stream, AsyncGenerator)
        streams.append(stream)
    async with aclosing(streams[0]), aclosing(streams[1]):
        waiting = [asyncio.ensure_future(anext(stream)) for stream in streams]
        hub = andersen_cloud.state.hub
        await until(lambda: hub.subscriber_count(andersen_charger.id) == len(streams))
        andersen_cloud.advance(60)
        events = [(await event).formatted for event in waiting]
    assert events[0] == events[1]
    data = events[1].get("data")
    assert data is not None
    assert data["deviceStatusUpdated"]["chargeStatus"]["chargePower"] > 0
