"""Query, Mutation and Device resolvers of the emulated Andersen cloud.

Root fields resolve from the request's
:class:`~andersen_ev.testing.executable_schema.RequestContext` (the cloud and the
authenticated user); ``Device`` fields resolve from a
:class:`~andersen_ev.testing.charger.Charger`; every other object is the charger's
wire-format dictionary, read by graphql-core's default resolver.

Errors, as the resolvers raise them:

* a device or charge rate the user cannot see (unknown, or someone else's): ``NOT_FOUND``
  (:func:`~andersen_ev.testing.executable_schema.not_found`);
* input the service refuses (slot hours outside 0-23, a percentage outside 0-100, an
  unknown ``runAEVCommand`` function ...): ``BAD_USER_INPUT``, nothing changed;
* claiming a charger another account owns: ``FORBIDDEN``.

What the realism (:class:`~andersen_ev.testing.realism.Realism`) changes here: ``getSolar``
answers stale settings (or null), and the device mutations other than ``runAEVCommand``
answer null, as ``setSchedules`` does on the real service.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from andersen_ev.testing import sample_data
from andersen_ev.testing.charger import Charger
from andersen_ev.testing.executable_schema import RequestContext, not_found
from andersen_ev.testing.sample_data import InputError

__all__ = ["attach"]

_Info: TypeAlias = GraphQLResolveInfo[RequestContext]
_Resolver = TypeVar("_Resolver", bound=Callable[..., Any])
_REGISTRY: dict[tuple[str, str], Callable[..., Any]] = {}


def _resolves(type_name: str, field_name: str) -> Callable[[_Resolver], _Resolver]:
    """Register the decorated function as the resolver of ``type_name.field_name``."""

    def register(resolver: _Resolver) -> _Resolver:
        _REGISTRY[type_name, field_name] = resolver
        return resolver

    return register


def _refusing_bad_input(resolver: Callable[..., Any]) -> Callable[..., Any]:
    """Answer :class:`InputError` as a GraphQL ``BAD_USER_INPUT`` error."""

    @functools.wraps(resolver)
    def resolve(*args: Any, **kwargs: Any) -> Any:
        try:
            return resolver(*args, **kwargs)
        except InputError as exc:
            raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from exc

    return resolve


def attach(schema: GraphQLSchema) -> None:
    """Attach the Query, Mutation and Device resolvers to ``schema``."""
    for (type_name, field_name), resolver in _REGISTRY.items():
        object_type = schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)  # noqa: S101 - the SDL says so
        object_type.fields[field_name].resolve = _refusing_bad_input(resolver)


def _context(info: _Info) -> RequestContext:
    return info.context


def _command_answer(info: _Info, result: dict[str, Any]) -> dict[str, Any] | None:
    """What a device mutation answers: null with the realism's null results, else ``result``."""
    return None if _context(info).cloud.realism.null_command_results else result


def _charger(info: _Info, device_id: str) -> Charger:
    """The user's charger ``device_id``; NOT_FOUND when unknown or someone else's."""
    context = _context(info)
    charger = context.cloud.state.charger_of(context.user, device_id)
    if charger is None:
        raise not_found(f"Device {device_id!r}")
    return charger


def _rate_owner(info: _Info, rate_id: str) -> Charger:
    """The user's charger holding charge rate ``rate_id``; NOT_FOUND otherwise."""
    context = _context(info)
    for charger in context.cloud.state.chargers_of(context.user):
        if charger.has_charge_rate(rate_id):
            return charger
    raise not_found(f"Charge rate {rate_id!r}")


# -- Query ----------------------------------------------------------------------------------


@_resolves("Query", "getSupportMessage")
def _support_message(_root: object, _info: _Info) -> str | None:
    return None


@_resolves("Query", "getCurrentUserDevices")
def _current_user_devices(_root: object, info: _Info) -> list[Charger]:
    context = _context(info)
    return context.cloud.state.chargers_of(context.user)


@_resolves("Query", "getDevice")
def _get_device(_root: object, info: _Info, id: str) -> Charger:
    return _charger(info, id)


@_resolves("Query", "searchAddress")
def _search_address(
    _root: object,
    _info: _Info,
    *,
    addressFragment: str,  # noqa: N803 - the schema's argument name
    countryCode: str | None = None,  # noqa: N803
) -> list[dict[str, str | None]]:
    return sample_data.search_addresses(addressFragment, countryCode)


@_resolves("Query", "getSolar")
def _get_solar(_root: object, info: _Info, deviceId: str) -> dict[str, Any] | None:  # noqa: N803
    charger = _charger(info, deviceId)
    mode = _context(info).cloud.realism.get_solar
    if mode == "null":
        return None
    return charger.solar_settings(as_registered=mode == "stale")


# -- Device ---------------------------------------------------------------------------------


@_resolves("Device", "deviceInfo")
def _device_info(charger: Charger, _info: _Info) -> dict[str, Any]:
    return charger.info()


@_resolves("Device", "deviceStatus")
def _device_status(charger: Charger, _info: _Info) -> dict[str, Any]:
    return charger.status()


@_resolves("Device", "deviceChargeRates")
def _device_charge_rates(charger: Charger, _info: _Info) -> list[dict[str, Any]]:
    return charger.charge_rates()


@_resolves("Device", "deviceCalculatedPowerLogsBinned")
def _power_logs_binned(
    charger: Charger,
    _info: _Info,
    *,
    dateFrom: str | None = None,  # noqa: N803 - the schema's argument names
    dateTo: str | None = None,  # noqa: N803
    binnedMinutes: int | None = None,  # noqa: N803
    groupBy: str | None = None,  # noqa: N803
    limit: int | None = None,
    offset: int | None = None,
) -> list[dict[str, Any]]:
    return charger.power_logs_binned(
        date_from=dateFrom,
        date_to=dateTo,
        binned_minutes=binnedMinutes,
        group_by=groupBy,
        limit=limit,
        offset=offset,
    )


