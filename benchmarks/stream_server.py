"""The stream benchmarks' emulator, in its own process: many chargers, and events on command.

Prints one JSON line (endpoints, account, device ids, ``replay_url``), then reads commands on
stdin, one per line, and answers each with ``ok`` once it is done:

``burst N [I]``
    publish N status changes of charger number I (0 by default) through the emulator, as
    fast as it can serve them (every event is executed by graphql-core, as a GraphQL server
    does);
``all``
    publish one status change of every charger through the emulator;
``replay N [I]``
    send N ``deviceStatusUpdated`` frames of charger number I (0 by default) to every socket
    of the replay endpoint subscribed to it, as fast as aiohttp writes them;
``replay-all``
    send one frame for every subscription on every socket of the replay endpoint;
``protocols P1,P2``
    the websocket subprotocols served (by both endpoints), most preferred first;
``quit``
    stop.

The replay endpoint (``replay_url``) speaks both subprotocols like the emulator, but sends
frames the emulator rendered once at start-up (its own graphql-core output for each
charger), with ``sysSolarPower`` set to a counter (once per burst). It exists because the
emulator, executing every event, produces about a thousand events a second: to measure
what a client can decode, the frames must arrive faster than that.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

from aiohttp import web
from graphql import execute, parse

from andersen_ev.graphql import operation_document
from andersen_ev.testing import AndersenCloud
from andersen_ev.testing.executable_schema import RequestContext, executable_schema
from andersen_ev.testing.websocket import GRAPHQL_TRANSPORT_WS, negotiate_protocol

EMAIL = "bench@example.com"
PASSWORD = "bench-password"
MARK = "123456.789"  # sysSolarPower in the rendered frames, replaced by a counter


@dataclasses.dataclass(eq=False)
class ReplaySocket:
    """One client of the replay endpoint: its protocol and its subscriptions."""

    ws: web.WebSocketResponse
    data_type: str
    ops: dict[str, str] = dataclasses.field(default_factory=dict)


class Replay:
    """The replay endpoint: a GraphQL websocket server that streams pre-rendered frames."""

    def __init__(self, cloud: AndersenCloud, payloads: dict[str, str]) -> None:
        self.cloud = cloud
        self.payloads = payloads  # device id -> rendered ``payload`` JSON with MARK in it
        self.sockets: set[ReplaySocket] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        header = ",".join(request.headers.getall("Sec-WebSocket-Protocol", ()))
        offered = [name.strip() for name in header.split(",") if name.strip()]
        protocol = negotiate_protocol(offered, self.cloud.websocket_protocols)
        ws = web.WebSocketResponse(protocols=(protocol,) if protocol else ())
        await ws.prepare(request)
        socket = ReplaySocket(ws, "next" if protocol == GRAPHQL_TRANSPORT_WS else "data")
        self.sockets.add(socket)
        try:
            async for message in ws:
                frame: dict[str, Any] = json.loads(message.data)
                kind = frame.get("type")
                if kind == "connection_init":
                    await ws.send_str('{"type": "connection_ack"}')
                elif kind in {"start", "subscribe"}:
                    socket.ops[frame["id"]] = frame["payload"]["variables"]["id"]
                elif kind in {"stop", "complete"}:
                    socket.ops.pop(frame["id"], None)
                elif kind == "ping":
                    await ws.send_str('{"type": "pong"}')
        finally:
            self.sockets.discard(socket)
        return ws

    def frame(self, socket: ReplaySocket, op_id: str, value: float) -> str:
        payload = self.payloads[socket.ops[op_id]].replace(MARK, repr(value))
        return f'{{"id": "{op_id}", "type": "{socket.data_type}", "payload": {payload}}}'

    async def burst(self, device_id: str, count: int, value: float) -> None:
        for socket in list(self.sockets):
            for op_id, followed in list(socket.ops.items()):
                if followed == device_id:
                    # one rendering per burst: the server's cost per frame is aiohttp's alone
                    frame = self.frame(socket, op_id, value)
                    for _ in range(count):
                        await socket.ws.send_str(frame)

    async def all(self, value: float) -> None:
        for socket in list(self.sockets):
            for op_id in list(socket.ops):
                await socket.ws.send_str(self.frame(socket, op_id, value))


def render(cloud: AndersenCloud, user: Any, device_id: str, status: dict[str, Any]) -> str:
    """The ``payload`` JSON the emulator sends for this status (sysSolarPower = MARK)."""
    rendered = execute(
        executable_schema(),
        parse(operation_document("deviceStatusUpdated")),
        root_value=status | {"sysSolarPower": float(MARK)},
        context_value=RequestContext(cloud, user),
        variable_values={"id": device_id},
    )
    text = json.dumps(rendered.formatted)  # type: ignore[union-attr]
    assert MARK in text
    return text


async def serve(chargers: int) -> None:
    """Run the emulator and the replay endpoint until ``quit`` (or the end of stdin)."""
    async with AndersenCloud(token_lifetime=36000) as cloud:
        user = cloud.add_user(EMAIL, PASSWORD)
        devices = [cloud.add_charger(user, name=f"Bay {n}") for n in range(chargers)]
        statuses = {device.id: device.status() for device in devices}
        ids = list(statuses)
        replay = Replay(
            cloud, {key: render(cloud, user, key, value) for key, value in statuses.items()}
        )
        app = web.Application()
        app.router.add_get("/graphql", replay.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, cloud.host, 0)
        await site.start()
        line = {
            "endpoints": dataclasses.asdict(cloud.endpoints),
            "replay_url": f"ws://{cloud.host}:{runner.addresses[0][1]}/graphql",
            "email": EMAIL,
            "password": PASSWORD,
            "device_ids": list(statuses),
        }
        print(json.dumps(line), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        counter = 0
        hub = cloud.state.hub
        try:
            while command := (await reader.readline()).decode().split():
                match command:
                    case ["burst", count, *index]:
                        device_id = ids[int(index[0]) if index else 0]
                        for _ in range(int(count)):
                            counter += 1
                            hub.publish(
                                device_id, statuses[device_id] | {"sysSolarPower": counter / 1000}
                            )
                    case ["all"]:
                        counter += 1
                        for device_id, status in statuses.items():
                            hub.publish(device_id, status | {"sysSolarPower": counter / 1000})
                    case ["replay", count, *index]:
                        counter += 1
                        device_id = ids[int(index[0]) if index else 0]
                        await replay.burst(device_id, int(count), counter / 1000)
                    case ["replay-all"]:
                        counter += 1
                        await replay.all(counter / 1000)
                    case ["protocols", names]:
                        cloud.websocket_protocols = tuple(names.split(","))
                    case _:
                        break
                print("ok", flush=True)
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
