"""Soak test: streams, queries and commands for minutes while the emulator injects faults.

``nox -s soak`` (``python benchmarks/soak.py --duration 270 --output docs/reliability.md``).

The emulator runs in a child process (this file with ``--serve``), driven over its stdin and
stdout: the faults to inject, and the truth (every charger's status, every charge rate, what
the emulator counted). This process holds only the clients, so its memory, tasks and file
descriptors are the library's. Two clients, each with its own websocket:

* a *streamer*: one device update stream per charger and one following all of them;
* a *worker*: a stream following all chargers, query tasks, one command task per charger
  (lock, unlock, solar, schedules) and a task creating charge rates with unique prices.

Meanwhile a fault task asks the emulator, every 0.2-1 s, for one of: dropped websockets,
refused websocket handshakes, malformed frames, 5xx and 429 (with ``Retry-After``) answers,
malformed replies, latency, expired tokens and a throttled Cognito.

Then the faults and the load stop, and the run checks that:

1. every consumer's last status of every charger equals the emulator's (after the streams
   resynchronize, within 20 s);
2. every mutation was applied exactly once or reported failed to its caller: each charge
   rate exists at most once, and exactly once when its creation succeeded; each command the
   client reported successful shows in the emulator's state right away;
3. no task, socket or file descriptor leaked, and no ``ResourceWarning`` was raised, once
   the clients are closed;
4. memory (``tracemalloc``, the harness's own records excluded) stays flat after warm-up.

It writes the counts to ``--output`` and exits with 1 when a check fails. Loopback only;
bounded in time (at most 300 s in all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import inspect
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
import pydantic

from andersen_ev import (
    AndersenA2,
    AndersenError,
    DeviceStatus,
    Endpoints,
    RetryPolicy,
    Schedule,
    __version__,
)
from andersen_ev.stream import StreamSettings

EMAIL: Final = "soak@example.com"
PASSWORD: Final = "soak-password"
#: The whole run, convergence and teardown included, never exceeds this.
HARD_LIMIT: Final = 300.0
CONVERGENCE_LIMIT: Final = 20.0
#: Fields of a status that both the snapshot query and live events carry.
COMPARED: Final = (
    "sysUserLock",
    "solarMaxGridChargePercent",
    "solarChargeAlways",
    "solarOverride",
    "sysSchEnabled",
    "evseState",
    "online",
    "scheduleSlotsArray",
)
#: Allowed growth of traced memory between the end of warm-up and the end of the load.
MEMORY_SLACK: Final = 1024 * 1024
RETRY: Final = RetryPolicy(attempts=4, backoff=0.05, max_backoff=0.5, max_retry_after=1.0)
STREAMS: Final = StreamSettings(
    backoff=0.1, max_backoff=2.0, keepalive_timeout=5.0, ping_interval=2.0, connect_timeout=5.0
)
COIN: Final = 0.5
#: Fault kinds and how often each is picked.
FAULT_WEIGHTS: Final = {
    "websocket_drop": 3,
    "websocket_refused": 1,
    "malformed_frame": 2,
    "http_5xx": 3,
    "http_429": 2,
    "malformed_reply": 1,
    "latency": 2,
    "token_expiry": 2,
    "cognito_throttled": 1,
}


# -- the emulator process -------------------------------------------------------------------------


def knobs(cloud: Any, command: dict[str, Any]) -> dict[str, Callable[[], object]]:
    """What each command does to the emulator (``cloud``), with its arguments."""
    faults = cloud.faults
    count = command.get("count", 1)
    return {
        "websocket_drop": cloud.drop_websockets,
        "websocket_refused": lambda: faults.refuse_websockets(count),
        "malformed_frame": lambda: faults.send_malformed_frames(count),
        "http_5xx": lambda: faults.fail_http(count, status=command["status"]),
        "http_429": lambda: faults.rate_limit(count, retry_after=command["retry_after"]),
        "malformed_reply": lambda: faults.corrupt_replies(count),
        "latency": lambda: setattr(faults, "latency", command["seconds"]),
        "token_expiry": cloud.expire_tokens,
        "cognito_throttled": lambda: faults.throttle_cognito(count),
        "quiet": faults.clear,
        "truth": cloud.settle,  # device commands land a second or two late: let them
    }


def truth_of(cloud: Any, chargers: Sequence[Any]) -> dict[str, Any]:
    """The emulator's state and counters, as the soak checks them."""
    return {
        "statuses": {charger.id: charger.status() for charger in chargers},
        "rates": {
            charger.id: [rate["price"] for rate in charger.charge_rates()] for charger in chargers
        },
        "faults_injected": dict(cloud.stats.faults_injected),
        "graphql_requests": sum(cloud.stats.graphql_requests.values()),
        "websocket_connects": cloud.stats.websocket_connects,
        "refreshes": cloud.stats.refreshes,
    }


