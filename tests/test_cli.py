"""The ``andersen-ev`` command line, in-process, against the emulator serving on the test's
event loop: every command, its text and JSON output, its exit codes and its errors."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from andersen_ev import DeviceNotFoundError, DeviceStatus, EvseState
from andersen_ev.cli.app import build_parser, main, run
from andersen_ev.cli.errors import CliError, ExitCode, explain
from andersen_ev.const import Endpoints
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.cli_support import Result, Terminal, endpoints_json, log_in, run_cli

pytestmark = pytest.mark.usefixtures("andersen_charger")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
async def logged_in(
    andersen_cloud: AndersenCloud, config: Path, andersen_credentials: tuple[str, str]
) -> AsyncIterator[Path]:
    """Logged in; the charger applies each command as soon as it has been answered (the
    clock jumps over the command delay), so commands that wait for it return at once."""
    result = await log_in(andersen_cloud, config, andersen_credentials)
    assert result.code == ExitCode.OK, result.err
    with andersen_cloud.fast_forward():
        yield config


async def cli(config: Path, *argv: str, **options: object) -> Result:
    return await run_cli(*argv, config=config, **options)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def subcommands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from subcommands(sub, (*prefix, name))


# -- help and usage ------------------------------------------------------------------------


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(subcommands(build_parser()))
    assert {
        ("login",),
        ("watch",),
        ("schedules", "disable-all"),
        ("solar", "set"),
        ("demo",),
    } <= set(commands)
    for command in [(), *commands]:
        out = io.StringIO()
        code = run([*command, "--help"], stdin=io.StringIO(), stdout=out, stderr=io.StringIO())
        text = out.getvalue() + capsys.readouterr().out  # argparse prints to sys.stdout
        assert code == ExitCode.OK, command
        assert f"usage: andersen-ev {' '.join(command)}".strip() in text, command


def test_main_reads_the_process_arguments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--version"]) == ExitCode.OK
    assert capsys.readouterr().out.startswith("andersen-ev ")
    monkeypatch.setattr(sys, "argv", ["andersen-ev", "--help"])
    assert main() == ExitCode.OK
    assert capsys.readouterr().out.startswith("usage: andersen-ev")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["status", "--bogus"], ["schedules", "set", "7", "00:00", "01:00"]):
        err = io.StringIO()
        code = run(argv, stdin=io.StringIO(), stdout=io.StringIO(), stderr=err)
        assert code == ExitCode.USAGE, argv
        assert "error" in err.getvalue() + capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["schedules", "set", "0", "25:00", "01:00"], "not a time of day (00:00-23:59)"),
        (["schedules", "set", "0", "noon", "01:00"], "not a time of day (HH:MM)"),
        (["schedules", "set", "0", "00:00", "01:00", "--days", "funday"], "unknown day"),
        (["schedules", "set", "0", "00:00", "01:00", "--days", "fri-mon"], "runs forwards"),
        (["solar", "set", "--max-grid-percent", "101"], "must be from 0 to 100"),
        (["solar", "set", "--max-grid-percent", "half"], "not a whole number"),
        (["lock", "--wait-timeout", "0"], "must be more than 0"),
        (["lock", "--wait-timeout", "soon"], "not a number"),
        (["logs", "--since", "yesterday"], "not an ISO date"),
        (["logs", "--csv", "--json"], "not allowed with argument"),
        (["logs", "--limit", "-1"], "argument --limit: must be 1 or more, got -1"),
        (["watch", "--count", "0"], "must be 1 or more"),
    ],
)
def test_bad_values_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(argv, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert "COMMAND" not in err  # no placeholder left in a message or hint


# -- login and logout ----------------------------------------------------------------------


async def test_login_keeps_tokens_private_and_never_the_password(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    config: Path,
    andersen_credentials: tuple[str, str],
) -> None:
    result = await log_in(andersen_cloud, config, andersen_credentials, "--device-name", "test box")
    assert result.code == ExitCode.OK, result.err
    tokens = config / "tokens.json"
    assert f"Tokens saved to {tokens} (mode 0600)" in result.out
    assert mode(tokens) == 0o600
    assert mode(config) == 0o700
    saved = tokens.read_text()
    assert andersen_credentials[1] not in saved
    assert json.loads(saved)["device_password"]  # remembered: the password is not needed again
    assert [device.name for device in andersen_user.devices.values()] == ["test box"]
    assert mode(config / "endpoints.json") == 0o600

    # later commands talk to the same cloud without being told
    status = await cli(config, "status")
    assert status.code == ExitCode.OK, status.err
    assert "Driveway" in status.out

    # logging in again reuses the remembered device instead of adding one
    again = await log_in(andersen_cloud, config, andersen_credentials)
    assert again.code == ExitCode.OK, again.err
    assert len(andersen_user.devices) == 1


@pytest.mark.andersen_cloud(device_tracking=False)
async def test_login_warns_when_the_device_cannot_be_remembered(
    andersen_cloud: AndersenCloud, config: Path, andersen_credentials: tuple[str, str]
) -> None:
    result = await log_in(andersen_cloud, config, andersen_credentials)
    assert result.code == ExitCode.OK
    assert result.err.startswith("andersen-ev: warning: this machine could not be remembered")
    assert "Logged in" in result.out


async def test_login_refusals_exit_3_with_a_hint(
    andersen_cloud: AndersenCloud, config: Path, andersen_credentials: tuple[str, str]
) -> None:
    email, _ = andersen_credentials
    wrong = await log_in(andersen_cloud, config, (email, "not the password"))
    assert wrong.code == ExitCode.AUTH
    assert wrong.err.startswith("andersen-ev: error: the password is wrong")
    assert "(hint: use the email and password of the Konnect+ app" in wrong.err
    assert wrong.err.count("\n") == 1
    unknown = await log_in(andersen_cloud, config, ("nobody@example.com", "x"))
    assert unknown.code == ExitCode.AUTH
    assert not (config / "tokens.json").exists()


async def test_login_needs_a_terminal_or_password_stdin(
    andersen_cloud: AndersenCloud, config: Path
) -> None:
    endpoints = andersen_cloud.endpoints
    no_email = await cli(config, "login", "--password-stdin", endpoints=endpoints, stdin="pw\n")
    assert no_email.code == ExitCode.USAGE
    assert "no email given" in no_email.err
    no_tty = await cli(config, "login", "me@example.com", endpoints=endpoints)
    assert no_tty.code == ExitCode.USAGE
    assert "hint: use --password-stdin, --password-file FILE or ANDERSEN_EV_PASSWORD" in no_tty.err
    empty = await cli(config, "login", "me@example.com", "--password-stdin", endpoints=endpoints)
    assert empty.code == ExitCode.USAGE
    assert "no password given" in empty.err


async def test_login_asks_for_the_email_on_a_terminal(config: Path) -> None:
    err = io.StringIO()
    code = await asyncio.to_thread(
        run,
        ["--config-dir", str(config), "login"],
        stdin=Terminal("\n"),
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == ExitCode.USAGE
    assert err.getvalue().startswith("Email: andersen-ev: error: no email given")


async def test_logout_forgets_the_device_and_deletes_the_files(
    logged_in: Path, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    result = await cli(logged_in, "logout")
    assert result.code == ExitCode.OK, result.err
    assert "this device is forgotten, the tokens are revoked" in result.out
    assert not andersen_user.devices
    assert not (logged_in / "tokens.json").exists()
    assert not (logged_in / "endpoints.json").exists()
    again = await cli(logged_in, "logout")
    assert again.out == "Not logged in: nothing to do.\n"
    status = await cli(logged_in, "status")
    assert status.code == ExitCode.AUTH
    assert "not logged in" in status.err
    assert f"(hint: run 'andersen-ev login --config-dir {logged_in}')" in status.err


async def test_logout_deletes_the_files_even_when_the_service_is_unreachable(
    logged_in: Path, andersen_cloud: AndersenCloud
) -> None:
    await andersen_cloud.close()
    result = await cli(logged_in, "logout")
    assert result.code == ExitCode.OK
    assert result.err.startswith("andersen-ev: warning: the service was not told")
    assert "Logged out here" in result.out
    assert not (logged_in / "tokens.json").exists()


@pytest.fixture
def unusable_tokens(config: Path) -> Path:
    config.mkdir()
    (config / "tokens.json").write_text("not tokens")
    return config


async def test_logout_deletes_an_unusable_token_file(unusable_tokens: Path) -> None:
    config = unusable_tokens
    result = await cli(config, "logout")
    assert result.code == ExitCode.OK
    assert "Logged out here" in result.out
    assert not (config / "tokens.json").exists()


async def test_login_replaces_an_unusable_token_file(
    unusable_tokens: Path, andersen_cloud: AndersenCloud, andersen_credentials: tuple[str, str]
) -> None:
    result = await log_in(andersen_cloud, unusable_tokens, andersen_credentials)
    assert result.code == ExitCode.OK, result.err
    assert (await cli(unusable_tokens, "devices")).code == ExitCode.OK


async def test_refreshed_tokens_are_saved_back(
    logged_in: Path, andersen_cloud: AndersenCloud
) -> None:
    before = json.loads((logged_in / "tokens.json").read_text())
    andersen_cloud.expire_tokens()
    result = await cli(logged_in, "status")
    assert result.code == ExitCode.OK, result.err
    after = json.loads((logged_in / "tokens.json").read_text())
    assert after["id_token"] != before["id_token"]
    assert after["refresh_token"] == before["refresh_token"]
    assert andersen_cloud.stats.refreshes == 1


async def test_an_ended_session_asks_for_a_new_login(
    logged_in: Path, andersen_cloud: AndersenCloud
) -> None:
    andersen_cloud.revoke_refresh_tokens()
    andersen_cloud.expire_tokens()
    result = await cli(logged_in, "devices")
    assert result.code == ExitCode.AUTH
    assert "log in again" in result.err


async def test_an_insecure_token_file_is_refused(logged_in: Path) -> None:
    (logged_in / "tokens.json").chmod(0o644)
    result = await cli(logged_in, "devices")
    assert result.code == ExitCode.AUTH
    assert "accessible to other users" in result.err


# -- where the cloud is ----------------------------------------------------------------------


async def test_endpoints_from_the_environment_or_a_file(
    andersen_cloud: AndersenCloud,
    config: Path,
    tmp_path: Path,
    andersen_credentials: tuple[str, str],
) -> None:
    # the emulator's whole output in a file: the first line is read
    line = json.dumps({"endpoints": endpoints_json_object(andersen_cloud.endpoints), "email": "x"})
    saved = tmp_path / "emulator.json"
    saved.write_text(line + "\nmore output\n")
    email, password = andersen_credentials
    result = await cli(
        config, "login", email, "--password-stdin", "--endpoints", str(saved), stdin=password
    )
    assert result.code == ExitCode.OK, result.err
    # the environment variable overrides what login recorded
    nowhere = {"ANDERSEN_EV_ENDPOINTS": '{"graphql_url": "http://127.0.0.1:9"}'}
    assert (await cli(config, "devices", environ=nowhere)).code == ExitCode.ERROR
    there = {"ANDERSEN_EV_ENDPOINTS": endpoints_json(andersen_cloud.endpoints)}
    assert (await cli(config, "devices", environ=there)).code == ExitCode.OK


def endpoints_json_object(endpoints: Endpoints) -> dict[str, str]:
    obj: dict[str, str] = json.loads(endpoints_json(endpoints))["endpoints"]
    return obj


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "--endpoints is not valid JSON"),
        ("/no/such/file", "--endpoints is neither JSON nor a readable file"),
        ("[1, 2]", "--endpoints holds no endpoints object"),
        ('{"endpoints": {}}', "--endpoints holds no endpoints object"),
        ('{"graphql": "x"}', "unknown keys ['graphql']"),
        ('{"graphql_url": 8}', "non-string values for ['graphql_url']"),
    ],
)
async def test_bad_endpoints_are_usage_errors(config: Path, value: str, message: str) -> None:
    result = await cli(config, "devices", "--endpoints", value)
    assert result.code == ExitCode.USAGE
    assert message in result.err


async def test_a_broken_endpoints_record_asks_for_a_new_login(logged_in: Path) -> None:
    (logged_in / "endpoints.json").write_text("{}")
    result = await cli(logged_in, "devices")
    assert result.code == ExitCode.AUTH
    assert "hint: delete it and run 'andersen-ev login' again" in result.err
    (logged_in / "endpoints.json").unlink()
    (logged_in / "endpoints.json").mkdir()
    unreadable = await cli(logged_in, "devices")
    assert unreadable.code == ExitCode.AUTH
    assert "cannot read" in unreadable.err


async def test_an_unreachable_cloud_is_a_one_line_error(config: Path) -> None:
    nowhere = Endpoints(
        graphql_url="http://127.0.0.1:9",
        user_lookup_url="http://127.0.0.1:9/get-pending-user",
        cognito_url="http://127.0.0.1:9/",
    )
    result = await cli(
        config, "login", "me@example.com", "--password-stdin", endpoints=nowhere, stdin="pw"
    )
    assert result.code == ExitCode.ERROR
    assert result.err.count("\n") == 1
    assert "hint: check the network" in result.err


# -- devices and status ------------------------------------------------------------------------


async def test_devices_as_a_table_and_as_json(logged_in: Path, andersen_charger: Charger) -> None:
    text = await cli(logged_in, "devices")
    assert text.out.splitlines()[0].split() == ["NAME", "ID", "DEVICE", "NAME", "FIRMWARE"]
    assert andersen_charger.id in text.out
    assert text.out.splitlines()[1].split()[::2] == ["Driveway", andersen_charger.name]
    data = json.loads((await cli(logged_in, "devices", "--json")).out)
    # the table's NAME is the JSON's friendly_name; its DEVICE NAME is the model's name
    assert list(data[0])[:3] == ["id", "friendly_name", "name"]
    assert (data[0]["friendly_name"], data[0]["name"]) == ("Driveway", andersen_charger.name)
    assert data[0]["device_info"]["friendly_name"] == "Driveway"


async def test_status_shows_a_charging_session(
    logged_in: Path, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_charger.plug_in(energy_wanted_kwh=20)
    andersen_cloud.advance(600)
    result = await cli(logged_in, "status")
    assert result.code == ExitCode.OK
    lines = dict(line.split(None, 1) for line in result.out.splitlines()[1:])
    assert lines["state"] == "charging"
    assert lines["power"] == "7.20 kW"
    energy = andersen_charger.status()["chargeStatus"]["chargeEnergyTotal"]
    assert lines["session"] == f"{energy:.3f} kWh in 0:10:00, started 2025-01-06 12:00 UTC"
    data = json.loads((await cli(logged_in, "status", "--json")).out)
    assert data["status"]["evse_state"] == EvseState.CHARGING
    assert data["device"]["id"] == andersen_charger.id
    assert data["device"]["friendly_name"] == "Driveway"


async def test_chargers_are_found_by_id_name_or_device_name(
    logged_in: Path,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
) -> None:
    garage = andersen_cloud.add_charger(andersen_user, name="Garage")
    for wanted in (garage.id, "Garage", garage.name.lower()):
        result = await cli(logged_in, "status", wanted)
        assert result.out.startswith(f"Garage ({garage.id})"), wanted
    assert (await cli(logged_in, "status", "-d", "Driveway")).code == ExitCode.OK

    several = await cli(logged_in, "status")
    assert several.code == ExitCode.USAGE
    assert "this account has 2 chargers: say which one" in several.err
    assert f"'Garage' ({garage.id})" in several.err

    missing = await cli(logged_in, "lock", "Shed")
    assert missing.code == ExitCode.NOT_FOUND
    assert "no charger called 'Shed'" in missing.err

    andersen_cloud.add_charger(andersen_user, name="Garage")
    twins = await cli(logged_in, "status", "Garage")
    assert twins.code == ExitCode.USAGE
    assert "2 chargers are called 'Garage'" in twins.err
    assert andersen_charger.friendly_name == "Driveway"


async def test_an_account_without_chargers(
    andersen_cloud: AndersenCloud,
    config: Path,
    andersen_cloud_user_without_chargers: tuple[str, str],
) -> None:
    result = await log_in(andersen_cloud, config, andersen_cloud_user_without_chargers)
    assert result.code == ExitCode.OK
    assert (await cli(config, "devices")).out == "No chargers in this account.\n"
    status = await cli(config, "status")
    assert status.code == ExitCode.NOT_FOUND
    assert "this account has no chargers" in status.err
    assert json.loads((await cli(config, "devices", "--json")).out) == []


@pytest.fixture
def andersen_cloud_user_without_chargers(andersen_cloud: AndersenCloud) -> tuple[str, str]:
    andersen_cloud.add_user("empty@example.com", "nothing here")
    return "empty@example.com", "nothing here"


def test_a_device_the_service_does_not_know_exits_4() -> None:
    # the library's own DeviceNotFoundError (the command line's lookup is tested above)
    error = DeviceNotFoundError("no device 'x'", operation="getDevice", errors=[])
    assert explain(error) == (
        ExitCode.NOT_FOUND,
        "no device 'x'",
        "run 'andersen-ev devices' to list the account's chargers",
    )


# -- commands ----------------------------------------------------------------------------------


async def test_lock_and_unlock_wait_for_the_charger(
    logged_in: Path, andersen_charger: Charger
) -> None:
    locked = await cli(logged_in, "lock")
    assert locked.out == "Driveway is locked: connected cars do not charge.\n"
    assert andersen_charger.status()["sysUserLock"] is True
    unlocked = await cli(logged_in, "unlock", "Driveway")
    assert unlocked.out.startswith("Driveway is unlocked")
    assert andersen_charger.status()["sysUserLock"] is False
    sent = await cli(logged_in, "lock", "--no-wait")
    assert sent.out == "Lock sent to Driveway (not waiting to see it).\n"


async def test_a_command_the_charger_never_shows_exits_5(
    logged_in: Path, andersen_charger: Charger
) -> None:
    andersen_charger.set_online(False)
    result = await cli(logged_in, "lock", "--wait-timeout", "0.2")
    assert result.code == ExitCode.OUTCOME_UNKNOWN
    assert result.err.startswith(
        "andersen-ev: error: the charger did not show the change (userLock) within 0.2 s;"
        " it may be offline, and the command may still be applied later (hint: run"
        f" 'andersen-ev status {andersen_charger.id} --config-dir {logged_in}' to see whether"
        " it was applied before sending it again)"
    )
    assert "get_device_status" not in result.err  # the library's words, not the command's
    andersen_charger.set_online(True)  # the queued command runs now
    assert andersen_charger.status()["sysUserLock"] is True


async def test_schedules_list_set_enable_disable(
    logged_in: Path, andersen_charger: Charger
) -> None:
    listed = (await cli(logged_in, "schedules")).out.splitlines()
    assert listed[0].split() == ["SLOT", "NAME", "ENABLED", "TIME", "DAYS"]
    assert listed[1].split() == ["0", "Schedule", "0", "off", "00:30-04:30", "every", "day"]

    written = await cli(
        logged_in,
        "schedules",
        "set",
        "1",
        "22:00",
        "06:30",
        "--days",
        "mon-wed,sat",
        "--name",
        "Night",
    )
    assert written.out == "Slot 1 of Driveway set to 22:00-06:30 Mon Tue Wed Sat, enabled.\n"
    slot = andersen_charger.status()["scheduleSlotsArray"][1]
    assert (slot["startHour"], slot["endMinute"], slot["enabled"]) == (22, 30, True)
    assert andersen_charger.info()["schedule1Name"] == "Night"

    data = json.loads((await cli(logged_in, "schedules", "list", "--json")).out)
    assert data[1]["name"] == "Night"
    assert data[1]["day_map"]["saturday"] is True

    disabled = await cli(logged_in, "schedules", "disable", "1")
    assert disabled.out == "Slot 1 of Driveway is disabled.\n"
    enabled = await cli(logged_in, "schedules", "enable", "0")
    assert enabled.out == "Slot 0 of Driveway is enabled.\n"
    assert andersen_charger.status()["sysSchEnabled"] is True
    status = (await cli(logged_in, "status")).out  # noon: outside 00:30-04:30
    assert "  state      waiting for a schedule\n" in status
    assert "  schedules  slot 0 00:30-04:30 every day; holding charging now\n" in status
    await cli(
        logged_in, "schedules", "set", "2", "08:00", "09:00", "--days", "weekends", "--disabled"
    )
    assert "weekends" in (await cli(logged_in, "schedules")).out

    everything = await cli(logged_in, "schedules", "disable-all")
    assert "is disabled and the charger is unlocked" in everything.out
    assert andersen_charger.status()["sysSchEnabled"] is False


async def test_solar_show_and_set(logged_in: Path, andersen_charger: Charger) -> None:
    shown = (await cli(logged_in, "solar")).out
    assert "grid share (%)    100" in shown
    changed = await cli(logged_in, "solar", "set", "--max-grid-percent", "40", "--charge-always")
    assert changed.out == (
        "Solar settings of Driveway: override off, charge always on, grid share 40 %.\n"
    )
    status = andersen_charger.status()
    assert (status["solarMaxGridChargePercent"], status["solarChargeAlways"]) == (40, True)
    await cli(logged_in, "solar", "set", "--override", "--no-charge-outside-schedules")
    assert andersen_charger.charge_outside_schedules is False
    data = json.loads((await cli(logged_in, "solar", "show", "--json")).out)
    assert data | {"solar_power_kw": None, "grid_power_kw": None} == {
        "override": True,
        "charge_always": True,
        "max_grid_charge_percent": 40,
        "solar_ct": False,
        "solar_power_kw": None,
        "grid_power_kw": None,
    }
    nothing = await cli(logged_in, "solar", "set")
    assert nothing.code == ExitCode.USAGE
    assert "nothing to change" in nothing.err


async def test_logs_as_table_csv_and_json(logged_in: Path, andersen_charger: Charger) -> None:
    newest = andersen_charger.sessions[-1]
    table = (await cli(logged_in, "logs", "--limit", "2")).out.splitlines()
    assert table[0].split() == ["START", "DURATION", "KWH", "SOLAR", "KWH", "GRID", "KWH", "COST"]
    assert len(table) == 3
    assert f"{newest.energy:.3f}" in table[1]
    rows = list(csv.DictReader(io.StringIO((await cli(logged_in, "logs", "--csv")).out)))
    assert len(rows) == 12
    assert rows[0]["uuid"] == newest.uuid
    assert float(rows[0]["charge_energy_total"]) == pytest.approx(newest.energy, abs=1e-3)
    data = json.loads((await cli(logged_in, "logs", "--json", "--since", "2024-12-30")).out)
    assert data
    assert all(log["start_date_time_local"] >= "2024-12-30" for log in data)
    none = await cli(logged_in, "logs", "--min-energy", "1000")
    assert none.out == "No charging sessions.\n"


# -- the demo --------------------------------------------------------------------------------------


async def test_demo_shows_a_charging_session(tmp_path: Path) -> None:
    out_stream, err_stream = io.StringIO(), io.StringIO()
    environ = {
        "XDG_CONFIG_HOME": str(tmp_path),
        "ANDERSEN_EV_ENDPOINTS": "production",  # the demo has its own emulator: ignored
    }
    code = await asyncio.to_thread(
        run,
        ["demo", "--watch", "1"],
        stdin=io.StringIO(),
        stdout=out_stream,
        stderr=err_stream,
        environ=environ,
    )
    assert code == ExitCode.OK, err_stream.getvalue()
    out = out_stream.getvalue()
    for command in ("login", "devices", "status", "unlock", "watch --for 1", "lock", "logs"):
        assert f"$ andersen-ev {command}" in out
    watched = out.split("$ andersen-ev watch")[1].split("\n7.")[0]
    powers = [float(power) for power in re.findall(r"charging +([\d.]+) kW", watched)]
    energies = [float(energy) for energy in re.findall(r"([\d.]+) kWh", watched)]
    assert len(powers) >= 2
    assert powers == sorted(powers)
    assert powers[-1] > powers[0]
    assert energies[-1] > energies[0]
    assert "Done in" in out
    # the demo never touches the user's configuration
    assert not await asyncio.to_thread((tmp_path / "andersen-ev").exists)


@pytest.mark.parametrize("command", ["demo", "completion bash", "emulator"])
@pytest.mark.parametrize("option", ["--endpoints production", "--config-dir /tmp/x"])
def test_self_contained_commands_refuse_options_they_would_ignore(
    command: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [*option.split(), *command.split()]  # a top-level option, ignored by them
    code = run(before, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    assert code == ExitCode.USAGE
    name = command.split(maxsplit=1)[0]
    assert f"'{name}' uses neither saved tokens nor a configured cloud" in capsys.readouterr().err
    if name != "emulator":  # its options are the emulator's own: it refuses them itself
        after = [*command.split(), *option.split()]
        code = run(after, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
        assert code == ExitCode.USAGE


# -- errors and the pieces --------------------------------------------------------------------


async def test_debug_shows_the_traceback_and_logs(config: Path) -> None:
    with pytest.raises(CliError, match="not logged in"):
        await asyncio.to_thread(
            run,
            ["--debug", "--config-dir", str(config), "devices"],
            stdin=io.StringIO(),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def test_the_config_directory_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from andersen_ev.cli.config import default_config_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_config_dir({}) == tmp_path / ".config" / "andersen-ev"
    assert (
        default_config_dir({"XDG_CONFIG_HOME": "relative"}) == tmp_path / ".config" / "andersen-ev"
    )
    assert default_config_dir({"XDG_CONFIG_HOME": "/etc/xdg"}) == Path("/etc/xdg/andersen-ev")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_config_dir() == tmp_path / "xdg" / "andersen-ev"
    assert os.environ["XDG_CONFIG_HOME"].endswith("xdg")


def test_endpoints_values_and_records(tmp_path: Path) -> None:
    from andersen_ev.cli.config import Paths, load_endpoints, parse_endpoints, save_endpoints
    from andersen_ev.const import PRODUCTION

    paths = Paths(tmp_path / "config")
    assert parse_endpoints(" Production ", "--endpoints") is PRODUCTION
    assert load_endpoints(paths) is None  # never recorded: production
    emulator = Endpoints(graphql_url="http://127.0.0.1:8000")
    save_endpoints(paths, emulator)
    assert load_endpoints(paths) == emulator
    save_endpoints(paths, PRODUCTION)  # a login to production forgets the emulator
    assert not paths.endpoints.exists()
    assert load_endpoints(paths) is None


def test_states_and_days_in_words() -> None:
    from andersen_ev.cli.output import days_text, duration_text, state_text, status_lines
    from andersen_ev.models import DayMap, Device

    def state(**fields: object) -> str:
        return state_text(DeviceStatus.model_validate(fields))

    assert state() == "unknown"
    assert state(evseState=255, sysUserLock=True) == "locked"
    assert state(evseState=255, sysScheduleLock=True) == "waiting for a schedule"
    assert state(evseState=255) == "disabled"
    assert state(evseState=4, sysFaultCode=7) == "fault (code 7)"
    assert state(evseState=254) == "asleep"
    assert state(evseState=2) == "car connected, not charging"
    assert state(evseState=9) == "unknown state 9"
    assert days_text(None) == "-"
    assert days_text(DayMap()) == "no days"
    assert days_text(DayMap(saturday=True, sunday=True)) == "weekends"
    assert (
        days_text(DayMap(monday=True, tuesday=True, wednesday=True, thursday=True, friday=True))
        == "weekdays"
    )
    assert duration_text(None) == "-"
    assert duration_text(3725) == "1:02:05"
    lines = status_lines(Device(id="abc"), DeviceStatus(evse_state=EvseState.READY))
    assert lines[0] == "abc (abc)"
    assert "  session    - in -" in lines
    assert "  solar      -" in lines


async def test_the_cli_finds_chargers_by_the_library_rule(
    logged_in: Path,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
) -> None:
    garage = andersen_cloud.add_charger(andersen_user, name="Garage")
    assert (await cli(logged_in, "status", "GARAGE")).out.startswith(f"Garage ({garage.id})")
    missing = await cli(logged_in, "status", "Barn")
    assert missing.code == ExitCode.NOT_FOUND
    assert f"'Garage' ({garage.id})" in missing.err  # the account's chargers, to choose from
    assert f"'Driveway' ({andersen_charger.id})" in missing.err
    twin = andersen_cloud.add_charger(andersen_user, name="garage")
    ambiguous = await cli(logged_in, "status", "GARAGE")
    assert ambiguous.code == ExitCode.USAGE
    assert f"({garage.id}, {twin.id}): use a device id instead" in ambiguous.err
    assert "--help" not in ambiguous.err
    assert (await cli(logged_in, "status", twin.id)).out.startswith(f"garage ({twin.id})")
