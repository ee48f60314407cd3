"""The legacy REST device list, ``GET /api/getDevices``, as the Home Assistant clients use it.

On the real service it lives on ``https://mobile.andersen-ev.com``; the emulator serves it
on its API host (``<graphql_url>/api/getDevices``). It takes ``Authorization: Bearer
<IdToken>`` and answers ``{"devices": [{"id", "friendlyName", "userLock"}]}`` for the
account's chargers. As on the real service, ``userLock`` is sometimes missing: with
``Realism.legacy_user_lock_gaps`` (the default) it is left out for the chargers whose
:attr:`~andersen_ev.testing.Charger.legacy_user_lock` says so, or, when that is None, for
those whose device id has an odd CRC-32 (so a given id always gets the same answer).

A missing, malformed, expired or revoked token answers HTTP 401 with
``{"error": "Invalid/expired login token"}`` (decided here: the real answer is not
recorded; 401 is what the REST clients treat as "log in again").
"""

from __future__ import annotations

import logging
import zlib
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.tokens import TokenError

if TYPE_CHECKING:
    from andersen_ev.testing.charger import Charger
    from andersen_ev.testing.realism import Realism

__all__ = ["PATH", "reports_user_lock", "setup_routes"]

_LOG = logging.getLogger(__name__)

#: Where the emulator serves the list, on its API host.
PATH: Final = "/api/getDevices"
_REFUSED: Final = {"error": "Invalid/expired login token"}


def setup_routes(app: web.Application) -> None:
    """Serve ``GET /api/getDevices`` on the API application."""
    app.router.add_get(PATH, _get_devices)


def reports_user_lock(charger: Charger, realism: Realism) -> bool:
    """Whether the REST list shows ``userLock`` for ``charger`` (see the module doc)."""
    if charger.legacy_user_lock is not None:
        return charger.legacy_user_lock
    if not realism.legacy_user_lock_gaps:
        return True
    return zlib.crc32(charger.id.encode()) % 2 == 0


async def _get_devices(request: web.Request) -> web.Response:
    cloud = request.app[CLOUD_KEY]
    cloud.stats.legacy_requests += 1
    await cloud.delay()
    try:
        user = cloud.user_for_bearer(request.headers.get("Authorization"))
    except TokenError as exc:
        _LOG.info("legacy device list refused: bearer token %s", exc.reason)
        return web.json_response(_REFUSED, status=401)
    devices: list[dict[str, Any]] = []
    for charger in cloud.state.chargers_of(user):
        entry: dict[str, Any] = {"id": charger.id, "friendlyName": charger.friendly_name}
        if reports_user_lock(charger, cloud.realism):
            entry["userLock"] = charger.status()["sysUserLock"]
        devices.append(entry)
    return web.json_response({"devices": devices})