async def serve(devices: int, token_lifetime: float) -> None:
    """The emulator side: serve, and answer JSON commands read from stdin, one per line.

    Each command is ``{"do": <fault kind, "quiet" or "truth">, ...arguments}``; the answer
    is :func:`truth_of` after it. An unknown command (``stop``) or the end of stdin stops.
    """
    from andersen_ev.testing import AndersenCloud  # noqa: PLC0415 - only the child needs it

    async with AndersenCloud(token_lifetime=token_lifetime) as cloud:
        user = cloud.add_user(EMAIL, PASSWORD)
        chargers = [cloud.add_charger(user, name=f"Bay {n}") for n in range(devices)]
        line = {
            "endpoints": dataclasses.asdict(cloud.endpoints),
            "device_ids": [charger.id for charger in chargers],
        }
        print(json.dumps(line), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while raw := await reader.readline():
            command = json.loads(raw)
            action = knobs(cloud, command).get(command["do"])
            if action is None:
                break
            outcome = action()
            if inspect.isawaitable(outcome):
                await outcome
            print(json.dumps(truth_of(cloud, chargers)), flush=True)


class Emulator:
    """The emulator child process and its command channel (one command at a time)."""

    def __init__(self, process: asyncio.subprocess.Process, line: dict[str, Any]) -> None:
        self.process = process
        self.endpoints = Endpoints(**line["endpoints"])
        self.device_ids: list[str] = line["device_ids"]
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, devices: int, token_lifetime: float) -> Emulator:
        """Start ``soak.py --serve`` and read its first line."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            "--devices",
            str(devices),
            "--token-lifetime",
            str(token_lifetime),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        return cls(process, json.loads(await process.stdout.readline()))

    async def send(self, do: str, **arguments: object) -> dict[str, Any]:
        """Send one command; returns the truth the emulator answered with."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        async with self._lock:
            self.process.stdin.write(json.dumps({"do": do, **arguments}).encode() + b"\n")
            await self.process.stdin.drain()
            answer: dict[str, Any] = json.loads(await self.process.stdout.readline())
        return answer

    async def stop(self) -> None:
        """Ask the child to stop and wait for it."""
        assert self.process.stdin is not None
        self.process.stdin.write(b'{"do": "stop"}\n')
        await self.process.stdin.drain()
        self.process.stdin.close()
        await self.process.wait()


# -- the clients ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    """Everything counted during the run."""

    faults: Counter[str] = dataclasses.field(default_factory=Counter)
    queries: Counter[str] = dataclasses.field(default_factory=Counter)
    commands: Counter[str] = dataclasses.field(default_factory=Counter)
    stream_errors: Counter[str] = dataclasses.field(default_factory=Counter)
    rates: list[tuple[str, float, str]] = dataclasses.field(default_factory=list)
    """(device, unique price, outcome: "ok" or the error's class name) per creation."""
    violations: list[str] = dataclasses.field(default_factory=list)
    memory: list[tuple[float, int]] = dataclasses.field(default_factory=list)


def outcome_of(error: BaseException | None) -> str:
    return "ok" if error is None else type(error).__name__


