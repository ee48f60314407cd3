"""The Cognito wire format: our calls against moto's Cognito server, the emulator, and odd servers.

moto is a third-party implementation of Cognito's JSON protocol. It accepts any SRP signature
and tracks no devices, so it checks the wire format (requests accepted, answers and errors
parsed), not the SRP maths (see test_srp.py and test_auth.py for those).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiohttp import web
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from andersen_ev import (
    AndersenA2,
    AndersenConnectionError,
    AndersenTimeoutError,
    Authenticator,
    CognitoError,
    Endpoints,
    InvalidCredentialsError,
    InvalidInputError,
    RateLimitedError,
    ReauthRequiredError,
    ServerError,
    TokenStore,
)
from andersen_ev.auth.answers import read_auth_step
from andersen_ev.auth.codec import CONTENT_TYPE, TARGET_PREFIX, read_error
from andersen_ev.auth.cognito import CognitoClient
from andersen_ev.testing import AndersenCloud, EmulatedUser
from tests.loopback import serve
from tests.processes import Children

MOTO_EMAIL = "bob@example.com"
MOTO_PASSWORD = "Moto-Passw0rd!"


@dataclass(frozen=True)
class MotoPool:
    url: str
    pool_id: str
    client_id: str
    username: str


@pytest.fixture(scope="module")
def moto_pool() -> Iterator[MotoPool]:
    """moto's Cognito server on loopback with one pool, one app client and one user."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        admin = boto3.client(
            "cognito-idp",
            region_name="eu-west-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        try:
            pool_id = admin.create_user_pool(PoolName="andersen")["UserPool"]["Id"]
            client_id = admin.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName="konnect",
                ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )["UserPoolClient"]["ClientId"]
            admin.admin_create_user(UserPoolId=pool_id, Username="bob", MessageAction="SUPPRESS")
            admin.admin_set_user_password(
                UserPoolId=pool_id, Username="bob", Password=MOTO_PASSWORD, Permanent=True
            )
        finally:
            admin.close()
        yield MotoPool(url=url, pool_id=pool_id, client_id=client_id, username="bob")
    finally:
        server.stop()


def lookup_app(usernames: dict[str, str]) -> web.Application:
    """A stand-in for Andersen's /get-pending-user, mapping emails to Cognito usernames."""

    async def lookup(request: web.Request) -> web.Response:
        email = (await request.json())["email"]
        if email in usernames:
            return web.json_response({"username": usernames[email]})
        return web.json_response({"error": f'Pending user with email "{email}" not found'})

    app = web.Application()
    app.router.add_post("/get-pending-user", lookup)
    return app


@pytest.fixture
async def moto_endpoints(moto_pool: MotoPool) -> AsyncIterator[Endpoints]:
    """Endpoints whose Cognito is moto and whose user lookup maps bob's email to 'bob'."""
    async with serve(lookup_app({MOTO_EMAIL: moto_pool.username})) as base:
        yield Endpoints(
            cognito_url=moto_pool.url + "/",
            user_lookup_url=base + "get-pending-user",
            user_pool_id=moto_pool.pool_id,
            client_id=moto_pool.client_id,
        )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# -- moto --------------------------------------------------------------------------------------


async def test_moto_accepts_srp_login_and_refresh(
    http: aiohttp.ClientSession, moto_endpoints: Endpoints
) -> None:
    auth = Authenticator(http, moto_endpoints)
    tokens = await auth.login(MOTO_EMAIL, MOTO_PASSWORD)
    assert tokens.username  # moto's USER_ID_FOR_SRP
    assert tokens.device_key is None  # moto tracks no devices
    assert tokens.issued_at is not None
    assert tokens.expires_at - tokens.issued_at == timedelta(seconds=3600)

    refreshed = await auth.refresh()
    assert refreshed.id_token != tokens.id_token
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token  # no new one: the old one is kept
    assert refreshed.expires_at > tokens.expires_at


async def test_moto_unknown_user_is_invalid_credentials(
    http: aiohttp.ClientSession, moto_pool: MotoPool
) -> None:
    async with serve(lookup_app({"ghost@example.com": "ghost"})) as base:
        endpoints = Endpoints(
            cognito_url=moto_pool.url,
            user_lookup_url=base + "get-pending-user",
            user_pool_id=moto_pool.pool_id,
            client_id=moto_pool.client_id,
        )
        with pytest.raises(InvalidCredentialsError, match="no user") as caught:
            await Authenticator(http, endpoints).login("ghost@example.com", MOTO_PASSWORD)
    assert MOTO_PASSWORD not in str(caught.value)
    cause = caught.value.__cause__
    assert isinstance(cause, CognitoError)
    assert (cause.code, cause.service_message, cause.status) == (
        "UserNotFoundException",
        "User does not exist.",
        400,
    )


