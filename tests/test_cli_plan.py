"""``andersen-ev plan``: the cheapest windows from a price file, shown, applied and restored,
in-process against the emulator (the worked example of docs/planning.md, on recorded prices)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from andersen_ev.cli.errors import ExitCode
from andersen_ev.cli.plan import deadline, parse_prices
from andersen_ev.exceptions import PriceDataError
from andersen_ev.testing import AndersenCloud, Charger
from tests.cli_support import Result, log_in, run_cli

pytestmark = pytest.mark.usefixtures("andersen_charger")

PRICES = Path(__file__).parent / "data" / "prices"
AGILE = str(PRICES / "agile-2023-12-11.octopus.json")
#: docs/planning.md's worked example: plugged in at 17:47, 30 kWh by 07:00
EXAMPLE = ("--prices", AGILE, "--kwh", "30", "--by", "07:00", "--from", "2023-12-11T17:47")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
async def config(
    andersen_cloud: AndersenCloud, tmp_path: Path, andersen_credentials: tuple[str, str]
) -> Path:
    """A config dir logged in to the emulator (which login records)."""
    config = tmp_path / "config"
    result = await log_in(andersen_cloud, config, andersen_credentials)
    assert result.code == ExitCode.OK, result.err
    return config


async def plan(config: Path, *argv: str, stdin: str = "") -> Result:
    return await run_cli("plan", *argv, config=config, stdin=stdin)


def slots_and_lock(charger: Charger) -> tuple[list[dict[str, Any]], bool]:
    status = charger.status()
    return status["scheduleSlotsArray"], status["sysUserLock"]


async def test_plan_prints_the_windows_and_what_would_change(
    config: Path, andersen_charger: Charger
) -> None:
    before = slots_and_lock(andersen_charger)
    result = await plan(config, *EXAMPLE)
    assert result.code == ExitCode.OK, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("Plan for ")
    assert "(Europe/London): 30.00 kWh at 7.2 kW" in lines[0]
    assert "by Tue 12 Dec 07:00, in 3 schedule slots, 16.05 per kWh" in lines[0]
    assert lines[1].split() == ["START", "END", "KWH", "COST"]
    assert [line.split()[-4:] for line in lines[2:5]] == [
        ["20:30", "21:00", "3.60", "63.68"],  # 17.69 p x 3.6 kWh
        ["01:30", "05:00", "25.20", "396.22"],
        ["05:30", "05:40", "1.20", "21.46"],  # 17.88 p x 1.2 kWh
    ]
    assert lines[2].startswith("Mon 11 Dec 20:30")
    assert lines[3].startswith("Tue 12 Dec 01:30")
    assert lines[5].split() == ["total", "30.00", "481.36"]
    assert "  0: 00:30-04:30 every day, off -> 20:30-21:00 Mon, on" in lines
    assert "  2: " in result.out
    assert "-> 05:30-05:40 Tue, on" in result.out
    assert result.out.endswith("run the same command with --apply to program the charger.\n")
    assert slots_and_lock(andersen_charger) == before  # nothing sent


async def test_plan_json_has_the_windows_the_total_and_the_slots(
    config: Path, andersen_charger: Charger
) -> None:
    result = await plan(config, *EXAMPLE, "--json", "--slots", "1")
    assert result.code == ExitCode.OK, result.err
    data = json.loads(result.out)
    assert data["device_id"] == andersen_charger.id
    assert data["applied"] is False
    assert data["energy_kwh"] == pytest.approx(30.0)
    assert data["cost"] == pytest.approx(486.4, abs=0.05)  # one slot: 01:30 to 05:40
    [window] = data["windows"]
    assert (window["start"], window["end"]) == ("2023-12-12T01:30:00Z", "2023-12-12T05:40:00Z")
    assert window["energy_kwh"] == pytest.approx(30.0)
    assert window["cost"] == pytest.approx(data["cost"])
    assert len(data["slots"]) == 5
    assert data["slots"][0]["start_hour"] == 1
    assert data["slots"][0]["enabled"] is True
    assert all(slot["enabled"] is False for slot in data["slots"][1:])


async def test_apply_programs_the_charger_and_restore_puts_it_back(
    config: Path, andersen_charger: Charger
) -> None:
    slots = andersen_charger.status()["scheduleSlotsArray"]
    slots[1]["enabled"] = True
    andersen_charger.set(scheduleSlotsArray=slots, sysUserLock=True)
    before = slots_and_lock(andersen_charger)

    result = await plan(config, *EXAMPLE, "--apply")
    assert result.code == ExitCode.OK, result.err
    assert "The charger is locked: the plan unlocks it" in result.out
    assert "Applied to " in result.out
    assert f"'andersen-ev plan --restore --config-dir {config}'" in result.out
    applied, locked = slots_and_lock(andersen_charger)
    assert locked is False
    assert [(s["startHour"], s["startMinute"], s["enabled"]) for s in applied[:3]] == [
        (20, 30, True),
        (1, 30, True),
        (5, 30, True),
    ]
    assert applied[0]["dayMap"]["monday"]
    assert not applied[0]["dayMap"]["tuesday"]
    assert [s["enabled"] for s in applied[3:]] == [False, False]
    saved = config / f"plan-{andersen_charger.id}.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["locked"] is True

    again = await plan(config, *EXAMPLE, "--apply")  # would save the plan as "before"
    assert again.code == ExitCode.USAGE
    assert "a plan applied earlier may still be in force" in again.err
    assert "(hint: run 'andersen-ev plan --restore --config-dir" in again.err

    restored = await plan(config, "--restore")
    assert restored.code == ExitCode.OK, restored.err
    assert "is back as it was before the plan: locked, 1 schedule slot enabled." in restored.out
    assert slots_and_lock(andersen_charger) == before
    assert not saved.exists()

    nothing = await plan(config, "--restore")
    assert nothing.code == ExitCode.USAGE
    assert "no plan applied with 'andersen-ev plan --apply' to restore" in nothing.err


async def test_apply_json_and_restore_of_a_named_charger(
    config: Path, andersen_charger: Charger, capsys: pytest.CaptureFixture[str]
) -> None:
    before = slots_and_lock(andersen_charger)
    result = await plan(config, *EXAMPLE, "--hours", "1", "--apply", "--json", "--no-wait")
    assert result.code == ExitCode.USAGE  # --kwh and --hours together
    assert "not allowed with argument" in capsys.readouterr().err  # argparse's own
    hour = [arg for arg in EXAMPLE if arg not in ("--kwh", "30")]
    result = await plan(config, *hour, "--hours", "1", "--apply", "--json", "--no-wait")
    assert result.code == ExitCode.OK, result.err
    data = json.loads(result.out)
    assert data["applied"] is True
    assert data["energy_kwh"] == pytest.approx(7.2)
    assert data["unlocks"] is False
    restored = await plan(config, "--restore", andersen_charger.id)
    assert restored.code == ExitCode.OK, restored.err
    assert "unlocked, 0 schedule slots enabled" in restored.out
    assert slots_and_lock(andersen_charger) == before


async def test_prices_from_a_csv_on_stdin(config: Path) -> None:
    csv = (PRICES / "agile-2023-07-02.csv").read_text()
    result = await plan(
        config, "--prices", "-", "--kwh", "7.2", "--by", "20:00", "--from", "2023-07-02T00:00",
        "--slots", "1", stdin=csv,
    )  # fmt: skip
    assert result.code == ExitCode.OK, result.err
    assert "(Europe/London): 7.20 kWh at 7.2 kW by Sun 02 Jul 20:00, in 1 schedule slot," in (
        result.out
    )  # local times (BST), as the schedules
    assert result.out.count(" Sun 02 Jul ") == 1
    assert float(result.out.splitlines()[3].split()[-1]) < 0  # a sunny Sunday: paid to charge


@pytest.mark.parametrize(
    ("argv", "message", "hint"),
    [
        (("--kwh", "30", "--by", "07:00"), "a plan needs --prices FILE", "andersen-ev plan --help"),
        (("--prices", AGILE, "--by", "07:00"), "a plan needs --kwh N (or --hours H)", "--help"),
        (("--restore", "--kwh", "3"), "takes no --kwh", "andersen-ev plan --restore"),
        (("--restore", "--json"), "takes no --json", "plan --restore"),
        ((*EXAMPLE, "--slots", "6"), "--slots is at most 5", None),
        ((*EXAMPLE, "--kwh", "0"), "must be more than 0", None),
        ((*EXAMPLE[:-1], "yesterday"), "not an ISO 8601 date-time", None),
        ((*EXAMPLE, "--time-zone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'", None),
        ((*EXAMPLE, "--kwh", "500"), "500", "ask for less energy, a later --by, more --slots"),
        ((*EXAMPLE, "--time-zone", "UTC"), "keeps its schedules in Europe/London", "--help"),
    ],
)
async def test_usage_errors_say_what_to_do(
    config: Path,
    andersen_charger: Charger,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    message: str,
    hint: str | None,
) -> None:
    before = slots_and_lock(andersen_charger)
    apply = ("--apply",) if "UTC" in argv else ()
    result = await plan(config, *argv, *apply)
    err = result.err + capsys.readouterr().err  # argparse writes to sys.stderr
    assert result.code == ExitCode.USAGE, err
    assert message in err
    if hint is not None:
        assert hint in err.split("(hint: ")[1]
    assert "Traceback" not in err
    assert slots_and_lock(andersen_charger) == before


async def test_unreadable_or_wrong_price_files(config: Path, tmp_path: Path) -> None:
    missing = await plan(config, "--prices", str(tmp_path / "nope.csv"), *EXAMPLE[2:])
    assert missing.code == ExitCode.USAGE
    assert "cannot read the prices from" in missing.err
    assert "No such file" in missing.err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("start,end,price\n2023-12-11T16:00:00Z,2023-12-11T16:30:00Z,cheap\n")
    result = await plan(config, "--prices", str(wrong), *EXAMPLE[2:])
    assert result.code == ExitCode.USAGE
    assert "line 2" in result.err
    assert "(hint: the prices are a CSV with a header naming start, end and price" in result.err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00")
    result = await plan(config, "--prices", str(binary), *EXAMPLE[2:])
    assert result.code == ExitCode.USAGE
    assert "not UTF-8 text" in result.err


async def test_a_broken_saved_state_is_reported_not_guessed(
    config: Path, andersen_charger: Charger
) -> None:
    saved = config / f"plan-{andersen_charger.id}.json"
    saved.write_text('{"locked": true, "slots": []}')
    result = await plan(config, "--restore")
    assert result.code == ExitCode.ERROR
    assert "the saved state in" in result.err
    assert "is incomplete" in result.err
    saved.write_text("{")
    result = await plan(config, "--restore")
    assert result.code == ExitCode.ERROR
    assert "cannot read the saved state" in result.err
    assert "set the schedules" in result.err
    assert saved.exists()  # kept: it is the only record of what was there


def test_deadline_is_the_next_time_of_day_in_the_zone() -> None:
    evening = datetime(2023, 12, 11, 17, 47, tzinfo=UTC)
    assert deadline(evening, (7, 0), LONDON) == datetime(2023, 12, 12, 7, 0, tzinfo=LONDON)
    assert deadline(evening, (18, 0), LONDON) == datetime(2023, 12, 11, 18, 0, tzinfo=LONDON)
    summer = datetime(2023, 7, 2, 6, 30, tzinfo=UTC)  # 07:30 BST: 07:00 has passed
    assert deadline(summer, (7, 0), LONDON).isoformat() == "2023-07-03T07:00:00+01:00"


def test_price_files_are_read_by_their_first_character() -> None:
    octopus = parse_prices((PRICES / "agile-2023-12-11.octopus.json").read_text())
    assert len(octopus) == 62
    csv = parse_prices((PRICES / "agile-2023-03-26.csv").read_text())
    assert len(csv) == 46
    with pytest.raises(PriceDataError):
        parse_prices("[1, 2]")


@pytest.mark.parametrize(
    ("region", "message"),
    [(None, "reports no time zone"), ("Mars/Olympus", "reports an unknown time zone")],
)
async def test_a_charger_without_a_usable_time_zone_needs_time_zone(
    config: Path, andersen_charger: Charger, region: str | None, message: str
) -> None:
    andersen_charger.set(timeZoneRegion=region)
    result = await plan(config, *EXAMPLE)
    assert result.code == ExitCode.USAGE
    assert message in result.err
    assert "(hint: give its time zone with --time-zone" in result.err
    aware = [arg.replace("17:47", "17:47+00:00") for arg in EXAMPLE]  # same moment in UTC
    given = await plan(config, *aware, "--time-zone", "Europe/London", "--json")
    assert given.code == ExitCode.OK, given.err
    assert json.loads(given.out)["cost"] == pytest.approx(481.356)


async def test_a_huge_price_file_is_refused(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("andersen_ev.cli.plan.MAX_PRICE_BYTES", 100)
    result = await plan(config, *EXAMPLE)
    assert result.code == ExitCode.USAGE
    assert "is larger than" in result.err


async def test_apply_undoes_itself_when_the_saved_state_cannot_be_kept(
    config: Path, andersen_charger: Charger
) -> None:
    andersen_charger.set(sysUserLock=True)
    before = slots_and_lock(andersen_charger)
    (config / f"plan-{andersen_charger.id}.tmp").mkdir()  # where the record is written first
    result = await plan(config, *EXAMPLE, "--apply")
    assert result.code == ExitCode.ERROR
    assert "so the charger was put back as it was" in result.err
    assert "(hint: give a config directory you can write with --config-dir)" in result.err
    assert slots_and_lock(andersen_charger) == before
    assert not (config / f"plan-{andersen_charger.id}.json").exists()
