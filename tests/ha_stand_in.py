"""A stand-in for the few Home Assistant names docs/home-assistant.md uses, so that the suite
runs that page's code against the emulator without installing Home Assistant.

Only what the page touches is here, with Home Assistant's names and signatures and its
behaviour where the page depends on it (checked against Home Assistant 2025.x):

* the exception classes and their hierarchy (``homeassistant.exceptions``);
* ``DataUpdateCoordinator``: ``_async_setup`` then ``_async_update_data`` on the first
  refresh, ``UpdateFailed`` there becomes ``ConfigEntryNotReady``, ``ConfigEntryAuthFailed``
  passes through it and, on a later refresh, starts a reauth flow;
* config entries: set up by the integration's ``async_setup_entry``, whose exceptions set
  the entry's state (``SETUP_RETRY``, ``SETUP_ERROR`` and a reauth flow); ``async_on_unload``
  callbacks run at unload and after a failed set-up; ``async_update_entry`` replaces data;
* ``async_get_clientsession``: the one shared aiohttp session of ``hass``;
* ``async_redact_data``, as Home Assistant's diagnostics redact.

No timers: a poll happens when a test calls ``coordinator.async_refresh()``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import sys
import types
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from enum import Enum
from typing import Any, Final, Generic, TypeVar

import aiohttp

_T = TypeVar("_T")
REDACTED: Final = "**REDACTED**"
SOURCE_REAUTH: Final = "reauth"


class HomeAssistantError(Exception):
    """Home Assistant's root error."""


class ServiceValidationError(HomeAssistantError):
    """An action was called with invalid input."""


class IntegrationError(HomeAssistantError):
    """Base of the set-up errors."""


class ConfigEntryError(IntegrationError):
    """Set-up failed for good."""


class ConfigEntryAuthFailed(IntegrationError):  # noqa: N818 - Home Assistant's name
    """The credentials are no longer valid: a reauth flow starts."""


class ConfigEntryNotReady(IntegrationError):  # noqa: N818 - Home Assistant's name
    """Set-up failed for now: Home Assistant retries it later."""


class UpdateFailed(HomeAssistantError):  # noqa: N818 - Home Assistant's name
    """A coordinator's update failed."""


class ConfigEntryState(Enum):
    """Where a config entry stands."""

    NOT_LOADED = "not_loaded"
    SETUP_IN_PROGRESS = "setup_in_progress"
    LOADED = "loaded"
    SETUP_ERROR = "setup_error"
    SETUP_RETRY = "setup_retry"


_entry_ids = itertools.count(1)


