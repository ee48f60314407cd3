"""The emulator's executable GraphQL schema: the shared SDL with resolvers attached.

Resolvers receive ``info.context`` as a :class:`RequestContext` (the cloud and the
authenticated user). Object fields resolve from plain dicts (graphql-core's default
resolver reads keys), so charger state is served as wire-format dictionaries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, build_schema

from andersen_ev.graphql import schema_sdl

if TYPE_CHECKING:
    from andersen_ev.testing.cloud import AndersenCloud
    from andersen_ev.testing.state import EmulatedUser

__all__ = ["RequestContext", "executable_schema", "not_found"]


@dataclass(frozen=True)
class RequestContext:
    """What every resolver gets as ``info.context``."""

    cloud: AndersenCloud
    user: EmulatedUser


def not_found(what: str) -> GraphQLError:
    """The error the emulator answers for an id the user cannot see."""
    return GraphQLError(f"{what} not found", extensions={"code": "NOT_FOUND"})


async def _subscribe_device_status(
    _root: object,
    info: GraphQLResolveInfo[RequestContext],
    id: str,  # the schema's argument name
) -> AsyncIterator[dict[str, Any]]:
    # a plain coroutine, not a generator: ownership is checked when the subscription is
    # created, so an unknown device is refused at once (with the field's path)
    context = info.context
    if context.cloud.state.charger_of(context.user, id) is None:
        raise not_found(f"Device {id!r}")
    return context.cloud.state.hub.watch(id)


def _event_payload(
    payload: dict[str, Any], _info: GraphQLResolveInfo[RequestContext], **_args: Any
) -> Any:
    return payload


@cache
def executable_schema() -> GraphQLSchema:
    """Build (once) the schema from ``schema.graphql`` and attach every resolver."""
    from andersen_ev.testing import resolvers  # noqa: PLC0415 - resolvers import this module

    schema = build_schema(schema_sdl())
    subscription = schema.subscription_type
    assert subscription is not None  # noqa: S101 - the SDL declares it
    field = subscription.fields["deviceStatusUpdated"]
    field.subscribe = _subscribe_device_status
    field.resolve = _event_payload
    resolvers.attach(schema)
    return schema
