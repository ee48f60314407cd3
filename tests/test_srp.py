"""Cognito's SRP maths against an independent implementation: pycognito's ``aws_srp`` helpers.

For the same random inputs both sides must compute the same A, u, key, signature and device
verifier; pycognito is test-only (it imports boto3).
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycognito import aws_srp

from andersen_ev import Endpoints, InvalidInputError, srp
from andersen_ev.auth import device_secret_verifier_config
from andersen_ev.testing import AndersenCloud

POOL_ID = "eu-west-1_t5HV3bFjl"
POOL_NAME = "t5HV3bFjl"

texts = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)
server_b = st.integers(min_value=2, max_value=srp.N - 1)
salts = st.integers(min_value=1, max_value=(1 << 128) - 1)
blocks = st.binary(min_size=1, max_size=1300).map(lambda raw: base64.b64encode(raw).decode())
moments = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - pycognito takes naive UTC
    max_value=datetime(2100, 12, 31),  # noqa: DTZ001
)


@contextmanager
def _pycognito_quiet() -> Iterator[None]:
    # pycognito calls datetime.utcnow(), deprecated from Python 3.12 on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _helper(password: str, **device: str) -> aws_srp.AWSSRP:
    """pycognito's SRP helper; it draws its own random ``a``. ``client`` keeps boto3 away."""
    return aws_srp.AWSSRP("user", password, POOL_ID, "client", client=object(), **device)


def test_group_constants_match_pycognito() -> None:
    helper = _helper("pw")
    assert helper.big_n == srp.N
    assert helper.val_g == srp.G
    assert helper.val_k == srp.K
    assert bytes(aws_srp.INFO_BITS) == srp.INFO


@settings(max_examples=25, deadline=None)
@given(big_b=server_b, salt=salts, user=texts, password=texts, block=blocks)
def test_user_exchange_matches_pycognito(
    big_b: int, salt: int, user: str, password: str, block: str
) -> None:
    helper = _helper(password)
    a = helper.small_a_value
    big_a = srp.client_public(a)
    assert big_a == helper.large_a_value
    assert srp.compute_u(big_a, big_b) == aws_srp.calculate_u(big_a, big_b)

    x = srp.password_x(salt, srp.inner_hash(POOL_NAME, user, password))
    u, premaster = srp.client_session_key(a, big_b, x)
    assert srp.client_session_key(a, big_b, x, big_a=big_a) == (u, premaster)
    key = srp.derive_key(premaster, u)
    assert key == helper.get_password_authentication_key(user, password, big_b, f"{salt:x}")

    challenge = {
        "USER_ID_FOR_SRP": user,
        "SALT": f"{salt:x}",
        "SRP_B": f"{big_b:x}",
        "SECRET_BLOCK": block,
    }
    with _pycognito_quiet():
        theirs = helper.process_challenge(challenge, {"USERNAME": user})
    timestamp = theirs["TIMESTAMP"]
    assert srp.format_timestamp(srp.parse_timestamp(timestamp)) == timestamp
    assert (
        srp.claim_signature(key, POOL_NAME, user, block, timestamp)
        == (theirs["PASSWORD_CLAIM_SIGNATURE"])
    )


@settings(max_examples=15, deadline=None)
@given(big_b=server_b, salt=salts, block=blocks, device_password=texts)
def test_device_exchange_matches_pycognito(
    big_b: int, salt: int, block: str, device_password: str
) -> None:
    group_key, device_key = "-abcDEF123", "eu-west-1_0f6d7b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    helper = _helper(
        "pw", device_key=device_key, device_group_key=group_key, device_password=device_password
    )
    a = helper.small_a_value
    x = srp.password_x(salt, srp.inner_hash(group_key, device_key, device_password))
    u, premaster = srp.client_session_key(a, big_b, x)
    key = srp.derive_key(premaster, u)
    assert key == helper.get_device_authentication_key(
        group_key, device_key, device_password, big_b, f"{salt:x}"
    )
    challenge = {"USERNAME": "user", "SALT": f"{salt:x}", "SRP_B": f"{big_b:x}"}
    with _pycognito_quiet():
        theirs = helper.process_device_challenge(challenge | {"SECRET_BLOCK": block})
    assert (
        srp.claim_signature(key, group_key, device_key, block, theirs["TIMESTAMP"])
        == (theirs["PASSWORD_CLAIM_SIGNATURE"])
    )


def test_device_verifier_matches_pycognito_generate_hash_device() -> None:
    for _ in range(10):
        group_key, device_key = "-grp", "eu-west-1_device"
        password, config = aws_srp.generate_hash_device(group_key, device_key)
        salt = int.from_bytes(base64.b64decode(config["Salt"]), "big")
        assert device_secret_verifier_config(group_key, device_key, password, salt) == config


