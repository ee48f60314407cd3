"""Plausible data the emulated cloud serves: charge history, binned power logs, addresses.

Everything here is deterministic (seeded by the device id), so two runs of a test see the
same history. Times are handled as aware UTC datetimes inside the emulator and rendered
as ISO-8601 strings on the wire (``2023-01-05T00:30:00Z``), as the real service does.
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "ADDRESSES",
    "ChargeSession",
    "InputError",
    "bin_power_logs",
    "iso",
    "parse_date",
    "sample_history",
    "search_addresses",
]

#: Grid price per kWh used when no charge rate covers a session (GBP, UK price cap 2025).
DEFAULT_PRICE: Final = 0.245
#: Off-peak price per kWh of the generated history (an EV tariff's overnight rate).
HISTORY_PRICE: Final = 0.075
#: Most bins one ``deviceCalculatedPowerLogsBinned`` answer holds.
MAX_BINS: Final = 5000

_GROUP_MINUTES: Final = {"HOUR": 60, "DAY": 24 * 60, "WEEK": 7 * 24 * 60}


class InputError(ValueError):
    """Input the real service refuses (bad slot times, percentages, dates ...).

    The GraphQL layer answers it as an error with ``extensions.code`` ``BAD_USER_INPUT``.
    """


def iso(moment: datetime) -> str:
    """Render an aware datetime as the service does: UTC, seconds, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: object, field: str) -> datetime:
    """Parse a ``Date`` scalar (ISO-8601 date or date-time) into an aware UTC datetime.

    A value without an offset is taken as UTC; ``Z`` is accepted.

    Raises:
        InputError: not a string, or not ISO-8601.
    """
    if not isinstance(value, str):
        raise InputError(f"{field} must be an ISO-8601 date string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{field} must be an ISO-8601 date, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ChargeSession:
    """One finished charging session, as the cloud's charge log keeps it.

    Energy is split into the part that came from solar surplus and the part bought from
    the grid; only the grid part costs money.
    """

    uuid: str
    start: datetime
    """When energy started to flow (aware, UTC)."""
    duration: int
    """Seconds of charging."""
    energy: float
    """kWh delivered in total."""
    solar_energy: float
    """kWh of :attr:`energy` that came from solar surplus."""
    price: float
    """Grid price per kWh during the session."""
    fw_version: str

    @property
    def end(self) -> datetime:
        """When the session stopped charging."""
        return self.start + timedelta(seconds=self.duration)

    def to_wire(self, device_id: str, local_start: datetime) -> dict[str, Any]:
        """The ``ChargeLog`` object; ``local_start`` is :attr:`start` in the charger's zone."""
        grid = self.energy - self.solar_energy
        return {
            "uuid": self.uuid,
            "deviceId": device_id,
            "startDateTimeLocal": local_start.strftime("%Y-%m-%dT%H:%M:%S"),
            "duration": self.duration,
            "chargeEnergyTotal": round(self.energy, 3),
            "chargeCostTotal": round(grid * self.price, 2),
            "gridEnergyTotal": round(grid, 3),
            "gridCostTotal": round(grid * self.price, 2),
            "solarEnergyTotal": round(self.solar_energy, 3),
            "solarCostTotal": 0.0,
            "surplusUsedEnergyTotal": round(self.solar_energy, 3),
            "surplusUsedCostTotal": 0.0,
            "particleFwVersion": self.fw_version,
        }


def sample_history(
    device_id: str, before: datetime, count: int, fw_version: str
) -> list[ChargeSession]:
    """``count`` plausible past sessions ending before ``before``, oldest first.

    Overnight sessions on an off-peak tariff (starting 00:30-01:30 UTC, 5-45 kWh at about
    7 kW), a few days apart, some with a little solar. Seeded by ``device_id``.
    """
    rng = random.Random(zlib.crc32(device_id.encode()))  # noqa: S311 - sample data, not secrets
    sessions: list[ChargeSession] = []
    day = before.astimezone(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    for _ in range(count):
        day -= timedelta(days=rng.randint(1, 4))
        energy = round(rng.uniform(5.0, 45.0), 3)
        power = rng.uniform(6.6, 7.2)
        solar = round(energy * rng.choice((0.0, 0.0, 0.0, 0.1, 0.25)), 3)
        sessions.append(
            ChargeSession(
                uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                start=day + timedelta(minutes=rng.randint(0, 60)),
                duration=round(energy / power * 3600),
                energy=energy,
                solar_energy=solar,
                price=HISTORY_PRICE,
                fw_version=fw_version,
            )
        )
    sessions.reverse()
    return sessions


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def _bin_edges(
    start: datetime, end: datetime, minutes: int | None, group_by: str | None
) -> Iterator[tuple[datetime, datetime]]:
    if minutes is None and group_by == "MONTH":
        edge = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while edge < end:
            following = _add_months(edge, 1)
            yield edge, following
            edge = following
        return
    step = timedelta(minutes=minutes or _GROUP_MINUTES.get(group_by or "HOUR", 60))
    edge = start
    while edge < end:
        yield edge, edge + step
        edge += step


def bin_power_logs(
    sessions: Sequence[ChargeSession],
    *,
    date_from: datetime,
    date_to: datetime,
    binned_minutes: int | None,
    group_by: str | None,
    limit: int | None,
    offset: int | None,
) -> list[dict[str, Any]]:
    """Energy and average power per time bin, computed from ``sessions``.

    Each session is taken to charge at constant power over its duration. Bins are
    ``binned_minutes`` long, or one ``group_by`` unit (HOUR, DAY, WEEK, calendar MONTH)
    when ``binned_minutes`` is not given, or an hour. ``offset``/``limit`` page the bins
    (at most :data:`MAX_BINS`).

    Raises:
        InputError: a non-positive bin size, a negative limit or offset, or ``date_to``
            before ``date_from``.
    """
    if binned_minutes is not None and binned_minutes <= 0:
        raise InputError(f"binnedMinutes must be positive, got {binned_minutes}")
    if (limit is not None and limit < 0) or (offset is not None and offset < 0):
        raise InputError("limit and offset must not be negative")
    if date_to < date_from:
        raise InputError("dateTo must not be before dateFrom")
    first = offset or 0
    count = MAX_BINS if limit is None else min(limit, MAX_BINS)
    bins: list[dict[str, Any]] = []
    for index, (low, high) in enumerate(_bin_edges(date_from, date_to, binned_minutes, group_by)):
        if index < first:
            continue
        if len(bins) >= count:
            break
        energy = solar = 0.0
        for session in sessions:
            overlap = (min(high, session.end) - max(low, session.start)).total_seconds()
            if overlap > 0 and session.duration > 0:
                share = overlap / session.duration
                energy += session.energy * share
                solar += session.solar_energy * share
        hours = (high - low).total_seconds() / 3600
        bins.append(
            {
                "dateFrom": iso(low),
                "dateTo": iso(high),
                "chargeEnergyTotal": round(energy, 3),
                "solarEnergyTotal": round(solar, 3),
                "gridEnergyTotal": round(energy - solar, 3),
                "chargePowerAvg": round(energy / hours, 3),
            }
        )
    return bins


#: UK addresses in the shape of the app's address look-up (a PAF-style service).
ADDRESSES: Final[tuple[dict[str, str | None], ...]] = tuple(
    {
        "summaryline": ", ".join(p for p in (sub, building, number, street, town, postcode) if p),
        "subbuildingname": sub,
        "buildingname": building,
        "number": number,
        "premise": ", ".join(p for p in (sub, building, number) if p),
        "street": street,
        "posttown": town,
        "county": county,
        "postcode": postcode,
    }
    for sub, building, number, street, town, county, postcode in (
        (None, None, "1", "Orchard Lane", "Guildford", "Surrey", "GU1 1AA"),
        (None, None, "3", "Orchard Lane", "Guildford", "Surrey", "GU1 1AA"),
        (None, "Rose Cottage", None, "Orchard Lane", "Guildford", "Surrey", "GU1 1AB"),
        ("Flat 2", "Mill House", "12", "River Road", "Reading", "Berkshire", "RG1 8DQ"),
        (None, None, "14", "River Road", "Reading", "Berkshire", "RG1 8DQ"),
        (None, None, "27", "Station Road", "Harrogate", "North Yorkshire", "HG1 1TH"),
        (None, "The Old Forge", None, "High Street", "Ledbury", "Herefordshire", "HR8 1DS"),
        (None, None, "8", "Castle Street", "Edinburgh", None, "EH2 3AH"),
        (None, None, "42", "Harbour View", "Falmouth", "Cornwall", "TR11 3XX"),
        (None, None, "5", "Beech Avenue", "Swansea", "West Glamorgan", "SA2 9EJ"),
    )
)


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


def search_addresses(fragment: str, country_code: str | None) -> list[dict[str, str | None]]:
    """Addresses whose summary line or postcode contains ``fragment`` (spaces ignored).

    Only ``GB`` (the default) has data; any other country answers an empty list, as the
    UK-only look-up service does. A fragment shorter than two characters matches nothing.
    """
    if (country_code or "GB").upper() not in {"GB", "UK"}:
        return []
    needle = _squash(fragment)
    if len(needle) < 2:  # noqa: PLR2004 - the look-up service wants a real fragment
        return []
    return [
        dict(address)
        for address in ADDRESSES
        if needle in _squash(address["summaryline"] or "")
        or needle in _squash(address["postcode"] or "")
    ]
