"""A faithful local emulator of the Andersen cloud, for tests, demos and your own harnesses.

:class:`AndersenCloud` serves GraphQL over HTTP and websockets, the username lookup and a
Cognito user pool with real SRP on loopback, with stateful simulated chargers and fault
knobs. It is no kinder than production (:class:`Realism`): device commands land a second
or two late, as on the real service. The pytest plugin (loaded automatically when
andersen-ev is installed) offers the fixtures ``andersen_cloud``, ``andersen_user`` and
``andersen_charger``.

The names below are imported on first use, so that the pytest plugin, which lives in this
package and is loaded into every pytest run, costs nothing until a fixture is used.

The library itself never imports this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from andersen_ev.testing.charger import Charger
    from andersen_ev.testing.cloud import AndersenCloud
    from andersen_ev.testing.faults import CloudStats, Faults
    from andersen_ev.testing.realism import Realism
    from andersen_ev.testing.state import EmulatedUser

__all__ = ["AndersenCloud", "Charger", "CloudStats", "EmulatedUser", "Faults", "Realism"]

#: The module of each public name, imported on first use.
_HOMES = {
    "AndersenCloud": "cloud",
    "Charger": "charger",
    "CloudStats": "faults",
    "Faults": "faults",
    "Realism": "realism",
    "EmulatedUser": "state",
}


def __getattr__(name: str) -> Any:
    """Import the emulator's public names on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