class Consumer:
    """One device update stream, keeping the last status of each of its devices."""

    def __init__(self, name: str, a2: AndersenA2, device_ids: Sequence[str], tally: Tally) -> None:
        self.name = name
        self.device_ids = tuple(device_ids)
        self.held: dict[str, DeviceStatus] = {}
        self.task = asyncio.create_task(self._run(a2, tally), name=f"soak consumer {name}")

    async def _run(self, a2: AndersenA2, tally: Tally) -> None:
        while True:  # a stream that ends with an error is reported, counted and reopened
            try:
                async with a2.subscribe_device_updates(*self.device_ids) as updates:
                    async for status in updates:
                        assert status.id is not None
                        self.held[status.id] = status
            except AndersenError as error:
                tally.stream_errors[type(error).__name__] += 1
            else:
                return  # the session was closed

    def differences(self, truth: dict[str, dict[str, Any]]) -> list[str]:
        """Where what this consumer holds differs from the emulator's statuses."""
        found = []
        for device_id in self.device_ids:
            held = self.held.get(device_id)
            if held is None:
                found.append(f"{self.name}: nothing held for {device_id}")
                continue
            expected = DeviceStatus.model_validate(truth[device_id])
            for wire in COMPARED:
                field = wire_field(wire)
                if getattr(held, field) != getattr(expected, field):
                    found.append(f"{self.name}: {device_id} {wire} is {getattr(held, field)!r}")
        return found


def wire_field(wire: str) -> str:
    """The DeviceStatus attribute of a wire name."""
    for name, info in DeviceStatus.model_fields.items():
        if (info.alias or name) == wire:
            return name
    raise KeyError(wire)


Command = Callable[[AndersenA2, str, random.Random], tuple[Awaitable[Any], dict[str, Any]]]


def lock(a2: AndersenA2, device: str, _rng: random.Random) -> tuple[Awaitable[Any], dict[str, Any]]:
    return a2.user_lock(device), {"sysUserLock": True}


def unlock(
    a2: AndersenA2, device: str, _rng: random.Random
) -> tuple[Awaitable[Any], dict[str, Any]]:
    return a2.user_unlock(device), {"sysUserLock": False}


def solar(a2: AndersenA2, device: str, rng: random.Random) -> tuple[Awaitable[Any], dict[str, Any]]:
    percent, always = rng.randint(0, 100), rng.random() < COIN
    expected = {"solarMaxGridChargePercent": percent, "solarChargeAlways": always}
    call = a2.set_solar(device, charge_always=always, max_grid_charge_percent=percent)
    return call, expected


def schedule(
    a2: AndersenA2, device: str, rng: random.Random
) -> tuple[Awaitable[Any], dict[str, Any]]:
    slot = rng.randrange(5)
    chosen = Schedule(
        start_hour=rng.randrange(24),
        start_minute=rng.randrange(60),
        end_hour=rng.randrange(24),
        end_minute=rng.randrange(60),
        enabled=rng.random() < COIN,
    )
    return a2.create_schedule(device, slot, chosen), {f"slot{slot}": chosen.to_wire()}


COMMANDS: Final[dict[str, Command]] = {
    "userLock": lock,
    "userUnlock": unlock,
    "setSolar": solar,
    "setSchedules": schedule,
}


def applied(status: dict[str, Any], expected: dict[str, Any]) -> bool:
    for key, value in expected.items():
        if key.startswith("slot"):
            if status["scheduleSlotsArray"][int(key[4:])] != value:
                return False
        elif status[key] != value:
            return False
    return True


async def command_loop(
    a2: AndersenA2,
    emulator: Emulator,
    device: str,
    tally: Tally,
    rng: random.Random,
    stop: asyncio.Event,
) -> None:
    """Send commands to one charger, one at a time; check each success at the emulator."""
    while not stop.is_set():
        name = rng.choice(list(COMMANDS))
        call, expected = COMMANDS[name](a2, device, rng)
        try:
            await call
        except AndersenError as error:
            tally.commands[f"{name} failed: {type(error).__name__}"] += 1
        else:
            tally.commands[f"{name} ok"] += 1
            truth = await emulator.send("truth")
            if not applied(truth["statuses"][device], expected):
                tally.violations.append(f"{name} on {device} reported ok but not applied")
        await asyncio.sleep(rng.uniform(0.02, 0.2))


