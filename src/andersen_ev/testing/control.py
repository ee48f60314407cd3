"""The emulator's control surface: JSON over HTTP, on its own loopback port, for harnesses.

A program in another process (or language) drives the emulated world through it: add
users and chargers, plug a car in and out, move the clock, make a charger go offline or
fail, inject the cloud's faults and read its counters. It is served only when asked
(``AndersenCloud(control_port=0)``; ``andersen-ev emulator`` always serves it and prints
its URL as ``control_url``), on ``127.0.0.1`` unless told otherwise: it needs no token, so
it must never be reachable beyond loopback.

Every request and answer body is a JSON object. Errors answer ``{"error": "..."}`` with
400 (bad input) or 404 (no such charger or user). The routes are documented in
``docs/testing.md`` ("Control surface").
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from aiohttp import web

from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.faults import Faults

if TYPE_CHECKING:
    from andersen_ev.testing.charger import Charger
    from andersen_ev.testing.cloud import AndersenCloud

__all__ = ["ControlError", "charger_summary", "setup_routes"]

_LOG = logging.getLogger(__name__)

_Handler: TypeAlias = Callable[["AndersenCloud", dict[str, Any], web.Request], Any]
"""A route: the cloud, the request's JSON body and the request; its JSON answer (or an
awaitable of it)."""
_FAULT_FIELDS: Final = frozenset(field.name for field in dataclasses.fields(Faults))


class ControlError(Exception):
    """A request the control surface refuses: answered ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def setup_routes(app: web.Application) -> None:
    """Add every control route to ``app`` (whose ``CLOUD_KEY`` is the cloud to drive)."""
    for method, path, handler, status in _ROUTES:
        app.router.add_route(method, path, _endpoint(handler, status))


