"""examples/plan_bot.py against the emulator: it applies a plan, plans again when the price
file changes, and puts the charger back when it stops (SIGTERM, or its --for bound)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from andersen_ev.testing import AndersenCloud, Charger
from tests.cli_support import Reader, example_env
from tests.processes import TIMEOUT, Children

BOT = Path(__file__).resolve().parent.parent / "examples" / "plan_bot.py"
LONDON = ZoneInfo("Europe/London")  # the emulated charger's time zone
HALF_HOUR = timedelta(minutes=30)


def price_file(path: Path, start: datetime, cheap: int) -> None:
    """Twelve hours of half-hourly prices from ``start``; period ``cheap`` the cheapest."""
    rows = ["start,end,price"]
    for index in range(24):
        begin = start + index * HALF_HOUR
        price = 5.0 if index == cheap else 30.0 + index
        rows.append(f"{begin.isoformat()},{(begin + HALF_HOUR).isoformat()},{price}")
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(rows) + "\n")
    temporary.replace(path)  # the bot never reads half a file


def state(charger: Charger) -> tuple[list[dict[str, Any]], bool]:
    status = charger.status()
    return status["scheduleSlotsArray"], status["sysUserLock"]


async def plan_applied(bot: Reader, charger: Charger, moment: datetime) -> None:
    """Wait until the bot says it applied a window from ``moment``; check the charger."""
    local = moment.astimezone(LONDON)
    end = local + HALF_HOUR
    await asyncio.to_thread(
        bot.until, f"applied: 3.60 kWh for 18.00 in {local:%a %H:%M}-{end:%H:%M}\n"
    )
    status = charger.status()
    slot = status["scheduleSlotsArray"][0]
    assert slot["enabled"] is True
    assert (slot["startHour"], slot["startMinute"]) == (local.hour, local.minute)
    assert (slot["endHour"], slot["endMinute"]) == (end.hour, end.minute)
    assert [other["enabled"] for other in status["scheduleSlotsArray"][1:]] == [False] * 4
    assert status["sysUserLock"] is False


def start_bot(
    children: Children,
    cloud: AndersenCloud,
    credentials: tuple[str, str],
    tmp_path: Path,
    *args: str,
) -> subprocess.Popen[bytes]:
    env = example_env(cloud, credentials, tmp_path)
    return children.popen(
        [sys.executable, str(BOT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


@pytest.mark.timeout(120)
async def test_the_bot_plans_again_on_new_prices_and_restores_on_sigterm(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
    children: Children,
) -> None:
    slots = andersen_charger.status()["scheduleSlotsArray"]
    slots[1]["enabled"] = True
    andersen_charger.set(scheduleSlotsArray=slots, sysUserLock=True)
    before = state(andersen_charger)
    now = datetime.now(UTC)
    start = now.replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
    prices = tmp_path / "prices.csv"
    price_file(prices, start, cheap=4)
    by = (start + 11 * HALF_HOUR * 2).astimezone(LONDON)
    bot = start_bot(
        children, andersen_cloud, andersen_credentials, tmp_path,
        "--prices", str(prices), "--kwh", "3.6", "--by", f"{by:%H:%M}",
        "--interval", "0.1", "--for", "100",
    )  # fmt: skip

    assert bot.stdout is not None
    assert bot.stderr is not None
    reader = Reader(bot.stdout.fileno())
    await plan_applied(reader, andersen_charger, start + 4 * HALF_HOUR)
    price_file(prices, start, cheap=10)  # new prices: the cheap half hour moved
    await plan_applied(reader, andersen_charger, start + 10 * HALF_HOUR)
    bot.send_signal(signal.SIGTERM)
    out = await asyncio.to_thread(reader.rest)
    await asyncio.to_thread(bot.wait, TIMEOUT)

    assert bot.returncode == 0
    assert bot.stderr.read() == b""
    assert out.count("applied: ") == 2, out
    assert out.endswith("restored the charger's schedules and lock\n")
    assert state(andersen_charger) == before  # the slots and the lock, exactly


@pytest.mark.timeout(60)
async def test_the_bot_is_bounded_and_keeps_going_through_bad_prices(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
    children: Children,
) -> None:
    before = state(andersen_charger)
    prices = tmp_path / "prices.csv"
    prices.write_text("start,end,price\nyesterday,today,cheap\n")
    bot = start_bot(
        children, andersen_cloud, andersen_credentials, tmp_path,
        "--prices", str(prices), "--kwh", "3.6", "--by", "07:00", "--interval", "0.1",
        "--for", "2",
    )  # fmt: skip
    out, err = await asyncio.to_thread(bot.communicate, timeout=TIMEOUT)
    assert bot.returncode == 0, err
    assert err == b""
    assert b"new prices not used: line 2: " in out
    assert b"applied" not in out
    assert state(andersen_charger) == before
