"""Cognito's SRP-6a, server side: the emulator's half of the exchange, as pure functions.

The client's half lives in :mod:`andersen_ev.srp`; this module adds what only a server
computes, from the stored verifier ``v`` and the server's random private value ``b``:

* ``B = (k*v + g^b) mod N`` (sent to the client as ``SRP_B``);
* ``S = (A * v^u)^b mod N``, the premaster secret the client reaches from the other side as
  ``(B - k*g^x)^(a + u*x)``;
* the ``PASSWORD_CLAIM_SIGNATURE`` the client must send: HMAC-SHA256 over
  ``prefix | name | secretBlockBytes | timestamp`` with the HKDF-derived key.

Both variants (user and remembered device) share these formulas; only the prefix and name
differ (pool name and user id, or device group key and device key). Randomness is passed in,
as in :mod:`andersen_ev.srp`, so the functions are deterministic and testable.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from andersen_ev import srp

__all__ = ["ServerExchange", "server_premaster", "server_public"]


def server_public(verifier: int, b: int) -> int:
    """``B = (k*v + g^b) mod N`` for the stored verifier ``v`` and the server's private ``b``.

    Raises:
        ValueError: ``b`` is not in ``(0, N)``.
    """
    if not 0 < b < srp.N:
        raise ValueError("the server's private SRP value must be in (0, N)")
    return (srp.K * verifier + pow(srp.G, b, srp.N)) % srp.N


def server_premaster(big_a: int, verifier: int, u: int, b: int) -> int:
    """``S = (A * v^u)^b mod N``: the server's view of the shared premaster secret.

    Raises:
        ValueError: ``A`` is zero modulo ``N`` (a client trying to force ``S`` to zero).
    """
    if big_a % srp.N == 0:
        raise ValueError("client sent an invalid SRP_A (zero modulo N)")
    return pow(big_a * pow(verifier, u, srp.N), b, srp.N)


@dataclass(frozen=True)
class ServerExchange:
    """One server-side SRP exchange: what the server keeps between challenge and answer.

    Create it with :meth:`start` when the client sends ``SRP_A``; answer the client with
    :attr:`big_b` and :attr:`salt`; check the client's proof with :meth:`verify`.
    """

    big_a: int
    big_b: int
    salt: int = field(repr=False)
    verifier: int = field(repr=False)
    b: int = field(repr=False)

    @classmethod
    def start(cls, big_a: int, *, verifier: int, salt: int, b: int) -> ServerExchange:
        """Begin an exchange with the client's ``A``, the stored ``salt`` and ``verifier``.

        Raises:
            ValueError: ``A`` is zero modulo ``N``, or ``b`` is out of range.
        """
        if big_a % srp.N == 0:
            raise ValueError("client sent an invalid SRP_A (zero modulo N)")
        return cls(big_a=big_a, big_b=server_public(verifier, b), salt=salt, verifier=verifier, b=b)

    def key(self) -> bytes:
        """The 16-byte HKDF key both sides derive from the premaster secret."""
        u = srp.compute_u(self.big_a, self.big_b)
        return srp.derive_key(server_premaster(self.big_a, self.verifier, u, self.b), u)

    def expected_signature(self, prefix: str, name: str, secret_block: str, timestamp: str) -> str:
        """The ``PASSWORD_CLAIM_SIGNATURE`` a client holding the password would send.

        ``prefix`` and ``name`` are the pool name and user id for SRP (user variant) or the
        device group key and device key (device variant); ``secret_block`` is the base64
        ``SECRET_BLOCK`` the server issued; ``timestamp`` is the canonical ``TIMESTAMP``.
        """
        return srp.claim_signature(self.key(), prefix, name, secret_block, timestamp)

    def verify(
        self, signature: str, prefix: str, name: str, secret_block: str, timestamp: str
    ) -> bool:
        """True if ``signature`` proves knowledge of the password (constant-time compare)."""
        expected = self.expected_signature(prefix, name, secret_block, timestamp)
        return hmac.compare_digest(expected.encode(), signature.encode())
