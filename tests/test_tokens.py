"""Tokens a host can keep: JSON and plain dicts in one call, a stable account id, login vs
refresh, and the keys to redact."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from andersen_ev import TOKENS_TO_REDACT, AndersenA2, InvalidInputError, Tokens
from andersen_ev import sync as andersen_sync
from andersen_ev.testing import AndersenCloud, EmulatedUser

SECRETS = ("id-token-value", "access-token-value", "refresh-token-value", "device-secret")


def jwt(claims: object) -> str:
    """An unsigned JWT carrying ``claims`` (enough for reading them)."""

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


def full_tokens(**fields: Any) -> Tokens:
    values: dict[str, Any] = {
        "id_token": SecretStr("id-token-value"),
        "access_token": SecretStr("access-token-value"),
        "refresh_token": SecretStr("refresh-token-value"),
        "expires_at": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        "issued_at": datetime(2030, 1, 2, 2, 4, 5, tzinfo=UTC),
        "login_at": datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC),
        "username": "user:1",
        "device_key": "eu-west-1_dev",
        "device_group_key": "-grp",
        "device_password": SecretStr("device-secret"),
    }
    return Tokens(**(values | fields))


# -- JSON and plain dicts, in one call each ------------------------------------------------------


def test_to_json_and_back_in_one_call_each() -> None:
    tokens = full_tokens()
    text = tokens.to_json()
    assert Tokens.from_json(text) == tokens
    assert Tokens.from_json(text.encode()) == tokens
    for secret in SECRETS:
        assert secret in text  # on purpose: this is what a host saves
        assert secret not in repr(tokens)


def test_to_dict_holds_only_plain_json_types_and_reads_back() -> None:
    tokens = full_tokens()
    data = tokens.to_dict()
    assert json.loads(json.dumps(data)) == data  # any JSON encoder takes it
    assert {type(value) for value in data.values()} <= {str, type(None)}
    assert data["refresh_token"] == "refresh-token-value"
    assert data["login_at"] == "2030-01-01T00:00:00Z"
    assert Tokens.from_dict(data) == tokens
    assert Tokens.from_dict(json.loads(tokens.to_json())) == tokens
    assert Tokens.from_dict({**data, "added_later": 1}) == tokens  # unknown keys ignored


def test_tokens_saved_before_login_at_existed_still_load() -> None:
    data = full_tokens().to_dict()
    del data["login_at"]
    assert Tokens.from_dict(data).login_at is None


@pytest.mark.parametrize(
    ("read", "value", "named"),
    [
        (Tokens.from_json, '{"id_token": "id-token-value"}', "refresh_token"),
        (Tokens.from_json, "not json refresh-token-value", "(text)"),
        (Tokens.from_json, "[" * 10_000, "(text)"),
        (Tokens.from_dict, {"id_token": 1, "refresh_token": "refresh-token-value"}, "id_token"),
        (Tokens.from_dict, {"expires_at": "refresh-token-value"}, "expires_at"),
    ],
)
def test_invalid_tokens_name_fields_never_values(read: Any, value: Any, named: str) -> None:
    with pytest.raises(InvalidInputError, match="not valid tokens") as caught:
        read(value)
    assert named in str(caught.value)
    assert "token-value" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_redaction_list_covers_every_secret_and_names_real_keys() -> None:
    secret_fields = {
        name
        for name, field in Tokens.model_fields.items()
        if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))
    }
    assert secret_fields == {"id_token", "access_token", "refresh_token", "device_password"}
    assert secret_fields <= TOKENS_TO_REDACT
    assert set(full_tokens().to_dict()) >= TOKENS_TO_REDACT
    redacted = {k: v for k, v in full_tokens().to_dict().items() if k not in TOKENS_TO_REDACT}
    assert not [secret for secret in SECRETS if secret in json.dumps(redacted)]
    assert "user:1" not in json.dumps(redacted)


# -- the account id ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_token", "account_id"),
    [
        (jwt({"sub": "5f0c-uuid", "token_use": "id"}), "5f0c-uuid"),
        (jwt({"token_use": "id"}), None),
        (jwt({"sub": 7}), None),
        (jwt({"sub": ""}), None),
        (jwt(["sub"]), None),  # a payload that is not an object
        ("id-token-value", None),
        ("a.!!!.c", None),
        ("a.e30.c.d", None),
        ("a." + "A" * 20_000 + ".c", None),
        ("a." + base64.urlsafe_b64encode(b"[" * 5000).decode() + ".c", None),
    ],
)
def test_account_id_is_the_sub_claim(id_token: str, account_id: str | None) -> None:
    assert full_tokens(id_token=SecretStr(id_token)).account_id == account_id


async def test_account_id_is_stable_across_refresh_devices_and_password_change(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    email, password = andersen_credentials
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as a2:
        before = a2.account_id
        first = await a2.authenticate(email, password)
        assert before is None
        assert first.account_id == andersen_user.sub
        assert a2.account_id == andersen_user.sub
        await a2.confirm_device("one")
        refreshed = await a2.auth.refresh()
        assert refreshed.account_id == andersen_user.sub
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as other:
        second = await other.authenticate(email, password)  # another device
        assert second.device_key != first.device_key
        andersen_user.set_password("a new password 42", andersen_cloud.state.pool_name)
        third = await other.authenticate(email, "a new password 42")
    assert second.account_id == third.account_id == andersen_user.sub
    assert third.id_token != first.id_token


def test_the_sync_facade_tells_the_account_id_too() -> None:
    tokens = full_tokens(id_token=SecretStr(jwt({"sub": "account-7"})))
    client = andersen_sync.AndersenA2(tokens=tokens)
    try:
        assert client.account_id == "account-7"
    finally:
        client.close()


# -- login or refresh -----------------------------------------------------------------------------


async def test_login_at_tells_a_refresh_from_a_new_login(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    seen: list[Tokens | None] = []
    async with AndersenA2(endpoints=andersen_cloud.endpoints, on_tokens_updated=seen.append) as a2:
        login = await a2.authenticate(*andersen_credentials)
        confirmed = await a2.confirm_device("pytest")
        refreshed = await a2.auth.refresh()
        again = await a2.authenticate(*andersen_credentials)
    assert seen == [login, confirmed, refreshed, again]
    assert login.login_at is not None
    assert login.login_at == login.issued_at  # the tokens of the login itself
    assert confirmed.login_at == refreshed.login_at == login.login_at  # the same login
    assert refreshed.issued_at is not None
    assert refreshed.issued_at > login.login_at
    assert again.login_at is not None
    assert again.login_at > login.login_at  # a new login
    assert datetime.now(UTC) - again.login_at < timedelta(minutes=1)
