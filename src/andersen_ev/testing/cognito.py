"""PLACEHOLDER (being written)."""

from aiohttp import web


def setup_routes(app: web.Application) -> None:
    """Placeholder."""
