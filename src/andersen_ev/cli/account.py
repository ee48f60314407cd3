"""``login`` and ``logout``: the tokens of this machine, kept in the config directory."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shlex
import stat
import tempfile
from pathlib import Path
from typing import Final

from andersen_ev.cli.arguments import Commands
from andersen_ev.cli.config import save_endpoints
from andersen_ev.cli.context import Context, TokenSaver
from andersen_ev.cli.errors import CliError, ExitCode, explain, one_line
from andersen_ev.client import AndersenA2
from andersen_ev.const import PRODUCTION
from andersen_ev.exceptions import AndersenError, AuthenticationError, TokenStoreError

__all__ = ["EMAIL_ENV", "PASSWORD_ENV", "register"]

#: The account's email, when ``login`` is given none.
EMAIL_ENV: Final = "ANDERSEN_EV_EMAIL"
#: The password, for unattended logins (never on the command line, where others see it).
PASSWORD_ENV: Final = "ANDERSEN_EV_PASSWORD"  # noqa: S105 - a variable's name


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``login`` and ``logout``."""
    login = commands.add_parser(
        "login",
        parents=[common],
        help="log in and keep the tokens (never the password)",
        description=(
            "Log in with the email and password of the Konnect+ app. The password is asked"
            " without echo, or read from stdin (--password-stdin), from a file"
            f" (--password-file) or from ${PASSWORD_ENV}, never from the command line, and"
            " it is never stored: this machine is remembered as a device, and the tokens"
            " are saved with mode 0600 in the config directory, where later commands find"
            f" them. The email can come from ${EMAIL_ENV}. With"
            " --endpoints (or ANDERSEN_EV_ENDPOINTS) the login goes to that cloud (an"
            " emulator), and later commands talk to it too."
        ),
    )
    login.add_argument(
        "email", nargs="?", help=f"the account's email (default: ${EMAIL_ENV}, else asked)"
    )
    source = login.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (for scripts)",
    )
    source.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="read the password from the first line of FILE (keep it mode 0600)",
    )
    login.add_argument(
        "--device-name",
        metavar="NAME",
        help="how this machine shows in the account's devices (default: andersen-ev on HOST)",
    )
    login.set_defaults(handler=_login, prepare=_ask_credentials)

    logout = commands.add_parser(
        "logout",
        parents=[common],
        help="forget this device, revoke the tokens and delete them",
        description=(
            "Forget this device at the service, revoke the tokens, and delete the saved"
            " tokens. The local files are deleted even when the service cannot be reached."
        ),
    )
    logout.set_defaults(handler=_logout)


def _ask_credentials(ctx: Context, args: argparse.Namespace) -> None:
    """Get the email and password, then check where the tokens go, before the loop starts.

    Nothing is created before the prompts: a login given up there leaves no trace.
    """
    args.email = args.email or ctx.environ.get(EMAIL_ENV, "").strip() or _ask_email(ctx, args)
    args.password = _password(ctx, args)
    if not args.password:
        raise CliError("no password given", code=ExitCode.USAGE)
    _check_writable(ctx.paths.directory)


