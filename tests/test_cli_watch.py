"""``andersen-ev watch``: live on a terminal, one line per change into a pipe, and, while
updates do not flow, the connection's state and the age of the last update."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import pytest

from andersen_ev.cli import watch
from andersen_ev.cli.errors import ExitCode
from andersen_ev.exceptions import (
    AndersenConnectionError,
    AndersenTimeoutError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
)
from andersen_ev.testing import AndersenCloud, Charger
from tests.cli_support import Result, Terminal, log_in, run_cli
from tests.stream_helpers import until

pytestmark = pytest.mark.usefixtures("andersen_charger")

#: What starts each frame of watch on a terminal: back to the line's start, erase it.
FRAME = "\r\x1b[2K"
TIME = r"\d\d:\d\d:\d\d"


@pytest.fixture
async def logged_in(
    andersen_cloud: AndersenCloud, tmp_path: Path, andersen_credentials: tuple[str, str]
) -> Path:
    config = tmp_path / "config"
    result = await log_in(andersen_cloud, config, andersen_credentials)
    assert result.code == ExitCode.OK, result.err
    return config


@pytest.fixture
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redraws and reminders every few hundredths of a second instead of every second."""
    monkeypatch.setattr(watch, "_TICK", 0.02)
    monkeypatch.setattr(watch, "_REMIND", 0.1)


def start(config: Path, *argv: str, out: io.StringIO, err: io.StringIO) -> asyncio.Task[Result]:
    """``watch ARGV`` in a worker thread, bounded in time: a failed test must not leave it
    running (the event loop's closing would wait for its thread)."""
    bounded = ("--for", "20", *argv)
    return asyncio.create_task(run_cli("watch", *bounded, config=config, stdout=out, stderr=err))


async def drive_clock_until_done(cloud: AndersenCloud, task: asyncio.Task[Result]) -> Result:
    """Advance the chargers' clock (so they publish) until the command ends."""
    while not task.done():
        cloud.advance(2)
        await asyncio.sleep(0.02)
    return await task


async def tick_until(cloud: AndersenCloud, predicate: object) -> None:
    """Advance the clock (the idle charger publishes the same status) until ``predicate()``."""
    assert callable(predicate)
    async with asyncio.timeout(20):
        while not predicate():
            cloud.advance(1)
            await asyncio.sleep(0.02)


def fields(frame: str) -> str:
    """A frame or line without its time."""
    return re.sub(rf"^{TIME}  ", "", frame.strip())


