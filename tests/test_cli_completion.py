"""``andersen-ev completion``: the scripts for bash, zsh and fish, and Tab in a real bash."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from andersen_ev.cli.app import run
from andersen_ev.cli.completion import SHELLS
from andersen_ev.cli.errors import ExitCode
from tests.cli_support import process_env
from tests.processes import Children

#: Each Tab starts the command line once (a second or two on a loaded machine).
pytestmark = pytest.mark.timeout(120)

#: Asks bash's completion function for the words that complete a command line, as Tab does.
COMPLETE = """\
eval "$(andersen-ev completion bash)"
complete -p andersen-ev >&2
complete_line() {
    COMP_LINE="$1"
    COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<< "$1"
    if [[ "$1" == *" " ]]; then COMP_WORDS+=(""); fi
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_TYPE=9
    COMPREPLY=()
    _python_argcomplete andersen-ev "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "$1=> ${COMPREPLY[*]}"
}
"""


@pytest.mark.parametrize("shell", SHELLS)
def test_each_shell_gets_its_script(shell: str) -> None:
    out = io.StringIO()
    code = run(["completion", shell], stdin=io.StringIO(), stdout=out, stderr=io.StringIO())
    assert code == ExitCode.OK
    script = out.getvalue()
    assert "andersen-ev" in script
    if shell == "fish":
        assert "complete --command andersen-ev" in script
    else:  # one script for both: bash's `complete`, zsh's `compdef`
        assert "complete -o nospace -o default -o bashdefault -F _python_argcomplete" in script
        assert "compdef _python_argcomplete andersen-ev" in script


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        ["completion", "tcsh"], stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO()
    )
    assert code == ExitCode.USAGE
    assert "invalid choice: 'tcsh'" in capsys.readouterr().err


def test_tab_completes_commands_actions_and_options_in_bash(
    tmp_path: Path, children: Children
) -> None:
    lines = [
        "andersen-ev sta",
        "andersen-ev completion ",
        "andersen-ev schedules dis",
        "andersen-ev watch --co",
    ]
    script = tmp_path / "complete.sh"
    script.write_text(COMPLETE + "".join(f"complete_line {line!r}\n" for line in lines))
    env = process_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = children.run(["bash", str(script)], env=env, timeout=100)
    assert result.returncode == 0, result.stderr
    assert "-F _python_argcomplete andersen-ev" in result.stderr  # registered
    assert result.stdout.splitlines() == [
        "andersen-ev sta=> status ",
        "andersen-ev completion => bash zsh fish",
        "andersen-ev schedules dis=> disable disable-all",
        "andersen-ev watch --co=> --config-dir --count",
    ]
