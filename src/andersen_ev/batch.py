"""Full statuses of many chargers in one request: aliased ``getDevice`` fields in one document.

Apollo executes every root field of a query, under its alias, so one request reads up to
:data:`BATCH_LIMIT` statuses::

    query getDeviceStatuses($id0: ID!, $id1: ID!) {
      d0: getDevice(id: $id0) { deviceStatus { ...DeviceStatusFull } }
      d1: getDevice(id: $id1) { deviceStatus { ...DeviceStatusFull } }
    }

each with the selection of ``getDeviceStatus`` (the ``DeviceStatusFull`` fragment). A batch
of one device is sent as ``getDeviceStatus`` itself. What a device's answer becomes is
decided per device: a null ``dN`` (or an error whose ``path`` starts at ``dN``) fails that
device alone (:class:`~andersen_ev.exceptions.DeviceNotFoundError` for ``NOT_FOUND``), and
the others are read again without it when the service's errors cost the batch its reply.
Outages and logins fail the whole read, as for any query. GraphQL errors of the whole
document (a service that refuses several root fields, or limits a query's size: not known
of the real one) make the batch fall back to ``getDeviceStatus`` per device, a few at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from andersen_ev import operations as ops
from andersen_ev.exceptions import AndersenError, ApiError, DeviceNotFoundError, ResponseError
from andersen_ev.graphql import with_fragments
from andersen_ev.http import GraphQLHttp, GraphQLResult
from andersen_ev.models import DeviceStatus

__all__ = ["BATCH_LIMIT", "OPERATION", "Outcome", "batch_document", "read_batch"]

#: The most devices one request reads (the documents are built for 1 to this many).
BATCH_LIMIT: Final = 50
#: The operation name of every batched document (whatever its size).
OPERATION: Final = "getDeviceStatuses"
#: Single reads in flight at once when the service refuses a batched document.
_SINGLES_AT_ONCE: Final = 8
_LOG = logging.getLogger(__name__)

Outcome = DeviceStatus | AndersenError
"""A device's status, or why it could not be read (that device's own error)."""


@cache
def batch_document(size: int) -> str:
    """The document reading ``size`` statuses (aliases ``d0``..; variables ``$id0``..).

    Raises:
        ValueError: ``size`` is not between 1 and :data:`BATCH_LIMIT`.
    """
    if not 1 <= size <= BATCH_LIMIT:
        raise ValueError(f"a batch reads 1 to {BATCH_LIMIT} devices, not {size}")
    # Safe under the house rule "GraphQL variables only; never build a document with string
    # formatting": the only values put into the text are the integers 0..size-1, which name
    # the aliases and their variables; every device id travels in ``variables``. The text
    # depends on ``size`` alone, so at most BATCH_LIMIT documents exist, each built once
    # (cached) and validated against the schema by the tests like the ``.graphql`` files.
    declared = ", ".join(f"$id{n}: ID!" for n in range(size))
    fields = "".join(
        f"  d{n}: getDevice(id: $id{n}) {{ deviceStatus {{ ...DeviceStatusFull }} }}\n"
        for n in range(size)
    )
    return with_fragments(f"query {OPERATION}({declared}) {{\n{fields}}}\n")


class _Device(BaseModel):
    """One ``dN`` of a batched reply."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    device_status: DeviceStatus | None = Field(default=None, alias="deviceStatus")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    data: dict[str, _Device | None]


@functools.cache
def _envelope() -> TypeAdapter[_Envelope]:
    """The batched reply's adapter, built on first use (``import andersen_ev`` builds none)."""
    return TypeAdapter(_Envelope)


@functools.cache
def _device() -> TypeAdapter[_Device | None]:
    """One alias's adapter, built on first use."""
    return TypeAdapter(_Device | None)