async def test_watch_updates_a_terminal_in_place(
    logged_in: Path, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    """The clock moves only once watch shows its first frame, the car just plugged in and
    drawing nothing yet, and follows live events. (Moving it from the start raced the
    command's start-up: a slow one read a snapshot at full power, and 7.2 > 7.2 failed.)"""
    andersen_charger.plug_in()
    out, err = Terminal(), io.StringIO()
    task = start(logged_in, "--count", "4", out=out, err=err)
    hub = andersen_cloud.state.hub
    await until(
        lambda: (
            task.done()
            or ("kWh" in out.getvalue() and hub.subscriber_count(andersen_charger.id) == 1)
        )
    )
    result = await drive_clock_until_done(andersen_cloud, task)
    assert result.code == ExitCode.OK, result.err
    assert result.out.startswith("Watching Driveway (Ctrl-C to stop)\n")
    frames = [frame for frame in result.out.split(FRAME)[1:] if "kWh" in frame]
    changes = list(dict.fromkeys(fields(frame) for frame in frames))
    assert len(changes) == 4  # --count counts changes
    powers = [float(re.findall(r"([\d.]+) kW", change)[0]) for change in changes]
    assert powers[-1] > powers[0]
    assert "charging" in frames[-1]
    assert result.out.endswith("\n")
    assert result.err == ""


async def test_watch_into_a_pipe_writes_a_line_per_change(
    logged_in: Path, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    out, err = io.StringIO(), io.StringIO()
    task = start(logged_in, "--count", "3", out=out, err=err)
    hub = andersen_cloud.state.hub
    await until(lambda: task.done() or hub.subscriber_count(andersen_charger.id) == 1)
    for _ in range(30):  # the idle charger publishes the same status again and again
        andersen_cloud.advance(1)
        await asyncio.sleep(0.01)
    await until(lambda: out.getvalue().count("\n") == 2)
    assert "ready (no car connected)" in out.getvalue().splitlines()[1]
    andersen_charger.plug_in(energy_wanted_kwh=10)
    result = await drive_clock_until_done(andersen_cloud, task)
    assert result.code == ExitCode.OK, result.err
    header, *lines = result.out.splitlines()
    assert header == "Watching Driveway (Ctrl-C to stop)"
    assert len(lines) == 3
    assert all(re.match(rf"{TIME}  \S", line) for line in lines)
    assert len({fields(line) for line in lines}) == 3  # each line shows a change
    assert FRAME not in result.out
    assert result.err == ""


async def test_polling_into_a_pipe_writes_only_changes(
    logged_in: Path, andersen_cloud: AndersenCloud
) -> None:
    reads = andersen_cloud.stats.graphql_requests
    text = await run_cli("watch", "--poll", "0.02", "--for", "1", config=logged_in)
    assert text.code == ExitCode.OK, text.err
    assert len(text.out.splitlines()) == 2  # the header and the one state it was in
    assert reads["getDeviceStatus"] >= 3  # read again and again, shown once
    as_json = await run_cli("watch", "--poll", "0.02", "--for", "1", "--json", config=logged_in)
    assert len(as_json.out.splitlines()) == 1
    assert json.loads(as_json.out)["evse_state"] == 1
    assert reads["getDeviceStatus"] >= 6


async def test_a_terminal_shows_the_reconnection_and_the_age_of_the_last_update(
    logged_in: Path,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    fast_ticks: None,
) -> None:
    out, err = Terminal(), io.StringIO()
    task = start(logged_in, "--count", "2", out=out, err=err)
    await until(lambda: task.done() or "kWh" in out.getvalue())
    andersen_cloud.faults.refuse_websockets(1000)
    await andersen_cloud.drop_websockets()
    lost = re.compile(
        rf"{TIME}  reconnecting, last update \d:\d\d:\d\d ago: ready \(no car connected\)"
    )
    await until(lambda: task.done() or len(lost.findall(out.getvalue())) >= 3)  # every tick
    andersen_cloud.faults.refuse_websockets(0)
    back = len(out.getvalue())
    await tick_until(
        andersen_cloud,
        lambda: task.done() or "ready (no car connected)   " in out.getvalue()[back:],
    )
    andersen_charger.plug_in()  # the second change: watch ends
    result = await drive_clock_until_done(andersen_cloud, task)
    assert result.code == ExitCode.OK, result.err
    frames = result.out.split(FRAME)[1:]
    assert "reconnecting" not in frames[-1]
    assert result.err == ""  # on a terminal, the line itself says it


async def test_a_pipe_gets_notes_on_stderr_while_updates_do_not_flow(
    logged_in: Path,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    fast_ticks: None,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    task = start(logged_in, "--count", "2", out=out, err=err)
    await until(lambda: task.done() or out.getvalue().count("\n") == 2)
    andersen_cloud.faults.refuse_websockets(1000)
    await andersen_cloud.drop_websockets()
    await until(lambda: task.done() or err.getvalue().count("still reconnecting") >= 2)
    andersen_cloud.faults.refuse_websockets(0)
    await tick_until(andersen_cloud, lambda: task.done() or "are back" in err.getvalue())
    andersen_charger.plug_in()
    result = await drive_clock_until_done(andersen_cloud, task)
    assert result.code == ExitCode.OK, result.err
    notes = result.err.splitlines()
    assert re.fullmatch(
        rf"andersen-ev: {TIME} live updates interrupted; reconnecting"
        r" \(last update \d:\d\d:\d\d ago\)",
        notes[0],
    )
    assert re.fullmatch(
        rf"andersen-ev: {TIME} still reconnecting \(last update \d:\d\d:\d\d ago\)", notes[1]
    )
    assert re.fullmatch(rf"andersen-ev: {TIME} live updates are back", notes[-1])
    assert len(result.out.splitlines()) == 3  # the header and two changes: no repeats


@pytest.mark.timeout(60)
async def test_polling_goes_on_through_an_outage_and_says_so(
    logged_in: Path, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    out, err = io.StringIO(), io.StringIO()
    task = start(logged_in, "--poll", "0.05", "--count", "2", out=out, err=err)
    await until(lambda: task.done() or out.getvalue().count("\n") == 2)
    andersen_cloud.faults.fail_http(4)  # every try of one read (the library retries reads)
    async with asyncio.timeout(20):
        while not (task.done() or "reading works again" in err.getvalue()):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    andersen_charger.plug_in()
    result = await task
    assert result.code == ExitCode.OK, result.err
    notes = result.err.splitlines()
    assert re.fullmatch(
        rf"andersen-ev: {TIME} reading the status fails \(HTTP 503\); trying every 0.05 s"
        r" \(last update \d:\d\d:\d\d ago\)",
        notes[0],
    )
    assert re.fullmatch(rf"andersen-ev: {TIME} reading works again", notes[-1])


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (AndersenTimeoutError("late"), "no answer in time"),
        (AndersenConnectionError("down"), "cannot connect"),
        (RateLimitedError(operation="getDevice", retry_after=None), "rate limited"),
        (ServerError(operation="getDevice", status=502), "HTTP 502"),
        (ServiceUnavailableError("outage"), "service unavailable"),
    ],
)
def test_why_a_read_failed_in_a_few_words(error: ServiceUnavailableError, reason: str) -> None:
    assert watch._reason(error) == reason


async def test_watch_for_a_while(logged_in: Path) -> None:
    # long enough for the first status on a loaded machine (0.3 s was not, under the suite)
    result = await run_cli("watch", "--for", "2", config=logged_in)
    assert result.code == ExitCode.OK
    assert "ready (no car connected)" in result.out.splitlines()[1]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
async def test_a_count_is_a_whole_number_from_one(logged_in: Path, value: str) -> None:
    result = await run_cli("watch", "--count", value, config=logged_in)
    assert result.code == ExitCode.USAGE
