"""The emulator's Cognito: real SRP, devices, refresh, revocation and Cognito's error shapes."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from andersen_ev import srp
from andersen_ev.testing import AndersenCloud, EmulatedUser
from andersen_ev.testing.cognito_srp import ServerExchange, server_premaster, server_public
from andersen_ev.testing.state import ForcedChallenge
from tests.testing.srp_client import (
    CONTENT_TYPE,
    TARGET_PREFIX,
    CognitoTestClient,
    DeviceSecret,
    Reply,
    new_a,
    timestamp,
)
from tests.testing.ws_helpers import claims_of

INCORRECT = ("NotAuthorizedException", "Incorrect username or password.")
BAD_SESSION = ("NotAuthorizedException", "Invalid session for the user.")
NO_DEVICE = ("ResourceNotFoundException", "Device does not exist.")
BAD_REFRESH = ("NotAuthorizedException", "Invalid Refresh Token.")
BAD_TIMESTAMP = (
    "InvalidParameterException",
    "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english.",
)


class Clock:
    """A settable clock for ``cloud.tokens.clock`` (Cognito's notion of now)."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def stamp(self) -> str:
        return timestamp(datetime.fromtimestamp(self.now, UTC))


@pytest.fixture
async def cognito(andersen_cloud: AndersenCloud) -> AsyncIterator[CognitoTestClient]:
    async with CognitoTestClient(andersen_cloud.endpoints) as client:
        yield client


@pytest.fixture
def password(andersen_credentials: tuple[str, str]) -> str:
    return andersen_credentials[1]


@pytest.fixture
def clock(andersen_cloud: AndersenCloud) -> Clock:
    fake = Clock(datetime.now(UTC))
    andersen_cloud.tokens.clock = fake
    return fake


async def login(cognito: CognitoTestClient, user: EmulatedUser, password: str) -> dict[str, Any]:
    reply = await cognito.login(user.username, password)
    assert reply.error is None, reply.body
    return reply.result


def forced_challenge_of(user: EmulatedUser) -> ForcedChallenge | None:
    """Read the field afresh (mypy keeps the value a test assigned narrowed)."""
    return user.forced_challenge


def assert_error(reply: Reply, expected: tuple[str, str]) -> None:
    assert reply.status == 400, reply.body
    assert reply.error == expected


# -- the server-side SRP maths ----------------------------------------------------------


def test_server_and_client_agree_on_the_premaster_secret() -> None:
    salt, a, b = 0x1234, new_a(), 0xBEEF
    x = srp.password_x(salt, srp.inner_hash("pool", "user", "pw"))
    v = srp.verifier(x)
    exchange = ServerExchange.start(srp.client_public(a), verifier=v, salt=salt, b=b)
    assert exchange.big_b == server_public(v, b)
    u, client_s = srp.client_session_key(a, exchange.big_b, x)
    assert server_premaster(srp.client_public(a), v, u, b) == client_s
    signature = srp.claim_signature(srp.derive_key(client_s, u), "pool", "user", "AAAA", "ts")
    assert exchange.verify(signature, "pool", "user", "AAAA", "ts")
    assert not exchange.verify(signature, "pool", "user", "AAAA", "other ts")
    assert ", b=" not in repr(exchange)
    assert "verifier=" not in repr(exchange)


def test_server_srp_rejects_degenerate_values() -> None:
    with pytest.raises(ValueError, match="private"):
        server_public(5, 0)
    with pytest.raises(ValueError, match="SRP_A"):
        server_premaster(srp.N, 5, 1, 3)
    with pytest.raises(ValueError, match="SRP_A"):
        ServerExchange.start(0, verifier=5, salt=1, b=3)


# -- USER_SRP_AUTH --------------------------------------------------------------------------


async def test_password_verifier_challenge_has_cognitos_shape(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser, cognito: CognitoTestClient
) -> None:
    reply = await cognito.initiate(andersen_user.username, new_a())
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith(CONTENT_TYPE)
    uuid.UUID(reply.headers["x-amzn-RequestId"])
    assert reply.body["ChallengeName"] == "PASSWORD_VERIFIER"
    assert "Session" not in reply.body
    params = reply.parameters
    assert set(params) == {"SALT", "SECRET_BLOCK", "SRP_B", "USERNAME", "USER_ID_FOR_SRP"}
    assert params["USER_ID_FOR_SRP"] == params["USERNAME"] == andersen_user.username
    assert re.fullmatch(r"[0-9a-f]{1,768}", params["SRP_B"])
    assert int(params["SALT"], 16) == andersen_user.salt
    block = base64.b64decode(params["SECRET_BLOCK"], validate=True)
    assert 300 <= len(block) < 1300
    assert andersen_cloud.stats.cognito_calls["InitiateAuth:USER_SRP_AUTH"] == 1


async def test_right_password_logs_in_with_a_new_device(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    reply = await cognito.login(andersen_user.username, password)
    assert reply.status == 200
    assert reply.body["ChallengeParameters"] == {}
    result = reply.result
    assert set(result) == {
        "AccessToken",
        "ExpiresIn",
        "IdToken",
        "RefreshToken",
        "TokenType",
        "NewDeviceMetadata",
    }
    assert result["TokenType"] == "Bearer"
    assert result["ExpiresIn"] == 3600
    device_key = result["NewDeviceMetadata"]["DeviceKey"]
    assert re.fullmatch(r"eu-west-1_[0-9a-f-]{36}", device_key)
    device = andersen_user.devices[device_key]
    assert device.group_key == result["NewDeviceMetadata"]["DeviceGroupKey"]
    assert not device.confirmed
    assert claims_of(result["AccessToken"])["device_key"] == device_key
    assert andersen_cloud.user_for_bearer(f"Bearer {result['IdToken']}") is andersen_user
    assert andersen_cloud.stats.cognito_calls["RespondToAuthChallenge:PASSWORD_VERIFIER"] == 1


async def test_jwt_claims_are_cognitos(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    result = await login(cognito, andersen_user, password)
    issuer = f"https://cognito-idp.eu-west-1.amazonaws.com/{andersen_cloud.user_pool_id}"
    id_claims = claims_of(result["IdToken"])
    assert id_claims["sub"] == andersen_user.sub
    assert id_claims["cognito:username"] == andersen_user.username
    assert id_claims["email"] == andersen_user.email
    assert id_claims["token_use"] == "id"
    assert id_claims["iss"] == issuer
    assert id_claims["aud"] == andersen_cloud.client_id
    assert id_claims["exp"] - id_claims["iat"] == 3600
    access = claims_of(result["AccessToken"])
    assert access["sub"] == andersen_user.sub
    assert access["username"] == andersen_user.username
    assert access["token_use"] == "access"
    assert access["client_id"] == andersen_cloud.client_id
    assert "aud" not in access
    assert access["device_key"] == result["NewDeviceMetadata"]["DeviceKey"]
    assert access["origin_jti"] == id_claims["origin_jti"]
    header = json.loads(base64.urlsafe_b64decode(result["IdToken"].split(".")[0] + "=="))
    assert header == {"kid": andersen_cloud.tokens.key_id, "alg": "RS256"}


@pytest.mark.andersen_cloud(token_lifetime=2)
async def test_token_lifetime_is_settable(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    result = await login(cognito, andersen_user, password)
    assert result["ExpiresIn"] == 2
    claims = claims_of(result["AccessToken"])
    assert claims["exp"] - claims["iat"] == 2


async def test_wrong_password_answers_in_cognitos_error_shape(
    andersen_user: EmulatedUser, cognito: CognitoTestClient
) -> None:
    reply = await cognito.login(andersen_user.username, "not the password")
    assert reply.status == 400
    assert reply.body == {"__type": "NotAuthorizedException", "message": INCORRECT[1]}
    assert reply.headers["x-amzn-ErrorType"] == "NotAuthorizedException:"
    assert reply.headers["x-amzn-ErrorMessage"] == INCORRECT[1]
    assert reply.headers["Content-Type"].startswith(CONTENT_TYPE)
    uuid.UUID(reply.headers["x-amzn-RequestId"])
    assert andersen_user.failed_logins == 1


async def test_unknown_user(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    expected = ("UserNotFoundException", "User does not exist.")
    assert_error(await cognito.login("nobody:1", password), expected)
    # the email is not the SRP username: clients must look the username up first
    assert_error(await cognito.login(andersen_user.email, password), expected)
    # RespondToAuthChallenge for a user who does not exist
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    challenge.parameters["USER_ID_FOR_SRP"] = "nobody:1"
    assert_error(await cognito.verify_password(challenge, password, a), expected)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "u"}},
            ("InvalidParameterException", "Missing required parameter SRP_A"),
        ),
        (
            {"AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"SRP_A": "ab"}},
            ("InvalidParameterException", "Missing required parameter USERNAME"),
        ),
        (
            {"AuthFlow": "USER_SRP_AUTH"},
            ("InvalidParameterException", "Missing required parameter USERNAME"),
        ),
        (
            {"AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "u", "SRP_A": None}},
            ("InvalidParameterException", "Missing required parameter SRP_A"),
        ),
        (
            {"AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {}},
            ("InvalidParameterException", "Missing required parameter REFRESH_TOKEN"),
        ),
        (
            {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "u"}},
            ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client"),
        ),
        (
            {},
            (
                "InvalidParameterException",
                "1 validation error detected: Value null at 'authFlow' failed to satisfy "
                "constraint: Member must not be null",
            ),
        ),
        (
            {"AuthFlow": "MAGIC"},
            (
                "InvalidParameterException",
                "1 validation error detected: Value 'MAGIC' at 'authFlow' failed to satisfy "
                "constraint: Member must satisfy enum value set: [USER_SRP_AUTH, "
                "REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, ADMIN_NO_SRP_AUTH, "
                "USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH]",
            ),
        ),
    ],
)
async def test_initiate_auth_parameter_errors(
    cognito: CognitoTestClient, payload: dict[str, Any], expected: tuple[str, str]
) -> None:
    payload = {"ClientId": cognito.endpoints.client_id, **payload}
    assert_error(await cognito.call("InitiateAuth", payload), expected)


@pytest.mark.parametrize("srp_a", ["not-hex", "0x12", f"{srp.N:x}", "0"])
async def test_invalid_srp_a(
    andersen_user: EmulatedUser, cognito: CognitoTestClient, srp_a: str
) -> None:
    reply = await cognito.call(
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": cognito.endpoints.client_id,
            "AuthParameters": {"USERNAME": andersen_user.username, "SRP_A": srp_a},
        },
    )
    assert reply.status == 400
    assert reply.error is not None
    assert reply.error[0] == "InvalidParameterException"
    assert "SRP_A" in reply.error[1]


async def test_wrong_or_missing_client_id(cognito: CognitoTestClient) -> None:
    reply = await cognito.call(
        "InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "ClientId": "nope", "AuthParameters": {}}
    )
    assert_error(reply, ("ResourceNotFoundException", "User pool client nope does not exist."))
    reply = await cognito.call("RespondToAuthChallenge", {"ChallengeName": "PASSWORD_VERIFIER"})
    assert_error(
        reply,
        (
            "InvalidParameterException",
            "1 validation error detected: Value null at 'clientId' failed to satisfy "
            "constraint: Member must not be null",
        ),
    )


async def test_unknown_challenge_name(cognito: CognitoTestClient) -> None:
    reply = await cognito.respond("CUSTOM_CHALLENGE", {"USERNAME": "u"})
    assert reply.error is not None
    assert reply.error[0] == "InvalidParameterException"
    assert "Value 'CUSTOM_CHALLENGE' at 'challengeName'" in reply.error[1]


async def test_missing_challenge_responses(cognito: CognitoTestClient) -> None:
    reply = await cognito.call(
        "RespondToAuthChallenge",
        {"ChallengeName": "PASSWORD_VERIFIER", "ClientId": cognito.endpoints.client_id},
    )
    assert_error(reply, ("InvalidParameterException", "Missing required parameter USERNAME"))


# -- timestamps, secret blocks, lockout ---------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "2025-07-01T09:05:03Z",
        "Tue Jul 1 09:05:03 GMT 2025",
        "Wed Jul 1 09:05:03 UTC 2025",
        "Tue Jul \u00b2 09:05:03 UTC 2025",
        "Tue Jul 1 09:05:03 UTC 99999999999999999999",
        "Tue Jul " + "1" * 5000 + " 09:05:03 UTC 2025",
    ],
)
async def test_badly_formatted_timestamp(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, when: str
) -> None:
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    reply = await cognito.verify_password(challenge, password, a, when=when)
    assert_error(reply, BAD_TIMESTAMP)


