"""Third-party clients against the emulator's Cognito: botocore and pycognito's AWSSRP.

These clients work against the real service. If they log in here (and fail with a wrong
password), the emulator's SRP, wire format and error shapes agree with real Cognito's.
botocore is synchronous: each test drives it in a thread while the emulator serves on the
event loop.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP, generate_hash_device

from andersen_ev import srp
from andersen_ev.const import Endpoints
from andersen_ev.testing import AndersenCloud, EmulatedUser
from tests.testing.srp_client import claim, new_a

_T = TypeVar("_T")

# one attempt: botocore would otherwise retry the throttling fault behind the test's back
UNSIGNED_CONFIG = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})


async def in_thread(client: BaseClient, work: Callable[[BaseClient], _T]) -> _T:
    """Run ``work(client)`` in a thread, then close the client's connections."""

    def run() -> _T:
        try:
            return work(client)
        finally:
            client.close()

    return await asyncio.to_thread(run)


def unsigned_client(make: Callable[..., BaseClient], cloud: AndersenCloud) -> BaseClient:
    """An unsigned cognito-idp client from ``make`` (botocore's or boto3's), at the emulator."""
    return make(
        "cognito-idp",
        region_name="eu-west-1",
        endpoint_url=cloud.endpoints.cognito_url,
        config=UNSIGNED_CONFIG,
    )


def botocore_client(cloud: AndersenCloud) -> BaseClient:
    return unsigned_client(botocore.session.get_session().create_client, cloud)


def boto3_client(cloud: AndersenCloud) -> BaseClient:
    return unsigned_client(boto3.session.Session().client, cloud)


def srp_login_with_botocore(
    client: BaseClient, endpoints: Endpoints, username: str, password: str
) -> dict[str, Any]:
    """USER_SRP_AUTH with botocore doing the wire work and andersen_ev.srp the maths."""
    a = new_a()
    challenge = client.initiate_auth(  # type: ignore[attr-defined]
        AuthFlow="USER_SRP_AUTH",
        ClientId=endpoints.client_id,
        AuthParameters={"USERNAME": username, "SRP_A": f"{srp.client_public(a):x}"},
    )
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    assert "Session" not in challenge
    params = challenge["ChallengeParameters"]
    user_id = params["USER_ID_FOR_SRP"]
    when, signature = claim(
        params, a=a, prefix=endpoints.pool_name, name=user_id, password=password
    )
    answer: dict[str, Any] = client.respond_to_auth_challenge(  # type: ignore[attr-defined]
        ClientId=endpoints.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses={
            "USERNAME": user_id,
            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
            "TIMESTAMP": when,
            "PASSWORD_CLAIM_SIGNATURE": signature,
        },
    )
    return answer


