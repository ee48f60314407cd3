"""The emulator's token service: RS256 JWTs shaped like Cognito's, and opaque refresh tokens.

Cognito signs id and access tokens with RS256. The emulator does the same, in pure Python
(an RSA key generated once per process, lazily), so that clients which decode or verify
tokens see what they would see in production: a ``kid`` header, Cognito's claims, and a
JWKS document at ``/<poolId>/.well-known/jwks.json``.

Every token issued is remembered by its ``jti`` so that tests can expire or revoke tokens
at will (:meth:`TokenService.expire_all`, :meth:`TokenService.revoke_user`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

__all__ = ["RefreshGrant", "TokenError", "TokenService"]

_E: Final = 65537
_SHA256_DIGEST_INFO: Final = bytes.fromhex("3031300d060960864801650304020105000420")
_SMALL_PRIMES: Final = tuple(
    p for p in range(3, 2000, 2) if all(p % q for q in range(3, math.isqrt(p) + 1, 2))
)


class TokenError(Exception):
    """A token is malformed, badly signed, expired or revoked; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_probable_prime(n: int, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _random_prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if (candidate - 1) % _E and _is_probable_prime(candidate):
            return candidate


@dataclass(frozen=True)
class _RsaKey:
    n: int
    d: int
    p: int
    q: int
    kid: str

    @classmethod
    def generate(cls, bits: int = 2048) -> _RsaKey:
        while True:
            p, q = _random_prime(bits // 2), _random_prime(bits // 2)
            n = p * q
            if p != q and n.bit_length() == bits:
                break
        d = pow(_E, -1, (p - 1) * (q - 1))
        kid = _b64url(hashlib.sha256(n.to_bytes(bits // 8, "big")).digest())[:43] + "="
        return cls(n=n, d=d, p=p, q=q, kid=kid)

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def _encoded_digest(self, message: bytes) -> int:
        digest = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        return int.from_bytes(padded, "big")

    def sign(self, message: bytes) -> bytes:
        m = self._encoded_digest(message)
        # CRT: four times faster than pow(m, d, n)
        m1 = pow(m, self.d % (self.p - 1), self.p)
        m2 = pow(m, self.d % (self.q - 1), self.q)
        h = (pow(self.q, -1, self.p) * (m1 - m2)) % self.p
        return (m2 + h * self.q).to_bytes(self.size, "big")

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != self.size:
            return False
        return pow(int.from_bytes(signature, "big"), _E, self.n) == self._encoded_digest(message)

    def jwk(self) -> dict[str, str]:
        return {
            "alg": "RS256",
            "e": _b64url(_E.to_bytes(3, "big")),
            "kid": self.kid,
            "kty": "RSA",
            "n": _b64url(self.n.to_bytes(self.size, "big")),
            "use": "sig",
        }


_KEY_LOCK = threading.Lock()
_PROCESS_KEY: _RsaKey | None = None


def _process_key() -> _RsaKey:
    """One signing key per process: generating one costs about a second of pure Python."""
    global _PROCESS_KEY  # noqa: PLW0603 - a lazily created process-wide cache
    with _KEY_LOCK:
        if _PROCESS_KEY is None:
            _PROCESS_KEY = _RsaKey.generate()
        return _PROCESS_KEY


@lru_cache(maxsize=1024)
def _signed_here(message: bytes, signature: bytes) -> bool:
    """Whether the process key signed ``message`` (kept: clients resend the same token).

    Each check is a modular exponentiation; revocation and expiry are checked every time.
    """
    return _process_key().verify(message, signature)


@dataclass
class RefreshGrant:
    """What a refresh token stands for: who logged in, when, and with which device."""

    username: str
    origin_jti: str
    auth_time: int
    device_key: str | None
    expires_at: float
    revoked: bool = False


@dataclass
class _Issued:
    username: str
    token_use: str
    expires_at: float
    origin_jti: str
    revoked: bool = False


@dataclass
class TokenService:
    """Issues, verifies, expires and revokes the emulator's tokens.

    ``clock`` returns Unix time in seconds; tests may replace it. Token lifetimes are
    read at issue time, so changing :attr:`access_lifetime` affects new tokens only.
    """

    issuer: str
    client_id: str
    access_lifetime: float = 3600.0
    refresh_lifetime: float = 30 * 24 * 3600.0
    clock: Callable[[], float] = time.time
    _issued: dict[str, _Issued] = field(default_factory=dict, repr=False)
    _refresh: dict[str, RefreshGrant] = field(default_factory=dict, repr=False)

    @property
    def key_id(self) -> str:
        """The ``kid`` of the signing key."""
        return _process_key().kid

    def jwks(self) -> dict[str, Any]:
        """The public keys, as served at ``/<poolId>/.well-known/jwks.json``."""
        return {"keys": [_process_key().jwk()]}

    def _encode(self, claims: dict[str, Any]) -> str:
        key = _process_key()
        header = _b64url(json.dumps({"kid": key.kid, "alg": "RS256"}).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode()
        return f"{header}.{payload}.{_b64url(key.sign(signing_input))}"

    def issue(
        self,
        *,
        sub: str,
        username: str,
        email: str,
        device_key: str | None,
        auth_time: int | None = None,
        origin_jti: str | None = None,
    ) -> tuple[str, str, int]:
        """Issue an id token and an access token; returns ``(id_token, access_token, expires_in)``.

        ``origin_jti`` and ``auth_time`` carry over from the original login on a refresh.
        """
        now = self.clock()
        iat = int(now)
        lifetime = max(1, math.ceil(self.access_lifetime))
        exp = iat + lifetime
        auth_time = iat if auth_time is None else auth_time
        origin_jti = origin_jti or str(uuid.uuid4())
        event_id = str(uuid.uuid4())
        common = {"sub": sub, "iss": self.issuer, "origin_jti": origin_jti, "event_id": event_id}
        id_jti, access_jti = str(uuid.uuid4()), str(uuid.uuid4())
        id_claims = {
            **common,
            "email_verified": True,
            "cognito:username": username,
            "aud": self.client_id,
            "token_use": "id",
            "auth_time": auth_time,
            "exp": exp,
            "iat": iat,
            "jti": id_jti,
            "email": email,
        }
        access_claims: dict[str, Any] = {**common}
        if device_key:
            access_claims["device_key"] = device_key
        access_claims |= {
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": auth_time,
            "exp": exp,
            "iat": iat,
            "jti": access_jti,
            "username": username,
        }
        expires_at = float(exp)
        self._issued[id_jti] = _Issued(username, "id", expires_at, origin_jti)
        self._issued[access_jti] = _Issued(username, "access", expires_at, origin_jti)
        return self._encode(id_claims), self._encode(access_claims), lifetime

    def issue_refresh(
        self, *, username: str, origin_jti: str, auth_time: int, device_key: str | None
    ) -> str:
        """Issue an opaque refresh token (shaped like Cognito's five-part JWE)."""
        header = _b64url(b'{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}')
        parts = [header] + [_b64url(secrets.token_bytes(n)) for n in (256, 12, 600, 16)]
        token = ".".join(parts)
        self._refresh[token] = RefreshGrant(
            username=username,
            origin_jti=origin_jti,
            auth_time=auth_time,
            device_key=device_key,
            expires_at=self.clock() + self.refresh_lifetime,
        )
        return token

    def verify(self, token: str, token_use: str) -> dict[str, Any]:
        """Check a JWT this service issued and return its claims.

        Raises:
            TokenError: malformed, bad signature, wrong use or audience, expired or revoked.
        """
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims: dict[str, Any] = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
            raise TokenError("malformed") from exc
        key = _process_key()
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise TokenError("malformed")
        if header.get("kid") != key.kid or not _signed_here(
            f"{header_b64}.{payload_b64}".encode(), signature
        ):
            raise TokenError("invalid signature")
        issued = self._issued.get(str(claims.get("jti")))
        if issued is None or claims.get("token_use") != token_use or issued.token_use != token_use:
            raise TokenError("malformed")
        if claims.get("iss") != self.issuer:
            raise TokenError("wrong issuer")
        audience = claims.get("aud") if token_use == "id" else claims.get("client_id")  # noqa: S105
        if audience != self.client_id:
            raise TokenError("wrong audience")
        if issued.revoked:
            raise TokenError("revoked")
        if self.clock() >= issued.expires_at:
            raise TokenError("expired")
        return claims

    def refresh_grant(self, token: str) -> RefreshGrant:
        """Look up a refresh token.

        Raises:
            TokenError: unknown (``invalid``), ``revoked`` or ``expired``.
        """
        grant = self._refresh.get(token)
        if grant is None:
            raise TokenError("invalid")
        if grant.revoked:
            raise TokenError("revoked")
        if self.clock() >= grant.expires_at:
            raise TokenError("expired")
        return grant

    def expire_all(self) -> None:
        """Make every id and access token issued so far expired (refresh tokens stay valid)."""
        now = self.clock()
        for issued in self._issued.values():
            issued.expires_at = min(issued.expires_at, now)

    def revoke_user(self, username: str | None = None, *, include_access: bool = True) -> int:
        """Revoke the refresh tokens (and access tokens) of one user, or of everyone.

        Returns the number of refresh tokens revoked.
        """
        count = 0
        for grant in self._refresh.values():
            if (username is None or grant.username == username) and not grant.revoked:
                grant.revoked = True
                count += 1
        if include_access:
            for issued in self._issued.values():
                if username is None or issued.username == username:
                    issued.revoked = True
        return count

    def revoke_refresh_token(self, token: str) -> bool:
        """Revoke one refresh token and the tokens issued from it; False if unknown."""
        grant = self._refresh.get(token)
        if grant is None:
            return False
        grant.revoked = True
        for issued in self._issued.values():
            if issued.origin_jti == grant.origin_jti:
                issued.revoked = True
        return True