@_resolves("Device", "deviceCalculatedChargeLogs")
def _charge_logs(
    charger: Charger,
    _info: _Info,
    *,
    limit: int | None = None,
    offset: int | None = None,
    minEnergy: float | None = None,  # noqa: N803 - the schema's argument names
    dateFrom: str | None = None,  # noqa: N803
) -> list[dict[str, Any]]:
    return charger.charge_logs(limit=limit, offset=offset, min_energy=minEnergy, date_from=dateFrom)


# -- Mutation: the charger ------------------------------------------------------------------


@_resolves("Mutation", "runAEVCommand")
def _run_aev_command(
    _root: object,
    info: _Info,
    *,
    deviceId: str,  # noqa: N803 - the schema's argument names
    functionName: str,  # noqa: N803
    params: str | None = None,
) -> dict[str, Any]:
    return _charger(info, deviceId).run_command(functionName, params)


@_resolves("Mutation", "setSchedules")
def _set_schedules(
    _root: object,
    info: _Info,
    *,
    deviceId: str,  # noqa: N803 - the schema's argument names
    scheduleSlots: dict[str, Any],  # noqa: N803
) -> dict[str, Any] | None:
    return _command_answer(info, _charger(info, deviceId).set_schedules(scheduleSlots))


@_resolves("Mutation", "setAllSchedulesDisabled")
def _set_all_schedules_disabled(
    _root: object,
    info: _Info,
    *,
    deviceId: str,  # noqa: N803 - the schema's argument name
) -> dict[str, Any] | None:
    return _command_answer(info, _charger(info, deviceId).disable_all_schedules())


@_resolves("Mutation", "setSolar")
def _set_solar(
    _root: object,
    info: _Info,
    *,
    deviceId: str,  # noqa: N803 - the schema's argument names
    override: bool | None = None,
    chargeAlways: bool | None = None,  # noqa: N803
    maxGridChargePercent: int | None = None,  # noqa: N803
    chargeOutsideSchedules: bool | None = None,  # noqa: N803
) -> dict[str, Any] | None:
    result = _charger(info, deviceId).set_solar(
        override=override,
        charge_always=chargeAlways,
        max_grid_charge_percent=maxGridChargePercent,
        charge_outside_schedules=chargeOutsideSchedules,
    )
    return _command_answer(info, result)


@_resolves("Mutation", "upsertDeviceInfo")
def _upsert_device_info(
    _root: object,
    info: _Info,
    *,
    deviceId: str,  # noqa: N803 - the schema's argument name
    **names: str | None,
) -> dict[str, Any]:
    return _charger(info, deviceId).update_info(**names)


# -- Mutation: charge rates -------------------------------------------------------------------


@_resolves("Mutation", "createChargeRate")
def _create_charge_rate(
    _root: object,
    info: _Info,
    *,
    deviceId: str,  # noqa: N803 - the schema's argument name
    **fields: Any,
) -> dict[str, Any]:
    return _charger(info, deviceId).create_charge_rate(fields)


@_resolves("Mutation", "updateChargeRate")
def _update_charge_rate(
    _root: object,
    info: _Info,
    *,
    id: str,
    **fields: Any,
) -> bool:
    _rate_owner(info, id).update_charge_rate(id, fields)
    return True


@_resolves("Mutation", "deleteChargeRate")
def _delete_charge_rate(_root: object, info: _Info, id: str) -> bool:
    _rate_owner(info, id).delete_charge_rate(id)
    return True


# -- Mutation: ownership and account ----------------------------------------------------------


@_resolves("Mutation", "claimDeviceByName")
def _claim_device_by_name(
    _root: object,
    info: _Info,
    *,
    deviceName: str,  # noqa: N803 - the schema's argument name
) -> Charger:
    context = _context(info)
    state = context.cloud.state
    wanted = deviceName.strip().casefold()
    charger = next((c for c in state.chargers.values() if c.name.casefold() == wanted), None)
    if charger is None:
        raise not_found(f"Device named {deviceName!r}")
    owner = state.owners.get(charger.id)
    if owner not in (None, context.user.username):
        raise GraphQLError(
            f"Device {deviceName!r} is claimed by another account",
            extensions={"code": "FORBIDDEN"},
        )
    state.owners[charger.id] = context.user.username
    return charger


@_resolves("Mutation", "unclaimDevice")
def _unclaim_device(_root: object, info: _Info, deviceId: str) -> bool:  # noqa: N803
    charger = _charger(info, deviceId)
    del _context(info).cloud.state.owners[charger.id]
    return True


@_resolves("Mutation", "upsertAccount")
def _upsert_account(
    _root: object,
    info: _Info,
    *,
    firstName: str | None = None,  # noqa: N803 - the schema's argument names
    lastName: str | None = None,  # noqa: N803
) -> bool:
    user = _context(info).user
    if firstName is not None:
        user.first_name = firstName
    if lastName is not None:
        user.last_name = lastName
    return True


@_resolves("Mutation", "registerMobileDevice")
def _register_mobile_device(_root: object, info: _Info, token: str) -> bool:
    if not token.strip():
        raise InputError("token must not be empty")
    _context(info).user.mobile_tokens.add(token)
    return True


@_resolves("Mutation", "unregisterMobileDevice")
def _unregister_mobile_device(_root: object, info: _Info, token: str) -> bool:
    _context(info).user.mobile_tokens.discard(token)
    return True
