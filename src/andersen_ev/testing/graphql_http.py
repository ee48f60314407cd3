"""GraphQL over HTTP, answered the way Apollo Server 4 answers.

``POST /`` and ``POST /graphql`` take a JSON body ``{query, variables, operationName}``.
What a request meets, in order:

1. the latency fault (:meth:`AndersenCloud.delay`);
2. counting: ``stats.graphql_requests[operationName or "<anonymous>"]`` (so tests see
   every request that reached the server, faulted or not);
3. injected HTTP faults: a 5xx (an HTML page from the load balancer, or Apollo's JSON for
   a 500) or a 429 with ``Retry-After`` (API gateway JSON), counted in
   ``stats.faults_injected["http_<status>"]``;
4. the body: not JSON, or not ``application/json`` -> 400 ``BAD_REQUEST`` (Apollo's
   shape; the real service's body parser answers the same status);
5. authentication of the bearer IdToken -> ``Context creation failed: Invalid/expired
   login token`` with code ``UNAUTHENTICATED`` and HTTP status
   :attr:`AndersenCloud.unauthenticated_status` (400 by default; never 401);
6. the request's shape (``query`` a non-empty string, ``variables`` an object ...) -> 400
   ``BAD_REQUEST``; a syntax error -> 400 ``GRAPHQL_PARSE_FAILED``; an operation outside
   the schema -> 400 ``GRAPHQL_VALIDATION_FAILED``; an unknown ``operationName`` -> 400
   ``OPERATION_RESOLUTION_FAILURE``; a subscription -> 400 ``BAD_REQUEST`` (they are
   served on the websocket); variables that do not fit -> 400 ``BAD_USER_INPUT``;
7. execution -> 200 with ``data`` and, for fields that failed, ``errors`` with ``path``
   and ``extensions.code`` (``NOT_FOUND``, ``BAD_USER_INPUT``, ...; an error without a
   code is an emulator bug, logged, and answered ``INTERNAL_SERVER_ERROR``);
8. the wire variants, when the realism asks for them
   (:mod:`~andersen_ev.testing.wire_variants`): ``data`` in the types other clients saw;
9. the malformed-reply fault: the request was executed (state changed), but the 200 reply
   keeps ``data``'s keys while giving every root field a value of the wrong shape (an
   object or list becomes the string ``"malformed"``; a scalar or null becomes the object
   ``{"malformed": true}``), counted in ``stats.faults_injected["malformed_reply"]``.

Bad input is logged and answered; it never becomes a 500.
"""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values

from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.checked_documents import checked_document
from andersen_ev.testing.executable_schema import RequestContext, executable_schema
from andersen_ev.testing.faults import HttpFault
from andersen_ev.testing.leaf_executor import LeafExecutor
from andersen_ev.testing.tokens import TokenError
from andersen_ev.testing.wire_variants import vary

__all__ = ["UNAUTHENTICATED_MESSAGE", "setup_routes"]

_LOG = logging.getLogger(__name__)

#: The message Apollo answers for a bad bearer token (from the reference).
UNAUTHENTICATED_MESSAGE: Final = "Context creation failed: Invalid/expired login token"
_JSON_TYPES: Final = frozenset({"application/json", "application/graphql-response+json"})
_PHRASES: Final = {status.value: status.phrase for status in HTTPStatus}


def setup_routes(app: web.Application) -> None:
    """Serve GraphQL over HTTP on ``POST /`` and ``POST /graphql``."""
    app.router.add_post("/", handle_graphql)
    app.router.add_post("/graphql", handle_graphql)