async def test_zero_padded_day_fails_the_signature(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, clock: Clock
) -> None:
    clock.now = datetime(2025, 7, 5, 9, 5, 3, tzinfo=UTC).timestamp()
    padded, canonical = "Sat Jul 05 09:05:03 UTC 2025", "Sat Jul 5 09:05:03 UTC 2025"
    assert clock.stamp() == canonical
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    assert_error(await cognito.verify_password(challenge, password, a, when=padded), INCORRECT)
    # the server signs its own rendering of the instant, not the text it received
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    reply = await cognito.verify_password(challenge, password, a, when=padded, sign_as=canonical)
    assert reply.error is None


@pytest.mark.parametrize("offset", [timedelta(minutes=-10), timedelta(minutes=10)])
async def test_stale_timestamp_is_refused(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, offset: timedelta
) -> None:
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    when = timestamp(datetime.now(UTC) + offset)
    assert_error(await cognito.verify_password(challenge, password, a, when=when), INCORRECT)


async def test_default_tolerance_accepts_a_minute_of_skew(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    when = timestamp(datetime.now(UTC) - timedelta(seconds=60))
    assert (await cognito.verify_password(challenge, password, a, when=when)).error is None


@pytest.mark.andersen_cloud(timestamp_tolerance=5)
async def test_timestamp_tolerance_is_settable(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    when = timestamp(datetime.now(UTC) - timedelta(seconds=60))
    assert_error(await cognito.verify_password(challenge, password, a, when=when), INCORRECT)


async def test_secret_block_is_single_use_and_bound_to_its_user(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    assert (await cognito.verify_password(challenge, password, a)).error is None
    assert_error(await cognito.verify_password(challenge, password, a), INCORRECT)
    # a block this server never issued
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    forged = base64.b64encode(b"\x00" * 400).decode()
    reply = await cognito.verify_password(challenge, password, a, secret_block=forged)
    assert_error(reply, INCORRECT)
    # a block issued to somebody else
    other = andersen_cloud.add_user("other@example.com", "other password")
    theirs = await cognito.initiate(other.username, new_a())
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    reply = await cognito.verify_password(
        challenge, password, a, secret_block=theirs.parameters["SECRET_BLOCK"]
    )
    assert_error(reply, INCORRECT)


async def test_secret_block_expires_after_three_minutes(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, clock: Clock
) -> None:
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    clock.advance(181)
    reply = await cognito.verify_password(challenge, password, a, when=clock.stamp())
    assert_error(reply, INCORRECT)


async def test_lockout_after_five_failures_doubles_then_clears(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, clock: Clock
) -> None:
    async def attempt(secret: str) -> Reply:
        challenge = await cognito.initiate(andersen_user.username, a := new_a())
        return await cognito.verify_password(challenge, secret, a, when=clock.stamp())

    for _ in range(5):
        assert_error(await attempt("wrong"), INCORRECT)
    locked = ("NotAuthorizedException", "Password attempts exceeded")
    assert_error(await attempt(password), locked)
    clock.advance(1.5)  # the first lockout lasts one second
    assert_error(await attempt("wrong"), INCORRECT)  # sixth failure: two seconds
    clock.advance(1.5)
    assert_error(await attempt(password), locked)
    clock.advance(1)
    assert (await attempt(password)).error is None
    assert andersen_user.failed_logins == 0


# -- refresh and revocation ------------------------------------------------------------------


async def test_refresh_with_device_key(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    result = await login(cognito, andersen_user, password)
    device_key = result["NewDeviceMetadata"]["DeviceKey"]
    first = claims_of(result["AccessToken"])
    for flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
        reply = await cognito.refresh(result["RefreshToken"], device_key, flow=flow)
        assert reply.body["ChallengeParameters"] == {}
        assert set(reply.result) == {"AccessToken", "ExpiresIn", "IdToken", "TokenType"}
        access = claims_of(reply.result["AccessToken"])
        assert access["device_key"] == device_key
        assert access["auth_time"] == first["auth_time"]
        assert access["origin_jti"] == first["origin_jti"]
        assert access["jti"] != first["jti"]
    assert andersen_cloud.stats.refreshes == 2


async def test_refresh_needs_the_device_key_of_its_login(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    result = await login(cognito, andersen_user, password)
    token = result["RefreshToken"]
    assert_error(await cognito.refresh(token, None), BAD_REFRESH)
    assert_error(await cognito.refresh(token, "eu-west-1_other"), BAD_REFRESH)
    assert_error(await cognito.refresh("not-a-token", None), BAD_REFRESH)


@pytest.mark.andersen_cloud(device_tracking=False)
async def test_refresh_without_device_tracking(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    result = await login(cognito, andersen_user, password)
    assert "NewDeviceMetadata" not in result
    assert "device_key" not in claims_of(result["AccessToken"])
    reply = await cognito.refresh(result["RefreshToken"], None)
    assert reply.error is None
    assert andersen_user.devices == {}


async def test_revoked_refresh_token(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    result = await login(cognito, andersen_user, password)
    device_key = result["NewDeviceMetadata"]["DeviceKey"]
    client_id = cognito.endpoints.client_id
    reply = await cognito.call(
        "RevokeToken", {"Token": result["RefreshToken"], "ClientId": client_id}
    )
    assert (reply.status, reply.body) == (200, {})
    revoked = ("NotAuthorizedException", "Refresh Token has been revoked")
    assert_error(await cognito.refresh(result["RefreshToken"], device_key), revoked)
    # the access tokens issued from it go too
    reply = await cognito.call("GlobalSignOut", {"AccessToken": result["AccessToken"]})
    assert_error(reply, ("NotAuthorizedException", "Access Token has been revoked"))
    # revoking an unknown token is not an error (RFC 7009)
    reply = await cognito.call("RevokeToken", {"Token": "unknown", "ClientId": client_id})
    assert (reply.status, reply.body) == (200, {})


async def test_expired_refresh_token(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, clock: Clock
) -> None:
    result = await cognito.login(andersen_user.username, password)
    clock.advance(31 * 24 * 3600)
    device_key = result.result["NewDeviceMetadata"]["DeviceKey"]
    reply = await cognito.refresh(result.result["RefreshToken"], device_key)
    assert_error(reply, ("NotAuthorizedException", "Refresh Token has expired"))


async def test_global_sign_out_revokes_everything(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    result = await login(cognito, andersen_user, password)
    reply = await cognito.call("GlobalSignOut", {"AccessToken": result["AccessToken"]})
    assert (reply.status, reply.body) == (200, {})
    device_key = result["NewDeviceMetadata"]["DeviceKey"]
    reply = await cognito.refresh(result["RefreshToken"], device_key)
    assert_error(reply, ("NotAuthorizedException", "Refresh Token has been revoked"))
    reply = await cognito.call(
        "UpdateDeviceStatus",
        {"AccessToken": result["AccessToken"], "DeviceKey": device_key},
    )
    assert_error(reply, ("NotAuthorizedException", "Access Token has been revoked"))
    assert andersen_cloud.stats.cognito_calls["GlobalSignOut"] == 1


async def test_access_token_errors(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    result = await login(cognito, andersen_user, password)
    reply = await cognito.call("GlobalSignOut", {"AccessToken": result["IdToken"]})
    assert_error(reply, ("NotAuthorizedException", "Invalid Access Token"))
    reply = await cognito.call("GlobalSignOut", {"AccessToken": "garbage"})
    assert_error(reply, ("NotAuthorizedException", "Invalid Access Token"))
    nested = base64.urlsafe_b64encode(b"[" * 50_000 + b"]" * 50_000).decode()
    reply = await cognito.call("GlobalSignOut", {"AccessToken": f"{nested}.e30.c2ln"})
    assert_error(reply, ("NotAuthorizedException", "Invalid Access Token"))
    andersen_cloud.expire_tokens()
    reply = await cognito.call("GlobalSignOut", {"AccessToken": result["AccessToken"]})
    assert_error(reply, ("NotAuthorizedException", "Access Token has expired"))


# -- remembered devices ----------------------------------------------------------------------


async def test_confirmed_device_logs_in_with_device_srp(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
) -> None:
    first = await login(cognito, andersen_user, password)
    device = await cognito.confirm_device(first)
    tracked = andersen_user.devices[device.device_key]
    assert tracked.confirmed
    assert tracked.name == "pytest"
    reply = await cognito.call(
        "UpdateDeviceStatus",
        {
            "AccessToken": first["AccessToken"],
            "DeviceKey": device.device_key,
            "DeviceRememberedStatus": "remembered",
        },
    )
    assert (reply.status, reply.body) == (200, {})
    assert tracked.remembered

    a = new_a()
    challenge = await cognito.initiate(andersen_user.username, a, device_key=device.device_key)
    reply = await cognito.verify_password(challenge, password, a, device_key=device.device_key)
    assert reply.body["ChallengeName"] == "DEVICE_SRP_AUTH"
    assert reply.body["ChallengeParameters"] == {}
    a = new_a()
    reply = await cognito.device_challenge(andersen_user.username, device, a, reply.body["Session"])
    assert reply.body["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
    assert reply.body["Session"]
    assert set(reply.parameters) == {"SRP_B", "SALT", "SECRET_BLOCK", "USERNAME"}
    assert int(reply.parameters["SALT"], 16) == device.salt
    reply = await cognito.verify_device(reply, device, a)
    assert reply.error is None, reply.body
    assert "NewDeviceMetadata" not in reply.result
    assert claims_of(reply.result["AccessToken"])["device_key"] == device.device_key
    assert set(andersen_user.devices) == {device.device_key}
    refreshed = await cognito.refresh(reply.result["RefreshToken"], device.device_key)
    assert refreshed.error is None
    calls = andersen_cloud.stats.cognito_calls
    assert calls["ConfirmDevice"] == 1
    assert calls["UpdateDeviceStatus"] == 1
    assert calls["RespondToAuthChallenge:DEVICE_SRP_AUTH"] == 1
    assert calls["RespondToAuthChallenge:DEVICE_PASSWORD_VERIFIER"] == 1


async def test_device_key_at_initiate_auth_is_enough(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    device = await cognito.confirm_device(await login(cognito, andersen_user, password))
    challenge = await cognito.initiate(
        andersen_user.username, a := new_a(), device_key=device.device_key
    )
    reply = await cognito.verify_password(challenge, password, a)
    assert reply.body["ChallengeName"] == "DEVICE_SRP_AUTH"


async def test_device_challenges_without_session(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    # AWS's SRP example and pycognito answer the device challenges without the Session
    device = await cognito.confirm_device(await login(cognito, andersen_user, password))
    reply = await cognito.device_challenge(andersen_user.username, device, a := new_a(), None)
    challenge = Reply(reply.status, {**reply.body, "Session": None}, reply.headers)
    reply = await cognito.verify_device(challenge, device, a)
    assert reply.error is None
    assert "NewDeviceMetadata" not in reply.result


async def test_wrong_device_password(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    device = await cognito.confirm_device(await login(cognito, andersen_user, password))
    wrong = DeviceSecret(device.device_key, device.group_key, "wrong", device.salt)
    assert_error(await cognito.login(andersen_user.username, password, device=wrong), INCORRECT)
    # a user secret block does not answer a device challenge
    reply = await cognito.device_challenge(andersen_user.username, device, a := new_a(), None)
    user_challenge = await cognito.initiate(andersen_user.username, new_a())
    reply.parameters["SECRET_BLOCK"] = user_challenge.parameters["SECRET_BLOCK"]
    assert_error(await cognito.verify_device(reply, device, a), INCORRECT)
    # nor does the block issued to another device of the same user
    other = await cognito.confirm_device(await login(cognito, andersen_user, password))
    reply = await cognito.device_challenge(andersen_user.username, device, a := new_a(), None)
    sessionless = Reply(reply.status, {**reply.body, "Session": None}, reply.headers)
    assert_error(await cognito.verify_device(sessionless, other, a), INCORRECT)


async def test_device_sessions_are_single_use_and_checked(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient, clock: Clock
) -> None:
    device = await cognito.confirm_device(await login(cognito, andersen_user, password))

    async def device_srp_session() -> str:
        challenge = await cognito.initiate(andersen_user.username, a := new_a())
        reply = await cognito.verify_password(
            challenge, password, a, device_key=device.device_key, when=clock.stamp()
        )
        session: str = reply.body["Session"]
        return session

    username = andersen_user.username
    assert_error(await cognito.device_challenge(username, device, new_a(), "garbage"), BAD_SESSION)
    session = await device_srp_session()
    assert (await cognito.device_challenge(username, device, new_a(), session)).error is None
    assert_error(await cognito.device_challenge(username, device, new_a(), session), BAD_SESSION)
    session = await device_srp_session()
    clock.advance(181)
    assert_error(await cognito.device_challenge(username, device, new_a(), session), BAD_SESSION)
    # a session for another device key
    session = await device_srp_session()
    other = DeviceSecret("eu-west-1_other", device.group_key)
    assert_error(await cognito.device_challenge(username, other, new_a(), session), BAD_SESSION)
    # the DEVICE_SRP_AUTH session does not answer DEVICE_PASSWORD_VERIFIER
    session = await device_srp_session()
    reply = await cognito.device_challenge(username, device, a := new_a(), None)
    wrong = Reply(reply.status, {**reply.body, "Session": session}, reply.headers)
    assert_error(await cognito.verify_device(wrong, device, a), BAD_SESSION)


async def test_forgotten_device(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    first = await login(cognito, andersen_user, password)
    device = await cognito.confirm_device(first)
    forget = {"AccessToken": first["AccessToken"], "DeviceKey": device.device_key}
    reply = await cognito.call("ForgetDevice", forget)
    assert (reply.status, reply.body) == (200, {})
    assert device.device_key not in andersen_user.devices
    assert_error(await cognito.login(andersen_user.username, password, device=device), NO_DEVICE)
    reply = await cognito.device_challenge(andersen_user.username, device, new_a(), None)
    assert_error(reply, NO_DEVICE)
    assert_error(await cognito.refresh(first["RefreshToken"], device.device_key), NO_DEVICE)
    assert_error(await cognito.call("ForgetDevice", forget), NO_DEVICE)


async def test_device_forgotten_between_challenges(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    first = await login(cognito, andersen_user, password)
    device = await cognito.confirm_device(first)
    reply = await cognito.device_challenge(andersen_user.username, device, a := new_a(), None)
    del andersen_user.devices[device.device_key]
    assert_error(await cognito.verify_device(reply, device, a), NO_DEVICE)


async def test_unconfirmed_device_key(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    first = await login(cognito, andersen_user, password)
    device_key = first["NewDeviceMetadata"]["DeviceKey"]
    challenge = await cognito.initiate(andersen_user.username, a := new_a())
    reply = await cognito.verify_password(challenge, password, a, device_key=device_key)
    assert "NewDeviceMetadata" not in reply.result
    assert claims_of(reply.result["AccessToken"])["device_key"] == device_key
    unconfirmed = DeviceSecret(device_key, first["NewDeviceMetadata"]["DeviceGroupKey"])
    reply = await cognito.device_challenge(andersen_user.username, unconfirmed, new_a(), None)
    assert_error(reply, NO_DEVICE)


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ({"Salt": "AQ=="}, "InvalidParameterException"),
        ({"Salt": "!!!", "PasswordVerifier": "AQ=="}, "InvalidParameterException"),
        ({"Salt": "AA==", "PasswordVerifier": "AQ=="}, "InvalidParameterException"),
        ({"Salt": 5, "PasswordVerifier": "AQ=="}, "SerializationException"),
        (None, "InvalidParameterException"),
    ],
)
async def test_confirm_device_rejects_bad_verifier_configs(
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
    config: dict[str, Any] | None,
    code: str,
) -> None:
    result = await login(cognito, andersen_user, password)
    payload: dict[str, Any] = {
        "AccessToken": result["AccessToken"],
        "DeviceKey": result["NewDeviceMetadata"]["DeviceKey"],
    }
    if config is not None:
        payload["DeviceSecretVerifierConfig"] = config
    reply = await cognito.call("ConfirmDevice", payload)
    assert reply.status == 400
    assert reply.error is not None
    assert reply.error[0] == code
    assert not andersen_user.devices[payload["DeviceKey"]].confirmed


async def test_device_calls_for_unknown_devices_and_statuses(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    result = await login(cognito, andersen_user, password)
    unknown = DeviceSecret("eu-west-1_unknown", "-group")
    reply = await cognito.call(
        "ConfirmDevice",
        {
            "AccessToken": result["AccessToken"],
            "DeviceKey": unknown.device_key,
            "DeviceSecretVerifierConfig": unknown.verifier_config(),
        },
    )
    assert_error(reply, NO_DEVICE)
    reply = await cognito.call(
        "UpdateDeviceStatus",
        {
            "AccessToken": result["AccessToken"],
            "DeviceKey": result["NewDeviceMetadata"]["DeviceKey"],
            "DeviceRememberedStatus": "forever",
        },
    )
    assert reply.error is not None
    assert reply.error[0] == "InvalidParameterException"
    assert "[remembered, not_remembered]" in reply.error[1]


# -- forced challenges ------------------------------------------------------------------------


async def test_forced_new_password(
    andersen_user: EmulatedUser, password: str, cognito: CognitoTestClient
) -> None:
    andersen_user.forced_challenge = "NEW_PASSWORD_REQUIRED"
    reply = await cognito.login(andersen_user.username, password)
    assert reply.body["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert json.loads(reply.parameters["userAttributes"])["email"] == andersen_user.email
    session = reply.body["Session"]
    responses = {"USERNAME": andersen_user.username, "NEW_PASSWORD": "brand new"}
    answer = await cognito.respond("NEW_PASSWORD_REQUIRED", responses, session)
    assert "NewDeviceMetadata" in answer.result
    assert forced_challenge_of(andersen_user) is None
    assert_error(await cognito.login(andersen_user.username, password), INCORRECT)
    assert (await cognito.login(andersen_user.username, "brand new")).error is None


@pytest.mark.parametrize(
    ("challenge", "code_parameter"),
    [("SMS_MFA", "SMS_MFA_CODE"), ("SOFTWARE_TOKEN_MFA", "SOFTWARE_TOKEN_MFA_CODE")],
)
async def test_forced_mfa(
    andersen_user: EmulatedUser,
    password: str,
    cognito: CognitoTestClient,
    challenge: ForcedChallenge,
    code_parameter: str,
) -> None:
    andersen_user.forced_challenge = challenge
    reply = await cognito.login(andersen_user.username, password)
    assert reply.body["ChallengeName"] == challenge
    assert reply.parameters["USER_ID_FOR_SRP"] == andersen_user.username
    session = reply.body["Session"]
    wrong = {"USERNAME": andersen_user.username, code_parameter: "000000"}
    mismatch = ("CodeMismatchException", "Invalid code or auth state for the user.")
    assert_error(await cognito.respond(challenge, wrong, session), mismatch)
    right = {"USERNAME": andersen_user.username, code_parameter: andersen_user.mfa_code}
    assert_error(await cognito.respond(challenge, right, session), BAD_SESSION)  # single use
    assert_error(await cognito.respond(challenge, right), BAD_SESSION)
    session = (await cognito.login(andersen_user.username, password)).body["Session"]
    assert (await cognito.respond(challenge, right, session)).error is None
    assert forced_challenge_of(andersen_user) == challenge  # MFA is asked at every login


# -- the envelope: malformed input, unknown operations, faults --------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Unable to parse the request body as JSON."),
        (b"\xff\xfe", "Unable to parse the request body as JSON."),
        (b"[" * 50_000 + b"]" * 50_000, "Unable to parse the request body as JSON."),
        (b"[1, 2]", "Expected map or null"),
        (b'"text"', "Expected map or null"),
        (b'{"AuthFlow": "USER_SRP_AUTH", "AuthParameters": []}', "Expected map or null"),
        (
            b'{"AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": 5}}',
            "NUMBER_VALUE can not be converted to a String",
        ),
        (b'{"AuthFlow": {}}', "Start of structure or map found where not expected."),
        (b'{"AuthFlow": ["x"]}', "Start of list found where not expected."),
        (b'{"AuthFlow": true}', "BOOLEAN_VALUE can not be converted to a String"),
    ],
)
async def test_malformed_bodies_get_serialization_exception(
    andersen_cloud: AndersenCloud, cognito: CognitoTestClient, data: bytes, message: str
) -> None:
    if data.startswith(b'{"AuthFlow": "USER_SRP_AUTH"'):
        data = data[:-1] + f', "ClientId": "{andersen_cloud.client_id}"}}'.encode()
    reply = await cognito.post(TARGET_PREFIX + "InitiateAuth", data)
    assert reply.status == 400
    assert reply.body == {"__type": "SerializationException", "Message": message}
    assert reply.headers["x-amzn-ErrorType"] == "SerializationException:"
    assert sum(andersen_cloud.stats.cognito_calls.values()) == 1


@pytest.mark.parametrize("data", [b"", b"null"])
async def test_empty_body_is_an_empty_request(cognito: CognitoTestClient, data: bytes) -> None:
    reply = await cognito.post(TARGET_PREFIX + "GlobalSignOut", data)
    assert reply.error is not None
    assert reply.error[0] == "InvalidParameterException"
    assert "'accessToken'" in reply.error[1]


@pytest.mark.parametrize(
    "target",
    [
        TARGET_PREFIX + "SignUp",
        TARGET_PREFIX,
        "AWSCognitoIdentityService.InitiateAuth",
        "",
    ],
)
async def test_unknown_target_gets_404_bad_request(
    andersen_cloud: AndersenCloud, cognito: CognitoTestClient, target: str
) -> None:
    reply = await cognito.post(target, b"{}")
    assert reply.status == 404
    assert reply.body == {
        "code": "BadRequest",
        "message": "The server did not understand the operation that was requested.",
        "type": "client",
    }
    assert not andersen_cloud.stats.cognito_calls


async def test_missing_target_header(andersen_cloud: AndersenCloud) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(andersen_cloud.endpoints.cognito_url, data=b"{}") as resp,
    ):
        assert resp.status == 404
        assert (await resp.json())["code"] == "BadRequest"


async def test_error_headers_stay_valid_for_hostile_input(cognito: CognitoTestClient) -> None:
    flow = "bad\r\nX-Injected: 1 é" + "x" * 300
    reply = await cognito.call("InitiateAuth", {"AuthFlow": flow})
    assert reply.status == 400
    assert "X-Injected" not in reply.headers
    assert "\n" not in reply.headers["x-amzn-ErrorMessage"]
    assert reply.error is not None
    assert "..." in reply.error[1]
    assert len(reply.error[1]) < 600


async def test_throttling(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser, cognito: CognitoTestClient
) -> None:
    andersen_cloud.faults.throttle_cognito(1)
    reply = await cognito.initiate(andersen_user.username, new_a())
    assert_error(reply, ("TooManyRequestsException", "Rate exceeded"))
    assert reply.headers["x-amzn-ErrorType"] == "TooManyRequestsException:"
    assert andersen_cloud.stats.faults_injected["cognito_throttled"] == 1
    assert (await cognito.initiate(andersen_user.username, new_a())).error is None
    assert andersen_cloud.stats.cognito_calls["InitiateAuth:USER_SRP_AUTH"] == 2


async def test_jwks(andersen_cloud: AndersenCloud) -> None:
    base = andersen_cloud.endpoints.cognito_url
    async with aiohttp.ClientSession() as http:
        url = f"{base}{andersen_cloud.user_pool_id}/.well-known/jwks.json"
        async with http.get(url) as resp:
            keys = (await resp.json())["keys"]
        assert [key["kid"] for key in keys] == [andersen_cloud.tokens.key_id]
        async with http.get(f"{base}eu-west-1_other/.well-known/jwks.json") as resp:
            assert resp.status == 404
