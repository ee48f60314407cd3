"""The emulator's token service: Cognito-shaped RS256 JWTs, expiry and revocation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from andersen_ev.testing.tokens import TokenError, TokenService
from tests.testing.ws_helpers import claims_of

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_t5HV3bFjl"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(clock: FakeClock) -> TokenService:
    return TokenService(issuer=ISSUER, client_id="client", access_lifetime=2.0, clock=clock)


def issue(service: TokenService, device_key: str | None = "eu-west-1_dev") -> tuple[str, str, int]:
    return service.issue(
        sub="sub-1", username="user-1", email="a@example.com", device_key=device_key
    )


def test_claims_are_cognitos(service: TokenService) -> None:
    id_token, access_token, expires_in = issue(service)
    assert expires_in == 2
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    assert header == {"kid": service.key_id, "alg": "RS256"}
    id_claims = claims_of(id_token)
    assert id_claims["token_use"] == "id"
    assert id_claims["aud"] == "client"
    assert id_claims["iss"] == ISSUER
    assert id_claims["cognito:username"] == "user-1"
    assert id_claims["email"] == "a@example.com"
    assert id_claims["exp"] - id_claims["iat"] == 2
    access = claims_of(access_token)
    assert access["token_use"] == "access"
    assert access["client_id"] == "client"
    assert "aud" not in access
    assert access["device_key"] == "eu-west-1_dev"
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert access["origin_jti"] == id_claims["origin_jti"]
    assert service.verify(id_token, "id")["sub"] == "sub-1"
    assert service.verify(access_token, "access")["username"] == "user-1"


def test_no_device_key_claim_without_device(service: TokenService) -> None:
    _, access_token, _ = issue(service, device_key=None)
    assert "device_key" not in claims_of(access_token)


def test_jwks_verifies_signature(service: TokenService) -> None:
    id_token, _, _ = issue(service)
    (jwk,) = service.jwks()["keys"]
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big")
    e = int.from_bytes(base64.urlsafe_b64decode(jwk["e"] + "=="), "big")
    head, payload, sig = id_token.split(".")
    signature = int.from_bytes(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), "big")
    import hashlib

    digest = hashlib.sha256(f"{head}.{payload}".encode()).digest()
    assert pow(signature, e, n).to_bytes(256, "big").endswith(digest)


def test_expiry_by_clock_and_by_knob(service: TokenService, clock: FakeClock) -> None:
    id_token, _, _ = issue(service)
    clock.now += 1
    service.verify(id_token, "id")
    clock.now += 1
    with pytest.raises(TokenError, match="expired"):
        service.verify(id_token, "id")
    fresh, _, _ = issue(service)
    service.expire_all()
    with pytest.raises(TokenError, match="expired"):
        service.verify(fresh, "id")


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: "not-a-jwt", "malformed"),
        (lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), "invalid signature"),
        (lambda t: "eyJhbGciOiJub25lIn0." + t.split(".", 1)[1], "malformed"),
    ],
)
def test_tampered_tokens_rejected(service: TokenService, mangle: Any, reason: str) -> None:
    id_token, _, _ = issue(service)
    with pytest.raises(TokenError) as info:
        service.verify(mangle(id_token), "id")
    assert info.value.reason == reason


def test_token_use_issuer_and_audience_checked(service: TokenService) -> None:
    id_token, access_token, _ = issue(service)
    with pytest.raises(TokenError, match="malformed"):
        service.verify(access_token, "id")
    with pytest.raises(TokenError, match="malformed"):
        service.verify(id_token, "access")
    # a token from another pool's service is unknown here
    other = TokenService(issuer="https://elsewhere", client_id="client")
    foreign, _, _ = issue(other)
    with pytest.raises(TokenError, match="malformed"):
        service.verify(foreign, "id")
    # the pool's issuer or client id changing invalidates what was issued before
    service.issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"
    with pytest.raises(TokenError, match="wrong issuer"):
        service.verify(id_token, "id")
    service.issuer = ISSUER
    service.client_id = "another-client"
    with pytest.raises(TokenError, match="wrong audience"):
        service.verify(id_token, "id")
    with pytest.raises(TokenError, match="wrong audience"):
        service.verify(access_token, "access")


def test_refresh_grants_and_revocation(service: TokenService, clock: FakeClock) -> None:
    id_token, _, _ = issue(service)
    origin = claims_of(id_token)["origin_jti"]
    refresh = service.issue_refresh(
        username="user-1", origin_jti=origin, auth_time=1, device_key="eu-west-1_dev"
    )
    assert refresh.count(".") == 4
    grant = service.refresh_grant(refresh)
    assert grant.device_key == "eu-west-1_dev"
    with pytest.raises(TokenError, match="invalid"):
        service.refresh_grant("nope")
    assert service.revoke_refresh_token(refresh)
    assert not service.revoke_refresh_token("nope")
    with pytest.raises(TokenError, match="revoked"):
        service.refresh_grant(refresh)
    with pytest.raises(TokenError, match="revoked"):
        service.verify(id_token, "id")


def test_revoke_user_and_refresh_expiry(service: TokenService, clock: FakeClock) -> None:
    a = service.issue_refresh(username="a", origin_jti="o1", auth_time=1, device_key=None)
    b = service.issue_refresh(username="b", origin_jti="o2", auth_time=1, device_key=None)
    assert service.revoke_user("a") == 1
    assert service.revoke_user("a") == 0
    service.refresh_grant(b)
    clock.now += service.refresh_lifetime
    with pytest.raises(TokenError, match="expired"):
        service.refresh_grant(b)
    assert service.revoke_user(None, include_access=False) == 1
    with pytest.raises(TokenError, match="revoked"):
        service.refresh_grant(a)