async def test_moto_refused_refresh_requires_reauth(
    http: aiohttp.ClientSession, moto_endpoints: Endpoints
) -> None:
    tokens = await Authenticator(http, moto_endpoints).login(MOTO_EMAIL, MOTO_PASSWORD)
    unknown = "eyJjdHkiOiJKV1QifQ.unknown-refresh-token.x.y.z"
    stale = tokens.model_copy(update={"refresh_token": SecretStr(unknown)})
    auth = Authenticator(http, moto_endpoints, tokens=stale)
    with pytest.raises(ReauthRequiredError, match="log in again") as caught:
        await auth.refresh()
    assert isinstance(caught.value.__cause__, CognitoError)
    assert caught.value.__cause__.code == "NotAuthorizedException"
    assert unknown not in str(caught.value)


async def test_moto_error_echoing_a_token_is_scrubbed(
    http: aiohttp.ClientSession, moto_endpoints: Endpoints
) -> None:
    # moto answers GlobalSignOut for an unknown token with the token as the message
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLWEtZmFrZS10b2tlbg"
    with pytest.raises(CognitoError) as caught:
        await CognitoClient(http, moto_endpoints).global_sign_out(token)
    assert caught.value.code == "NotAuthorizedException"
    assert token not in str(caught.value)
    assert "[redacted]" in caught.value.service_message


async def test_moto_unimplemented_operation_is_a_server_error(
    http: aiohttp.ClientSession, moto_endpoints: Endpoints
) -> None:
    config = {"PasswordVerifier": "AQ==", "Salt": "AQ=="}
    with pytest.raises(ServerError) as caught:
        await CognitoClient(http, moto_endpoints).confirm_device(
            "access-token-value", "eu-west-1_device", "name", config
        )
    assert caught.value.status == 500
    cause = caught.value.__cause__
    assert isinstance(cause, CognitoError)
    assert cause.code == "500"
    assert len(cause.service_message) <= 303


# -- the emulator ------------------------------------------------------------------------------


async def test_emulator_answers_unknown_operation_with_404(
    http: aiohttp.ClientSession, andersen_cloud: AndersenCloud
) -> None:
    headers = {"X-Amz-Target": f"{TARGET_PREFIX}.ListDevices", "Content-Type": CONTENT_TYPE}
    async with http.post(
        andersen_cloud.endpoints.cognito_url, data=b'{"AccessToken": "x"}', headers=headers
    ) as response:
        status, body = response.status, await response.read()
    assert status == 404
    code, message = read_error(status, body)
    assert (code, message) == (
        "404",
        "The server did not understand the operation that was requested.",
    )


async def test_operations_the_library_does_not_send_are_refused_unsent(
    http: aiohttp.ClientSession, andersen_cloud: AndersenCloud
) -> None:
    client = CognitoClient(http, andersen_cloud.endpoints)
    with pytest.raises(InvalidInputError, match="does not send Cognito ListDevices"):
        await client.call("ListDevices", {"AccessToken": "x"})
    assert not andersen_cloud.stats.cognito_calls