class ConfigEntry:
    """A config entry: its data, its state, what runs while it is loaded."""

    def __init__(
        self,
        *,
        domain: str,
        data: Mapping[str, Any],
        title: str = "",
        unique_id: str | None = None,
    ) -> None:
        self.domain = domain
        self.data: Mapping[str, Any] = types.MappingProxyType(dict(data))
        self.title = title
        self.unique_id = unique_id
        self.entry_id = f"entry{next(_entry_ids)}"
        self.state = ConfigEntryState.NOT_LOADED
        self.runtime_data: Any = None
        self._on_unload: list[Callable[[], Coroutine[Any, Any, None] | None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def async_on_unload(self, func: Callable[[], Coroutine[Any, Any, None] | None]) -> None:
        """Call ``func`` when the entry unloads (or its set-up fails)."""
        self._on_unload.append(func)

    def async_create_background_task(
        self, hass: HomeAssistant, target: Coroutine[Any, Any, _T], name: str
    ) -> asyncio.Task[_T]:
        """A task that lives while the entry is loaded; cancelled at unload."""
        del hass
        task = asyncio.create_task(target, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def async_start_reauth(self, hass: HomeAssistant) -> None:
        """Start a reauth flow for this entry (once)."""
        hass.config_entries.flow.start_reauth(self)

    async def _async_process_on_unload(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._on_unload:
            outcome = self._on_unload.pop()()
            if inspect.isawaitable(outcome):
                await outcome


class MockConfigEntry(ConfigEntry):
    """``pytest_homeassistant_custom_component.common.MockConfigEntry``."""

    def add_to_hass(self, hass: HomeAssistant) -> None:
        """Register the entry with ``hass``."""
        hass.config_entries.entries[self.entry_id] = self


class FlowManager:
    """The config flows in progress (only reauth flows here)."""

    def __init__(self) -> None:
        self._flows: list[dict[str, Any]] = []

    def start_reauth(self, entry: ConfigEntry) -> None:
        """Start a reauth flow for ``entry`` unless one is in progress."""
        context = {"source": SOURCE_REAUTH, "entry_id": entry.entry_id}
        if all(flow["context"] != context for flow in self._flows):
            self._flows.append({"handler": entry.domain, "context": context})

    def async_progress(self) -> list[dict[str, Any]]:
        """The flows in progress."""
        return list(self._flows)


class ConfigEntries:
    """``hass.config_entries``: set-up, unload and updates of entries."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self.entries: dict[str, ConfigEntry] = {}
        self.flow = FlowManager()

    def async_update_entry(
        self, entry: ConfigEntry, *, data: Mapping[str, Any] | None = None
    ) -> bool:
        """Replace the entry's data; whether anything changed."""
        if data is None or dict(data) == dict(entry.data):
            return False
        entry.data = types.MappingProxyType(dict(data))
        return True

    async def async_setup(self, entry_id: str) -> bool:
        """Set the entry up with its integration's ``async_setup_entry``."""
        entry = self.entries[entry_id]
        integration = self._hass.integrations[entry.domain]
        entry.state = ConfigEntryState.SETUP_IN_PROGRESS
        try:
            ok = await integration["async_setup_entry"](self._hass, entry)
        except ConfigEntryNotReady:
            entry.state = ConfigEntryState.SETUP_RETRY
        except ConfigEntryAuthFailed:
            entry.state = ConfigEntryState.SETUP_ERROR
            entry.async_start_reauth(self._hass)
        except ConfigEntryError:
            entry.state = ConfigEntryState.SETUP_ERROR
        else:
            entry.state = ConfigEntryState.LOADED if ok else ConfigEntryState.SETUP_ERROR
        if entry.state is not ConfigEntryState.LOADED:
            await entry._async_process_on_unload()
        return entry.state is ConfigEntryState.LOADED

    async def async_unload(self, entry_id: str) -> bool:
        """Unload the entry with its integration's ``async_unload_entry``."""
        entry = self.entries[entry_id]
        ok = bool(
            await self._hass.integrations[entry.domain]["async_unload_entry"](self._hass, entry)
        )
        if ok:
            await entry._async_process_on_unload()
            entry.state = ConfigEntryState.NOT_LOADED
        return ok


class HomeAssistant:
    """``hass``: config entries, the shared aiohttp session, the integrations (by domain)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.data: dict[str, Any] = {}
        self.config_entries = ConfigEntries(self)
        self.integrations: dict[str, Mapping[str, Any]] = {}
        self.http_session = session

    async def async_block_till_done(self) -> None:
        """Let callbacks and tasks that are ready run."""
        for _ in range(10):
            await asyncio.sleep(0)


def async_get_clientsession(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Home Assistant's shared aiohttp session (never close it)."""
    return hass.http_session


def callback(func: _T) -> _T:
    """Marks a function as safe to call in the event loop."""
    return func


class DataUpdateCoordinator(Generic[_T]):
    """Fetches data for entities, and tells them when it changed."""

    def __init__(
        self,
        hass: HomeAssistant,
        logger: logging.Logger,
        *,
        config_entry: ConfigEntry | None,
        name: str,
        update_interval: timedelta | None = None,
    ) -> None:
        self.hass = hass
        self.logger = logger
        self.config_entry = config_entry
        self.name = name
        self.update_interval = update_interval
        self.data: _T = None  # type: ignore[assignment]
        self.last_update_success = True
        self.last_exception: Exception | None = None
        self._listeners: list[Callable[[], None]] = []

    async def _async_setup(self) -> None:
        """Run once, before the first update."""

    async def _async_update_data(self) -> _T:
        raise NotImplementedError

    def async_add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` on every update; returns its remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def async_update_listeners(self) -> None:
        """Tell every listener."""
        for listener in list(self._listeners):
            listener()

    async def async_config_entry_first_refresh(self) -> None:
        """Set up and refresh; ``ConfigEntryNotReady`` unless it succeeded."""
        try:
            await self._async_setup()
        except UpdateFailed as err:
            self.last_update_success, self.last_exception = False, err
        else:
            await self._async_refresh(raise_on_auth_failed=True)
            if self.last_update_success:
                return
        raise ConfigEntryNotReady from self.last_exception

    async def async_refresh(self) -> None:
        """Refresh now (a failure is recorded, not raised; failed auth starts a reauth)."""
        await self._async_refresh(raise_on_auth_failed=False)

    async def async_request_refresh(self) -> None:
        """Refresh soon (debounced in Home Assistant; at once here)."""
        await self.async_refresh()

    async def _async_refresh(self, *, raise_on_auth_failed: bool) -> None:
        try:
            self.data = await self._async_update_data()
        except (TimeoutError, aiohttp.ClientError, UpdateFailed) as err:
            self.last_update_success, self.last_exception = False, err
        except ConfigEntryAuthFailed as err:
            self.last_update_success, self.last_exception = False, err
            if raise_on_auth_failed:
                raise
            if self.config_entry is not None:
                self.config_entry.async_start_reauth(self.hass)
        else:
            self.last_update_success, self.last_exception = True, None
        self.async_update_listeners()

    def async_set_updated_data(self, data: _T) -> None:
        """Data pushed from elsewhere (a stream): stored, listeners told."""
        self.data = data
        self.last_update_success, self.last_exception = True, None
        self.async_update_listeners()


def async_redact_data(data: _T, to_redact: Iterable[Any]) -> _T:
    """``data`` with the values of the keys in ``to_redact`` replaced, at any depth."""
    keys = set(to_redact)
    if isinstance(data, list):
        return [async_redact_data(item, keys) for item in data]  # type: ignore[return-value]
    if not isinstance(data, Mapping):
        return data
    redacted = dict(data)
    for key, value in redacted.items():
        if value is None or (isinstance(value, str) and not value):
            continue
        if key in keys:
            redacted[key] = REDACTED
        elif isinstance(value, Mapping | list):
            redacted[key] = async_redact_data(value, keys)
    return redacted  # type: ignore[return-value]


_MODULES: Final[dict[str, dict[str, Any]]] = {
    "homeassistant": {},
    "homeassistant.core": {"HomeAssistant": HomeAssistant, "callback": callback},
    "homeassistant.exceptions": {
        name: globals()[name]
        for name in (
            "HomeAssistantError",
            "ServiceValidationError",
            "IntegrationError",
            "ConfigEntryError",
            "ConfigEntryAuthFailed",
            "ConfigEntryNotReady",
        )
    },
    "homeassistant.config_entries": {
        "ConfigEntry": ConfigEntry,
        "ConfigEntryState": ConfigEntryState,
        "SOURCE_REAUTH": SOURCE_REAUTH,
    },
    "homeassistant.helpers": {},
    "homeassistant.helpers.aiohttp_client": {"async_get_clientsession": async_get_clientsession},
    "homeassistant.helpers.update_coordinator": {
        "DataUpdateCoordinator": DataUpdateCoordinator,
        "UpdateFailed": UpdateFailed,
    },
    "homeassistant.components": {},
    "homeassistant.components.diagnostics": {"async_redact_data": async_redact_data},
    "pytest_homeassistant_custom_component": {},
    "pytest_homeassistant_custom_component.common": {"MockConfigEntry": MockConfigEntry},
}


@contextmanager
def installed() -> Iterator[None]:
    """The stand-in modules importable under Home Assistant's names, for the block."""
    if any(name in sys.modules for name in _MODULES):
        raise RuntimeError("Home Assistant (or its stand-in) is imported already")
    for name, attributes in _MODULES.items():
        module = types.ModuleType(name, "A stand-in (tests/ha_stand_in.py).")
        module.__dict__.update(attributes)
        module.__path__ = []  # a package: its submodules import
        sys.modules[name] = module
    try:
        yield
    finally:
        for name in _MODULES:
            del sys.modules[name]


def call_with(test: Callable[..., Awaitable[None]], fixtures: Mapping[str, Any]) -> Awaitable[None]:
    """Call a documented test with the fixtures its parameters name."""
    return test(**{name: fixtures[name] for name in inspect.signature(test).parameters})
