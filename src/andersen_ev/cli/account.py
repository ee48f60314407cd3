"""``login`` and ``logout``: the tokens of this machine, kept in the config directory."""

from __future__ import annotations

import argparse
import asyncio
import getpass

from andersen_ev.cli.arguments import Commands
from andersen_ev.cli.config import save_endpoints
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import CliError, ExitCode, one_line
from andersen_ev.client import AndersenA2
from andersen_ev.const import PRODUCTION
from andersen_ev.exceptions import AndersenError, AuthenticationError, TokenStoreError

__all__ = ["register"]


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``login`` and ``logout``."""
    login = commands.add_parser(
        "login",
        parents=[common],
        help="log in and keep the tokens (never the password)",
        description=(
            "Log in with the email and password of the Konnect+ app. The password is asked"
            " without echo (or read from stdin with --password-stdin) and never stored:"
            " this machine is remembered as a device, and the tokens are saved with mode"
            " 0600 in the config directory, where later commands find them. With"
            " --endpoints (or ANDERSEN_EV_ENDPOINTS) the login goes to that cloud (an"
            " emulator), and later commands talk to it too."
        ),
    )
    login.add_argument("email", nargs="?", help="the account's email (asked if not given)")
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (for scripts)",
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
    """Ask for what the command line did not give, before the event loop starts."""
    interactive = ctx.stdin.isatty()
    if not args.email:
        if not interactive or args.password_stdin:
            raise CliError(
                "no email given",
                hint="andersen-ev login you@example.com",
                code=ExitCode.USAGE,
            )
        ctx.stderr.write("Email: ")
        ctx.stderr.flush()
        args.email = ctx.stdin.readline().strip()
        if not args.email:
            raise CliError("no email given", code=ExitCode.USAGE)
    if args.password_stdin:
        args.password = ctx.stdin.readline().rstrip("\r\n")
    elif interactive:
        args.password = getpass.getpass("Konnect+ password: ", stream=ctx.stderr)
    else:
        raise CliError(
            "cannot ask for the password: stdin is not a terminal",
            hint="pipe it in with --password-stdin",
            code=ExitCode.USAGE,
        )
    if not args.password:
        raise CliError("no password given", code=ExitCode.USAGE)


async def _login(ctx: Context, args: argparse.Namespace) -> int:
    endpoints = ctx.endpoints_override or PRODUCTION
    store = ctx.store
    try:
        previous = await store.load()  # its remembered device spares a new one
    except TokenStoreError:
        previous = None
    async with AndersenA2(
        endpoints=endpoints, tokens=previous, on_tokens_updated=store.update
    ) as a2:
        await a2.authenticate(args.email, args.password)
        try:
            await a2.confirm_device(args.device_name)
        except AuthenticationError as exc:
            ctx.stderr.write(
                one_line(
                    f"this machine could not be remembered: {exc}",
                    "the password is needed again when the refresh token expires",
                    prefix="andersen-ev: warning: ",
                )
            )
    await asyncio.to_thread(save_endpoints, ctx.paths, endpoints)
    where = "" if endpoints == PRODUCTION else f" at {endpoints.graphql_url}"
    ctx.write(
        f"Logged in as {args.email}{where}. Tokens saved to {store.path} (mode 0600);"
        " the password is not stored."
    )
    return ExitCode.OK


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
    await store.delete()
    await asyncio.to_thread(ctx.paths.endpoints.unlink, missing_ok=True)
    if problem is not None:
        ctx.stderr.write(
            one_line(
                f"the service was not told ({problem})",
                "the tokens are deleted here; they stop working when they expire",
                prefix="andersen-ev: warning: ",
            )
        )
    if tokens is None or problem is not None:
        ctx.write(f"Logged out here: {store.path} is deleted.")
    else:
        ctx.write(
            f"Logged out: this device is forgotten, the tokens are revoked and {store.path}"
            " is deleted."
        )
    return ExitCode.OK
