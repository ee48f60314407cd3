"""A scripted GraphQL server on loopback: answers requests from a list of canned replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.loopback import serve

Reply = Callable[[], web.StreamResponse]


@dataclass
class Script:
    """A loopback GraphQL server answering from a list of canned replies."""

    replies: list[Reply] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        self.authorizations.append(request.headers["Authorization"])
        return self.replies.pop(0)()


def json_reply(body: object, status: int = 200, **headers: str) -> Reply:
    return lambda: web.json_response(body, status=status, headers=headers)


def text_reply(text: str, status: int = 200) -> Reply:
    return lambda: web.Response(text=text, status=status)


@pytest.fixture
async def script() -> AsyncIterator[Script]:
    script = Script()
    app = web.Application()
    app.router.add_post("/", script.handle)
    async with serve(app) as script.url:
        yield script