async def rate_loop(
    a2: AndersenA2, devices: Sequence[str], tally: Tally, rng: random.Random, stop: asyncio.Event
) -> None:
    """Create charge rates, each with a price no other has, to count their applications."""
    number = 0
    while not stop.is_set():
        number += 1
        device, price = rng.choice(devices), number + 0.25
        error: AndersenError | None = None
        try:
            await a2.create_charge_rate(device, price)
        except AndersenError as caught:
            error = caught
        tally.rates.append((device, price, outcome_of(error)))
        await asyncio.sleep(rng.uniform(0.02, 0.2))


async def query_loop(
    a2: AndersenA2, devices: Sequence[str], tally: Tally, rng: random.Random, stop: asyncio.Event
) -> None:
    """Read statuses and devices; queries are retried by the library, failures surface."""
    queries: list[Callable[[str], Awaitable[Any]]] = [
        a2.get_device_status,
        a2.get_device_status_simple,
        a2.get_device,
        lambda _device: a2.get_current_user_devices(),
    ]
    while not stop.is_set():
        query = rng.choice(queries)
        try:
            await query(rng.choice(devices))
        except AndersenError as error:
            tally.queries[f"failed: {type(error).__name__}"] += 1
        else:
            tally.queries["ok"] += 1
        await asyncio.sleep(rng.uniform(0.0, 0.05))


async def fault_loop(
    emulator: Emulator, tally: Tally, rng: random.Random, stop: asyncio.Event
) -> None:
    """Ask the emulator for a random fault every 0.2-1 s."""
    kinds, weights = zip(*FAULT_WEIGHTS.items(), strict=True)
    while not stop.is_set():
        kind = rng.choices(kinds, weights)[0]
        tally.faults[kind] += 1
        count = rng.randint(1, 3)
        match kind:
            case "http_5xx":
                await emulator.send(kind, count=count, status=rng.choice([500, 502, 503]))
            case "http_429":
                await emulator.send(kind, count=count, retry_after=rng.choice([0, 0.1, 0.5]))
            case "latency":
                await emulator.send(kind, seconds=rng.uniform(0.05, 0.3))
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                await emulator.send(kind, seconds=0.0)
            case _:
                await emulator.send(kind, count=count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(0.2, 1.0))


