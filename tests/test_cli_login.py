"""``andersen-ev login`` for people and for scripts: where the email and password come from
(never the command line), a config directory that cannot keep the tokens, and hints that
lead back to the same cloud."""

from __future__ import annotations

import io
import json
import shlex
import stat
from pathlib import Path

import pytest

from andersen_ev.auth import Tokens
from andersen_ev.cli.context import TokenSaver
from andersen_ev.cli.errors import ExitCode
from andersen_ev.exceptions import TokenStoreError
from andersen_ev.testing import AndersenCloud, EmulatedUser
from andersen_ev.token_store import TokenStore
from tests.cli_support import log_in, run_cli

pytestmark = pytest.mark.usefixtures("andersen_charger")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config"


async def test_email_and_password_from_the_environment(
    andersen_cloud: AndersenCloud, config: Path, andersen_credentials: tuple[str, str]
) -> None:
    email, password = andersen_credentials
    environ = {"ANDERSEN_EV_EMAIL": email, "ANDERSEN_EV_PASSWORD": password}
    result = await run_cli(
        "login", config=config, endpoints=andersen_cloud.endpoints, environ=environ
    )
    assert result.code == ExitCode.OK, result.err
    assert f"Logged in as {email}" in result.out
    assert password not in result.out + result.err
    assert password not in (config / "tokens.json").read_text()
    # an email on the command line wins over the variable
    other = {**environ, "ANDERSEN_EV_EMAIL": "nobody@example.com"}
    again = await run_cli(
        "login", email, config=config, endpoints=andersen_cloud.endpoints, environ=other
    )
    assert again.code == ExitCode.OK, again.err


