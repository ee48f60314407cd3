"""Stream benchmarks: events decoded into models through one websocket, against gql's raw
subscription yielding dicts, and 1,000 device subscriptions on one connection.

The emulator runs in another process (``stream_server.py``), so the CPU time measured here
(``process_time``) is the client's alone. Two sources of events:

* the emulator itself, which executes every event with graphql-core (about a thousand a
  second): the end-to-end path, bounded by the emulator;
* its replay endpoint, which sends the frames the emulator rendered, as fast as the client
  takes them: what the client can decode, which is what the aims are about.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from gql import Client, GraphQLRequest
from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport

from andersen_ev import AndersenA2, Endpoints
from andersen_ev.graphql import operation_document
from andersen_ev.stream import GRAPHQL_TRANSPORT_WS, GRAPHQL_WS, StatusSnapshot

ROUNDS = 5
PROTOCOLS = (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS)


@dataclass(frozen=True)
class Source:
    """Where events come from: a websocket URL and the commands that make them."""

    name: str
    burst: str
    all: str
    replay: bool


EMULATOR = Source("emulator", "burst", "all", replay=False)
REPLAY = Source("replay", "replay", "replay-all", replay=True)


@dataclass
class Server:
    """The benchmark emulator in its own process (see stream_server.py)."""

    process: asyncio.subprocess.Process
    line: dict[str, Any]

    @classmethod
    async def start(cls, chargers: int) -> Server:
        script = Path(__file__).with_name("stream_server.py")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(chargers),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        return cls(process, json.loads(await process.stdout.readline()))

    def endpoints(self, source: Source) -> Endpoints:
        endpoints = Endpoints(**self.line["endpoints"])
        if source.replay:
            return dataclasses.replace(endpoints, websocket_url=self.line["replay_url"])
        return endpoints

    @property
    def device_ids(self) -> list[str]:
        ids: list[str] = self.line["device_ids"]
        return ids

    async def command(self, text: str) -> None:
        """Send one command and wait for its ``ok``."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{text}\n".encode())
        await self.process.stdin.drain()
        answer = await self.process.stdout.readline()
        assert answer.startswith(b"ok"), answer

    async def prefer(self, protocol: str) -> None:
        other = next(name for name in PROTOCOLS if name != protocol)
        await self.command(f"protocols {protocol},{other}")

    async def login(self, a2: AndersenA2) -> None:
        await a2.authenticate(self.line["email"], self.line["password"])

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"quit\n")
        await self.process.stdin.drain()
        await self.process.wait()


