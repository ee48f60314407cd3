"""Live device status: ``async for`` over ``deviceStatusUpdated`` that survives what networks do.

Every :class:`~andersen_ev.AndersenA2` has one :class:`StreamManager` (``a2.streams``). It
multiplexes every device subscription of the session on ONE websocket, opened when the first
consumer starts iterating and closed when the last one leaves::

    async for status in a2.subscribe_device_updates(device_id):
        print(status.evse_state, status.charge_power)

What it guarantees:

* **Complete statuses.** An event carries about half the fields of a status read; each is
  merged over the device's latest complete status (its snapshot, then the previous merges)
  and given as a :class:`StatusUpdate`, whose :attr:`~StatusUpdate.event_fields` name what
  the event sent. A field an event sends as null keeps its value (an event's null means
  "not in this event"; a status read's null means unknown). Fields no event carries (the
  diagnostics: voltages, currents, temperature, runtime, energy deltas) are as of the
  latest snapshot.
* **One latest status per device**, shared by its consumers and readable without a request:
  :meth:`StreamManager.latest` (None unless fresh: connected, and resynced since).
* **Both subprotocols.** It offers ``graphql-transport-ws`` and ``graphql-ws`` and speaks the
  one the server picks (``graphql-ws``, Apollo's legacy protocol, when the server names none).
* **One server-side subscription per device**, fanned out to every local consumer of it.
* **Self-healing.** A dropped, refused or silent connection is reopened until the consumers
  leave or the session closes, after a capped exponential backoff with full jitter
  (:class:`StreamSettings`). ``connection_init`` carries ``{"authToken": "Bearer <IdToken>"}``
  with the current token, refreshed first when due; a connection refused for its token
  (``connection_error`` UNAUTHENTICATED, close 4401/4403) invalidates it and is retried at
  once with a refreshed one. Every websocket opens on a new TCP connection, never on one
  pooled for HTTP requests (which may have died unnoticed).
* **Dead connections are noticed**, in both subprotocols: after ``ping_interval`` without a
  frame a ping goes out (a ``ping`` message, or a websocket ping frame in ``graphql-ws``);
  unanswered for ``suspect_after`` the state becomes ``RECONNECTING``, for
  ``keepalive_timeout`` the connection is replaced. At worst 20 s after its last frame with
  the defaults (:attr:`StreamSettings.worst_detection`), suspect from 13 s.
* **Resync after every gap.** After each (re)connect, and when a consumer joins, the
  consumer first gets a :class:`StatusSnapshot` of each of its devices, then live updates.
  Snapshots are read 50 devices per request (aliased ``getDevice`` fields in one query,
  :mod:`andersen_ev.batch`), a few requests at once: a fleet of 1,000 costs 20 requests.
  Events arriving while a device's snapshot is due are held and delivered after it, in
  order, merged over it. A failed snapshot is retried with the reconnect backoff; a device
  that is not found fails its own consumers only.
* **Bounded memory.** A consumer that does not keep up is given the latest status of each
  device instead of every intermediate one, once more than ``max_pending`` statuses per
  device wait for it (:attr:`DeviceUpdates.coalesced` and :attr:`StreamStats.coalesced`
  count the others); a snapshot is never dropped for an update. A frame is refused beyond
  :data:`MAX_FRAME_BYTES` (8 MiB, from its header, before its payload is read), and
  nesting too deep for the parser makes a malformed frame: either costs a reconnect.
* **Observable.** :attr:`StreamManager.state` (:class:`StreamState`) and
  :meth:`StreamManager.on_state` callbacks, for availability in a UI; :attr:`StreamManager.stats`
  counts connections, events, snapshots, pings, suspect and dead connections, coalesced
  statuses and malformed frames.
* **Clean exits.** Leaving the ``async for`` (``break``, an exception, cancelling the task),
  :meth:`DeviceUpdates.aclose` or closing the session sends ``stop``/``complete`` for the
  subscriptions nobody needs any more and, with the last consumer, closes the websocket: no
  task, socket or callback is left behind. ``async with`` (or ``contextlib.aclosing``) makes
  the release immediate; a plain ``break`` releases when the iterator is dropped (at once in
  CPython).

What the consumer sees:

* statuses (:class:`~andersen_ev.DeviceStatus`: snapshots are the :class:`StatusSnapshot`
  subclass, merged events the :class:`StatusUpdate` one), each with ``.id`` set to its device;
* :class:`~andersen_ev.DeviceNotFoundError` for a device the account does not have, or
  :class:`~andersen_ev.ApiError` for a subscription the server rejects: the iterator ends
  with it (other iterators go on);
* :class:`~andersen_ev.ReauthRequiredError` when the tokens cannot be refreshed (or the
  service refuses even freshly refreshed ones): every iterator ends with it;
* the end of iteration, quietly, when the session is closed (``a2.close()``);
* nothing for connection trouble: drops, refusals, expired tokens, malformed frames (logged,
  counted, and handled as a broken connection) and dead connections only show in
  :attr:`StreamManager.state`.

Things to know: iterate each :class:`DeviceUpdates` from one task.

How it is built, one layer per module, each importing only those above it:

* ``settings``: :class:`StreamSettings`, :class:`StreamState`, :class:`StreamStats`;
* ``protocol``: the wire format without I/O: frames, the two subprotocols, keep-alive rules;
* ``connection``: one websocket: handshake, sending, receiving, the dead-connection check;
* ``statuses``: :class:`StatusSnapshot`, :class:`StatusUpdate` and how events are merged;
* ``cache``: the latest complete status of each device, and events held for a snapshot;
* ``resync``: reading the snapshots consumers wait for, in batches;
* ``updates``: :class:`DeviceUpdates` and the bounded queue that feeds it; it uses the
  manager only through :class:`~andersen_ev.stream.updates.ConsumerHub`;
* ``manager``: :class:`StreamManager`: consumers, the websocket's lifecycle, reconnects,
  state.
"""

from andersen_ev.stream.manager import StreamManager
from andersen_ev.stream.protocol import GRAPHQL_TRANSPORT_WS, GRAPHQL_WS, MAX_FRAME_BYTES
from andersen_ev.stream.settings import StateCallback, StreamSettings, StreamState, StreamStats
from andersen_ev.stream.statuses import StatusSnapshot, StatusUpdate
from andersen_ev.stream.updates import DeviceUpdates

__all__ = [
    "GRAPHQL_TRANSPORT_WS",
    "GRAPHQL_WS",
    "MAX_FRAME_BYTES",
    "DeviceUpdates",
    "StateCallback",
    "StatusSnapshot",
    "StatusUpdate",
    "StreamManager",
    "StreamSettings",
    "StreamState",
    "StreamStats",
]
