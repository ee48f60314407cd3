"""A redacted snapshot of a session, for bug reports: no secrets, no personal data."""

from __future__ import annotations

import hashlib
import platform
from typing import TYPE_CHECKING, Any, Final

from andersen_ev._version import __version__
from andersen_ev.exceptions import AndersenError
from andersen_ev.graphql import schema_sdl
from andersen_ev.models import DeviceStatus

if TYPE_CHECKING:
    from andersen_ev.client import AndersenA2

__all__ = ["REDACTED_STATUS_FIELDS", "snapshot"]

#: Status fields left out (wire names): the models' personal fields (``TO_REDACT``).
REDACTED_STATUS_FIELDS: Final = frozenset(map(DeviceStatus.wire_name, DeviceStatus.TO_REDACT))


async def snapshot(client: AndersenA2) -> dict[str, Any]:
    """See :meth:`andersen_ev.AndersenA2.diagnostics`."""
    tokens = client.tokens
    report: dict[str, Any] = {
        "library": {
            "version": __version__,
            "python": platform.python_version(),
            "schema_sha256": hashlib.sha256(schema_sdl().encode()).hexdigest()[:16],
        },
        "endpoints": {"graphql_url": client.endpoints.graphql_url},
        "auth": {
            "logged_in": tokens is not None,
            "expires_at": tokens.expires_at.isoformat() if tokens else None,
            "device_remembered": bool(tokens and tokens.device_remembered),
        },
        "devices": [],
    }
    try:
        devices = await client.get_current_user_devices()
    except AndersenError as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    for device in devices:
        entry: dict[str, Any] = {"id": device.id}
        try:
            status = await client.get_device_status(device.id)
        except AndersenError as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        else:
            entry["status"] = status.redacted()
        report["devices"].append(entry)
    return report
