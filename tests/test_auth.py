"""Log in once, then live on tokens: the token lifecycle against the emulator's Cognito."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import platform
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from andersen_ev import (
    AndersenA2,
    AndersenError,
    AuthenticationError,
    Authenticator,
    CognitoError,
    Endpoints,
    InvalidCredentialsError,
    InvalidInputError,
    RateLimitedError,
    ReauthRequiredError,
    ResponseError,
    ServerError,
    ServiceUnavailableError,
    Tokens,
    UnsupportedChallengeError,
    srp,
)
from andersen_ev.testing import AndersenCloud, EmulatedUser
from tests.loopback import serve

WRONG_PASSWORD = "not the password at all"


@pytest.fixture
async def a2(andersen_cloud: AndersenCloud) -> AsyncIterator[AndersenA2]:
    """Here a client of the emulator not logged in yet, with the default settings: logging
    in is what these tests are about (tests.client_fixtures has the logged-in one)."""
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as client:
        yield client


def secrets_of(tokens: Iterable[Tokens | None]) -> set[str]:
    """Every secret value the given tokens hold."""
    found: set[str] = set()
    for token in tokens:
        if token is None:
            continue
        for secret in (token.id_token, token.access_token, token.refresh_token):
            found.add(secret.get_secret_value())
        if token.device_password is not None:
            found.add(token.device_password.get_secret_value())
    return found


def tokens_expiring(username: str, expires_at: datetime, **fields: object) -> Tokens:
    return Tokens(
        id_token=SecretStr("id-token-value"),
        access_token=SecretStr("access-token-value"),
        refresh_token=SecretStr("refresh-token-value"),
        expires_at=expires_at,
        username=username,
        **fields,
    )


# -- login ---------------------------------------------------------------------------------------


async def test_right_password_logs_in(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    before = a2.tokens
    assert before is None
    assert repr(a2.auth) == "Authenticator(logged_in=False)"
    tokens = await a2.authenticate(*andersen_credentials)
    assert a2.tokens is tokens
    assert tokens.username == andersen_user.username
    assert andersen_cloud.user_for_bearer(tokens.id_token.get_secret_value()) is andersen_user
    assert tokens.device_key in andersen_user.devices  # NewDeviceMetadata, not confirmed yet
    assert tokens.device_group_key == andersen_user.devices[tokens.device_key].group_key
    assert not tokens.device_remembered
    assert tokens.issued_at is not None
    assert tokens.expires_at - tokens.issued_at == timedelta(seconds=3600)
    assert andersen_cloud.stats.cognito_calls["RespondToAuthChallenge:PASSWORD_VERIFIER"] == 1
    assert f"username={andersen_user.username!r}" in repr(a2)
    assert "device='tracked'" in repr(a2.auth)


async def test_wrong_password_is_invalid_credentials(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    with pytest.raises(InvalidCredentialsError, match="password is wrong") as caught:
        await a2.authenticate(andersen_credentials[0], WRONG_PASSWORD)
    assert WRONG_PASSWORD not in str(caught.value)
    assert WRONG_PASSWORD not in repr(caught.value)
    assert a2.tokens is None
    assert andersen_user.failed_logins == 1


async def test_unknown_email_is_invalid_credentials_without_cognito(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_credentials: tuple[str, str]
) -> None:
    with pytest.raises(InvalidCredentialsError, match="no Andersen account") as caught:
        await a2.authenticate("nobody@example.com", andersen_credentials[1])
    assert andersen_credentials[1] not in str(caught.value)
    assert andersen_cloud.stats.lookups == 1
    assert not andersen_cloud.stats.cognito_calls


async def test_repeated_wrong_passwords_lock_the_account(
    a2: AndersenA2, andersen_user: EmulatedUser, andersen_credentials: tuple[str, str]
) -> None:
    email, password = andersen_credentials
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            await a2.authenticate(email, WRONG_PASSWORD)
    with pytest.raises(AuthenticationError, match="wait up to 15 minutes") as caught:
        await a2.authenticate(email, password)
    assert not isinstance(caught.value, InvalidCredentialsError)


@pytest.mark.parametrize("challenge", ["NEW_PASSWORD_REQUIRED", "SMS_MFA", "SOFTWARE_TOKEN_MFA"])
async def test_unsupported_challenge_is_named(
    a2: AndersenA2,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    challenge: str,
) -> None:
    andersen_user.forced_challenge = challenge  # type: ignore[assignment]
    with pytest.raises(UnsupportedChallengeError, match=challenge) as caught:
        await a2.authenticate(*andersen_credentials)
    assert caught.value.challenge == challenge
    assert andersen_credentials[1] not in str(caught.value)
    assert a2.tokens is None


def test_unknown_challenge_message() -> None:
    error = UnsupportedChallengeError("CUSTOM_CHALLENGE")
    assert "CUSTOM_CHALLENGE" in str(error)
    assert "report it" in str(error)


async def test_lookup_outage_is_a_server_error_not_an_authentication_error(
    andersen_cloud: AndersenCloud,
) -> None:
    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>")

    app = web.Application()
    app.router.add_post("/get-pending-user", broken)
    async with serve(app) as base:
        url = base + "get-pending-user"
        endpoints = Endpoints(user_lookup_url=url, cognito_url=andersen_cloud.endpoints.cognito_url)
        async with AndersenA2(endpoints=endpoints) as client:
            with pytest.raises(ServerError, match="user lookup failed with HTTP 502") as caught:
                await client.authenticate("driver@example.com", "pw")
    assert isinstance(caught.value, ServiceUnavailableError)
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.status == 502


# -- refresh -------------------------------------------------------------------------------------


@pytest.mark.andersen_cloud(token_lifetime=2)
async def test_concurrent_callers_cause_one_refresh_per_expiry(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    issued: list[datetime] = []

    def record(tokens: Tokens | None) -> None:
        assert tokens is not None
        assert tokens.issued_at is not None
        issued.append(tokens.issued_at)

    async with AndersenA2(
        endpoints=andersen_cloud.endpoints, refresh_margin=1.0, on_tokens_updated=record
    ) as client:
        await client.authenticate(*andersen_credentials)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 4.5  # spans four expiries of 2-second tokens
        used: set[str] = set()

        async def caller() -> int:
            calls = 0
            while loop.time() < deadline:
                token = await client.auth.id_token()
                # the emulator accepts it: not expired, not revoked
                assert andersen_cloud.user_for_bearer(f"Bearer {token}") is andersen_user
                used.add(token)
                calls += 1
                await asyncio.sleep(0.02)
            return calls

        calls = await asyncio.gather(*(caller() for _ in range(100)))

    refreshes = andersen_cloud.stats.refreshes
    assert all(count > 10 for count in calls)
    assert refreshes >= 3
    assert refreshes == len(issued) - 1  # every token change is one refresh (plus the login)
    assert refreshes == len(used) - 1  # and each refreshed token was the one everybody used
    # each refresh waited for its predecessor to come within the margin of expiry
    assert all(
        later - earlier >= timedelta(seconds=1) for earlier, later in itertools.pairwise(issued)
    )


async def test_refresh_margin_is_capped_at_half_the_lifetime(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    async with AndersenA2(endpoints=andersen_cloud.endpoints, refresh_margin=10_000) as client:
        tokens = await client.authenticate(*andersen_credentials)
        # 3600-second tokens with a 10000-second margin: not refreshed on every call
        assert await client.auth.id_token() == tokens.id_token.get_secret_value()
    assert andersen_cloud.stats.refreshes == 0


@pytest.mark.parametrize(("margin", "refreshes"), [(50.0, 0), (300.0, 1)])
async def test_tokens_without_issue_time_use_the_whole_margin(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    margin: float,
    refreshes: int,
) -> None:
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as first:
        tokens = await first.authenticate(*andersen_credentials)
    soon = datetime.now(UTC) + timedelta(seconds=100)
    saved = tokens.model_copy(update={"issued_at": None, "expires_at": soon})
    async with AndersenA2(
        endpoints=andersen_cloud.endpoints, tokens=saved, refresh_margin=margin
    ) as second:
        await second.auth.id_token()
    assert andersen_cloud.stats.refreshes == refreshes


async def test_invalidate_refreshes_once_for_the_rejected_token(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    old = (await a2.authenticate(*andersen_credentials)).id_token.get_secret_value()
    andersen_cloud.expire_tokens()  # the server rejects it before the client expects
    for _ in range(20):  # many requests failing with UNAUTHENTICATED at once
        a2.auth.invalidate(old)
    tokens = await asyncio.gather(*(a2.auth.id_token() for _ in range(20)))
    assert set(tokens) != {old}
    assert len(set(tokens)) == 1
    assert andersen_cloud.user_for_bearer(tokens[0]) is andersen_user
    a2.auth.invalidate(old)  # a late report about the old token changes nothing
    assert await a2.auth.id_token() == tokens[0]
    assert andersen_cloud.stats.refreshes == 1
    a2.auth.invalidate()  # no token named: the current one is rejected
    assert await a2.auth.id_token() != tokens[0]
    assert andersen_cloud.stats.refreshes == 2


async def test_refresh_needs_the_device_key(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    tokens = await a2.authenticate(*andersen_credentials)
    await a2.auth.refresh()  # sent with DEVICE_KEY: accepted
    # like Cognito on a device-tracking pool, the emulator refuses a refresh without it
    keyless = tokens.model_copy(update={"device_key": None})
    async with AndersenA2(endpoints=andersen_cloud.endpoints, tokens=keyless) as other:
        with pytest.raises(ReauthRequiredError, match="Invalid Refresh Token"):
            await other.auth.refresh()
    assert andersen_cloud.stats.refreshes == 2


async def test_revoked_refresh_token_requires_reauth_without_retrying(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    tokens = await a2.authenticate(*andersen_credentials)
    assert andersen_cloud.revoke_refresh_tokens(andersen_user) == 1
    results = await asyncio.gather(*(a2.auth.refresh() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, ReauthRequiredError) for result in results)
    assert "Refresh Token has been revoked" in str(results[0])
    for _ in range(5):
        with pytest.raises(ReauthRequiredError, match="log in again"):
            await a2.auth.id_token()
    assert andersen_cloud.stats.refreshes == 1  # one attempt, no loop
    assert tokens.refresh_token.get_secret_value() not in str(results[0])
    # a password login starts over
    await a2.authenticate(*andersen_credentials)
    assert andersen_cloud.user_for_bearer(await a2.auth.id_token()) is andersen_user


async def test_transient_refresh_failure_is_retried_by_the_next_call(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    andersen_cloud.faults.throttle_cognito()
    with pytest.raises(RateLimitedError, match="Cognito InitiateAuth was rate limited"):
        await a2.auth.refresh()
    tokens = await a2.auth.refresh()
    assert andersen_cloud.user_for_bearer(tokens.id_token.get_secret_value()) is andersen_user


async def test_cancelled_caller_does_not_cancel_the_shared_refresh(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    andersen_cloud.faults.latency = 0.2
    impatient = asyncio.create_task(a2.auth.refresh())
    patient = asyncio.create_task(a2.auth.refresh())
    await asyncio.sleep(0.05)
    impatient.cancel()
    tokens = await patient
    assert impatient.cancelled()
    assert andersen_cloud.user_for_bearer(tokens.id_token.get_secret_value()) is andersen_user
    assert andersen_cloud.stats.refreshes == 1


async def refresh_in_flight(
    a2: AndersenA2, cloud: AndersenCloud, credentials: tuple[str, str]
) -> asyncio.Task[Tokens]:
    """Log in, then start a refresh that is still waiting for the emulator's answer."""
    await a2.authenticate(*credentials)
    cloud.faults.latency = 1.0
    refresh = asyncio.create_task(a2.auth.refresh())
    await asyncio.sleep(0.05)  # the refresh is waiting for the emulator
    cloud.faults.latency = 0.0
    return refresh