def test_device_verifier_is_the_verifier_of_the_device_secret() -> None:
    config = device_secret_verifier_config("-g", "k", "secret", 0x80FF)
    assert base64.b64decode(config["Salt"]) == b"\x00\x80\xff"
    x = srp.password_x(0x80FF, srp.inner_hash("-g", "k", "secret"))
    assert base64.b64decode(config["PasswordVerifier"]) == srp.pad(pow(srp.G, x, srp.N))


@given(moment=moments)
def test_timestamp_matches_pycognito(moment: datetime) -> None:
    ours = srp.format_timestamp(moment.replace(tzinfo=UTC))
    assert ours == aws_srp.AWSSRP.get_cognito_formatted_timestamp(moment)
    assert srp.parse_timestamp(ours) == moment.replace(microsecond=0, tzinfo=UTC)


def test_timestamp_is_utc_with_unpadded_day() -> None:
    paris = timezone(timedelta(hours=2))
    assert srp.format_timestamp(datetime(2025, 7, 1, 11, 5, 3, tzinfo=paris)) == (
        "Tue Jul 1 09:05:03 UTC 2025"
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Tue Jul 01 09:05:03 UTC 2025", "zero-padded"),
        ("Tue Jul x 09:05:03 UTC 2025", "zero-padded"),
        ("Mon Jul 1 09:05:03 UTC 2025", "wrong weekday"),
        ("Tue Jul 1 09:05:03 GMT 2025", "not a Cognito timestamp"),
        ("Tue Juli 1 09:05:03 UTC 2025", "not a Cognito timestamp"),
        ("Tuesday Jul 1 09:05:03 UTC 2025", "not a Cognito timestamp"),
        ("Tue Jul 1 09:05:03 UTC", "not a Cognito timestamp"),
        ("Tue Jul 1 9h05 UTC 2025", "does not match format"),
        ("", "not a Cognito timestamp"),
    ],
)
def test_parse_timestamp_rejects(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        srp.parse_timestamp(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (0x7F, b"\x7f"),
        (0x80, b"\x00\x80"),
        (0xFF, b"\x00\xff"),
        (0x100, b"\x01\x00"),
        (0x7FFF, b"\x7f\xff"),
        (0x8000, b"\x00\x80\x00"),
    ],
)
def test_pad_edges(value: int, expected: bytes) -> None:
    assert srp.pad(value) == expected


@given(value=st.integers(min_value=0, max_value=1 << 3100))
def test_pad_matches_pycognito_pad_hex(value: int) -> None:
    assert srp.pad(value) == bytes.fromhex(aws_srp.pad_hex(value))


def test_pad_rejects_negative() -> None:
    with pytest.raises(ValueError, match="never negative"):
        srp.pad(-1)


def test_pool_name() -> None:
    assert srp.pool_name(POOL_ID) == POOL_NAME
    for bad in ("t5HV3bFjl", "eu-west-1_"):
        with pytest.raises(ValueError, match="not a Cognito user pool id"):
            srp.pool_name(bad)


def test_one_reading_of_a_pool_id() -> None:
    assert srp.split_pool_id(POOL_ID) == ("eu-west-1", POOL_NAME)
    assert srp.split_pool_id("us-east-1_a_b") == ("us-east-1", "a_b")
    assert Endpoints(user_pool_id="us-east-1_abc").pool_name == "abc"
    cloud = AndersenCloud(user_pool_id="us-east-1_abc")
    assert (cloud.region, cloud.state.pool_name) == ("us-east-1", "abc")


@pytest.mark.parametrize("bad", ["t5HV3bFjl", "eu-west-1_", "_t5HV3bFjl", ""])
def test_a_bad_pool_id_is_invalid_input_that_shows_the_form(bad: str) -> None:
    for read in (srp.split_pool_id, srp.pool_name, lambda i: Endpoints(user_pool_id=i).pool_name):
        with pytest.raises(InvalidInputError, match=r"not a Cognito user pool id.*<region>_"):
            read(bad)
    with pytest.raises(InvalidInputError, match="not a Cognito user pool id"):
        AndersenCloud(user_pool_id=bad)


def test_out_of_range_arguments_are_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="pass a value of 0 or more"):
        srp.pad(-1)
    with pytest.raises(InvalidInputError, match=r"secrets\.randbelow"):
        srp.client_public(0)


@pytest.mark.parametrize("a", [0, srp.N, srp.N + 1])
def test_client_public_range(a: int) -> None:
    with pytest.raises(ValueError, match=r"in \(0, N\)"):
        srp.client_public(a)


@pytest.mark.parametrize("big_b", [0, srp.N, 2 * srp.N])
def test_client_session_key_rejects_b_zero_mod_n(big_b: int) -> None:
    with pytest.raises(ValueError, match="invalid SRP_B"):
        srp.client_session_key(12345, big_b, 678)