@dataclass
class Counter:
    """Counts events as a consumer receives them; ``done`` is set at ``target``."""

    target: int = 1
    count: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self, target: int) -> None:
        self.count, self.target = 0, target
        self.done.clear()

    def add(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()


async def count_events(events: AsyncIterator[Any], counter: Counter) -> None:
    """Count every item of ``events`` (our snapshots excepted)."""
    async for event in events:
        if type(event) is not StatusSnapshot:
            counter.add()


async def until_live(server: Server, source: Source, counter: Counter, device: int = 0) -> None:
    """Send single events until one arrives: the subscription is live at the server."""
    counter.reset(1)
    while not counter.done.is_set():
        await server.command(f"{source.burst} 1 {device}")
        try:
            await asyncio.wait_for(counter.done.wait(), 0.5)
        except TimeoutError:
            continue


async def burst(server: Server, source: Source, counter: Counter, size: int, device: int) -> Round:
    """Client CPU seconds per event and events per second of one burst to ``device``."""
    counter.reset(size)
    gc.collect()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    await server.command(f"{source.burst} {size} {device}")
    await counter.done.wait()
    return Round(
        (time.process_time() - cpu_start) / size, size / (time.perf_counter() - wall_start)
    )


@dataclass(frozen=True)
class Round:
    """One burst: client CPU seconds per event, and events per second."""

    cpu: float
    rate: float


@dataclass(frozen=True)
class Pair:
    """Medians of ours and gql's rounds, run alternately under the same conditions."""

    ours: Round
    gql: Round

    @classmethod
    def of(cls, ours: list[Round], gql: list[Round]) -> Pair:
        def median(rounds: list[Round]) -> Round:
            return Round(
                statistics.median(r.cpu for r in rounds), statistics.median(r.rate for r in rounds)
            )

        return cls(median(ours), median(gql))


async def compare(
    server: Server, source: Source, protocol: str, size: int, rounds: int, token: str
) -> Pair:
    """This library (DeviceStatus models) against gql 4's raw subscription (dicts).

    Both follow a charger of their own on their own websocket, and their bursts alternate,
    so that both see the same machine; only one receives at a time.
    """
    await server.prefer(protocol)
    transport = AIOHTTPWebsocketsTransport(
        url=server.endpoints(source).websocket_url,
        subprotocols=[protocol],
        init_payload={"authToken": f"Bearer {token}"},
    )
    request = GraphQLRequest(
        operation_document("deviceStatusUpdated"), variable_values={"id": server.device_ids[1]}
    )
    ours, theirs = Counter(), Counter()
    async with (
        AndersenA2(endpoints=server.endpoints(source)) as a2,
        Client(transport=transport) as session,
    ):
        await server.login(a2)

        async def gql_consumer() -> None:
            async with aclosing(session.subscribe(request)) as events:
                await count_events(events, theirs)

        consumers = [
            asyncio.create_task(
                count_events(a2.subscribe_device_updates(server.device_ids[0]), ours)
            ),
            asyncio.create_task(gql_consumer()),
        ]
        await until_live(server, source, ours, 0)
        await until_live(server, source, theirs, 1)
        assert a2.streams.protocol == protocol
        await burst(server, source, ours, size, 0)  # warm-up
        await burst(server, source, theirs, size, 1)
        ours_rounds, gql_rounds = [], []
        for _ in range(rounds):
            ours_rounds.append(await burst(server, source, ours, size, 0))
            gql_rounds.append(await burst(server, source, theirs, size, 1))
        for task in consumers:
            task.cancel()
        await asyncio.wait(consumers)
    return Pair.of(ours_rounds, gql_rounds)


async def fan_out(server: Server, source: Source, *, trace: bool) -> dict[str, float]:
    """One consumer per device, all on one connection: resync, fan-out time, memory."""
    ids = server.device_ids
    # every HTTP request and every new connection of the client, counted by aiohttp itself
    seen = {"requests": 0, "connections": 0}

    async def on_request(*_: object) -> None:
        seen["requests"] += 1

    async def on_connection(*_: object) -> None:
        seen["connections"] += 1

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(on_request)
    tracing.on_connection_create_end.append(on_connection)
    async with (
        aiohttp.ClientSession(trace_configs=[tracing]) as http,
        AndersenA2(endpoints=server.endpoints(source), session=http) as a2,
    ):
        await server.login(a2)
        await a2.get_device_status(ids[0])  # warm: modules, connection pool
        requests_before = seen["requests"]
        gc.collect()
        if trace:
            tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        counter = Counter(target=len(ids))
        snapshots = Counter(target=len(ids))

        async def consume(device_id: str) -> None:
            async for status in a2.subscribe_device_updates(device_id):
                (snapshots if isinstance(status, StatusSnapshot) else counter).add()

        start = time.perf_counter()
        consumers = [asyncio.create_task(consume(device_id)) for device_id in ids]
        await snapshots.done.wait()
        resync = time.perf_counter() - start
        resync_requests = seen["requests"] - requests_before
        await until_live(server, source, counter)  # ids[0] is live, so is every device
        walls, cpus = [], []
        for _ in range(1 if trace else ROUNDS):
            counter.reset(len(ids))
            gc.collect()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            await server.command(source.all)
            await counter.done.wait()
            walls.append(time.perf_counter() - wall_start)
            cpus.append((time.process_time() - cpu_start) / len(ids))
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
        if trace:
            tracemalloc.stop()
        connects = a2.streams.stats.connects
        for task in consumers:
            task.cancel()
        await asyncio.wait(consumers)
    return {
        "resync": resync,
        "all_wall": statistics.median(walls),
        "all_cpu": statistics.median(cpus),
        "memory": growth,
        "connects": connects,
        "resync_requests": resync_requests,
        "connections": seen["connections"],
    }


async def measure(size: int = 20000, emulator_size: int = 1000) -> dict[str, Any]:
    """Every stream figure, against one emulator process with 1,000 chargers."""
    server = await Server.start(1000)
    try:
        async with AndersenA2(endpoints=server.endpoints(EMULATOR)) as a2:
            await server.login(a2)
            token = await a2.auth.id_token()
        results: dict[str, Any] = {"size": size, "emulator_size": emulator_size}
        for protocol in PROTOCOLS:
            results[f"replay {protocol}"] = await compare(
                server, REPLAY, protocol, size, ROUNDS, token
            )
            results[f"emulator {protocol}"] = await compare(
                server, EMULATOR, protocol, emulator_size, 3, token
            )
        await server.prefer(GRAPHQL_WS)
        results["fan_out"] = await fan_out(server, REPLAY, trace=False)
        results["fan_out_emulator"] = await fan_out(server, EMULATOR, trace=False)
        results["fan_out_traced"] = await fan_out(server, REPLAY, trace=True)
        return results
    finally:
        await server.stop()


def stream_rows(results: dict[str, Any]) -> str:
    """Markdown rows of the stream figures."""
    bench = "`nox -s bench`"
    size, emulator_size = results["size"], results["emulator_size"]
    rows = []
    for protocol in PROTOCOLS:
        replay, through = results[f"replay {protocol}"], results[f"emulator {protocol}"]
        ours, gql = replay.ours, replay.gql
        rows += [
            f"| `{protocol}` stream, events decoded into `DeviceStatus` through one websocket"
            f" (replayed frames, bursts of {size:,}) | {ours.rate:,.0f} events/s; client CPU"
            f" {ours.cpu * 1e6:.1f} µs per event = {1 / ours.cpu:,.0f}/s per core"
            f" (aim: over 20,000/s) | {bench} |",
            f"| `{protocol}` stream, client CPU per event against gql 4.4's raw subscription"
            f" yielding dicts (same frames, bursts alternating) | gql {gql.cpu * 1e6:.1f} µs"
            f" ({gql.rate:,.0f} events/s); ours {ours.cpu / gql.cpu:.2f}x (aim: <= 1.2x)"
            f" | {bench} |",
            f"| `{protocol}` stream through the emulator itself (bursts of {emulator_size:,};"
            f" the emulator's graphql-core is the limit) | ours {through.ours.rate:,.0f}"
            f" events/s, gql {through.gql.rate:,.0f} events/s | {bench} |",
        ]
    fan, slow, traced = results["fan_out"], results["fan_out_emulator"], results["fan_out_traced"]
    rows += [
        f"| 1,000 devices, one consumer each: snapshots of all (batched reads), wall"
        f" | {fan['resync']:.2f} s | {bench} |",
        f"| 1,000 devices: HTTP requests from the first subscription to the last snapshot"
        f" (websocket upgrades included), counted by aiohttp's tracing"
        f" | {fan['resync_requests']:.0f} (aim: about 1,000 / 50 = 20) | {bench} |",
        f"| 1,000 devices: connections the client opened in all (login, reads, the stream),"
        f" counted by aiohttp's tracing; websockets opened by the stream"
        f" | {fan['connections']:.0f}; {fan['connects']:.0f} websocket | {bench} |",
        f"| 1,000 devices: one change of every device to every consumer (replayed frames),"
        f" wall | {fan['all_wall'] * 1e3:.0f} ms (aim: under 200 ms); client CPU"
        f" {fan['all_cpu'] * 1e6:.0f} µs per device | {bench} |",
        f"| 1,000 devices: the same through the emulator itself (its graphql-core is the"
        f" limit), wall | {slow['all_wall'] * 1e3:.0f} ms | {bench} |",
        f"| 1,000 devices: memory growth (tracemalloc) for the subscriptions, their consumers"
        f" and one round of events | {traced['memory'] / 2**20:.1f} MB (aim: under 30 MB)"
        f" | {bench} |",
    ]
    return "".join(row + "\n" for row in rows)


if __name__ == "__main__":
    print(stream_rows(asyncio.run(measure())))
