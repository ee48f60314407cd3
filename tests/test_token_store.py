"""The token file: private (0600), atomic, refused when others can read it."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from andersen_ev import (
    AndersenA2,
    InsecureTokenFileError,
    Tokens,
    TokenStore,
    TokenStoreError,
)
from andersen_ev.testing import AndersenCloud, EmulatedUser
from tests.processes import Children


def make_tokens(tag: str) -> Tokens:
    return Tokens(
        id_token=SecretStr(f"id-{tag}"),
        access_token=SecretStr(f"access-{tag}"),
        refresh_token=SecretStr(f"refresh-{tag}"),
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        username="user:1",
        device_key="eu-west-1_dev",
        device_group_key="-grp",
        device_password=SecretStr(f"device-{tag}"),
    )


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
async def test_save_creates_a_private_file_and_load_returns_it(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "nested" / "tokens.json")
    tokens = make_tokens("a")
    await store.save(tokens)
    assert mode_of(store.path) == 0o600
    assert mode_of(store.path.parent) == 0o700
    assert await store.load() == tokens
    assert "device-a" in store.path.read_text()  # the secrets are what the file is for

    await store.save(make_tokens("b"))  # replaced, still private, no temporary left
    assert mode_of(store.path) == 0o600
    assert (await store.load()) == make_tokens("b")
    assert names(store.path.parent) == ["tokens.json"]


async def test_missing_file_loads_as_none(tmp_path: Path) -> None:
    assert await TokenStore(tmp_path / "absent.json").load() is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
async def test_file_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    await store.save(make_tokens("a"))
    store.path.chmod(mode)
    with pytest.raises(InsecureTokenFileError, match="chmod 600") as caught:
        await store.load()
    assert isinstance(caught.value, TokenStoreError)
    assert "id-a" not in str(caught.value)
    assert f"{mode:03o}" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "fields"),
    [
        (b'{"id_token": "id-secret", "access_token": "access-secret"}', "refresh_token"),
        (b"not json, but refresh-secret", "(file)"),
        (b'{"id_token": 1, "refresh_token": "refresh-secret"}', "id_token"),
    ],
)
async def test_invalid_file_is_refused_without_quoting_it(
    tmp_path: Path, content: bytes, fields: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(TokenStoreError, match="delete it and log in again") as caught:
        await TokenStore(path).load()
    assert fields in str(caught.value)
    assert "secret" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_unreadable_path_is_a_token_store_error(tmp_path: Path) -> None:
    with pytest.raises(TokenStoreError, match="cannot read"):
        await TokenStore(tmp_path).load()  # a directory


async def test_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "tokens.json"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(TokenStoreError, match="cannot write"):
        await TokenStore(target).save(make_tokens("a"))
    assert names(tmp_path) == ["tokens.json"]

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TokenStoreError, match="cannot write"):
        await TokenStore(blocker / "tokens.json").save(make_tokens("a"))


async def test_delete_and_update(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    await store.update(make_tokens("a"))
    assert await store.load() == make_tokens("a")
    await store.update(None)
    assert not store.path.exists()
    await store.delete()  # missing is fine


async def test_concurrent_saves_apply_in_call_order(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    for _ in range(5):
        await asyncio.gather(*(store.save(make_tokens(str(i))) for i in range(10)))
        assert await store.load() == make_tokens("9")
    await asyncio.gather(store.save(make_tokens("x")), store.delete())
    assert await store.load() is None


# -- crashes and failures while saving: never half a file, never readable by others -------------

#: Saves ``argv[2]`` then ``argv[3]`` to ``argv[1]`` with a file size limit of ``argv[4]``
#: bytes for the second save: the kernel refuses the write that would pass it (EFBIG), a
#: failure in the middle of writing the file.
FAILING_SAVE = """
import asyncio, os, resource, sys
from andersen_ev import Tokens, TokenStore, TokenStoreError

os.umask(0)
path, old, new, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

async def main():
    store = TokenStore(path)
    await store.save(Tokens.model_validate_json(old))
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        await store.save(Tokens.model_validate_json(new))
    except TokenStoreError:
        print("refused")
    else:
        print("saved")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))

