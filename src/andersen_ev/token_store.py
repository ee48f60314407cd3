"""A small private JSON file for :class:`~andersen_ev.Tokens`, so a password need not be kept.

The file is created with mode 0600 (owner read/write only) and replaced atomically on every
save, so a crash never leaves half a file and no other user can read it at any moment. A
file that other users can read or write is refused on load: the tokens in it may have
leaked, and the fix (``chmod 600``) is the user's decision. File I/O runs in a worker
thread, off the event loop.

Example::

    store = TokenStore("~/.config/andersen-ev/tokens.json")
    async with AndersenA2(tokens=await store.load(), on_tokens_updated=store.update) as a2:
        if a2.tokens is None:
            await a2.authenticate(email, password)
            await a2.confirm_device("my script")
"""

from __future__ import annotations

import asyncio
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from andersen_ev.auth import Tokens
from andersen_ev.exceptions import InsecureTokenFileError, TokenStoreError

__all__ = ["TokenStore"]

_PRIVATE_MODE: Final = 0o600
_OTHERS: Final = stat.S_IRWXG | stat.S_IRWXO


class TokenStore:
    """Saves and loads :class:`~andersen_ev.Tokens` as JSON in one private file.

    Args:
        path: The file (``~`` is expanded). Its directory is created (mode 0700) on save.

    Concurrent saves are applied in the order they were called: the last one wins.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._calls = 0
        self._applied = 0

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    async def load(self) -> Tokens | None:
        """The saved tokens, or None when the file does not exist.

        Raises:
            InsecureTokenFileError: the file is readable or writable by group or others.
            TokenStoreError: the file cannot be read or is not a token file.
        """
        return await asyncio.to_thread(self._read)

    async def save(self, tokens: Tokens) -> None:
        """Write ``tokens`` (secrets included) to the file, atomically, with mode 0600.

        Raises:
            TokenStoreError: the file cannot be written.
        """
        await self._apply(tokens.model_dump_json(indent=2).encode())

    async def delete(self) -> None:
        """Remove the file, if it exists."""
        await self._apply(None)

    async def update(self, tokens: Tokens | None) -> None:
        """Save ``tokens``, or delete the file when None: an ``on_tokens_updated`` callback."""
        if tokens is None:
            await self.delete()
        else:
            await self.save(tokens)

    async def _apply(self, data: bytes | None) -> None:
        self._calls += 1
        await asyncio.to_thread(self._write, data, self._calls)

    def _read(self) -> Tokens | None:
        try:
            with self.path.open("rb") as file:
                mode = os.fstat(file.fileno()).st_mode
                if os.name == "posix" and mode & _OTHERS:
                    raise InsecureTokenFileError(
                        f"the token file {self.path} is accessible to other users (mode"
                        f" {stat.S_IMODE(mode):03o}), so its tokens may have leaked: log in"
                        f" again, or if you trust it, run 'chmod 600 {self.path}'"
                    )
                data = file.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(
                f"cannot read the token file {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            return Tokens.model_validate_json(data)
        except ValidationError as exc:
            # pydantic's message quotes the input (secrets): name the fields only
            fields = sorted({".".join(map(str, e["loc"])) or "(file)" for e in exc.errors()})
            raise TokenStoreError(
                f"the token file {self.path} is not valid ({', '.join(fields)}): delete it"
                " and log in again"
            ) from None

    def _write(self, data: bytes | None, call: int) -> None:
        with self._lock:
            if call < self._applied:
                return  # a later save (or delete) was applied already
            self._applied = call
            try:
                if data is None:
                    self.path.unlink(missing_ok=True)
                else:
                    self._replace(data)
            except OSError as exc:
                raise TokenStoreError(
                    f"cannot write the token file {self.path}: {exc.strerror or exc}"
                ) from None

    def _replace(self, data: bytes) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_MODE)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
