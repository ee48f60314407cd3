"""A charger's electricity tariff periods (``ChargeRate``), kept by the cloud, not the device.

Rates are created, changed and deleted at once (they are cloud-side records), and price
the sessions of the charge log: the first rate covering a moment gives its price.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from andersen_ev.testing import sample_data
from andersen_ev.testing.sample_data import InputError, parse_date
from andersen_ev.testing.schedules import in_window, local_time, minutes_of_day

__all__ = ["ChargeRates"]

_RATE_DAYS: Final = ("dayMon", "dayTue", "dayWed", "dayThu", "dayFri", "daySat", "daySun")
_RATE_FIELDS: Final = (
    "price",
    "timeStartLocal",
    "timeStopLocal",
    "startDateTime",
    "stopDateTime",
    *_RATE_DAYS,
)


class ChargeRates:
    """The ``ChargeRate`` records of one charger, oldest first."""

    def __init__(self) -> None:
        self._rates: dict[str, dict[str, Any]] = {}

    def all(self) -> list[dict[str, Any]]:
        """The ``ChargeRate`` objects, oldest first (copies)."""
        return [dict(rate) for rate in self._rates.values()]

    def __contains__(self, rate_id: object) -> bool:
        return rate_id in self._rates

    def create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``createChargeRate``: store a new rate; days not given default to true.

        Raises:
            InputError: invalid times, dates or price.
        """
        rate: dict[str, Any] = {"id": str(uuid.uuid4())}
        rate |= dict.fromkeys(_RATE_FIELDS) | dict.fromkeys(_RATE_DAYS, True)
        rate |= _valid_fields(fields)
        self._rates[rate["id"]] = rate
        return dict(rate)

    def update(self, rate_id: str, fields: Mapping[str, Any]) -> None:
        """``updateChargeRate``: change the given fields of one rate.

        Raises:
            KeyError: no such rate.
            InputError: invalid times, dates or price.
        """
        rate = self._rates[rate_id]
        rate |= _valid_fields(fields)

    def delete(self, rate_id: str) -> None:
        """``deleteChargeRate``.

        Raises:
            KeyError: no such rate.
        """
        del self._rates[rate_id]

    def price_at(self, moment: datetime, region: object) -> float:
        """Grid price per kWh at ``moment``: the first rate covering it, or the default."""
        local, _ = local_time(moment, region)
        minute = local.hour * 60 + local.minute
        for rate in self._rates.values():
            if not rate[_RATE_DAYS[local.weekday()]]:
                continue
            if rate["startDateTime"] and moment < parse_date(rate["startDateTime"], "start"):
                continue
            if rate["stopDateTime"] and moment >= parse_date(rate["stopDateTime"], "stop"):
                continue
            start = minutes_of_day(rate["timeStartLocal"] or "00:00", "timeStartLocal")
            stop = minutes_of_day(rate["timeStopLocal"] or "00:00", "timeStopLocal")
            if in_window(minute, start, stop):
                return float(rate["price"])
        return sample_data.DEFAULT_PRICE


def _valid_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The given (non-null) fields of a rate, checked as the service checks them.

    Raises:
        InputError: an unknown field, or invalid times, dates or price.
    """
    unknown = set(fields) - set(_RATE_FIELDS)
    if unknown:
        raise InputError(f"unknown charge rate field(s): {', '.join(sorted(unknown))}")
    given = {key: value for key, value in fields.items() if value is not None}
    price = given.get("price")
    if price is not None and (
        isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price)
    ):
        raise InputError(f"price must be a number, got {price!r}")
    for key in ("timeStartLocal", "timeStopLocal"):
        if key in given:
            minutes_of_day(given[key], key)
    for key in ("startDateTime", "stopDateTime"):
        if key in given:
            parse_date(given[key], key)
    return given
