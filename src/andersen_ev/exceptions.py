"""Every error the library raises: one root, :class:`AndersenError`, and a small tree below it.

Catch :class:`AndersenError` to handle anything this library raises. Messages say what went
wrong and what to do; they never contain a password, token or device secret.
"""

from __future__ import annotations

__all__ = ["AndersenError"]


class AndersenError(Exception):
    """Root of every error raised by andersen-ev."""
