"""Readers for price data: rows of tuples, CSV text, and the Octopus Energy API's JSON.

Each reader returns the periods sorted by start, and raises
:class:`~andersen_ev.planning.PriceDataError` naming the line or entry at fault. Nothing
here reads files or the network: pass the text or the parsed JSON.

Prices keep the source's unit (Octopus: pence per kWh, VAT included with
``value_inc_vat``); gaps between periods are allowed (nothing is planned in a gap);
periods that overlap are refused, except exact duplicates (the same period twice, e.g.
from overlapping pages), which are kept once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, Final

from pydantic import ValidationError

from andersen_ev.planning.models import PriceDataError, PricePeriod

__all__ = ["prices_from_csv", "prices_from_octopus", "prices_from_rows"]

#: The columns a price CSV must name in its header (others are ignored).
CSV_COLUMNS: Final = ("start", "end", "price")
#: The Octopus field read by default: the unit rate including VAT, in pence per kWh.
OCTOPUS_PRICE_FIELD: Final = "value_inc_vat"


def _problems(error: ValidationError) -> str:
    """Pydantic's complaints in one line, naming the fields."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'period'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def _period(where: str, **fields: Any) -> PricePeriod:
    try:
        return PricePeriod(**fields)
    except ValidationError as exc:
        raise PriceDataError(_problems(exc), where=where) from None


def in_order(labelled: Iterable[tuple[str, PricePeriod]]) -> tuple[PricePeriod, ...]:
    """The periods sorted by start, exact duplicates once; overlaps raise, naming both."""
    # compared in UTC: aware datetimes sharing a ZoneInfo compare by wall clock
    ordered = sorted(
        ((_span(period), label, period) for label, period in labelled), key=lambda item: item[0]
    )
    kept = ordered[:1]
    for before, (span, label, period) in pairwise(ordered):
        if span == before[0] and period.price == before[2].price:
            continue
        if span[0] < before[0][1]:
            raise PriceDataError(
                f"the period {period.start.isoformat()} to {period.end.isoformat()} overlaps"
                f" {before[1]} ({before[2].start.isoformat()} to {before[2].end.isoformat()});"
                " give each time one price",
                where=label,
            )
        kept.append((span, label, period))
    return tuple(period for _, _, period in kept)


def _span(period: PricePeriod) -> tuple[datetime, datetime]:
    return period.start.astimezone(UTC), period.end.astimezone(UTC)


def prices_from_rows(rows: Iterable[PricePeriod | Sequence[Any]]) -> tuple[PricePeriod, ...]:
    """Periods from ``PricePeriod`` objects or ``(start, end, price)`` tuples.

    Times are aware datetimes (or ISO-8601 strings with an offset); prices are numbers.
    Errors name the row as ``prices[<index>]``.
    """
    labelled: list[tuple[str, PricePeriod]] = []
    for index, row in enumerate(rows):
        where = f"prices[{index}]"
        if isinstance(row, PricePeriod):
            labelled.append((where, row))
            continue
        if isinstance(row, str | bytes) or not isinstance(row, Sequence) or len(row) != 3:  # noqa: PLR2004
            raise PriceDataError(
                f"expected a PricePeriod or a (start, end, price) tuple, got {row!r}", where=where
            )
        start, end, price = row
        labelled.append((where, _period(where, start=start, end=end, price=price)))
    return in_order(labelled)


def _moment(text: str, column: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PriceDataError(
            f"{column} {text!r} is not an ISO-8601 time (e.g. 2025-10-26T01:30:00+01:00)",
            where=where,
        ) from None
    if moment.utcoffset() is None:
        raise PriceDataError(
            f"{column} {text!r} has no UTC offset: add one (Z, +00:00, +01:00 ...) so the"
            " time is not ambiguous",
            where=where,
        )
    return moment


def prices_from_csv(text: str | Iterable[str]) -> tuple[PricePeriod, ...]:
    """Periods from CSV text whose header names ``start``, ``end`` and ``price``.

    Times are ISO-8601 with a UTC offset (``Z`` or ``+01:00``); other columns are ignored,
    as are blank lines and lines starting with ``#``. Pass the whole text, or any iterable
    of lines (an open text file works, but reading it is then your blocking I/O). Errors
    name the line (the header is line 1 unless comments come first).
    """
    lines = text.splitlines() if isinstance(text, str) else text
    reader = csv.reader(lines)
    columns: dict[str, int] | None = None
    labelled: list[tuple[str, PricePeriod]] = []
    for row in reader:
        where = f"line {reader.line_num}"
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            names = [cell.strip().lower() for cell in row]
            missing = [name for name in CSV_COLUMNS if name not in names]
            if missing:
                raise PriceDataError(
                    f"the header must name the columns start, end and price; missing:"
                    f" {', '.join(missing)} (got {', '.join(names)})",
                    where=where,
                )
            columns = {name: names.index(name) for name in CSV_COLUMNS}
            continue
        if len(row) < len(columns) or max(columns.values()) >= len(row):
            raise PriceDataError(
                f"expected the columns start, end and price, got {len(row)} values", where=where
            )
        start = _moment(row[columns["start"]], "start", where)
        end = _moment(row[columns["end"]], "end", where)
        cell = row[columns["price"]].strip()
        try:
            price = float(cell)
        except ValueError:
            raise PriceDataError(f"price {cell!r} is not a number", where=where) from None
        labelled.append((where, _period(where, start=start, end=end, price=price)))
    return in_order(labelled)


def prices_from_octopus(
    data: Mapping[str, Any] | Sequence[Any] | str | bytes, *, field: str = OCTOPUS_PRICE_FIELD
) -> tuple[PricePeriod, ...]:
    """Periods from an Octopus Energy unit-rates answer (``standard-unit-rates``).

    ``data`` is the JSON text, the parsed object (``{"results": [{"valid_from",
    "valid_to", "value_inc_vat"}, ...]}``, newest first as Octopus sends it) or its
    ``results`` list. Prices come from ``field``: ``value_inc_vat`` (pence per kWh, VAT
    included) unless told otherwise. Only the page given is read: follow ``next`` yourself
    and pass the results together. An entry without ``valid_to`` (an open-ended rate) is
    refused: give it an end first. Errors name the entry as ``results[<index>]``.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise PriceDataError(f"not JSON: {exc}") from None
    entries = data.get("results") if isinstance(data, Mapping) else data
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise PriceDataError(
            'expected an object with a "results" list (the Octopus unit-rates answer) or'
            f" that list, got {type(entries).__name__}"
        )
    labelled: list[tuple[str, PricePeriod]] = []
    for index, entry in enumerate(entries):
        where = f"results[{index}]"
        if not isinstance(entry, Mapping):
            raise PriceDataError(f"expected an object, got {entry!r}", where=where)
        missing = [key for key in ("valid_from", "valid_to", field) if entry.get(key) is None]
        if missing:
            raise PriceDataError(
                f"{' and '.join(missing)} missing or null (an open-ended rate has no"
                " valid_to: give it an end before planning)",
                where=where,
            )
        labelled.append(
            (
                where,
                _period(
                    where, start=entry["valid_from"], end=entry["valid_to"], price=entry[field]
                ),
            )
        )
    return in_order(labelled)
