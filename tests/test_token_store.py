"""The token file: private (0600), atomic, refused when others can read it."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
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


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable: the store must not rely on it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


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