async def test_botocore_logs_in_through_the_emulator(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    endpoints = andersen_cloud.endpoints
    answer = await in_thread(
        botocore_client(andersen_cloud),
        lambda c: srp_login_with_botocore(
            c, endpoints, andersen_user.username, andersen_credentials[1]
        ),
    )
    result = answer["AuthenticationResult"]
    assert result["TokenType"] == "Bearer"
    assert result["ExpiresIn"] == 3600
    assert set(result["NewDeviceMetadata"]) == {"DeviceKey", "DeviceGroupKey"}
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ChallengeParameters"] == {}
    assert andersen_cloud.user_for_bearer(result["IdToken"]) is andersen_user


async def test_botocore_parses_the_wrong_password_error(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    endpoints = andersen_cloud.endpoints
    with pytest.raises(ClientError) as caught:
        await in_thread(
            botocore_client(andersen_cloud),
            lambda c: srp_login_with_botocore(c, endpoints, andersen_user.username, "wrong"),
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "NotAuthorizedException"
    assert error["Message"] == "Incorrect username or password."
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


async def test_botocore_parses_refresh_and_device_calls(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    endpoints = andersen_cloud.endpoints

    def scenario(client: BaseClient) -> dict[str, Any]:
        result = srp_login_with_botocore(
            client, endpoints, andersen_user.username, andersen_credentials[1]
        )["AuthenticationResult"]
        device_key = result["NewDeviceMetadata"]["DeviceKey"]
        _, config = generate_hash_device(result["NewDeviceMetadata"]["DeviceGroupKey"], device_key)
        confirmed = client.confirm_device(  # type: ignore[attr-defined]
            AccessToken=result["AccessToken"],
            DeviceKey=device_key,
            DeviceSecretVerifierConfig=config,
            DeviceName="botocore",
        )
        assert confirmed["UserConfirmationNecessary"] is False
        client.update_device_status(  # type: ignore[attr-defined]
            AccessToken=result["AccessToken"],
            DeviceKey=device_key,
            DeviceRememberedStatus="remembered",
        )
        refreshed: dict[str, Any] = client.initiate_auth(  # type: ignore[attr-defined]
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=endpoints.client_id,
            AuthParameters={"REFRESH_TOKEN": result["RefreshToken"], "DEVICE_KEY": device_key},
        )
        with pytest.raises(ClientError) as caught:
            client.initiate_auth(  # type: ignore[attr-defined]
                AuthFlow="REFRESH_TOKEN_AUTH",
                ClientId=endpoints.client_id,
                AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
            )
        assert caught.value.response["Error"]["Code"] == "NotAuthorizedException"
        assert caught.value.response["Error"]["Message"] == "Invalid Refresh Token."
        client.forget_device(  # type: ignore[attr-defined]
            AccessToken=result["AccessToken"], DeviceKey=device_key
        )
        client.global_sign_out(AccessToken=result["AccessToken"])  # type: ignore[attr-defined]
        return refreshed

    refreshed = await in_thread(botocore_client(andersen_cloud), scenario)
    assert "RefreshToken" not in refreshed["AuthenticationResult"]
    assert andersen_user.devices == {}
    assert andersen_cloud.stats.refreshes == 2


async def test_botocore_sees_throttling(
    andersen_cloud: AndersenCloud,
) -> None:
    andersen_cloud.faults.throttle_cognito(1)

    def scenario(client: BaseClient) -> str:
        with pytest.raises(ClientError) as caught:
            client.global_sign_out(AccessToken="x")  # type: ignore[attr-defined]
        return str(caught.value.response["Error"]["Code"])

    assert await in_thread(botocore_client(andersen_cloud), scenario) == "TooManyRequestsException"


async def test_pycognito_logs_in_and_rejects_a_wrong_password(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    endpoints = andersen_cloud.endpoints

    def authenticate(client: BaseClient, password: str) -> dict[str, Any]:
        aws = AWSSRP(
            username=andersen_user.username,
            password=password,
            pool_id=endpoints.user_pool_id,
            client_id=endpoints.client_id,
            client=client,
        )
        tokens: dict[str, Any] = aws.authenticate_user()
        return tokens

    tokens = await in_thread(
        boto3_client(andersen_cloud), lambda c: authenticate(c, andersen_credentials[1])
    )
    assert (
        andersen_cloud.user_for_bearer(tokens["AuthenticationResult"]["IdToken"]) is andersen_user
    )

    with pytest.raises(ClientError) as caught:
        await in_thread(boto3_client(andersen_cloud), lambda c: authenticate(c, "wrong"))
    assert caught.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert caught.value.response["Error"]["Message"] == "Incorrect username or password."


async def test_pycognito_device_challenge(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    """pycognito answers DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER with its own maths."""
    endpoints = andersen_cloud.endpoints
    password = andersen_credentials[1]

    def scenario(client: BaseClient) -> tuple[str, dict[str, Any]]:
        first = AWSSRP(
            username=andersen_user.username,
            password=password,
            pool_id=endpoints.user_pool_id,
            client_id=endpoints.client_id,
            client=client,
        ).authenticate_user()["AuthenticationResult"]
        metadata = first["NewDeviceMetadata"]
        # pycognito's confirm_device posts to the production URL: do its request by hand
        device_password, config = generate_hash_device(
            metadata["DeviceGroupKey"], metadata["DeviceKey"]
        )
        client.confirm_device(  # type: ignore[attr-defined]
            AccessToken=first["AccessToken"],
            DeviceKey=metadata["DeviceKey"],
            DeviceSecretVerifierConfig=config,
        )
        second: dict[str, Any] = AWSSRP(
            username=andersen_user.username,
            password=password,
            pool_id=endpoints.user_pool_id,
            client_id=endpoints.client_id,
            client=client,
            device_key=metadata["DeviceKey"],
            device_group_key=metadata["DeviceGroupKey"],
            device_password=device_password,
        ).authenticate_user()
        return metadata["DeviceKey"], second

    device_key, second = await in_thread(boto3_client(andersen_cloud), scenario)
    assert "NewDeviceMetadata" not in second["AuthenticationResult"]
    calls = andersen_cloud.stats.cognito_calls
    assert calls["RespondToAuthChallenge:DEVICE_SRP_AUTH"] == 1
    assert calls["RespondToAuthChallenge:DEVICE_PASSWORD_VERIFIER"] == 1
    access = second["AuthenticationResult"]["AccessToken"].split(".")[1]
    assert device_key in base64.urlsafe_b64decode(access + "==").decode()