async def test_login_during_a_refresh_wins(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    refresh = await refresh_in_flight(a2, andersen_cloud, andersen_credentials)
    login = await a2.authenticate(*andersen_credentials)
    assert await refresh is login
    assert a2.tokens is login


async def test_login_during_a_refused_refresh_is_not_undone(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    refresh = await refresh_in_flight(a2, andersen_cloud, andersen_credentials)
    andersen_cloud.revoke_refresh_tokens(andersen_user)  # the old session ends
    login = await a2.authenticate(*andersen_credentials)  # and a new one starts
    with pytest.raises(ReauthRequiredError):
        await refresh
    assert a2.tokens is login
    assert await a2.auth.id_token() == login.id_token.get_secret_value()


async def test_not_logged_in_requires_auth(a2: AndersenA2) -> None:
    with pytest.raises(ReauthRequiredError, match="not logged in"):
        await a2.auth.id_token()
    with pytest.raises(ReauthRequiredError, match="not logged in"):
        await a2.confirm_device("x")
    a2.auth.invalidate()  # nothing to invalidate
    await a2.sign_out()  # nothing to sign out


def test_negative_margin_rejected() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        AndersenA2(refresh_margin=-1)


def test_negative_margin_is_invalid_input_that_says_what_to_pass() -> None:
    with pytest.raises(InvalidInputError, match=r"got -1.*pass the seconds before expiry"):
        AndersenA2(refresh_margin=-1)


# -- devices -------------------------------------------------------------------------------------


async def test_confirmed_device_resumes_in_a_new_event_loop_without_password(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    email, password = andersen_credentials
    endpoints = andersen_cloud.endpoints
    async with AndersenA2(endpoints=endpoints) as first:
        await first.authenticate(email, password)
        confirmed = await first.confirm_device("pytest")
        assert await first.confirm_device("again") is confirmed  # remembered already
        assert "device='remembered'" in repr(first)
    assert confirmed.device_remembered
    assert confirmed.device_key is not None
    device = andersen_user.devices[confirmed.device_key]
    assert device.confirmed
    assert device.name == "pytest"
    saved = confirmed.model_dump_json()
    assert password not in saved

    def resume() -> tuple[str, str]:
        async def main() -> tuple[str, str]:
            tokens = Tokens.model_validate_json(saved)
            async with AndersenA2(endpoints=endpoints, tokens=tokens) as second:
                refreshed = await second.auth.refresh()
                return refreshed.id_token.get_secret_value(), refreshed.model_dump_json()

        return asyncio.run(main())

    id_token, resumed = await asyncio.to_thread(resume)
    assert id_token != confirmed.id_token.get_secret_value()
    assert andersen_cloud.user_for_bearer(id_token) is andersen_user
    assert andersen_cloud.stats.refreshes == 1
    assert andersen_cloud.stats.cognito_calls["InitiateAuth:USER_SRP_AUTH"] == 1

    # a later password login proves the device secret (DEVICE_SRP_AUTH) and keeps the device
    async with AndersenA2(endpoints=endpoints, tokens=Tokens.model_validate_json(resumed)) as third:
        again = await third.authenticate(email, password)
    calls = andersen_cloud.stats.cognito_calls
    assert calls["RespondToAuthChallenge:DEVICE_SRP_AUTH"] == 1
    assert calls["RespondToAuthChallenge:DEVICE_PASSWORD_VERIFIER"] == 1
    assert again.device_key == confirmed.device_key
    assert again.device_password == confirmed.device_password
    assert len(andersen_user.devices) == 1


async def test_device_forgotten_by_cognito_falls_back_to_password_login(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    old = await a2.confirm_device("pytest")
    assert old.device_key is not None
    del andersen_user.devices[old.device_key]  # forgotten elsewhere (e.g. in the app)
    tokens = await a2.authenticate(*andersen_credentials)
    assert tokens.device_key not in (None, old.device_key)
    assert not tokens.device_remembered
    assert andersen_cloud.user_for_bearer(tokens.id_token.get_secret_value()) is andersen_user


async def test_wrong_device_secret_falls_back_to_password_login(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    confirmed = await a2.confirm_device("pytest")
    stale = confirmed.model_copy(update={"device_password": SecretStr("stale secret")})
    async with AndersenA2(endpoints=andersen_cloud.endpoints, tokens=stale) as other:
        tokens = await other.authenticate(*andersen_credentials)
    assert andersen_cloud.stats.cognito_calls["RespondToAuthChallenge:DEVICE_PASSWORD_VERIFIER"]
    assert tokens.device_key != confirmed.device_key
    assert andersen_cloud.user_for_bearer(tokens.id_token.get_secret_value()) is andersen_user


async def test_throttled_device_login_keeps_the_device(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    confirmed = await a2.confirm_device("pytest")
    andersen_cloud.faults.throttle_cognito()
    with pytest.raises(RateLimitedError) as caught:
        await a2.authenticate(*andersen_credentials)
    assert not isinstance(caught.value, AuthenticationError)
    assert a2.tokens is confirmed  # no fallback that would drop the remembered device
    assert andersen_cloud.stats.cognito_calls["InitiateAuth:USER_SRP_AUTH"] == 2


@pytest.mark.andersen_cloud(device_tracking=False)
async def test_confirm_device_needs_a_tracked_device(
    a2: AndersenA2, andersen_user: EmulatedUser, andersen_credentials: tuple[str, str]
) -> None:
    tokens = await a2.authenticate(*andersen_credentials)
    assert tokens.device_key is None
    with pytest.raises(AuthenticationError, match="no device to confirm"):
        await a2.confirm_device("pytest")
    await a2.forget_device()  # nothing to forget


async def test_forget_device(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    confirmed = await a2.confirm_device()
    assert confirmed.device_key is not None
    assert andersen_user.devices[confirmed.device_key].name == f"andersen-ev on {platform.node()}"
    await a2.forget_device()
    assert a2.tokens is not None
    assert (a2.tokens.device_key, a2.tokens.device_group_key, a2.tokens.device_password) == (
        None,
        None,
        None,
    )
    assert not andersen_user.devices
    assert andersen_cloud.stats.cognito_calls["ForgetDevice"] == 1


# -- sign-out and callbacks ----------------------------------------------------------------------


async def test_sign_out_revokes_and_forgets(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    seen: list[Tokens | None] = []

    async def remember(tokens: Tokens | None) -> None:
        seen.append(tokens)

    async with AndersenA2(endpoints=andersen_cloud.endpoints, on_tokens_updated=remember) as a2:
        tokens = await a2.authenticate(*andersen_credentials)
        await a2.sign_out()
        assert a2.tokens is None
        assert seen == [tokens, None]
        with pytest.raises(ReauthRequiredError):
            await a2.auth.id_token()
        await a2.sign_out()  # idempotent
    assert andersen_cloud.stats.cognito_calls["GlobalSignOut"] == 1
    async with aiohttp.ClientSession() as http:
        stale = Authenticator(http, andersen_cloud.endpoints, tokens=tokens)
        with pytest.raises(ReauthRequiredError, match="revoked"):
            await stale.refresh()


async def test_sign_out_of_a_dead_session_still_forgets(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.authenticate(*andersen_credentials)
    andersen_cloud.revoke_refresh_tokens()  # access tokens are revoked with them
    await a2.sign_out()  # GlobalSignOut answers NotAuthorized: signed out already
    assert a2.tokens is None
    await a2.authenticate(*andersen_credentials)
    andersen_cloud.revoke_refresh_tokens()
    with pytest.raises(ReauthRequiredError):
        await a2.auth.refresh()
    await a2.sign_out()  # the session is known to be over: no call needed
    assert a2.tokens is None
    assert andersen_cloud.stats.cognito_calls["GlobalSignOut"] == 1


async def test_sign_out_keeps_tokens_when_cognito_fails(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> None:
    tokens = await a2.authenticate(*andersen_credentials)
    andersen_cloud.faults.throttle_cognito()
    with pytest.raises(RateLimitedError, match="Cognito GlobalSignOut"):
        await a2.sign_out()
    assert a2.tokens is tokens


async def test_callbacks_sync_and_failing(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[Tokens | None] = []

    def broken(tokens: Tokens | None) -> None:
        calls.append(tokens)
        raise OSError("disk full")

    async with AndersenA2(endpoints=andersen_cloud.endpoints, on_tokens_updated=broken) as a2:
        tokens = await a2.authenticate(*andersen_credentials)
        refreshed = await a2.auth.refresh()
        confirmed = await a2.confirm_device("pytest")
    assert calls == [tokens, refreshed, confirmed]
    assert "on_tokens_updated failed" in caplog.text
    assert a2.tokens is confirmed


# -- the client object -----------------------------------------------------------------------------


async def test_client_owns_only_the_session_it_creates(andersen_cloud: AndersenCloud) -> None:
    async with aiohttp.ClientSession() as shared:
        async with AndersenA2(shared, endpoints=andersen_cloud.endpoints) as a2:
            assert a2._http() is shared
        assert not shared.closed
        with pytest.raises(AndersenError, match="closed"):
            a2._http()

    own = AndersenA2(endpoints=andersen_cloud.endpoints)
    await own.close()  # never opened: nothing to close
    own = AndersenA2(endpoints=andersen_cloud.endpoints)
    session = own._http()
    assert own._http() is session
    await own.close()
    await own.close()  # idempotent
    assert session.closed


# -- secrets never leak ----------------------------------------------------------------------------


async def test_no_secret_in_reprs_exceptions_or_debug_logs(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    email, password = andersen_credentials
    texts: list[str] = []
    seen: list[Tokens | None] = []
    async with AndersenA2(endpoints=andersen_cloud.endpoints, on_tokens_updated=seen.append) as a2:
        texts.append(repr(a2))
        for attempt in (
            a2.authenticate(email, WRONG_PASSWORD),
            a2.authenticate("nobody@example.com", password),
            a2.auth.id_token(),
        ):
            with pytest.raises(AndersenError) as caught:
                await attempt
            texts += [str(caught.value), repr(caught.value)]
        await a2.authenticate(email, password)
        await a2.confirm_device("pytest")
        await a2.auth.refresh()
        await a2.authenticate(email, password)  # device SRP
        texts += [repr(a2), repr(a2.auth), repr(a2.tokens), str(a2.tokens)]
        andersen_cloud.revoke_refresh_tokens()
        with pytest.raises(ReauthRequiredError) as revoked:
            await a2.auth.refresh()
        texts += [str(revoked.value), repr(revoked.value), str(revoked.value.__cause__)]
        await a2.sign_out()
        texts.append(repr(a2))
    secrets = secrets_of(seen) | {password, WRONG_PASSWORD}
    assert len(secrets) >= 10
    texts.append(caplog.text)
    for secret in secrets:
        for text in texts:
            assert secret not in text


# -- Tokens ----------------------------------------------------------------------------------------


def test_tokens_json_round_trip_keeps_secrets_but_repr_hides_them() -> None:
    tokens = tokens_expiring(
        "user:1",
        datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        issued_at=datetime(2030, 1, 2, 2, 4, 5, tzinfo=UTC),
        device_key="eu-west-1_dev",
        device_group_key="-grp",
        device_password=SecretStr("device-secret"),
    )
    text = tokens.model_dump_json()
    for secret in ("id-token-value", "access-token-value", "refresh-token-value", "device-secret"):
        assert secret in text
        assert secret not in repr(tokens)
        assert secret not in str(tokens)
    again = Tokens.model_validate_json(text)
    assert again == tokens
    assert again.device_remembered
    assert isinstance(tokens.model_dump()["id_token"], SecretStr)  # python mode keeps them hidden
    without_device = tokens_expiring("user:1", datetime(2030, 1, 1, tzinfo=UTC))
    assert Tokens.model_validate_json(without_device.model_dump_json()) == without_device
    assert not without_device.device_remembered


def test_tokens_need_an_aware_expiry() -> None:
    with pytest.raises(ValueError, match="timezone"):
        tokens_expiring("u", datetime(2030, 1, 1))  # noqa: DTZ001 - the point of the test


# -- answers the emulator never gives: a scripted Cognito -----------------------------------------

Answer = tuple[int, dict[str, Any]]
SESSION = "opaque-session-" + "x" * 40  # Cognito's model: at least 20 characters
VERIFIER: dict[str, Any] = {
    "ChallengeName": "PASSWORD_VERIFIER",
    "ChallengeParameters": {
        "SALT": "ab",
        "SRP_B": "02",
        "SECRET_BLOCK": "AAAA",
        "USERNAME": "user",
        "USER_ID_FOR_SRP": "user",
    },
}
RESULT: dict[str, Any] = {
    "AuthenticationResult": {
        "IdToken": "id-1",
        "AccessToken": "access-1",
        "RefreshToken": "refresh-1",
        "ExpiresIn": 3600,
        "NewDeviceMetadata": {"DeviceKey": "eu-west-1_dev", "DeviceGroupKey": "-grp"},
    },
    "ChallengeParameters": {},
}


class ScriptedCognito:
    """Answers each operation from a script (status, body) and records what it was sent."""

    def __init__(self, script: dict[str, list[Answer]]) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, Any]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "lookup").rpartition(".")[2]
        body = json.loads(await request.read())
        self.requests.append((operation, body))
        status, answer = self.script[operation].pop(0)
        return web.json_response(answer, status=status, content_type="application/x-amz-json-1.1")

    def sent(self, operation: str) -> list[dict[str, Any]]:
        return [body for name, body in self.requests if name == operation]


@asynccontextmanager
async def scripted(
    script: dict[str, list[Answer]],
) -> AsyncIterator[tuple[AndersenA2, ScriptedCognito]]:
    """An AndersenA2 whose user lookup and Cognito are a :class:`ScriptedCognito`."""
    fake = ScriptedCognito({"lookup": [(200, {"username": "user"})], **script})
    app = web.Application()
    app.router.add_post("/", fake.handle)
    app.router.add_post("/get-pending-user", fake.handle)
    async with serve(app) as base:
        endpoints = Endpoints(cognito_url=base, user_lookup_url=base + "get-pending-user")
        async with AndersenA2(endpoints=endpoints) as client:
            yield client, fake


@pytest.mark.parametrize(
    "parameters",
    [
        {"SALT": "zz", "SRP_B": "02", "SECRET_BLOCK": "AAAA"},
        {"SALT": "ab", "SRP_B": "02"},
        {"SALT": "ab", "SRP_B": "0", "SECRET_BLOCK": "AAAA"},
        {"SALT": "ab", "SRP_B": "02", "SECRET_BLOCK": "A"},
    ],
)
async def test_garbled_password_verifier_is_malformed(parameters: dict[str, str]) -> None:
    challenge = {"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": parameters}
    async with scripted({"InitiateAuth": [(200, challenge)]}) as (client, _):
        with pytest.raises(CognitoError, match="lacks or garbles") as caught:
            await client.authenticate("me@example.com", "pw")
    assert caught.value.code == "MalformedResponse"


def verifier_with(srp_b: str) -> dict[str, Any]:
    """A PASSWORD_VERIFIER challenge carrying this SRP_B."""
    parameters = {**VERIFIER["ChallengeParameters"], "SRP_B": srp_b}
    return {**VERIFIER, "ChallengeParameters": parameters}


@pytest.mark.parametrize("multiple", [0, 1, 2, 5])
async def test_a_server_b_of_zero_modulo_n_is_refused(multiple: int) -> None:
    """B = 0 (mod N) would make the session key independent of the password: the login
    stops before any claim is sent, even though the server would accept one."""
    script = {
        "InitiateAuth": [(200, verifier_with(f"{multiple * srp.N:x}"))],
        "RespondToAuthChallenge": [(200, RESULT)],
    }
    async with scripted(script) as (client, fake):
        with pytest.raises(CognitoError, match="lacks or garbles"):
            await client.authenticate("me@example.com", "pw")
    assert fake.sent("RespondToAuthChallenge") == []


async def test_a_server_b_that_makes_u_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """SRP-6a aborts when the scrambler u = H(pad(A) | pad(B)) is zero: then the premaster
    secret (B - k*g^x)^(a + u*x) no longer mixes the password in through u*x.

    No B the server can find makes SHA-256 zero, so the test stands in for the hash that
    derives u (``andersen_ev.srp._h_int``): it answers 0 for exactly pad(A) | pad(B), with
    the A the client sent to this server and the B the server answered, and the real hash
    for everything else. The server would accept any claim; the login must stop before
    sending one.
    """
    big_b = 0xB0B
    script = {
        "InitiateAuth": [(200, verifier_with(f"{big_b:x}"))],
        "RespondToAuthChallenge": [(200, RESULT)],
    }
    real_hash = srp._h_int
    zeroed: list[int] = []
    async with scripted(script) as (client, fake):

        def hash_making_u_zero(data: bytes) -> int:
            for sent in fake.sent("InitiateAuth"):
                big_a = int(sent["AuthParameters"]["SRP_A"], 16)
                if data == srp.pad(big_a) + srp.pad(big_b):
                    zeroed.append(big_a)
                    return 0
            return real_hash(data)

        monkeypatch.setattr(srp, "_h_int", hash_making_u_zero)
        with pytest.raises(CognitoError, match="lacks or garbles"):
            await client.authenticate("me@example.com", "pw")
    assert len(zeroed) == 1  # u was derived once, and it was zero
    assert fake.sent("RespondToAuthChallenge") == []


async def test_endless_challenges_stop() -> None:
    script = {"InitiateAuth": [(200, VERIFIER)], "RespondToAuthChallenge": [(200, VERIFIER)] * 5}
    async with scripted(script) as (client, fake):
        with pytest.raises(CognitoError, match="more than 5 challenges"):
            await client.authenticate("me@example.com", "pw")
    assert len(fake.sent("RespondToAuthChallenge")) == 5


async def test_login_answer_without_refresh_token_is_malformed() -> None:
    result = {"AuthenticationResult": {"IdToken": "i", "AccessToken": "a", "ExpiresIn": 60}}
    async with scripted({"InitiateAuth": [(200, result)]}) as (client, _):
        with pytest.raises(CognitoError, match="no RefreshToken"):
            await client.authenticate("me@example.com", "pw")


@pytest.mark.parametrize(
    ("error", "expected", "match"),
    [
        ("User is disabled.", AuthenticationError, r"refused the login \(User is disabled.\)"),
        ("Incorrect username or password.", InvalidCredentialsError, "password is wrong"),
    ],
)
async def test_not_authorized_at_login(
    error: str, expected: type[AuthenticationError], match: str
) -> None:
    refusal = {"__type": "NotAuthorizedException", "message": error}
    script = {"InitiateAuth": [(200, VERIFIER)], "RespondToAuthChallenge": [(400, refusal)]}
    async with scripted(script) as (client, _):
        with pytest.raises(expected, match=match) as caught:
            await client.authenticate("me@example.com", "pw")
    assert type(caught.value) is expected


@pytest.mark.parametrize(
    ("code", "match"),
    [
        ("UserNotConfirmedException", "not confirmed"),
        ("PasswordResetRequiredException", "requires a new password"),
    ],
)
async def test_account_states_at_login(code: str, match: str) -> None:
    refusal = {"__type": code, "message": "m"}
    async with scripted({"InitiateAuth": [(400, refusal)]}) as (client, _):
        with pytest.raises(AuthenticationError, match=match):
            await client.authenticate("me@example.com", "pw")


async def test_lookup_without_username_or_error() -> None:
    async with scripted({"lookup": [(200, {})]}) as (client, fake):
        with pytest.raises(ResponseError, match="HTTP 200 with neither a username"):
            await client.authenticate("me@example.com", "pw")
    assert fake.sent("lookup") == [{"email": "me@example.com"}]


async def test_requests_on_the_wire() -> None:
    with_session = {**VERIFIER, "Session": SESSION}
    rotated: dict[str, Any] = {
        "AuthenticationResult": {
            "IdToken": "id-2",
            "AccessToken": "access-2",
            "RefreshToken": "refresh-2",
            "ExpiresIn": 60,
        }
    }
    script: dict[str, list[Answer]] = {
        "InitiateAuth": [(200, VERIFIER), (200, rotated), (200, with_session)],
        "RespondToAuthChallenge": [(200, RESULT), (200, VERIFIER)],
        "ConfirmDevice": [(200, {"UserConfirmationNecessary": True})],
        "UpdateDeviceStatus": [(200, {})],
    }
    async with scripted(script) as (client, fake):
        await client.authenticate("me@example.com", "pw")
        confirmed = await client.confirm_device("garage")
        refreshed = await client.auth.refresh()
        with pytest.raises(CognitoError, match="refresh was answered with the PASSWORD_VERIFIER"):
            await client.auth.refresh()

    initiate = fake.sent("InitiateAuth")
    assert initiate[0]["AuthFlow"] == "USER_SRP_AUTH"
    assert set(initiate[0]["AuthParameters"]) == {"USERNAME", "SRP_A"}
    first_answer = fake.sent("RespondToAuthChallenge")[0]
    assert "Session" not in first_answer  # none was sent, so none goes back
    assert set(first_answer["ChallengeResponses"]) == {
        "USERNAME",
        "TIMESTAMP",
        "PASSWORD_CLAIM_SECRET_BLOCK",
        "PASSWORD_CLAIM_SIGNATURE",
    }
    [confirm] = fake.sent("ConfirmDevice")
    assert confirm["AccessToken"] == "access-1"
    assert confirm["DeviceKey"] == "eu-west-1_dev"
    assert confirm["DeviceName"] == "garage"
    assert set(confirm["DeviceSecretVerifierConfig"]) == {"PasswordVerifier", "Salt"}
    assert fake.sent("UpdateDeviceStatus") == [
        {
            "AccessToken": "access-1",
            "DeviceKey": "eu-west-1_dev",
            "DeviceRememberedStatus": "remembered",
        }
    ]
    assert initiate[1] == {
        "AuthFlow": "REFRESH_TOKEN_AUTH",
        "ClientId": client.endpoints.client_id,
        "AuthParameters": {"REFRESH_TOKEN": "refresh-1", "DEVICE_KEY": "eu-west-1_dev"},
    }
    assert confirmed.device_remembered
    assert refreshed.refresh_token.get_secret_value() == "refresh-2"  # rotation is honoured
    assert refreshed.device_password == confirmed.device_password


async def test_session_is_sent_back_when_given() -> None:
    with_session = {**VERIFIER, "Session": SESSION}
    script = {"InitiateAuth": [(200, with_session)], "RespondToAuthChallenge": [(200, RESULT)]}
    async with scripted(script) as (client, fake):
        await client.authenticate("me@example.com", "pw")
    assert fake.sent("RespondToAuthChallenge")[0]["Session"] == SESSION
