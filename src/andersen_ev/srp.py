"""Cognito's SRP-6a, as pure functions (no I/O, no clock, no randomness of their own).

AWS Cognito authenticates with the Secure Remote Password protocol (SRP-6a) over the 3072-bit
group of RFC 5054 with SHA-256, plus two Cognito-specific twists: the session key is derived
with HKDF ("Caldera Derived Key") and the client proves it holds the key by signing the
server's secret block and a timestamp with HMAC-SHA256.

There are two variants that share every formula and differ only in the strings hashed:

========  ===================================  ============================================
variant   inner string of ``x``                 claim signature message prefix
========  ===================================  ============================================
user      ``poolName + userIdForSrp + ":" + password``      ``poolName | userIdForSrp``
device    ``groupKey + deviceKey + ":" + devicePassword``   ``groupKey | deviceKey``
========  ===================================  ============================================

Callers pass the random values (``a``, salts, device passwords) in, which keeps every function
deterministic and testable against an independent implementation. Both the client
(:mod:`andersen_ev.auth`) and the emulator's server side use these primitives.

Each modular exponentiation of 3072 bits costs milliseconds to tens of milliseconds of CPU
(pure Python), too long to hold an event loop. So each one exists as *steps*: a generator
(:func:`power_steps`, :func:`client_public_steps`, :func:`verifier_steps`,
:func:`client_session_key_steps`) that does a fraction of a millisecond of work per
``next()`` and returns its result through ``StopIteration``. An event loop drives it a slice
at a time (:func:`andersen_ev.auth.compute.finish`); the plain functions
(:func:`client_public`, :func:`verifier`, :func:`client_session_key`) drive the same steps to
the end at once, so each formula is written once.

This module stays at the top level, outside the :mod:`andersen_ev.auth` package, on purpose:
the emulator (:mod:`andersen_ev.testing`) shares these maths but must never import the
client's auth code (an independent server would not repeat the client's misunderstandings),
and importing ``andersen_ev.auth.srp`` would run ``andersen_ev/auth/__init__.py``, the
client's login and session code with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Final, TypeVar

from andersen_ev.exceptions import InvalidInputError

__all__ = [
    "INFO",
    "G",
    "K",
    "N",
    "Steps",
    "claim_signature",
    "client_public",
    "client_public_steps",
    "client_session_key",
    "client_session_key_steps",
    "compute_u",
    "derive_key",
    "format_timestamp",
    "inner_hash",
    "pad",
    "parse_timestamp",
    "password_x",
    "pool_name",
    "power_steps",
    "run_steps",
    "split_pool_id",
    "verifier",
    "verifier_steps",
]

_T = TypeVar("_T")

Steps = Generator[None, None, _T]
"""A computation cut into short steps: ``next()`` until ``StopIteration``, whose value is
the result (see :func:`run_steps`)."""

#: The 3072-bit safe prime of RFC 5054 (also RFC 3526 group 15), as Cognito uses it.
N: Final[int] = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
#: The group's generator.
G: Final[int] = 2
#: HKDF ``info`` of Cognito's key derivation.
INFO: Final[bytes] = b"Caldera Derived Key"

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_TIMESTAMP_FIELDS: Final = 6
#: Bits of the exponent handled per step of :func:`power_steps` (one window: five
#: squarings and at most one multiplication, about a tenth of a millisecond at 3072 bits).
_WINDOW: Final = 5
#: Precomputed powers built per step of :func:`power_steps` before the first window.
_TABLE_PER_STEP: Final = 4


def pad(value: int) -> bytes:
    """Big-endian bytes of a non-negative integer, with a leading zero byte if the top bit is set.

    This is Cognito's ``padHex``: it keeps every hashed number positive in two's complement.

    Raises:
        InvalidInputError: ``value`` is negative.
    """
    if value < 0:
        raise InvalidInputError("SRP values are never negative: pass a value of 0 or more")
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _h_int(data: bytes) -> int:
    return int.from_bytes(_h(data), "big")


#: The SRP-6a multiplier ``k = H(pad(N) | pad(g))``.
K: Final[int] = _h_int(pad(N) + pad(G))


def split_pool_id(user_pool_id: str) -> tuple[str, str]:
    """The region and the pool name of a user pool id (``eu-west-1_abc`` -> ``eu-west-1, abc``).

    The one reading of a pool id, for the client and the emulator alike.

    Raises:
        InvalidInputError: ``user_pool_id`` is not ``<region>_<poolName>``.
    """
    region, _, name = user_pool_id.partition("_")
    if not region or not name:
        raise InvalidInputError(
            f"not a Cognito user pool id: {user_pool_id!r}; pass it as <region>_<poolName>,"
            " for example 'eu-west-1_t5HV3bFjl'"
        )
    return region, name


def pool_name(user_pool_id: str) -> str:
    """The part of a user pool id after the region and underscore (``eu-west-1_abc`` -> ``abc``).

    This is the ``poolName`` that user SRP hashes into ``x`` and signs in its claim.

    Raises:
        InvalidInputError: ``user_pool_id`` is not ``<region>_<poolName>``.
    """
    return split_pool_id(user_pool_id)[1]


def inner_hash(prefix: str, name: str, password: str) -> bytes:
    """``H(prefix + name + ":" + password)``: the user (or device) secret hash inside ``x``."""
    return _h(f"{prefix}{name}:{password}".encode())


def password_x(salt: int, secret_hash: bytes) -> int:
    """``x = H(pad(salt) | secret_hash)``, the private exponent derived from a password."""
    return _h_int(pad(salt) + secret_hash)


def run_steps(steps: Steps[_T]) -> _T:
    """Drive ``steps`` to the end at once and return their result (no event loop needed)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: _T = done.value
            return result


