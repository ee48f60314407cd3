"""A small private JSON file for :class:`~andersen_ev.Tokens`, so a password need not be kept.

The file is created with mode 0600 (owner read/write only) and replaced atomically on every
save, so a crash never leaves half a file and no other user can read it at any moment. A
file that other users can read or write is refused on load: the tokens in it may have
leaked, and the fix (``chmod 600``) is the user's decision. File I/O runs in a worker
thread, off the event loop.

A save writes a temporary file beside the target (``.tokens.json.<pid>-<random>.tmp``,
mode 0600) and renames it over the target. A process killed mid-save leaves its temporary
behind, holding a refresh token: every save, load and delete removes such leftovers of the
same file, those of processes that no longer run (or older than a minute), never one
another process is still writing.

Example::

    store = TokenStore("~/.config/andersen-ev/tokens.json")
    async with AndersenA2(tokens=await store.load(), on_tokens_updated=store.update) as a2:
        if a2.tokens is None:
            await a2.authenticate(email, password)
            await a2.confirm_device("my script")
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import stat
import threading
import time
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from andersen_ev.auth import Tokens
from andersen_ev.auth.tokens import fields_at_fault
from andersen_ev.exceptions import InsecureTokenFileError, TokenStoreError

__all__ = ["TokenStore"]

_LOG = logging.getLogger(__name__)

_PRIVATE_MODE: Final = 0o600
_OTHERS: Final = stat.S_IRWXG | stat.S_IRWXO
#: A temporary this old is a leftover whoever wrote it (a save takes milliseconds).
_STALE_SECONDS: Final = 60.0
#: File operations of every store in this process, one at a time: a temporary of this
#: process is then only ever in flight while the lock is held.
_FILES_LOCK: Final = threading.Lock()


class TokenStore:
    """Saves and loads :class:`~andersen_ev.Tokens` as JSON in one private file.

    Args:
        path: The file (``~`` is expanded). Its directory is created (mode 0700) on save.

    Concurrent saves are applied in the order they were called: the last one wins.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._calls = 0
        self._applied = 0
        # .tokens.json.<pid>-<12 hex>.tmp, and .tokens.json.<12 hex>.tmp of earlier versions
        self._temporary = re.compile(
            rf"\.{re.escape(self.path.name)}\.(?:(?P<pid>[0-9]{{1,10}})-)?[0-9a-f]{{12}}\.tmp"
        )

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    async def load(self) -> Tokens | None:
        """The saved tokens, or None when the file does not exist.

        Leftovers of saves that crashed are removed first.

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
        """Remove the file, if it exists, and the leftovers of saves that crashed.

        Raises:
            TokenStoreError: the file cannot be removed.
        """
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
        with _FILES_LOCK:
            self._remove_leftovers()
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
            raise TokenStoreError(
                f"the token file {self.path} is not valid ({fields_at_fault(exc, '(file)')}):"
                " delete it and log in again"
            ) from None

    def _write(self, data: bytes | None, call: int) -> None:
        with _FILES_LOCK:
            if call < self._applied:
                return  # a later save (or delete) was applied already
            self._applied = call
            self._remove_leftovers()
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
        temporary = self.path.with_name(
            f".{self.path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp"
        )
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

    def _remove_leftovers(self) -> None:
        """Remove the temporaries of this file that no save is writing any more.

        Called with :data:`_FILES_LOCK` held, so no save of this process is under way.
        Errors are logged, not raised: a leftover must not stop a save or a load.
        """
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return  # no directory yet, or unreadable: the save or load will say so
        for entry in entries:
            match = self._temporary.fullmatch(entry.name)
            if match is None:
                continue
            try:
                if _abandoned(entry, match["pid"]):
                    os.unlink(entry.path)
                    _LOG.info("removed %s, left by a save that did not finish", entry.name)
            except OSError as exc:
                _LOG.warning("cannot remove %s: %s", entry.name, exc.strerror or exc)


def _abandoned(entry: os.DirEntry[str], pid: str | None) -> bool:
    """True when the temporary ``entry`` (written by ``pid``) is no longer being written."""
    if pid is not None and int(pid) == os.getpid():
        return True  # saves of this process run under the lock its caller holds
    if time.time() - entry.stat(follow_symlinks=False).st_mtime > _STALE_SECONDS:
        return True
    return pid is not None and not _running(int(pid))


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (on POSIX; elsewhere, assume it does)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate it on Windows
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True  # it exists, owned by another user
    return True
