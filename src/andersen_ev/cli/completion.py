"""``completion``: the shell completion script for bash, zsh or fish.

The script comes from `argcomplete <https://kislyuk.github.io/argcomplete/>`_: on each Tab,
the shell runs ``andersen-ev`` with argcomplete's environment variables, and
:func:`~andersen_ev.cli.app.main` answers with the commands and options that fit, read
from the same parser that runs them (so completion never falls behind the command line).
"""

from __future__ import annotations

import argparse
from typing import Final

from argcomplete.shell_integration import shellcode

from andersen_ev.cli.arguments import Commands
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode

__all__ = ["SHELLS", "register", "script"]

SHELLS: Final = ("bash", "zsh", "fish")

_INSTALL: Final = """\
Print the shell code that completes andersen-ev's commands and options on Tab.

  bash:  echo 'eval "$(andersen-ev completion bash)"' >> ~/.bashrc
  zsh:   echo 'eval "$(andersen-ev completion zsh)"' >> ~/.zshrc   (after compinit)
  fish:  andersen-ev completion fish > ~/.config/fish/completions/andersen-ev.fish

Open a new shell afterwards. The script runs the andersen-ev found on the PATH: in a
virtual environment, add the line to the shell's start-up only while that environment
is on the PATH (or put its bin directory on the PATH there first).
"""


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``completion``."""
    del common  # it touches neither tokens nor a cloud
    completion = commands.add_parser(
        "completion",
        help="print the shell completion script (bash, zsh or fish)",
        description=_INSTALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell: bash, zsh or fish")
    completion.set_defaults(handler=_print)


def script(shell: str, program: str = "andersen-ev") -> str:
    """The completion script of ``program`` for ``shell`` (one of :data:`SHELLS`)."""
    return shellcode([program], shell=shell)


async def _print(ctx: Context, args: argparse.Namespace) -> int:
    ctx.stdout.write(script(args.shell))
    ctx.stdout.flush()
    return ExitCode.OK
