"""What every command gets: where its files are, which cloud, and the streams to write to."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TextIO

from andersen_ev.auth import Tokens
from andersen_ev.cli.config import Paths, load_endpoints
from andersen_ev.cli.errors import CliError, ExitCode, Hints, one_line
from andersen_ev.client import AndersenA2
from andersen_ev.const import PRODUCTION, Endpoints
from andersen_ev.exceptions import InvalidInputError, TokenStoreError
from andersen_ev.models import Device
from andersen_ev.queries import device_listing
from andersen_ev.token_store import TokenStore

__all__ = ["Context", "TokenSaver"]


class TokenSaver:
    """An ``on_tokens_updated`` callback that saves to the store and never raises.

    A token file that cannot be written is one warning on stderr (the tokens in use stay
    valid, and the next command refreshes them again), remembered in :attr:`failure` for
    ``login``, which cannot do without the file.
    """

    def __init__(self, store: TokenStore, stderr: TextIO) -> None:
        self.store = store
        self.stderr = stderr
        self.failure: TokenStoreError | None = None

    async def __call__(self, tokens: Tokens | None) -> None:
        """Save ``tokens`` (delete the file for None); a failure is a warning."""
        try:
            await self.store.update(tokens)
        except TokenStoreError as exc:
            if self.failure is None:
                self.stderr.write(
                    one_line(
                        f"the refreshed tokens were not saved: {exc}",
                        "they work for this command; the next one refreshes them again",
                        prefix="andersen-ev: warning: ",
                    )
                )
            self.failure = exc


@dataclass
class Context:
    """The environment of one command.

    Attributes:
        paths: The configuration directory's files.
        endpoints_override: The cloud given by ``--endpoints`` or ``ANDERSEN_EV_ENDPOINTS``.
        stdin: Where ``--password-stdin`` reads from.
        stdout: Results.
        stderr: Prompts' companions, warnings and errors.
        confirm_interval: Seconds between status reads while a command is confirmed.
        hints: How the command was run, for the hints of its errors.
        environ: The environment variables (``ANDERSEN_EV_EMAIL`` ...).
    """

    paths: Paths
    endpoints_override: Endpoints | None
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    confirm_interval: float = 1.5
    hints: Hints = field(default_factory=Hints)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @property
    def store(self) -> TokenStore:
        """The token store of this configuration directory."""
        return TokenStore(self.paths.tokens)

    async def endpoints(self) -> Endpoints:
        """The cloud to talk to: the override, else what ``login`` recorded, else production."""
        if self.endpoints_override is not None:
            return self.endpoints_override
        recorded = await asyncio.to_thread(load_endpoints, self.paths)
        if recorded is None:
            return PRODUCTION
        if not self.hints.login_options:  # login reads no record: it must be told
            self.hints.login_options = ("--endpoints", str(self.paths.endpoints))
        return recorded

    def write(self, text: str = "") -> None:
        """Write a line of output."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AndersenA2]:
        """A client started from the saved tokens; refreshed tokens are saved back.

        Raises:
            CliError: nobody is logged in (exit code 3).
        """
        store = self.store
        endpoints = await self.endpoints()
        tokens = await store.load()
        if tokens is None:
            raise CliError(
                f"not logged in (no tokens in {self.paths.tokens})",
                hint=f"run '{self.hints.login()}'",
                code=ExitCode.AUTH,
            )
        async with AndersenA2(
            endpoints=endpoints,
            tokens=tokens,
            on_tokens_updated=TokenSaver(store, self.stderr),
            confirm_interval=self.confirm_interval,
        ) as a2:
            yield a2

    async def device(self, a2: AndersenA2, wanted: str | None) -> Device:
        """The charger called ``wanted`` (see :meth:`AndersenA2.find_device`), or the only one.

        Raises:
            CliError: the account has no charger (exit code 4), or several and ``wanted``
                is None or matches more than one (2).
            DeviceNotFoundError: no charger matches ``wanted`` (exit code 4).
        """
        if wanted is not None:
            try:
                return await a2.find_device(wanted)
            except InvalidInputError as exc:  # ambiguous: the message lists the ids to use
                raise CliError(str(exc), code=ExitCode.USAGE) from None
        devices = await a2.get_current_user_devices()
        if len(devices) == 1:
            return devices[0]
        if not devices:
            raise CliError(
                "this account has no chargers",
                hint="add the charger to the account in the Konnect+ app",
                code=ExitCode.NOT_FOUND,
            )
        raise CliError(
            f"this account has {len(devices)} chargers: say which one",
            hint=f"give a name or id: {device_listing(devices)}",
            code=ExitCode.USAGE,
        )
