"""andersen-ev: an asyncio-native client for the Andersen A2 EV charger's cloud (Konnect+).

The emulator of the cloud, for tests and demos, is :mod:`andersen_ev.testing`.
"""

from andersen_ev._version import __version__
from andersen_ev.auth import Authenticator, Tokens
from andersen_ev.client import AndersenA2
from andersen_ev.const import PRODUCTION, Endpoints
from andersen_ev.control import ChargeNow, SavedChargeState
from andersen_ev.exceptions import (
    AndersenConnectionError,
    AndersenError,
    AndersenTimeoutError,
    ApiError,
    AuthenticationError,
    CognitoError,
    CommandNotConfirmedError,
    DeviceNotFoundError,
    InsecureTokenFileError,
    InvalidCredentialsError,
    InvalidInputError,
    RateLimitedError,
    ReauthRequiredError,
    ResponseError,
    RestoreError,
    ServerError,
    TokenStoreError,
    UnsupportedChallengeError,
)
from andersen_ev.models import (
    Address,
    ChargeLog,
    ChargeRate,
    ChargeStatus,
    CommandResult,
    DayMap,
    Device,
    DeviceInfo,
    DeviceStatus,
    EvseState,
    JsonValue,
    LoraConfig,
    Schedule,
    ScheduleSlot,
    SolarSettings,
)
from andersen_ev.retry import RetryPolicy
from andersen_ev.stream import DeviceUpdates, StatusSnapshot, StreamSettings, StreamState
from andersen_ev.token_store import TokenStore

__all__ = [
    "PRODUCTION",
    "Address",
    "AndersenA2",
    "AndersenConnectionError",
    "AndersenError",
    "AndersenTimeoutError",
    "ApiError",
    "AuthenticationError",
    "Authenticator",
    "ChargeLog",
    "ChargeNow",
    "ChargeRate",
    "ChargeStatus",
    "CognitoError",
    "CommandNotConfirmedError",
    "CommandResult",
    "DayMap",
    "Device",
    "DeviceInfo",
    "DeviceNotFoundError",
    "DeviceStatus",
    "DeviceUpdates",
    "Endpoints",
    "EvseState",
    "InsecureTokenFileError",
    "InvalidCredentialsError",
    "InvalidInputError",
    "JsonValue",
    "LoraConfig",
    "RateLimitedError",
    "ReauthRequiredError",
    "ResponseError",
    "RestoreError",
    "RetryPolicy",
    "SavedChargeState",
    "Schedule",
    "ScheduleSlot",
    "ServerError",
    "SolarSettings",
    "StatusSnapshot",
    "StreamSettings",
    "StreamState",
    "TokenStore",
    "TokenStoreError",
    "Tokens",
    "UnsupportedChallengeError",
    "__version__",
]