async def read_batch(
    graphql: GraphQLHttp, device_ids: Sequence[str], *, timeout: float | None = None
) -> dict[str, Outcome]:
    """Each device's full status, or its own error, in one request (two when one fails).

    ``device_ids`` are distinct, at most :data:`BATCH_LIMIT`, and checked by the caller.

    Raises:
        AndersenError: what fails the request as a whole (see
            :meth:`~andersen_ev.http.GraphQLHttp.execute`), never one device's error.
    """
    outcomes: dict[str, Outcome] = {}
    pending = list(device_ids)
    while pending:
        if len(pending) == 1:
            outcomes[pending[0]] = await _read_one(graphql, pending[0], timeout)
            break
        variables = {f"id{n}": device_id for n, device_id in enumerate(pending)}
        try:
            reply = await graphql.execute(
                OPERATION, variables, timeout=timeout, document=batch_document(len(pending))
            )
        except ApiError as exc:
            failed = _errors_by_device(exc, pending)
            if failed is None:
                _LOG.warning(
                    "%s was refused (%s): reading the %d devices one by one",
                    OPERATION,
                    exc,
                    len(pending),
                )
                outcomes.update(await _read_singly(graphql, pending, timeout))
                break
            # the errors cost the others their reply: read them again, without these
            outcomes.update(failed)
            pending = [device_id for device_id in pending if device_id not in failed]
            continue
        outcomes.update(_outcomes(reply, pending))
        break
    return {device_id: outcomes[device_id] for device_id in device_ids}


async def _read_singly(
    graphql: GraphQLHttp, device_ids: Sequence[str], timeout: float | None
) -> dict[str, Outcome]:
    """Each device by ``getDeviceStatus``, a few at once."""
    limit = asyncio.Semaphore(_SINGLES_AT_ONCE)

    async def read(device_id: str) -> Outcome:
        async with limit:
            return await _read_one(graphql, device_id, timeout)

    read_all = await asyncio.gather(*(read(device_id) for device_id in device_ids))
    return dict(zip(device_ids, read_all, strict=True))


async def _read_one(graphql: GraphQLHttp, device_id: str, timeout: float | None) -> Outcome:
    """A batch of one: ``getDeviceStatus``, whose errors of the device are its outcome."""
    try:
        return await ops.call(graphql, ops.GET_DEVICE_STATUS, {"id": device_id}, timeout=timeout)
    except (ApiError, ResponseError) as exc:
        return exc


def _errors_by_device(exc: ApiError, device_ids: Sequence[str]) -> dict[str, Outcome] | None:
    """Each failed device's error, from the errors' paths; None if one is not a device's."""
    grouped: dict[str, list[Any]] = {}
    for error in exc.errors:
        path = error.get("path") if isinstance(error, dict) else None
        alias = path[0] if isinstance(path, list) and path else None
        index = _index(alias, len(device_ids))
        if index is None:
            return None
        grouped.setdefault(device_ids[index], []).append(error)
    if not grouped:
        return None
    return {
        device_id: ApiError.from_errors(OPERATION, errors, status=exc.status)
        for device_id, errors in grouped.items()
    }


def _index(alias: object, size: int) -> int | None:
    """``N`` of an alias ``dN`` of a batch of ``size``; None for anything else."""
    if not isinstance(alias, str) or not alias.startswith("d") or not alias[1:].isdigit():
        return None
    index = int(alias[1:])
    return index if index < size else None


def _outcomes(reply: GraphQLResult, device_ids: Sequence[str]) -> dict[str, Outcome]:
    """What each ``dN`` of a successful reply says about its device."""
    fast = reply.validate(_envelope())
    if fast is not None:  # the common case: validated straight from the JSON text
        return {
            device_id: _outcome(device_id, fast.data.get(f"d{n}"))
            for n, device_id in enumerate(device_ids)
        }
    data = reply.data  # a reply that does not fit: say where, device by device
    return {
        device_id: _checked(device_id, f"d{n}", data.get(f"d{n}"))
        for n, device_id in enumerate(device_ids)
    }


def _checked(device_id: str, alias: str, value: object) -> Outcome:
    try:
        return _outcome(device_id, _device().validate_python(value))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join([alias, *(str(part) for part in error["loc"])])
        return ResponseError(
            f"{OPERATION}: unexpected value at {where} (device {device_id}): {error['msg']}",
            operation=OPERATION,
            path=where,
        )


def _outcome(device_id: str, device: _Device | None) -> Outcome:
    if device is None:
        return DeviceNotFoundError(
            f"{OPERATION}: no device {device_id!r} in this account"
            " (check the id with get_current_user_devices())",
            operation=OPERATION,
            errors=[],
        )
    if device.device_status is None:
        return ResponseError(
            f"{OPERATION}: the device {device_id} has no status",
            operation=OPERATION,
            path="deviceStatus",
        )
    return device.device_status


def not_found(outcomes: Mapping[str, Outcome]) -> list[str]:
    """The devices whose outcome is :class:`~andersen_ev.exceptions.DeviceNotFoundError`."""
    return [
        device_id
        for device_id, outcome in outcomes.items()
        if isinstance(outcome, DeviceNotFoundError)
    ]
