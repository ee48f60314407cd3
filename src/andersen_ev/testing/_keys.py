"""Typed aiohttp application keys shared by the emulator's request handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from andersen_ev.testing.cloud import AndersenCloud

#: The :class:`AndersenCloud` serving a request.
CLOUD_KEY: Final[web.AppKey[AndersenCloud]] = web.AppKey("andersen_cloud")
