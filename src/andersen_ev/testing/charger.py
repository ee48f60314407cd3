"""PLACEHOLDER: the simulated charger (being written)."""

from __future__ import annotations

from typing import Any

from andersen_ev.testing.state import StatusHub


class Charger:
    """Placeholder."""

    def __init__(
        self,
        *,
        device_id: str,
        friendly_name: str,
        device_name: str,
        hub: StatusHub,
        **options: Any,
    ) -> None:
        self.id = device_id
        self.friendly_name = friendly_name
        self.device_name = device_name
        self.hub = hub

    def advance(self, seconds: float) -> None:
        """Placeholder."""
