"""``andersen-ev`` as a user runs it: real processes, the installed console script, a
standalone emulator in another process, a pseudo-terminal for the password prompt, and
Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from andersen_ev.cli.errors import ExitCode
from tests.cli_support import Reader, cli_command, emulator_process, process_env
from tests.processes import TIMEOUT, Children

#: Each test starts several Python processes, each a second or two on a loaded machine.
pytestmark = pytest.mark.timeout(120)

PASSWORD = "s3cret in another process"


def console_script() -> Path:
    """The ``andersen-ev`` script installed beside this interpreter (pip install .)."""
    script = Path(sys.executable).parent / "andersen-ev"
    assert script.exists(), "andersen-ev is not installed: pip install -e ."
    return script


def test_the_console_script_and_its_help(tmp_path: Path, children: Children) -> None:
    env = process_env(tmp_path)
    script = str(console_script())
    top = children.run([script, "--help"], env=env)
    assert top.returncode == ExitCode.OK
    assert top.stdout.startswith("usage: andersen-ev")
    for command in ("login", "logout", "devices", "status", "watch", "lock", "unlock"):
        assert f"    {command} " in top.stdout
    assert "exit status:" in top.stdout
    for command in ("watch", "schedules", "emulator", "demo"):
        result = children.run([script, command, "--help"], env=env)
        assert result.returncode == ExitCode.OK, result.stderr
        assert result.stdout.startswith(f"usage: andersen-ev {command}")
    assert children.run([script, "--version"], env=env).stdout.startswith("andersen-ev ")


def test_demo_runs_on_a_fresh_configuration_in_well_under_a_minute(
    tmp_path: Path, children: Children
) -> None:
    began = time.monotonic()
    result = children.run(
        [str(console_script()), "demo", "--watch", "1"], env=process_env(tmp_path), timeout=60
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert time.monotonic() - began < 30
    assert re.search(r"charging +\d\.\d\d kW +\d\.\d{3} kWh", result.stdout)  # watch
    assert "  state      charging\n" in result.stdout
    assert "  power      7.20 kW\n" in result.stdout
    assert result.stderr == ""
    assert not (tmp_path / "andersen-ev").exists()


@pytest.mark.parametrize("emulator", ["andersen-ev emulator", "python -m andersen_ev.testing"])
def test_login_status_lock_watch_against_an_emulator_process(
    tmp_path: Path, children: Children, emulator: str
) -> None:
    env = process_env(tmp_path)
    command = (
        [str(console_script()), "emulator"]
        if emulator.startswith("andersen-ev")
        else [sys.executable, "-m", "andersen_ev.testing"]
    )
    options = ("--password", PASSWORD, "--charger-name", "Garage", "--speed", "30")
    with emulator_process(children, *options, env=env, command=command) as cloud:
        email = cloud.line["email"]
        login = children.run(
            cli_command("login", email, "--password-stdin", "--endpoints", cloud.text),
            env=env,
            stdin=PASSWORD + "\n",
        )
        assert login.returncode == ExitCode.OK, login.stderr
        tokens = tmp_path / "andersen-ev" / "tokens.json"
        assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
        assert PASSWORD not in tokens.read_text()

        status = children.run(cli_command("status", "Garage"), env=env)
        assert status.returncode == ExitCode.OK, status.stderr
        assert status.stdout.startswith(f"Garage ({cloud.line['device_id']})")
        assert "  locked     no" in status.stdout

        lock = children.run(cli_command("lock"), env=env)
        assert lock.returncode == ExitCode.OK, lock.stderr
        assert lock.stdout == "Garage is locked: connected cars do not charge.\n"
        locked = json.loads(children.run(cli_command("status", "--json"), env=env).stdout)
        assert locked["status"]["sys_user_lock"] is True

        watch = children.run(cli_command("watch", "--for", "3"), env=env)
        assert watch.returncode == ExitCode.OK, watch.stderr
        lines = watch.stdout.splitlines()
        assert lines[0] == "Watching Garage (Ctrl-C to stop)"
        assert len(lines) == 2  # into a pipe, a line per change: a locked charger has none
        assert "locked" in lines[1]

        missing = children.run(cli_command("status", "Shed"), env=env)
        assert missing.returncode == ExitCode.NOT_FOUND
        assert missing.stderr.startswith("andersen-ev: error: no charger called 'Shed'")
        assert "Traceback" not in missing.stderr


def test_watch_ends_cleanly_on_ctrl_c(tmp_path: Path, children: Children) -> None:
    env = process_env(tmp_path)
    with emulator_process(children, env=env) as cloud:
        login = children.run(
            cli_command(
                "login", cloud.line["email"], "--password-stdin", "--endpoints", cloud.text
            ),
            env=env,
            stdin=cloud.line["password"],
        )
        assert login.returncode == ExitCode.OK, login.stderr
        watch = children.popen(
            cli_command("watch"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert watch.stdout is not None
        Reader(watch.stdout.fileno()).until("ready (no car connected)")
        watch.send_signal(signal.SIGINT)
        _, errors = watch.communicate(timeout=TIMEOUT)
        assert watch.returncode == ExitCode.OK
        assert errors == b""


def start_in_terminal(
    children: Children, argv: list[str], env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Reader, int]:
    """Start ``argv`` on a new pseudo-terminal, as if typed in a terminal window."""
    controller, terminal = os.openpty()
    process = children.popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    return process, Reader(controller), controller


def test_login_asks_for_the_password_without_echo(tmp_path: Path, children: Children) -> None:
    env = process_env(tmp_path)
    with emulator_process(children, "--password", PASSWORD, env=env) as cloud:
        process, reader, controller = start_in_terminal(
            children, cli_command("login", "--endpoints", cloud.text), env
        )
        try:
            reader.until("Email: ")
            os.write(controller, f"{cloud.line['email']}\n".encode())
            reader.until("Konnect+ password: ")
            os.write(controller, f"{PASSWORD}\n".encode())
            transcript = reader.until("the password is not stored.")
            assert process.wait(timeout=TIMEOUT) == ExitCode.OK
        finally:
            os.close(controller)
        assert cloud.line["email"] in transcript  # the email is echoed as typed
        assert PASSWORD not in transcript  # the password is not
        assert PASSWORD not in (tmp_path / "andersen-ev" / "tokens.json").read_text()


def test_ctrl_c_at_the_password_prompt_exits_130(tmp_path: Path, children: Children) -> None:
    env = process_env(tmp_path)
    process, reader, controller = start_in_terminal(
        children, cli_command("login", "me@example.com"), env
    )
    try:
        reader.until("Konnect+ password: ")
        process.send_signal(signal.SIGINT)
        transcript = reader.rest()
        assert process.wait(timeout=TIMEOUT) == ExitCode.INTERRUPTED
    finally:
        os.close(controller)
    assert "andersen-ev: interrupted" in transcript
    assert "Traceback" not in transcript
    assert not (tmp_path / "andersen-ev").exists()


def test_ctrl_d_at_the_password_prompt_is_no_password(tmp_path: Path, children: Children) -> None:
    env = process_env(tmp_path)
    process, reader, controller = start_in_terminal(
        children, cli_command("login", "me@example.com"), env
    )
    try:
        reader.until("Konnect+ password: ")
        os.write(controller, b"\x04")  # Ctrl-D: the end of input
        transcript = reader.rest()
        assert process.wait(timeout=TIMEOUT) == ExitCode.USAGE
    finally:
        os.close(controller)
    assert transcript.endswith("andersen-ev: error: no password given (end of input)\r\n")
    assert "unexpected" not in transcript
    assert "Traceback" not in transcript
    assert not (tmp_path / "andersen-ev").exists()