class _Rejected(Exception):  # noqa: N818 - a control-flow signal, not an error type
    """A request answered with an error before (or instead of) execution."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.status = status
        self.errors = errors

    @classmethod
    def with_code(cls, status: int, code: str, *errors: GraphQLError | str) -> _Rejected:
        """Reject with these errors, each given ``extensions.code`` ``code``."""
        formatted: list[dict[str, Any]] = []
        for error in errors:
            entry: dict[str, Any] = (
                dict(error.formatted) if isinstance(error, GraphQLError) else {"message": error}
            )
            entry["extensions"] = {**entry.get("extensions", {}), "code": code}
            formatted.append(entry)
        return cls(status, formatted)


@dataclass(frozen=True)
class _Request:
    query: str
    operation_name: str | None
    variables: dict[str, Any]


def _json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def _operation_name(body: object) -> str:
    name = body.get("operationName") if isinstance(body, dict) else None
    return name if isinstance(name, str) and name else "<anonymous>"


def _fault_response(fault: HttpFault) -> web.Response:
    """What a client sees from an injected fault: the proxy's page, or Apollo's JSON."""
    if fault.status == HTTPStatus.TOO_MANY_REQUESTS:
        return _json_response(fault.status, {"message": "Too Many Requests"}, fault.headers)
    if fault.status == HTTPStatus.INTERNAL_SERVER_ERROR:
        body = {
            "errors": [
                {
                    "message": "Internal server error",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                }
            ]
        }
        return _json_response(fault.status, body, fault.headers)
    title = f"{fault.status} {_PHRASES.get(fault.status, 'Error')}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(
        status=fault.status, text=page, content_type="text/html", headers=fault.headers
    )


def _refuse_constant(name: str) -> float:
    """Refuse ``NaN``/``Infinity``/``-Infinity``: JSON has no such values (JSON.parse agrees)."""
    raise ValueError(f"Unexpected token {name} in JSON")


def _decode_body(content_type: str, raw: bytes) -> object:
    """The JSON body; None when it is not sent as JSON (Apollo then finds no body).

    Raises:
        _Rejected: sent as JSON but unparsable (refused before authentication, as the
            real service's body parser does).
    """
    if content_type not in _JSON_TYPES:
        return None
    try:
        body: object = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Rejected.with_code(
            400, "BAD_REQUEST", f"POST body sent invalid JSON: {exc}"
        ) from exc
    return body


def _graphql_request(body: object) -> _Request:
    """Check the body's shape as Apollo does.

    Raises:
        _Rejected: 400 BAD_REQUEST.
    """
    if isinstance(body, list):
        raise _Rejected.with_code(
            400, "BAD_REQUEST", "POST body contains an array, but batching is not enabled."
        )
    if not isinstance(body, dict) or not body:
        raise _Rejected.with_code(
            400,
            "BAD_REQUEST",
            "POST body missing, invalid Content-Type, or JSON object has no keys.",
        )
    query, name, variables = body.get("query"), body.get("operationName"), body.get("variables")
    for key, value in (("query", query), ("operationName", name)):
        if value is not None and not isinstance(value, str):
            raise _Rejected.with_code(
                400, "BAD_REQUEST", f"`{key}` in the POST body must be a string if provided."
            )
    if variables is not None and not isinstance(variables, dict):
        raise _Rejected.with_code(
            400, "BAD_REQUEST", "`variables` in a POST body must be an object if provided."
        )
    if not query:
        raise _Rejected.with_code(
            400,
            "BAD_REQUEST",
            "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.",
        )
    return _Request(query=query, operation_name=name, variables=variables or {})


def _prepare(request: _Request) -> tuple[DocumentNode, dict[str, Any]]:
    """Parse, validate, pick the operation and coerce the variables.

    Raises:
        _Rejected: 400 with the code of the phase that failed.
    """
    schema = executable_schema()
    checked = checked_document(request.query)
    if checked.parse_error is not None:
        raise _Rejected.with_code(400, "GRAPHQL_PARSE_FAILED", checked.parse_error)
    if checked.document is None:
        raise _Rejected.with_code(400, "GRAPHQL_VALIDATION_FAILED", *checked.validation_errors)
    document = checked.document
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        message = (
            f'Unknown operation named "{request.operation_name}".'
            if request.operation_name
            else "Must provide operation name if query contains multiple operations."
        )
        raise _Rejected.with_code(400, "OPERATION_RESOLUTION_FAILURE", message)
    if operation.operation is OperationType.SUBSCRIPTION:
        raise _Rejected.with_code(
            400,
            "BAD_REQUEST",
            "Subscriptions are served over websockets (/graphql), not HTTP POST.",
        )
    coerced = get_variable_values(schema, operation.variable_definitions or (), request.variables)
    if isinstance(coerced, list):
        raise _Rejected.with_code(400, "BAD_USER_INPUT", *coerced)
    return document, request.variables


def _format_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """Apollo's error format: every error has ``extensions.code``."""
    formatted: list[dict[str, Any]] = []
    for error in errors:
        entry: dict[str, Any] = dict(error.formatted)
        extensions: dict[str, Any] = dict(error.extensions or {})
        if "code" not in extensions:
            _LOG.error("resolver failed: %s", error.message, exc_info=error.original_error or error)
            entry["extensions"] = extensions | {"code": "INTERNAL_SERVER_ERROR"}
        formatted.append(entry)
    return formatted


def _malformed(data: dict[str, Any]) -> dict[str, Any]:
    """The root fields of ``data`` with values of the wrong shape (see the module doc)."""
    return {
        key: "malformed" if isinstance(value, dict | list) else {"malformed": True}
        for key, value in data.items()
    }


async def handle_graphql(request: web.Request) -> web.Response:
    """Answer one GraphQL HTTP request (see the module docstring for the order of checks)."""
    cloud = request.app[CLOUD_KEY]
    await cloud.delay()
    body: object = None
    unreadable: _Rejected | None = None
    try:
        body = _decode_body(request.content_type, await request.read())
    except _Rejected as rejected:
        unreadable = rejected
    cloud.stats.graphql_requests[_operation_name(body)] += 1
    fault = cloud.faults.take_http_fault()
    if fault is not None:
        cloud.stats.faults_injected[f"http_{fault.status}"] += 1
        _LOG.info("injected HTTP %d fault", fault.status)
        return _fault_response(fault)
    try:
        if unreadable is not None:
            raise unreadable
        try:
            user = cloud.user_for_bearer(request.headers.get("Authorization"))
        except TokenError as exc:
            _LOG.info("GraphQL request refused: bearer token %s", exc.reason)
            error = {"message": UNAUTHENTICATED_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}
            raise _Rejected(cloud.unauthenticated_status, [error]) from exc
        graphql_request = _graphql_request(body)
        document, variables = _prepare(graphql_request)
    except _Rejected as rejected:
        _LOG.info("GraphQL request rejected (HTTP %d): %s", rejected.status, rejected)
        return _json_response(rejected.status, {"errors": rejected.errors})
    outcome = execute(
        executable_schema(),
        document,
        executor_class=LeafExecutor,
        context_value=RequestContext(cloud, user),
        variable_values=variables,
        operation_name=graphql_request.operation_name,
    )
    result: ExecutionResult = await outcome if inspect.isawaitable(outcome) else outcome
    reply: dict[str, Any] = {"data": result.data}
    if cloud.realism.wire_variants:
        reply["data"] = vary(result.data)
    if result.errors:
        reply["errors"] = _format_errors(list(result.errors))
    if cloud.faults.take("malformed_replies"):
        cloud.stats.faults_injected["malformed_reply"] += 1
        reply["data"] = _malformed(result.data or {})
    return _json_response(200, reply)