async def test_device_operations_against_the_emulator(
    http: aiohttp.ClientSession,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    auth = Authenticator(http, andersen_cloud.endpoints)
    tokens = await auth.login(*andersen_credentials)
    assert tokens.device_key is not None
    client = CognitoClient(http, andersen_cloud.endpoints)
    access = tokens.access_token.get_secret_value()
    await client.update_device_status(access, tokens.device_key, remembered=True)
    assert andersen_user.devices[tokens.device_key].remembered
    await client.update_device_status(access, tokens.device_key, remembered=False)
    assert not andersen_user.devices[tokens.device_key].remembered
    await client.forget_device(access, tokens.device_key)
    assert tokens.device_key not in andersen_user.devices
    with pytest.raises(CognitoError, match="Device does not exist") as caught:
        await client.forget_device(access, tokens.device_key)
    assert caught.value.code == "ResourceNotFoundException"


async def test_throttling_is_rate_limited_and_says_to_wait(
    http: aiohttp.ClientSession,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    andersen_cloud.faults.throttle_cognito()
    with pytest.raises(RateLimitedError, match="wait a while") as caught:
        await Authenticator(http, andersen_cloud.endpoints).login(*andersen_credentials)
    assert caught.value.operation == "Cognito InitiateAuth"
    assert caught.value.retry_after is None
    assert isinstance(caught.value.__cause__, CognitoError)
    assert caught.value.__cause__.code == "TooManyRequestsException"


# -- requests that do not fit the model ----------------------------------------------------------


async def test_invalid_request_names_the_parameter_not_its_value(
    http: aiohttp.ClientSession,
) -> None:
    client = CognitoClient(http, Endpoints(cognito_url="http://127.0.0.1:9/"))
    with pytest.raises(ValueError, match="parameter AccessToken must be text") as caught:
        await client.call("GlobalSignOut", {"AccessToken": 123456789})
    assert "123456789" not in str(caught.value)
    with pytest.raises(ValueError, match="parameter DeviceName must be 1 to 1024 characters"):
        await client.confirm_device("token", "key", "", {"PasswordVerifier": "a", "Salt": "b"})


async def test_invalid_request_is_invalid_input_and_says_nothing_was_sent(
    http: aiohttp.ClientSession,
) -> None:
    client = CognitoClient(http, Endpoints(cognito_url="http://127.0.0.1:9/"))
    with pytest.raises(InvalidInputError, match=r"ConfirmDevice .*DeviceName.*nothing was sent"):
        await client.confirm_device("token", "key", "", {"PasswordVerifier": "a", "Salt": "b"})


# -- odd servers -------------------------------------------------------------------------------


def _answering(status: int, body: bytes, content_type: str = "application/json") -> web.Application:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/", handler)
    return app


@pytest.mark.parametrize(
    ("status", "body", "code", "raised"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", "502", ServerError),
        (503, b"", "503", ServerError),
        (
            400,
            b'{"__type":"com.amazonaws#InvalidParameterException","message":"m"}',
            "InvalidParameterException",
            CognitoError,
        ),
        (400, b"not json at all", "400", CognitoError),
        (400, b"", "400", CognitoError),
    ],
)
async def test_error_answers_are_outages_or_cognito_errors(
    http: aiohttp.ClientSession, status: int, body: bytes, code: str, raised: type[Exception]
) -> None:
    async with serve(_answering(status, body)) as url:
        client = CognitoClient(http, Endpoints(cognito_url=url))
        with pytest.raises(raised) as caught:
            await client.initiate_auth("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": "r"})
    error = caught.value if raised is CognitoError else caught.value.__cause__
    assert isinstance(error, CognitoError)
    assert (error.code, error.status) == (code, status)
    assert str(error).startswith(f"Cognito InitiateAuth failed with {code}")


async def test_long_messages_are_cut(http: aiohttp.ClientSession) -> None:
    body = b'{"__type": "InvalidParameterException", "message": "%s"}' % (b"x" * 5000)
    async with serve(_answering(400, body)) as url:
        client = CognitoClient(http, Endpoints(cognito_url=url))
        assert repr(client) == f"CognitoClient(url={url!r})"
        with pytest.raises(CognitoError) as caught:
            await client.global_sign_out("token")
    assert caught.value.service_message == "x" * 300 + "..."


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json", "is not JSON"),
        (b"[1, 2]", "is not a JSON object"),
        (b"{}", "neither tokens nor a challenge"),
        (b"", "neither tokens nor a challenge"),
        (b'{"AuthenticationResult": {"AccessToken": "a"}}', "without tokens"),
    ],
)
async def test_malformed_success_answers(
    http: aiohttp.ClientSession, body: bytes, match: str
) -> None:
    async with serve(_answering(200, body, "application/x-amz-json-1.1")) as url:
        client = CognitoClient(http, Endpoints(cognito_url=url))
        with pytest.raises(CognitoError, match=match) as caught:
            await client.initiate_auth("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": "r"})
    assert caught.value.code == "MalformedResponse"