def traced_memory() -> int:
    """Bytes traced by tracemalloc, without the harness's own allocations (its tallies)."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(inclusive=False, filename_pattern=__file__)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def open_descriptors() -> tuple[int, int]:
    """(file descriptors, of which sockets) open in this process."""
    names = os.listdir("/proc/self/fd")
    sockets = 0
    for name in names:
        with contextlib.suppress(OSError):
            sockets += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
    return len(names), sockets


@dataclasses.dataclass
class Result:
    """What the run found, for the report."""

    options: argparse.Namespace
    tally: Tally
    seconds: float
    truth: dict[str, Any]
    streams: dict[str, Counter[str]]
    consumers: int
    convergence: float | None
    differences: list[str]
    leaked_tasks: list[str]
    leaked_descriptors: tuple[int, int]
    resource_warnings: list[str]
    memory_growth: int
    warm_memory: int

    @property
    def rate_counts(self) -> Counter[str]:
        prices = Counter(
            (device, price) for device, found in self.truth["rates"].items() for price in found
        )
        counts: Counter[str] = Counter()
        for device, price, outcome in self.tally.rates:
            applied_times = prices[device, price]
            reported = "ok" if outcome == "ok" else "failed"
            counts[f"{reported}, applied {min(applied_times, 2)}x"] += 1
        return counts

    @property
    def leaks(self) -> int:
        """Tasks, descriptors and ResourceWarnings left over."""
        return len(self.leaked_tasks) + sum(self.leaked_descriptors) + len(self.resource_warnings)

    @property
    def failures(self) -> list[str]:
        found = list(self.tally.violations)
        found += [f"not converged: {difference}" for difference in self.differences[:10]]
        counts = self.rate_counts
        for key in counts:
            if key.endswith("applied 2x") or key == "ok, applied 0x":
                found.append(f"charge rates {key}: {counts[key]}")
        if self.leaked_tasks:
            found.append(f"tasks left: {self.leaked_tasks}")
        if self.leaked_descriptors != (0, 0):
            found.append(f"file descriptors (sockets) left: {self.leaked_descriptors}")
        if self.resource_warnings:
            found.append(f"ResourceWarnings: {self.resource_warnings[:3]}")
        if self.memory_growth > MEMORY_SLACK:
            found.append(f"memory grew {self.memory_growth} bytes after warm-up")
        return found


async def run(options: argparse.Namespace) -> Result:
    """The soak itself (see the module's documentation)."""
    rng = random.Random(options.seed)
    tally = Tally()
    descriptors_before = open_descriptors()
    tasks_before = asyncio.all_tasks()
    emulator = await Emulator.start(options.devices, options.token_lifetime)
    devices = emulator.device_ids
    clients = [
        AndersenA2(endpoints=emulator.endpoints, retry=RETRY, timeout=5.0, stream_settings=STREAMS)
        for _ in range(2)
    ]
    streamer, worker = clients
    for client in clients:
        await client.authenticate(EMAIL, PASSWORD)
    consumers = [Consumer(f"streamer/{n}", streamer, [d], tally) for n, d in enumerate(devices)]
    consumers += [
        Consumer("streamer/all", streamer, devices, tally),
        Consumer("worker/all", worker, devices, tally),
    ]
    stop = asyncio.Event()
    load = [
        asyncio.create_task(fault_loop(emulator, tally, random.Random(rng.random()), stop)),
        asyncio.create_task(rate_loop(worker, devices, tally, random.Random(rng.random()), stop)),
        *(
            asyncio.create_task(
                command_loop(worker, emulator, device, tally, random.Random(rng.random()), stop)
            )
            for device in devices
        ),
        *(
            asyncio.create_task(
                query_loop(client, devices, tally, random.Random(rng.random()), stop)
            )
            for client in clients
            for _ in range(2)
        ),
    ]
    started = time.monotonic()
    warm_up = min(max(3.0, options.duration * 0.2), options.duration / 2)
    await asyncio.sleep(warm_up)
    warm_memory = traced_memory()
    tally.memory.append((time.monotonic() - started, warm_memory))
    while (elapsed := time.monotonic() - started) < options.duration:
        await asyncio.sleep(min(5.0, options.duration - elapsed))
        tally.memory.append((time.monotonic() - started, traced_memory()))
    end_memory = statistics.median(size for _, size in tally.memory[-3:])
    stop.set()
    await asyncio.wait(load)
    for task in load:
        if (error := task.exception()) is not None:
            tally.violations.append(f"{task.get_name()} crashed: {error!r}")
    seconds = time.monotonic() - started

    await emulator.send("quiet")
    waited = time.monotonic()
    convergence: float | None = None
    differences: list[str] = []
    while time.monotonic() - waited < CONVERGENCE_LIMIT:
        truth = await emulator.send("truth")
        differences = [d for c in consumers for d in c.differences(truth["statuses"])]
        if not differences:
            convergence = time.monotonic() - waited
            break
        await asyncio.sleep(0.2)
    truth = await emulator.send("truth")
    streams = {
        name: Counter(dataclasses.asdict(client.streams.stats))
        for name, client in zip(("streamer", "worker"), clients, strict=True)
    }
    for client in clients:
        await client.close()
    for consumer in consumers:
        await consumer.task
    await emulator.stop()
    await asyncio.sleep(0)  # let closed transports finish their callbacks
    gc.collect()
    leaked_tasks = [t.get_name() for t in asyncio.all_tasks() - tasks_before]
    descriptors_after = open_descriptors()
    leaked = (
        descriptors_after[0] - descriptors_before[0],
        descriptors_after[1] - descriptors_before[1],
    )
    return Result(
        options=options,
        tally=tally,
        seconds=seconds,
        truth=truth,
        streams=streams,
        consumers=len(consumers),
        convergence=convergence,
        differences=differences,
        leaked_tasks=leaked_tasks,
        leaked_descriptors=leaked,
        resource_warnings=[],
        memory_growth=int(end_memory - warm_memory),
        warm_memory=warm_memory,
    )


# -- the report -----------------------------------------------------------------------------------


def table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def delivered(kind: str, counted: dict[str, int]) -> int | str:
    """How many faults of a kind the emulator delivered ("-": it does not count them)."""
    if kind == "http_5xx":
        return sum(n for key, n in counted.items() if key.startswith("http_5"))
    if kind == "latency":
        return "-"
    return counted.get(kind, 0)


def joined(counts: Counter[str], skip: str = "ok") -> str:
    """``"name n, ..."`` of the counts other than ``skip``, or "-"."""
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items()) if key != skip) or "-"


