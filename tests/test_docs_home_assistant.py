"""docs/home-assistant.md runs, against the emulator, with Home Assistant's names stood in.

Its ``python`` blocks run in order in one namespace (top-level ``await`` works), with the
stand-in of tests/ha_stand_in.py importable as ``homeassistant`` and
``pytest_homeassistant_custom_component``; the page's ``endpoints = PRODUCTION`` line gives
way to the emulator's endpoints, as on every page. Then each ``test_*`` function the page
defines runs with the fixtures it names: ``hass`` (a stand-in ``HomeAssistant`` whose
shared session is a real aiohttp session, with the page's namespace as the integration of
its ``DOMAIN``) and the emulator's own fixtures, each test with a fresh cloud and ``hass``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from andersen_ev.testing import AndersenCloud
from tests import ha_stand_in
from tests.test_docs_examples import ROOT, blocks, compiled

PAGE = ROOT / "docs" / "home-assistant.md"
EMULATOR_FIXTURES = ("andersen_cloud", "andersen_charger", "andersen_credentials")


async def run_blocks(namespace: dict[str, Any]) -> list[str]:
    """Run the page's Python blocks in ``namespace``; the names of the tests they define."""
    tests: list[str] = []
    for number, source in enumerate(blocks(PAGE, "python"), 1):
        before = set(namespace)
        code = compiled(source, f"{PAGE.name}, python block {number}")
        if code.co_flags & inspect.CO_COROUTINE:
            await eval(code, namespace)  # noqa: S307 - our own documentation
        else:
            exec(code, namespace)  # noqa: S102 - our own documentation
        tests += sorted(
            name
            for name in set(namespace) - before
            if name.startswith("test_") and callable(namespace[name])
        )
    return tests


@pytest.fixture
async def page(andersen_cloud: AndersenCloud) -> AsyncIterator[dict[str, Any]]:
    """The page's namespace, its blocks run, with Home Assistant stood in meanwhile."""
    with ha_stand_in.installed():
        namespace: dict[str, Any] = {
            "__name__": "custom_components.andersen_a2",
            "endpoints": andersen_cloud.endpoints,
        }
        namespace["__tests__"] = await run_blocks(namespace)
        yield namespace


def test_the_page_defines_the_integration_and_its_tests() -> None:
    sources = "\n".join(blocks(PAGE, "python"))
    for name in ("async_setup_entry", "async_unload_entry", "async_get_config_entry_diagnostics"):
        assert f"async def {name}(" in sources
    assert "home-assistant.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


async def run_documented_test(
    name: str, namespace: dict[str, Any], fixtures: dict[str, Any]
) -> None:
    """Call the page's test ``name`` with the fixtures it names, on a fresh ``hass``."""
    test: Callable[..., Any] = namespace[name]
    async with aiohttp.ClientSession() as session:
        hass = ha_stand_in.HomeAssistant(session)
        hass.integrations[namespace["DOMAIN"]] = namespace
        try:
            await ha_stand_in.call_with(test, {**fixtures, "hass": hass})
        finally:
            for entry in list(hass.config_entries.entries.values()):
                if entry.state is ha_stand_in.ConfigEntryState.LOADED:
                    await hass.config_entries.async_unload(entry.entry_id)


DOCUMENTED = (
    "test_it_follows_the_charger",
    "test_a_lost_session_asks_for_the_password",
    "test_an_outage_at_start_up_is_retried_later",
    "test_commands_fail_as_home_assistant_errors",
)


async def test_the_page_defines_those_tests_and_no_other(page: dict[str, Any]) -> None:
    assert sorted(page["__tests__"]) == sorted(DOCUMENTED)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("name", DOCUMENTED)
async def test_the_documented_integration_tests_pass(
    name: str, page: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    fixtures = {fixture: request.getfixturevalue(fixture) for fixture in EMULATOR_FIXTURES}
    await run_documented_test(name, page, fixtures)


def test_the_stand_in_redacts_as_home_assistant_does() -> None:
    data = {"email": "a@b.c", "tokens": {"id_token": "x"}, "n": [{"email": "d"}], "e": ""}
    assert ha_stand_in.async_redact_data(data, {"email", "tokens", "e"}) == {
        "email": "**REDACTED**",
        "tokens": "**REDACTED**",
        "n": [{"email": "**REDACTED**"}],
        "e": "",
    }


def test_the_stand_in_is_importable_only_while_installed() -> None:
    with ha_stand_in.installed():
        exceptions = importlib.import_module("homeassistant.exceptions")
        assert issubclass(exceptions.ConfigEntryAuthFailed, exceptions.HomeAssistantError)
    assert "homeassistant" not in sys.modules