_TOKENS = {"IdToken": "i", "AccessToken": "a", "RefreshToken": "r", "ExpiresIn": 60}


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        ({"ChallengeName": "X", "ChallengeParameters": ["a"]}, "ChallengeParameters that are"),
        ({"ChallengeName": "X", "Session": "short"}, "a Session Cognito would not send"),
        ({"ChallengeName": 7}, "neither tokens nor a challenge"),
        ({"AuthenticationResult": ["tokens"]}, "AuthenticationResult that is not an object"),
        ({"AuthenticationResult": {**_TOKENS, "RefreshToken": 1}}, "RefreshToken that is not"),
        ({"AuthenticationResult": {**_TOKENS, "ExpiresIn": True}}, "ExpiresIn that is not"),
        ({"AuthenticationResult": {**_TOKENS, "ExpiresIn": 0}}, "ExpiresIn that is not"),
        ({"AuthenticationResult": {**_TOKENS, "NewDeviceMetadata": "k"}}, "NewDeviceMetadata"),
        (
            {"AuthenticationResult": {**_TOKENS, "NewDeviceMetadata": {"DeviceKey": 1}}},
            "DeviceKey or DeviceGroupKey that is not text",
        ),
    ],
)
def test_answers_cognito_would_not_send_are_malformed(answer: dict[str, Any], match: str) -> None:
    with pytest.raises(CognitoError, match=match) as caught:
        read_auth_step("InitiateAuth", answer)
    assert caught.value.code == "MalformedResponse"
    assert caught.value.operation == "InitiateAuth"


def test_answers_are_read_into_steps() -> None:
    device = {"DeviceKey": "k", "DeviceGroupKey": "g"}
    step = read_auth_step(
        "InitiateAuth", {"AuthenticationResult": {**_TOKENS, "NewDeviceMetadata": device}}
    )
    assert step.challenge is None
    assert step.result is not None
    assert (step.result.expires_in, step.result.device_key, step.result.device_group_key) == (
        60,
        "k",
        "g",
    )
    challenge = read_auth_step(
        "InitiateAuth",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {"SALT": 1},
            "Session": "s" * 20,
        },
    )
    assert (challenge.challenge, challenge.parameters, challenge.result) == (
        "PASSWORD_VERIFIER",
        {"SALT": "1"},
        None,
    )
    assert challenge.session == "s" * 20


async def test_unreachable_cognito_is_a_connection_error(http: aiohttp.ClientSession) -> None:
    async with serve(web.Application()) as url:
        pass  # the port is free again: nothing listens there
    client = CognitoClient(http, Endpoints(cognito_url=url))
    with pytest.raises(AndersenConnectionError, match="check the network") as caught:
        await client.global_sign_out("token")
    assert isinstance(caught.value, ConnectionError)


async def test_silent_cognito_is_a_timeout(http: aiohttp.ClientSession) -> None:
    never = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await never.wait()
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_post("/", hang)
    async with serve(app) as url:
        client = CognitoClient(http, Endpoints(cognito_url=url), timeout=0.2)
        with pytest.raises(AndersenTimeoutError, match="timed out") as caught:
            await client.global_sign_out("token")
    assert isinstance(caught.value, TimeoutError)


# -- botocore: never imported by the library -----------------------------------------------------


def test_import_does_not_load_botocore(children: Children) -> None:
    code = (
        "import sys, andersen_ev; sys.exit('botocore' in sys.modules or 'graphql' in sys.modules)"
    )
    assert children.run([sys.executable, "-c", code]).returncode == 0


STORED_SESSION = """
import asyncio, sys
from andersen_ev import AndersenA2, Endpoints, TokenStore

async def main():
    store = TokenStore(sys.argv[1])
    async with AndersenA2(
        endpoints=Endpoints(cognito_url=sys.argv[2], user_lookup_url=sys.argv[3]),
        tokens=await store.load(),
        on_tokens_updated=store.update,
    ) as a2:
        await a2.auth.refresh()
        await a2.authenticate(sys.argv[4], sys.argv[5])  # with the remembered device
        await a2.forget_device()
        await a2.sign_out()
    print(sorted(name for name in sys.modules if name.split(".")[0] in ("botocore", "boto3")))

asyncio.run(main())
"""


async def test_a_whole_session_never_imports_botocore(
    tmp_path: Path,
    children: Children,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    """Stored tokens, a refresh, a device login, forgetting, signing out: no botocore."""
    store = TokenStore(tmp_path / "tokens.json")
    endpoints = andersen_cloud.endpoints
    async with AndersenA2(endpoints=endpoints, on_tokens_updated=store.update) as a2:
        await a2.authenticate(*andersen_credentials)
        await a2.confirm_device("parent")
    command = [
        sys.executable,
        "-c",
        STORED_SESSION,
        str(store.path),
        endpoints.cognito_url,
        endpoints.user_lookup_url,
        *andersen_credentials,
    ]
    result = await asyncio.to_thread(children.run, command)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
    calls = andersen_cloud.stats.cognito_calls
    assert calls["InitiateAuth:REFRESH_TOKEN_AUTH"] == 1
    assert calls["RespondToAuthChallenge:DEVICE_PASSWORD_VERIFIER"] == 1
    assert calls["GlobalSignOut"] == 1
    assert not store.path.exists()