def checks_of(result: Result) -> list[tuple[str, str, str]]:
    """The four checks: (what, pass or FAIL, detail)."""
    options, failures = result.options, result.failures
    if result.convergence is not None:
        converged = f"within {result.convergence:.1f} s of the faults stopping"
    else:
        converged = "; ".join(result.differences[:3])
    commands_ok = sum(n for key, n in result.tally.commands.items() if key.endswith(" ok"))
    rates = ", ".join(f"{n} {key}" for key, n in sorted(result.rate_counts.items()))
    tasks, (descriptors, sockets) = len(result.leaked_tasks), result.leaked_descriptors
    return [
        (
            f"every consumer's last status equals the emulator's ({result.consumers} streams,"
            f" {options.devices} chargers)",
            "pass" if result.convergence is not None else "FAIL",
            converged,
        ),
        (
            "every mutation applied exactly once, or reported failed to its caller",
            "FAIL" if [f for f in failures if "applied" in f] else "pass",
            f"charge rates: {rates}; {commands_ok} commands reported ok, each seen applied",
        ),
        (
            "no task, socket or file descriptor left after closing; no ResourceWarning",
            "pass" if result.leaks == 0 else "FAIL",
            f"tasks {tasks}, file descriptors {descriptors}, sockets {sockets},"
            f" warnings {len(result.resource_warnings)}",
        ),
        (
            "memory flat after warm-up (tracemalloc)",
            "pass" if result.memory_growth <= MEMORY_SLACK else "FAIL",
            f"{result.memory_growth / 1024:+.0f} KiB from {result.warm_memory / 1024:.0f} KiB"
            f" (limit +{MEMORY_SLACK // 1024} KiB)",
        ),
    ]


