"""The emulator's in-memory world: accounts, remembered devices, and status fan-out.

Chargers themselves live in :mod:`andersen_ev.testing.charger`; this module holds who owns
what and the publish/subscribe hub through which every charger state change reaches every
``deviceStatusUpdated`` subscriber.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from andersen_ev import srp

if TYPE_CHECKING:
    from andersen_ev.testing.charger import Charger

__all__ = ["CloudState", "EmulatedUser", "ForcedChallenge", "StatusHub", "TrackedDevice"]

_username_counter = itertools.count(1)

#: Challenges a test can force after a correct password (see ``EmulatedUser.forced_challenge``).
ForcedChallenge: TypeAlias = Literal["NEW_PASSWORD_REQUIRED", "SMS_MFA", "SOFTWARE_TOKEN_MFA"]


@dataclass
class TrackedDevice:
    """A device Cognito tracks for a user (from NewDeviceMetadata, later confirmed)."""

    device_key: str
    group_key: str
    name: str | None = None
    salt: int | None = None
    verifier: int | None = None
    remembered: bool = False

    @property
    def confirmed(self) -> bool:
        """True once ConfirmDevice stored a verifier for it."""
        return self.verifier is not None


@dataclass(eq=False)
class EmulatedUser:
    """An account in the emulated user pool. The password itself is never stored.

    Like Cognito, the pool keeps only an SRP salt and verifier; ``username`` is what
    ``/get-pending-user`` answers and what SRP uses (``USER_ID_FOR_SRP``).
    """

    email: str
    username: str
    sub: str
    salt: int = field(repr=False)
    verifier: int = field(repr=False)
    first_name: str | None = None
    last_name: str | None = None
    devices: dict[str, TrackedDevice] = field(default_factory=dict, repr=False)
    mobile_tokens: set[str] = field(default_factory=set, repr=False)
    failed_logins: int = field(default=0, repr=False)
    locked_until: float = field(default=0.0, repr=False)
    """Cognito time before which password logins answer ``Password attempts exceeded``."""
    forced_challenge: ForcedChallenge | None = None
    """Answer a correct password with this challenge (and a Session) instead of tokens."""
    mfa_code: str = field(default="123456", repr=False)
    """The code that answers a forced ``SMS_MFA`` or ``SOFTWARE_TOKEN_MFA`` challenge."""

    @classmethod
    def create(cls, email: str, password: str, pool_name: str) -> EmulatedUser:
        """Create a user with a fresh salt and the verifier of ``password``."""
        username = f"{uuid.uuid4()}:{next(_username_counter)}"
        salt = secrets.randbits(128)
        x = srp.password_x(salt, srp.inner_hash(pool_name, username, password))
        return cls(
            email=email,
            username=username,
            sub=str(uuid.uuid4()),
            salt=salt,
            verifier=srp.verifier(x),
        )

    def set_password(self, password: str, pool_name: str) -> None:
        """Replace the password (new salt and verifier)."""
        self.salt = secrets.randbits(128)
        x = srp.password_x(self.salt, srp.inner_hash(pool_name, self.username, password))
        self.verifier = srp.verifier(x)


class StatusHub:
    """Fan-out of device status payloads to any number of subscribers per device.

    Each subscriber gets its own unbounded queue: a slow consumer never blocks the charger
    or other consumers (the emulator serves tests, where memory is not the concern).
    """

    def __init__(self) -> None:
        self._queues: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def publish(self, device_id: str, payload: dict[str, Any]) -> int:
        """Deliver ``payload`` to every current subscriber of ``device_id``; returns how many."""
        queues = self._queues.get(device_id, ())
        for queue in queues:
            queue.put_nowait(payload)
        return len(queues)

    def subscriber_count(self, device_id: str | None = None) -> int:
        """Number of live subscriptions, to one device or in total."""
        if device_id is not None:
            return len(self._queues.get(device_id, ()))
        return sum(len(q) for q in self._queues.values())

    async def watch(self, device_id: str) -> AsyncIterator[dict[str, Any]]:
        """Yield every payload published for ``device_id`` from now on, until closed."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[device_id].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues[device_id].discard(queue)
            if not self._queues[device_id]:
                del self._queues[device_id]


@dataclass
class CloudState:
    """Everything the emulated cloud knows: users, chargers and who owns which."""

    pool_name: str
    users_by_email: dict[str, EmulatedUser] = field(default_factory=dict)
    users_by_username: dict[str, EmulatedUser] = field(default_factory=dict)
    chargers: dict[str, Charger] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    """device id -> owner's username (absent: unclaimed)."""
    hub: StatusHub = field(default_factory=StatusHub)

    def add_user(self, email: str, password: str) -> EmulatedUser:
        """Register a user. Emails are matched case-insensitively, as Cognito does.

        Raises:
            ValueError: a user with that email exists already.
        """
        key = email.strip().lower()
        if key in self.users_by_email:
            raise ValueError(f"a user with email {email!r} exists already")
        user = EmulatedUser.create(email.strip(), password, self.pool_name)
        self.users_by_email[key] = user
        self.users_by_username[user.username] = user
        return user

    def user_by_email(self, email: str) -> EmulatedUser | None:
        """The user registered with ``email`` (case-insensitive), if any."""
        return self.users_by_email.get(email.strip().lower())

    def chargers_of(self, user: EmulatedUser) -> list[Charger]:
        """The chargers ``user`` has claimed, in the order they were added."""
        return [c for c in self.chargers.values() if self.owners.get(c.id) == user.username]

    def charger_of(self, user: EmulatedUser, device_id: str) -> Charger | None:
        """The charger ``device_id`` if ``user`` owns it, else None (unknown or not theirs)."""
        if self.owners.get(device_id) != user.username:
            return None
        return self.chargers.get(device_id)
