"""What a consumer is given: complete statuses, each a snapshot or an event merged over one.

A ``deviceStatusUpdated`` event selects about half the fields of a status read (and four of
the nine of ``chargeStatus``): on its own it would leave a consumer with a status whose other
fields are None. So every event is merged over the device's latest complete status (its
snapshot, or the previous merge) and given as a :class:`StatusUpdate`, which says which
fields the event sent (:attr:`StatusUpdate.event_fields`); snapshots are
:class:`StatusSnapshot`. Both are :class:`~andersen_ev.DeviceStatus`.

How a merge reads the wire (see the service notes, "Live updates"):

* a field the event does not select keeps its value;
* a field the event sends as **null** keeps its value too: GraphQL sends every selected
  field, so null is how an event says "not in this event" (the dashboard must not blink to
  unknown), while a status read's null means unknown and replaces the value;
* ``chargeStatus`` is merged field by field, by the same rules; other objects (schedule
  slots, LoRa channels) are replaced whole, as the service sends them whole.

The functions here are pure and on the hot path (one merge per event, whatever the number of
consumers): they build models from values already validated, without validating again.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any, Final, TypeVar

from pydantic import BaseModel, PrivateAttr

from andersen_ev.models import ChargeStatus, DeviceStatus

__all__ = ["StatusSnapshot", "StatusUpdate", "merge_event", "merge_snapshot"]

_M = TypeVar("_M", bound=BaseModel)
_CHARGE: Final = "charge_status"
#: ``charge_status.<name>`` for each field of a charge session (what event_fields names).
_SESSION_NAMES: Final = {name: f"{_CHARGE}.{name}" for name in ChargeStatus.model_fields}
_set = object.__setattr__


class StatusSnapshot(DeviceStatus):
    """A device's full status read by a query (``getDeviceStatus``), not a live event.

    Every consumer gets one per device first, after each (re)connect: state is right after
    any gap. It is a :class:`~andersen_ev.DeviceStatus` in every other respect (test with
    ``isinstance(status, StatusSnapshot)``). It carries every field of a status query, and
    the fields only events carry (``cfg_lora*``) as the latest event left them.
    """

    @classmethod
    def of(cls, status: DeviceStatus, device_id: str) -> StatusSnapshot:
        """``status`` as a snapshot of ``device_id`` (whose id it gets if it had none)."""
        values = dict(status.__dict__)
        if values.get("id") is None:
            values["id"] = device_id
        return cls.model_construct(status.model_fields_set | {"id"}, **values)


class StatusUpdate(DeviceStatus):
    """A live event merged over the device's latest complete status.

    Every field a status read has is set (as far as the service knows it); those the event
    sent are named by :attr:`event_fields`, the others carry the latest snapshot's value or
    an earlier event's. Compare with ``isinstance(status, StatusUpdate)``.
    """

    _event_fields: frozenset[str] = PrivateAttr(default=frozenset())

    @property
    def event_fields(self) -> frozenset[str]:
        """The fields whose values came with this event (snake_case names).

        ``charge_status.<name>`` for each field of the charge session it sent (with
        ``charge_status`` itself). For a consumer given the latest status instead of several
        (it did not keep up), the fields sent by every event since the status before.
        """
        return self._event_fields

    def with_event_fields(self, more: Iterable[str]) -> StatusUpdate:
        """This status, naming ``more`` fields as sent by events too (for coalescing)."""
        return _build(
            StatusUpdate,
            dict(self.__dict__),
            set(self.model_fields_set),
            self._event_fields.union(more),
        )


def merge_event(base: DeviceStatus, event: DeviceStatus, device_id: str) -> StatusUpdate:
    """``event`` over ``base`` (the device's latest complete status): a complete status."""
    sent_values = event.__dict__
    # the fields the event sent, nulls left out (the hot path: C-level dict and set work)
    sent = {
        name: value for name in event.model_fields_set if (value := sent_values[name]) is not None
    }
    names: AbstractSet[str] = sent.keys()
    session = sent.get(_CHARGE)
    if session is not None:
        merged, session_names = _merge_charge(base.__dict__[_CHARGE], session)
        if session_names:
            sent[_CHARGE] = merged
            names = sent.keys() | session_names
        else:  # a session of nulls: nothing new about it
            del sent[_CHARGE]  # (names, a view of sent, follows)
    values = base.__dict__ | sent
    fields_set = base.model_fields_set | sent.keys()
    if values["id"] is None:
        values["id"] = device_id
        fields_set.add("id")
    return _build(StatusUpdate, values, fields_set, frozenset(names))


def merge_snapshot(
    base: DeviceStatus | None, snapshot: DeviceStatus, device_id: str
) -> StatusSnapshot:
    """A status read over ``base`` (what events left): every field it selects wins, nulls too.

    ``base`` only contributes the fields a status read does not select (``cfg_lora*``).
    """
    if base is None:
        values = dict(snapshot.__dict__)
        fields_set = set(snapshot.model_fields_set)
    else:
        values = dict(base.__dict__)
        fields_set = base.model_fields_set | snapshot.model_fields_set
        read = snapshot.__dict__
        for name in snapshot.model_fields_set:
            values[name] = read[name]
    if values["id"] is None:
        values["id"] = device_id
    fields_set.add("id")
    return _build(StatusSnapshot, values, fields_set)


def _merge_charge(
    known: ChargeStatus | None, session: ChargeStatus
) -> tuple[ChargeStatus, frozenset[str]]:
    """The event's charge session over the known one, field by field, and what it sent."""
    sent_values = session.__dict__
    sent = {
        name: value for name in session.model_fields_set if (value := sent_values[name]) is not None
    }
    names = frozenset(_SESSION_NAMES[name] for name in sent)
    if known is None:
        return _build(ChargeStatus, sent_values | sent, set(sent)), names
    return _build(ChargeStatus, known.__dict__ | sent, known.model_fields_set | sent.keys()), names


def _build(
    cls: type[_M],
    values: dict[str, Any],
    fields_set: set[str],
    event_fields: frozenset[str] | None = None,
) -> _M:
    """A model of values that are valid already (what ``model_construct`` makes, cheaply).

    ``model_construct`` fills defaults field by field, which would cost more than the merge;
    here every field is in ``values``, so the instance is assembled as ``model_copy`` does.
    """
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_extra__", None)
    _set(
        model,
        "__pydantic_private__",
        None if event_fields is None else {"_event_fields": event_fields},
    )
    return model