async def test_password_from_a_file(
    andersen_cloud: AndersenCloud,
    config: Path,
    tmp_path: Path,
    andersen_credentials: tuple[str, str],
) -> None:
    email, password = andersen_credentials
    secret = tmp_path / "password"
    secret.write_text(password + "\nthe rest is ignored\n")
    secret.chmod(0o600)
    result = await run_cli(
        "login",
        email,
        "--password-file",
        str(secret),
        config=config,
        endpoints=andersen_cloud.endpoints,
    )
    assert result.code == ExitCode.OK, result.err
    assert result.err == ""
    secret.chmod(0o644)  # readable by everyone: it works, with a warning
    shared = await run_cli(
        "login",
        email,
        "--password-file",
        str(secret),
        config=config,
        endpoints=andersen_cloud.endpoints,
    )
    assert shared.code == ExitCode.OK, shared.err
    assert shared.err == (
        f"andersen-ev: warning: the password file {secret} can be read by other users"
        f" (hint: chmod 600 {secret})\n"
    )
    assert password not in shared.out + shared.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the password file"),
        (b"\n", "no password given"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
async def test_a_password_file_that_gives_no_password(
    andersen_cloud: AndersenCloud, config: Path, tmp_path: Path, content: bytes | None, message: str
) -> None:
    secret = tmp_path / "password"
    if content is not None:
        secret.write_bytes(content)
        secret.chmod(0o600)
    result = await run_cli(
        "login",
        "me@example.com",
        "--password-file",
        str(secret),
        config=config,
        endpoints=andersen_cloud.endpoints,
    )
    assert result.code == ExitCode.USAGE
    assert message in result.err
    assert andersen_cloud.stats.cognito_calls.total() == 0  # nothing was sent


async def test_the_password_never_comes_from_the_command_line(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    result = await run_cli("login", "me@example.com", "--password", "x", config=config)
    assert result.code == ExitCode.USAGE  # no such option (only --password-stdin/-file)
    assert "ambiguous option: --password could match" in capsys.readouterr().err
    both = await run_cli(
        "login", "me@example.com", "--password-stdin", "--password-file", "f", config=config
    )
    assert both.code == ExitCode.USAGE
    assert "not allowed with argument" in capsys.readouterr().err


async def test_without_a_terminal_the_hint_names_every_source(config: Path) -> None:
    result = await run_cli("login", config=config)
    assert result.code == ExitCode.USAGE
    assert result.err == (
        "andersen-ev: error: no email given (hint: andersen-ev login you@example.com, or set"
        " ANDERSEN_EV_EMAIL)\n"
    )


async def test_an_unwritable_config_dir_is_one_line_before_anything_is_sent(
    andersen_cloud: AndersenCloud, tmp_path: Path, andersen_credentials: tuple[str, str]
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    config = blocker / "andersen-ev"
    result = await log_in(andersen_cloud, config, andersen_credentials)
    assert result.code == ExitCode.ERROR
    assert result.err == (
        f"andersen-ev: error: cannot keep the tokens in {config} (Not a directory) (hint: give"
        " a directory you can write with --config-dir (or set XDG_CONFIG_HOME))\n"
    )
    assert andersen_cloud.stats.cognito_calls.total() == 0  # no device left in the account


async def test_tokens_that_cannot_be_saved_fail_the_login_in_one_line(
    andersen_cloud: AndersenCloud,
    config: Path,
    andersen_credentials: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The directory was writable when checked, and no longer when the tokens came (a full
    disk, a file system remounted read-only: nothing a root test can set up otherwise)."""

    async def refuse(self: TokenStore, tokens: object) -> None:
        raise TokenStoreError(f"cannot write the token file {self.path}: No space left on device")

    monkeypatch.setattr(TokenStore, "update", refuse)
    result = await log_in(andersen_cloud, config, andersen_credentials)
    assert result.code == ExitCode.ERROR
    warning, error = result.err.splitlines()
    assert warning.startswith("andersen-ev: warning: the refreshed tokens were not saved")
    assert error.startswith("andersen-ev: error: logged in, but the tokens could not be saved:")
    assert "No space left on device" in error
    assert "on_tokens_updated" not in result.err  # the library's words stay out


async def test_a_token_file_that_cannot_be_written_is_one_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    err = io.StringIO()
    saver = TokenSaver(TokenStore(blocker / "tokens.json"), err)
    tokens = Tokens.model_validate(
        {
            "username": "someone",
            "id_token": "a.b.c",
            "access_token": "a.b.c",
            "refresh_token": "r",
            "expires_at": "2030-01-01T00:00:00+00:00",
        }
    )
    await saver(tokens)
    await saver(tokens)
    assert isinstance(saver.failure, TokenStoreError)
    assert err.getvalue().count("\n") == 1  # said once
    assert err.getvalue().startswith("andersen-ev: warning: the refreshed tokens were not saved")


async def test_a_remembered_machine_keeps_its_name(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    config: Path,
    andersen_credentials: tuple[str, str],
) -> None:
    first = await log_in(andersen_cloud, config, andersen_credentials, "--device-name", "box")
    assert first.code == ExitCode.OK, first.err
    renamed = await log_in(andersen_cloud, config, andersen_credentials, "--device-name", "new")
    assert renamed.code == ExitCode.OK, renamed.err
    assert renamed.err.startswith(
        "andersen-ev: warning: this machine is remembered already, under the name it was"
        " first given: --device-name 'new' is not applied"
    )
    assert [device.name for device in andersen_user.devices.values()] == ["box"]


async def test_an_ended_session_hints_at_a_login_to_the_same_cloud(
    andersen_cloud: AndersenCloud, config: Path, andersen_credentials: tuple[str, str]
) -> None:
    """After a restarted emulator (or a revoked session), the hint's login must go to the
    cloud that login recorded, not to production."""
    assert (await log_in(andersen_cloud, config, andersen_credentials)).code == ExitCode.OK
    andersen_cloud.revoke_refresh_tokens()
    andersen_cloud.expire_tokens()
    ended = await run_cli("status", config=config)
    assert ended.code == ExitCode.AUTH
    hint = ended.err.split("(hint: run '")[1].split("')")[0]
    recorded = config / "endpoints.json"
    assert shlex.split(hint) == [
        "andersen-ev",
        "login",
        "--endpoints",
        str(recorded),
        "--config-dir",
        str(config),
    ]
    _, password = andersen_credentials
    email = andersen_credentials[0]
    again = await run_cli(
        *shlex.split(hint)[1:], email, "--password-stdin", config=config, stdin=password
    )
    assert again.code == ExitCode.OK, again.err
    assert f"at {andersen_cloud.endpoints.graphql_url}" in again.out
    assert json.loads(recorded.read_text())["endpoints"]["graphql_url"] == (
        andersen_cloud.endpoints.graphql_url
    )
    assert (await run_cli("status", config=config)).code == ExitCode.OK


async def test_logout_that_cannot_delete_says_what_to_delete(
    andersen_cloud: AndersenCloud, config: Path, andersen_credentials: tuple[str, str]
) -> None:
    assert (await log_in(andersen_cloud, config, andersen_credentials)).code == ExitCode.OK
    (config / "endpoints.json").unlink()
    (config / "endpoints.json").mkdir()  # cannot be unlinked as a file
    (config / "endpoints.json" / "x").write_text("")
    result = await run_cli("logout", config=config, endpoints=andersen_cloud.endpoints)
    assert result.code == ExitCode.ERROR
    assert result.err.startswith("andersen-ev: error: the saved tokens could not be deleted")
    assert f"(hint: delete them yourself: rm -f {config / 'tokens.json'}" in result.err
    assert stat.S_ISDIR((config / "endpoints.json").stat().st_mode)