def power_steps(base: int, exponent: int, modulus: int = N) -> Steps[int]:
    """``pow(base, exponent, modulus)`` in steps of a fraction of a millisecond each.

    Left-to-right fixed windows of five bits, the method CPython's own ``pow`` uses for
    long exponents, so the whole costs what ``pow`` costs; one step per window (and per
    four entries of the window table), so a caller can let other work run in between.

    Raises:
        InvalidInputError: ``exponent`` is negative or ``modulus`` is not positive.
    """
    if exponent < 0 or modulus <= 0:
        raise InvalidInputError("SRP exponents are never negative, nor moduli below 1")
    base %= modulus
    table = [1, base]
    for entry in range(2, 1 << _WINDOW):
        table.append(table[-1] * base % modulus)
        if entry % _TABLE_PER_STEP == 0:
            yield
    result = 1 % modulus
    mask = (1 << _WINDOW) - 1
    top = -(-exponent.bit_length() // _WINDOW) * _WINDOW
    for shift in range(top - _WINDOW, -1, -_WINDOW):
        result = pow(result, 1 << _WINDOW, modulus)
        window = (exponent >> shift) & mask
        if window:
            result = result * table[window] % modulus
        yield
    return result


def verifier_steps(x: int) -> Steps[int]:
    """``v = g^x mod N`` in steps (see :func:`verifier`)."""
    return power_steps(G, x)


def verifier(x: int) -> int:
    """``v = g^x mod N``: what the server stores instead of the password."""
    return run_steps(verifier_steps(x))


def client_public_steps(a: int) -> Steps[int]:
    """``A = g^a mod N`` in steps (see :func:`client_public`).

    Raises:
        InvalidInputError: ``a`` is out of range (when the steps start).
    """
    if not 0 < a < N:
        raise InvalidInputError(
            "the client's private SRP value must be in (0, N): draw it with secrets.randbelow"
        )
    return (yield from power_steps(G, a))


def client_public(a: int) -> int:
    """``A = g^a mod N`` for the client's random private value ``a`` (``0 < a < N``).

    Raises:
        InvalidInputError: ``a`` is out of range.
    """
    return run_steps(client_public_steps(a))


def compute_u(big_a: int, big_b: int) -> int:
    """``u = H(pad(A) | pad(B))``; SRP aborts if it is zero.

    Raises:
        ValueError: ``u`` is zero (the exchange must be abandoned).
    """
    u = _h_int(pad(big_a) + pad(big_b))
    if u == 0:
        raise ValueError("SRP scrambling parameter u is zero; abort the exchange")
    return u


def client_session_key_steps(
    a: int, big_b: int, x: int, *, big_a: int | None = None
) -> Steps[tuple[int, int]]:
    """:func:`client_session_key` in steps.

    Raises:
        ValueError: as :func:`client_session_key` (when the steps start).
    """
    if big_b % N == 0:
        raise ValueError("server sent an invalid SRP_B (zero modulo N)")
    if big_a is None:
        big_a = yield from client_public_steps(a)
    u = compute_u(big_a, big_b)
    base = (big_b - K * (yield from verifier_steps(x))) % N
    return u, (yield from power_steps(base, a + u * x))


def client_session_key(a: int, big_b: int, x: int, *, big_a: int | None = None) -> tuple[int, int]:
    """The client's side of the exchange: returns ``(u, S)`` with ``S = (B - k*g^x)^(a + u*x)``.

    ``big_a`` is ``client_public(a)`` when the caller has it already (it saves one modular
    exponentiation).

    Raises:
        ValueError: the server's ``B`` is zero modulo ``N`` (a malicious or broken server).
    """
    return run_steps(client_session_key_steps(a, big_b, x, big_a=big_a))


def derive_key(premaster: int, u: int) -> bytes:
    """Cognito's 16-byte key: ``HKDF-SHA256(ikm=pad(S), salt=pad(u), info=INFO)``."""
    prk = hmac.new(pad(u), pad(premaster), hashlib.sha256).digest()
    return hmac.new(prk, INFO + b"\x01", hashlib.sha256).digest()[:16]


def claim_signature(key: bytes, prefix: str, name: str, secret_block: str, timestamp: str) -> str:
    """The base64 ``PASSWORD_CLAIM_SIGNATURE`` proving knowledge of ``key``.

    ``prefix`` and ``name`` are the pool name and USER_ID_FOR_SRP (user variant), or the
    device group key and device key (device variant). ``secret_block`` is the server's
    base64 ``SECRET_BLOCK``, signed as its decoded bytes.
    """
    message = prefix.encode() + name.encode() + base64.b64decode(secret_block) + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def format_timestamp(moment: datetime) -> str:
    """Cognito's ``TIMESTAMP``: ``EEE MMM d HH:mm:ss z yyyy`` in English, UTC, day not padded.

    Locale-independent: ``Tue Jul 1 09:05:03 UTC 2025``.
    """
    utc = moment.astimezone(UTC)
    return (
        f"{_WEEKDAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} {utc.day} "
        f"{utc:%H:%M:%S} UTC {utc.year}"
    )


def parse_timestamp(text: str) -> datetime:
    """Parse a ``TIMESTAMP`` written by :func:`format_timestamp` (strictly: no padded day).

    Raises:
        ValueError: ``text`` is not in Cognito's format.
    """
    parts = text.split(" ")
    if (
        len(parts) != _TIMESTAMP_FIELDS
        or parts[4] != "UTC"
        or parts[0] not in _WEEKDAYS
        or parts[1] not in _MONTHS
    ):
        raise ValueError(f"not a Cognito timestamp: {text!r}")
    day = parts[2]
    if not day.isdigit() or day != str(int(day)):
        raise ValueError(f"not a Cognito timestamp (day must not be zero-padded): {text!r}")
    clock = datetime.strptime(parts[3], "%H:%M:%S")  # noqa: DTZ007 - combined as UTC below
    parsed = datetime(
        int(parts[5]),
        _MONTHS.index(parts[1]) + 1,
        int(day),
        clock.hour,
        clock.minute,
        clock.second,
        tzinfo=UTC,
    )
    if _WEEKDAYS[parsed.weekday()] != parts[0]:
        raise ValueError(f"not a Cognito timestamp (wrong weekday): {text!r}")
    return parsed