asyncio.run(main())
"""

#: For ``argv[2]`` seconds, forks writers that save ``argv[3:]`` to ``argv[1]`` in turn,
#: without end, and SIGKILLs each at a random moment (0-20 ms, a few saves) after its first
#: save; prints how many it killed.
KILLED_WRITERS = """
import asyncio, os, random, signal, sys, time
from andersen_ev import Tokens, TokenStore

os.umask(0)
path, seconds = sys.argv[1], float(sys.argv[2])
versions = [Tokens.model_validate_json(text) for text in sys.argv[3:]]

async def save_forever(ready):
    store = TokenStore(path)
    await store.save(versions[0])
    os.write(ready, b"!")
    while True:
        for tokens in versions:
            await store.save(tokens)

deadline, kills = time.monotonic() + seconds, 0
while time.monotonic() < deadline:
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:
        asyncio.run(save_forever(writable))
    os.close(writable)
    os.read(readable, 1)
    os.close(readable)
    time.sleep(random.uniform(0, 0.02))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    kills += 1
print(kills, flush=True)
"""


def python(code: str, *args: str) -> list[str]:
    """The command that runs ``code`` with this interpreter, ``args`` in ``sys.argv[1:]``."""
    return [sys.executable, "-c", code, *args]


def content(tokens: Tokens) -> bytes:
    """What the file holds once ``tokens`` are saved."""
    return tokens.model_dump_json(indent=2).encode()


def long_tokens(tag: str, size: int) -> Tokens:
    """Tokens whose file is larger than ``size`` bytes."""
    return make_tokens(tag).model_copy(update={"id_token": SecretStr("i" * size)})


def private_snapshot(directory: Path, name: str) -> bytes | None:
    """The file's content (None if absent), after checking that every file of the
    directory, temporaries included, is private (0600): they all hold secrets."""
    for path in directory.iterdir():
        try:
            mode = mode_of(path)
        except FileNotFoundError:
            continue  # a temporary renamed or removed since the listing
        assert mode == 0o600, (path.name, oct(mode))
    try:
        fd = os.open(directory / name, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        # the mode of what was read, not of whatever the name points to a moment later
        assert stat.S_IMODE(os.fstat(file.fileno()).st_mode) == 0o600
        return file.read()


def test_a_save_failing_mid_write_leaves_the_old_file_whole(
    tmp_path: Path, children: Children
) -> None:
    old, new = make_tokens("old"), long_tokens("new", 4000)
    limit = len(content(old)) + 1000  # the old file fits, the new one is cut off
    assert len(content(new)) > limit
    path = tmp_path / "tokens.json"
    result = children.run(
        python(FAILING_SAVE, str(path), old.model_dump_json(), new.model_dump_json(), str(limit))
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "refused\n"
    assert private_snapshot(tmp_path, path.name) == content(old)
    assert names(tmp_path) == ["tokens.json"]  # the cut-off temporary was removed


def test_writers_killed_at_random_moments_never_leave_half_a_file(
    tmp_path: Path, children: Children
) -> None:
    """Writers are SIGKILLed at random moments of saving, again and again for a second,
    while this process reads the file: it is always absent, or one complete version of
    the tokens, and always private."""
    versions = [make_tokens("a"), long_tokens("b", 3000), make_tokens("c")]
    complete = {content(tokens) for tokens in versions}
    path = tmp_path / "tokens.json"
    texts = (tokens.model_dump_json() for tokens in versions)
    writers = children.popen(
        python(KILLED_WRITERS, str(path), "1.0", *texts), stdout=subprocess.PIPE, text=True
    )
    reads = 0
    while writers.poll() is None:
        seen = private_snapshot(tmp_path, path.name)
        assert seen is None or seen in complete, seen
        reads += seen is not None
    assert writers.returncode == 0
    assert writers.stdout is not None
    kills = int(writers.stdout.read())
    assert kills >= 5
    assert reads >= 10
    assert private_snapshot(tmp_path, path.name) in complete


# -- leftovers of saves that crashed: removed, never those still being written ------------------

OLD = 3600.0  # seconds: far beyond any save


def leftover(
    directory: Path, pid: int | None, *, age: float = 0.0, name: str = "tokens.json"
) -> Path:
    """A temporary as a save of process ``pid`` (None: an earlier version) leaves it."""
    middle = f"{pid}-{os.urandom(6).hex()}" if pid is not None else os.urandom(6).hex()
    path = directory / f".{name}.{middle}.tmp"
    path.write_text('{"refresh_token": "leaked"}')
    path.chmod(0o600)
    if age:
        when = path.stat().st_mtime - age
        os.utime(path, (when, when))
    return path


def dead_pid(children: Children) -> int:
    """The pid of a process that has ended."""
    process = children.popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("trigger", ["save", "load", "delete"])
async def test_leftovers_of_crashed_saves_are_removed_and_live_ones_kept(
    tmp_path: Path, children: Children, trigger: str
) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    await store.save(make_tokens("a"))
    alive = children.popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        removed = [
            leftover(tmp_path, dead_pid(children)),  # its writer was killed
            leftover(tmp_path, os.getpid()),  # this process: no save under way
            leftover(tmp_path, alive.pid, age=OLD),  # alive, but no save takes an hour
            leftover(tmp_path, None, age=OLD),  # an earlier version's, long abandoned
            leftover(tmp_path, 9_999_999_999),  # no such process can exist (beyond pid_t)
        ]
        kept = [
            leftover(tmp_path, alive.pid),  # another process may be writing it right now
            leftover(tmp_path, None),  # an earlier version's, maybe being written
            leftover(tmp_path, dead_pid(children), name="other.json"),  # another file's
        ]
        (tmp_path / ".tokens.json.notours.tmp").write_text("")  # not a temporary's name
        kept.append(tmp_path / ".tokens.json.notours.tmp")
        if trigger == "save":
            await store.save(make_tokens("b"))
        elif trigger == "load":
            assert await store.load() == make_tokens("a")
        else:
            await store.delete()
    finally:
        alive.kill()
        alive.wait()
    assert not [path.name for path in removed if path.exists()]
    assert all(path.exists() for path in kept)


async def test_sign_out_removes_the_file_and_leftovers(
    tmp_path: Path,
    children: Children,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    async with AndersenA2(endpoints=andersen_cloud.endpoints, on_tokens_updated=store.update) as a2:
        await a2.authenticate(*andersen_credentials)
        leftover(tmp_path, dead_pid(children))
        leftover(tmp_path, None, age=OLD)
        assert len(names(tmp_path)) == 3
        await a2.sign_out()
    assert names(tmp_path) == []


def test_leftovers_of_writers_killed_mid_save_are_removed_by_the_next_load(
    tmp_path: Path, children: Children
) -> None:
    """kill -9 during saves once left a temporary (with a refresh token) per unlucky kill,
    never cleaned up (5-6 of ~10 kills here); now each save removes those of dead writers,
    the next load removes the last one, and the file is whole."""
    versions = [make_tokens("a"), long_tokens("b", 100_000), make_tokens("c")]
    path = tmp_path / "tokens.json"
    texts = (tokens.model_dump_json() for tokens in versions)
    result = children.run(python(KILLED_WRITERS, str(path), "1.0", *texts))
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 5
    left = [name for name in names(tmp_path) if name.endswith(".tmp")]
    assert len(left) <= 1  # each writer's first save removed those of the writers before it
    load = python(
        "import asyncio, sys; from andersen_ev import TokenStore;"
        " asyncio.run(TokenStore(sys.argv[1]).load())",
        str(path),
    )
    assert children.run(load).returncode == 0
    assert names(tmp_path) == ["tokens.json"], f"{len(left)} leftovers before the load"
    assert private_snapshot(tmp_path, path.name) in {content(tokens) for tokens in versions}


def test_repr_and_home_expansion() -> None:
    store = TokenStore("~/tokens.json")
    assert store.path == Path.home() / "tokens.json"
    assert repr(store) == f"TokenStore({str(store.path)!r})"


async def test_store_follows_the_session(
    tmp_path: Path,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    endpoints = andersen_cloud.endpoints
    async with AndersenA2(endpoints=endpoints, on_tokens_updated=store.update) as a2:
        await a2.authenticate(*andersen_credentials)
        confirmed = await a2.confirm_device("pytest")
    assert await store.load() == confirmed
    assert andersen_credentials[1] not in store.path.read_text()

    async with AndersenA2(
        endpoints=endpoints, tokens=await store.load(), on_tokens_updated=store.update
    ) as resumed:
        refreshed = await resumed.auth.refresh()
        assert await store.load() == refreshed
        await resumed.sign_out()
    assert not store.path.exists()