def report(result: Result) -> str:
    """The text of docs/reliability.md."""
    options, tally = result.options, result.tally
    counted: dict[str, int] = result.truth["faults_injected"]
    reconnects = sum(max(0, s["connects"] - 1) for s in result.streams.values())
    rate_counts = result.rate_counts
    commands_ok = sum(n for key, n in tally.commands.items() if key.endswith(" ok"))
    commands_failed = sum(tally.commands.values()) - commands_ok
    rates_failed = sum(n for key, n in rate_counts.items() if key.startswith("failed"))
    queries_failed = sum(n for key, n in tally.queries.items() if key != "ok")
    applied_twice = sum(n for key, n in rate_counts.items() if key.endswith("2x"))
    command = (
        f"python benchmarks/soak.py --duration {options.duration:g} --devices {options.devices}"
        f" --seed {options.seed}"
    )
    fault_rows = [(kind, tally.faults[kind], delivered(kind, counted)) for kind in FAULT_WEIGHTS]
    stream_rows = [
        (
            name,
            s["connects"],
            max(0, s["connects"] - 1),
            s["events"],
            s["snapshots"],
            s["malformed_frames"],
            s["keepalive_timeouts"],
        )
        for name, s in result.streams.items()
    ]
    rate_outcomes = Counter(outcome for _, _, outcome in tally.rates)
    query_failures = Counter(
        {key.removeprefix("failed: "): n for key, n in tally.queries.items() if key != "ok"}
    )
    command_failures = Counter(
        {key.replace(" failed:", ":"): n for key, n in tally.commands.items() if "failed" in key}
    )
    outcome_rows = [
        ("queries", tally.queries["ok"], queries_failed, joined(query_failures)),
        ("commands", commands_ok, commands_failed, joined(command_failures)),
        ("charge rates created", rate_outcomes["ok"], rates_failed, joined(rate_outcomes)),
        (
            "streams ended with an error",
            "-",
            sum(tally.stream_errors.values()),
            joined(tally.stream_errors),
        ),
    ]
    stream_header = (
        "client",
        "connections",
        "reconnects",
        "events",
        "snapshots",
        "malformed frames",
        "keep-alive timeouts",
    )
    failures = result.failures
    verdict = "PASS" if not failures else "FAIL: " + "; ".join(failures)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    truth = result.truth
    return f"""# Reliability: the soak test

`nox -s soak` runs `benchmarks/soak.py` for {options.duration:g} s: two clients with
{result.consumers} device update streams over {options.devices} emulated chargers, concurrent
queries, commands and charge-rate creations, while the emulator (in another process, on
loopback) injects a random fault every 0.2-1 s. Then the faults stop and the checks below
run. Reproduce with `{command}`.

Measured {when} on {platform.machine()} ({os.cpu_count()} CPUs), Python
{platform.python_version()}, andersen-ev {__version__}, aiohttp {aiohttp.__version__},
pydantic {pydantic.VERSION}; the load ran {result.seconds:.0f} s.

**Result: {verdict}**

- faults injected: {sum(counted.values())}
- stream reconnects: {reconnects}
- commands: {commands_ok + commands_failed}, and {len(tally.rates)} charge rates created
- failures surfaced to callers: {queries_failed + commands_failed + rates_failed}
- mutations applied twice: {applied_twice}
- leaks: {result.leaks}

## Checks

{table(("check", "result", "detail"), checks_of(result))}

## Faults

Requested by the soak, and delivered as the emulator counted them (a fault is delivered
when a request or connection meets it; latency is a setting, not counted).

{table(("fault", "requested", "delivered"), fault_rows)}

## Streams

{table(stream_header, stream_rows)}

## What callers saw

Failures are what the library reported to its caller, by error class. Queries are retried
by the library first (5xx, 429, connection errors); mutations never are, so a fault that
meets one reaches its caller.

{table(("operation", "ok", "failed", "failures by error"), outcome_rows)}

The emulator answered {truth["graphql_requests"]} GraphQL requests, accepted
{truth["websocket_connects"]} websocket connections and {truth["refreshes"]} token refreshes.
"""


#: The report is followed in docs/reliability.md by sections written by hand (mutation
#: testing): rewriting the report keeps the output file's text from this line on.
KEPT_BELOW: Final = "<!-- Written by hand from here on: benchmarks/soak.py keeps it. -->"


def with_kept_part(text: str, output: Path) -> str:
    """``text``, followed by what ``output`` holds from :data:`KEPT_BELOW` on, if anything."""
    old = output.read_text() if output.exists() else ""
    _, marker, kept = old.partition(KEPT_BELOW)
    return f"{text.rstrip()}\n\n{marker}{kept}" if marker else text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, default=270.0, help="seconds of load (<= 270)")
    parser.add_argument("--devices", type=int, default=4, help="emulated chargers")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the load and faults")
    parser.add_argument("--token-lifetime", type=float, default=20.0, help="token lifetime (s)")
    parser.add_argument("--output", type=Path, help="where to write the report (markdown)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser


async def soak(options: argparse.Namespace) -> Result:
    """The run, bounded by :data:`HARD_LIMIT`, with ResourceWarnings recorded."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            async with asyncio.timeout(HARD_LIMIT):
                result = await run(options)
            gc.collect()
        result.resource_warnings = [
            str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
        ]
    finally:
        tracemalloc.stop()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    if options.serve:
        asyncio.run(serve(options.devices, options.token_lifetime))
        return 0
    options.duration = min(options.duration, HARD_LIMIT - CONVERGENCE_LIMIT - 10)
    # the library logs each fault it meets (reconnects ...) as a warning: expected here
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    result = asyncio.run(soak(options))
    text = report(result)
    if options.output:
        options.output.write_text(with_kept_part(text, options.output))
    print(text)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
