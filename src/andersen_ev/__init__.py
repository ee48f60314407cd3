"""andersen-ev: an asyncio-native client for the Andersen A2 EV charger's cloud (Konnect+).

The emulator of the cloud, for tests and demos, is :mod:`andersen_ev.testing`.
"""

from andersen_ev._version import __version__
from andersen_ev.const import PRODUCTION, Endpoints
from andersen_ev.exceptions import AndersenError

__all__ = ["PRODUCTION", "AndersenError", "Endpoints", "__version__"]