def _endpoint(handler: _Handler, status: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        cloud = request.app[CLOUD_KEY]
        try:
            body = await _body(request)
            answer = handler(cloud, body, request)
            if inspect.isawaitable(answer):
                answer = await answer
        except ControlError as error:
            _LOG.info("control %s %s refused: %s", request.method, request.path, error)
            return _json({"error": str(error)}, error.status)
        return _json(answer, status)

    return serve


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.method in ("GET", "DELETE") or not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise ControlError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _get(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``body[key]`` of type ``kind`` (a bool is no number); ``default`` when absent."""
    if key not in body or body[key] is None:
        if default is ...:
            raise ControlError(f"{key!r} is required")
        return default
    value = body[key]
    numeric = kind in (int, float) or (isinstance(kind, tuple) and float in kind)
    if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
        raise ControlError(f"{key!r} has the wrong type: {value!r}")
    return value


def _charger(cloud: AndersenCloud, request: web.Request) -> Charger:
    device_id = request.match_info["device_id"]
    try:
        return cloud.charger(device_id)
    except KeyError:
        raise ControlError(f"no charger {device_id!r}", 404) from None


def charger_summary(cloud: AndersenCloud, charger: Charger) -> dict[str, Any]:
    """What the control surface says about a charger (its full status included)."""
    owner = cloud.state.owners.get(charger.id)
    user = cloud.state.users_by_username.get(owner) if owner else None
    car = charger.car
    return {
        "id": charger.id,
        "device_name": charger.name,
        "friendly_name": charger.friendly_name,
        "owner": user.email if user else None,
        "online": charger.online,
        "evse_state": charger.evse_state,
        "now": charger.now.isoformat(),
        "car": None
        if car is None
        else {
            "energy_wanted_kwh": car.energy_wanted,
            "max_power_kw": car.max_power,
            "delivered_kwh": round(car.delivered, 4),
        },
        "pending_commands": charger.pending_command_names(),
        "status": charger.status(),
    }


# -- the routes ---------------------------------------------------------------------------


def _state(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    users = cloud.state.users_by_email.values()
    return {
        "speed": cloud.clock.speed,
        "users": [{"email": user.email, "username": user.username} for user in users],
        "chargers": [charger_summary(cloud, c) for c in cloud.state.chargers.values()],
    }


def _add_user(cloud: AndersenCloud, body: dict[str, Any], _request: web.Request) -> Any:
    try:
        user = cloud.add_user(_get(body, "email", str), _get(body, "password", str))
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    return {"email": user.email, "username": user.username}


def _add_charger(cloud: AndersenCloud, body: dict[str, Any], _request: web.Request) -> Any:
    owner_email = _get(body, "owner", str, None)
    owner = cloud.state.user_by_email(owner_email) if owner_email else None
    if owner_email and owner is None:
        raise ControlError(f"no user {owner_email!r}", 404)
    try:
        charger = cloud.add_charger(
            owner,
            _get(body, "name", str, "Andersen A2"),
            device_id=_get(body, "device_id", str, None),
            device_name=_get(body, "device_name", str, None),
            **_get(body, "fields", dict, {}),
        )
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    return charger_summary(cloud, charger)


def _show_charger(cloud: AndersenCloud, _body: dict[str, Any], request: web.Request) -> Any:
    return charger_summary(cloud, _charger(cloud, request))


def _plug_in(cloud: AndersenCloud, body: dict[str, Any], request: web.Request) -> Any:
    charger = _charger(cloud, request)
    energy: float | None = None  # "energy_wanted_kwh": null, a car that is never full
    if body.get("energy_wanted_kwh", 30.0) is not None:
        energy = _get(body, "energy_wanted_kwh", (int, float), 30.0)
    try:
        charger.plug_in(energy, _get(body, "max_power_kw", (int, float), 7.2))
    except (RuntimeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    return charger_summary(cloud, charger)


def _unplug(cloud: AndersenCloud, _body: dict[str, Any], request: web.Request) -> Any:
    charger = _charger(cloud, request)
    logged = charger.unplug()
    session = (
        None
        if logged is None
        else {
            "start": logged.start.isoformat(),
            "duration": logged.duration,
            "energy_kwh": round(logged.energy, 4),
        }
    )
    return {"logged_session": session, "charger": charger_summary(cloud, charger)}


def _online(cloud: AndersenCloud, body: dict[str, Any], request: web.Request) -> Any:
    charger = _charger(cloud, request)
    charger.set_online(_get(body, "online", bool))
    return charger_summary(cloud, charger)


def _error(cloud: AndersenCloud, body: dict[str, Any], request: web.Request) -> Any:
    charger = _charger(cloud, request)
    charger.set_error(_get(body, "code", int))
    return charger_summary(cloud, charger)


def _set_fields(cloud: AndersenCloud, body: dict[str, Any], request: web.Request) -> Any:
    charger = _charger(cloud, request)
    try:
        charger.set(**body)
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    return charger_summary(cloud, charger)


def _clock(cloud: AndersenCloud) -> dict[str, Any]:
    return {
        "speed": cloud.clock.speed,
        "chargers": {c.id: c.now.isoformat() for c in cloud.state.chargers.values()},
    }


def _show_clock(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    return _clock(cloud)


def _advance(cloud: AndersenCloud, body: dict[str, Any], _request: web.Request) -> Any:
    seconds = _get(body, "seconds", (int, float))
    if seconds < 0:
        raise ControlError("'seconds' must not be negative")
    cloud.advance(seconds)
    return _clock(cloud)


def _speed(cloud: AndersenCloud, body: dict[str, Any], _request: web.Request) -> Any:
    speed = _get(body, "speed", (int, float))
    if speed < 0:
        raise ControlError("'speed' must not be negative (0 stops the clock)")
    cloud.run_in_real_time(speed=speed)
    return _clock(cloud)


def _settle(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    return {"advanced": cloud.clock.settle(), **_clock(cloud)}


def _show_faults(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    return dataclasses.asdict(cloud.faults)


def _set_faults(cloud: AndersenCloud, body: dict[str, Any], _request: web.Request) -> Any:
    unknown = set(body) - _FAULT_FIELDS
    if unknown:
        raise ControlError(f"unknown fault(s): {', '.join(sorted(unknown))}")
    for name in body:
        kind = type(getattr(cloud.faults, name))
        setattr(cloud.faults, name, _get(body, name, (int, float) if kind is float else kind))
    return dataclasses.asdict(cloud.faults)


def _clear_faults(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    cloud.faults.clear()
    return dataclasses.asdict(cloud.faults)


def _expire_tokens(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    cloud.expire_tokens()
    return {"expired": True}


def _revoke_tokens(cloud: AndersenCloud, body: dict[str, Any], _request: web.Request) -> Any:
    email = _get(body, "email", str, None)
    user = cloud.state.user_by_email(email) if email else None
    if email and user is None:
        raise ControlError(f"no user {email!r}", 404)
    return {"revoked": cloud.revoke_refresh_tokens(user)}


async def _drop_websockets(
    cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request
) -> Any:
    return {"dropped": await cloud.drop_websockets()}


def _stats(cloud: AndersenCloud, _body: dict[str, Any], _request: web.Request) -> Any:
    stats = cloud.stats
    # Not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting pairs.
    fields = {field.name: getattr(stats, field.name) for field in dataclasses.fields(stats)}
    return {
        **{
            name: dict(value) if isinstance(value, dict) else value
            for name, value in fields.items()
        },
        "refreshes": stats.refreshes,
        "http_requests": stats.http_requests,
    }


_ROUTES: Final[tuple[tuple[str, str, _Handler, int], ...]] = (
    ("GET", "/state", _state, 200),
    ("POST", "/users", _add_user, 201),
    ("POST", "/chargers", _add_charger, 201),
    ("GET", "/chargers/{device_id}", _show_charger, 200),
    ("POST", "/chargers/{device_id}/plug-in", _plug_in, 200),
    ("POST", "/chargers/{device_id}/unplug", _unplug, 200),
    ("POST", "/chargers/{device_id}/online", _online, 200),
    ("POST", "/chargers/{device_id}/error", _error, 200),
    ("POST", "/chargers/{device_id}/set", _set_fields, 200),
    ("GET", "/clock", _show_clock, 200),
    ("POST", "/clock/advance", _advance, 200),
    ("POST", "/clock/speed", _speed, 200),
    ("POST", "/clock/settle", _settle, 200),
    ("GET", "/faults", _show_faults, 200),
    ("POST", "/faults", _set_faults, 200),
    ("DELETE", "/faults", _clear_faults, 200),
    ("POST", "/websockets/drop", _drop_websockets, 200),
    ("POST", "/tokens/expire", _expire_tokens, 200),
    ("POST", "/tokens/revoke", _revoke_tokens, 200),
    ("GET", "/stats", _stats, 200),
)