def _check_writable(directory: Path) -> None:
    """Make sure the tokens can be saved, before logging in adds a device to the account.

    Raises:
        CliError: the directory cannot be created or written (exit code 1).
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CliError(
            f"cannot keep the tokens in {directory} ({exc.strerror or exc})",
            hint="give a directory you can write with --config-dir (or set XDG_CONFIG_HOME)",
        ) from None


def _ask_email(ctx: Context, args: argparse.Namespace) -> str:
    if not ctx.stdin.isatty() or args.password_stdin:
        raise CliError(
            "no email given",
            hint=f"andersen-ev login you@example.com, or set {EMAIL_ENV}",
            code=ExitCode.USAGE,
        )
    ctx.stderr.write("Email: ")
    ctx.stderr.flush()
    email = ctx.stdin.readline().strip()  # "" at the end of input (Ctrl-D)
    if not email:
        raise CliError("no email given", code=ExitCode.USAGE)
    return email


def _password(ctx: Context, args: argparse.Namespace) -> str:
    """The password from stdin, a file, the environment or the terminal, in that order."""
    if args.password_stdin:
        return ctx.stdin.readline().rstrip("\r\n")
    if args.password_file is not None:
        return _read_password_file(ctx, args.password_file)
    from_environment = ctx.environ.get(PASSWORD_ENV)
    if from_environment:
        return from_environment
    if not ctx.stdin.isatty():
        raise CliError(
            "cannot ask for the password: stdin is not a terminal",
            hint=f"use --password-stdin, --password-file FILE or {PASSWORD_ENV}",
            code=ExitCode.USAGE,
        )
    try:
        return getpass.getpass("Konnect+ password: ", stream=ctx.stderr)
    except EOFError:  # Ctrl-D at the prompt
        ctx.stderr.write("\n")
        raise CliError("no password given (end of input)", code=ExitCode.USAGE) from None


def _read_password_file(ctx: Context, path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            line = file.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise CliError(
            f"cannot read the password file {path} ({reason or exc})", code=ExitCode.USAGE
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        ctx.stderr.write(
            one_line(
                f"the password file {path} can be read by other users",
                f"chmod 600 {shlex.quote(str(path))}",
                prefix="andersen-ev: warning: ",
            )
        )
    return line


async def _login(ctx: Context, args: argparse.Namespace) -> int:
    endpoints = ctx.endpoints_override or PRODUCTION
    store = ctx.store
    try:
        previous = await store.load()  # its remembered device spares a new one
    except TokenStoreError:
        previous = None
    saver = TokenSaver(store, ctx.stderr)
    async with AndersenA2(endpoints=endpoints, tokens=previous, on_tokens_updated=saver) as a2:
        await a2.authenticate(args.email, args.password)
        known = a2.tokens is not None and a2.tokens.device_remembered
        try:
            await a2.confirm_device(args.device_name)
        except AuthenticationError as exc:
            _warn(
                ctx,
                f"this machine could not be remembered: {exc}",
                "the password is needed again when the refresh token expires",
            )
        if known and args.device_name:
            _warn(
                ctx,
                "this machine is remembered already, under the name it was first given:"
                f" --device-name {args.device_name!r} is not applied",
                "to rename it, run 'andersen-ev logout', then log in with --device-name",
            )
    if saver.failure is not None:
        raise CliError(
            f"logged in, but the tokens could not be saved: {saver.failure}",
            hint="give a directory you can write with --config-dir, then log in again",
        )
    await asyncio.to_thread(save_endpoints, ctx.paths, endpoints)
    where = "" if endpoints == PRODUCTION else f" at {endpoints.graphql_url}"
    ctx.write(
        f"Logged in as {args.email}{where}. Tokens saved to {store.path} (mode 0600);"
        " the password is not stored."
    )
    return ExitCode.OK


def _warn(ctx: Context, message: str, hint: str) -> None:
    ctx.stderr.write(one_line(message, hint, prefix="andersen-ev: warning: "))


async def _logout(ctx: Context, args: argparse.Namespace) -> int:
    del args
    store = ctx.store
    try:
        tokens = await store.load()
    except TokenStoreError:
        tokens = None  # unusable: deleting it is all there is to do
    if tokens is None and not await asyncio.to_thread(store.path.exists):
        ctx.write("Not logged in: nothing to do.")
        return ExitCode.OK
    problem: Exception | None = None
    if tokens is not None:
        try:
            async with AndersenA2(endpoints=await ctx.endpoints(), tokens=tokens) as a2:
                await a2.forget_device()
                await a2.sign_out()
        except (AndersenError, CliError) as exc:
            problem = exc
    try:
        await store.delete()
        await asyncio.to_thread(ctx.paths.endpoints.unlink, missing_ok=True)
    except (TokenStoreError, OSError) as exc:
        files = shlex.join(str(path) for path in (store.path, ctx.paths.endpoints))
        raise CliError(
            f"the saved tokens could not be deleted: {explain(exc)[1]}",
            hint=f"delete them yourself: rm -f {files}",
        ) from None
    if problem is not None:
        _warn(
            ctx,
            f"the service was not told ({problem})",
            "the tokens are deleted here; they stop working when they expire",
        )
    if tokens is None or problem is not None:
        ctx.write(f"Logged out here: {store.path} is deleted.")
    else:
        ctx.write(
            f"Logged out: this device is forgotten, the tokens are revoked and {store.path}"
            " is deleted."
        )
    return ExitCode.OK
