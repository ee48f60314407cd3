"""Live device status: ``async for`` over ``deviceStatusUpdated`` that survives what networks do.

Every :class:`~andersen_ev.AndersenA2` has one :class:`StreamManager` (``a2.streams``). It
multiplexes every device subscription of the session on ONE websocket, opened when the first
consumer starts iterating and closed when the last one leaves::

    async for status in a2.subscribe_device_updates(device_id):
        print(status.evse_state, status.charge_power)

What it guarantees:

* **Both subprotocols.** It offers ``graphql-transport-ws`` and ``graphql-ws`` and speaks the
  one the server picks (``graphql-ws``, Apollo's legacy protocol, when the server names none).
* **One server-side subscription per device**, fanned out to every local consumer of it.
* **Self-healing.** A dropped, refused or silent connection is reopened until the consumers
  leave or the session closes, after a capped exponential backoff with full jitter
  (:class:`StreamSettings`). ``connection_init`` carries ``{"authToken": "Bearer <IdToken>"}``
  with the current token, refreshed first when due; a connection refused for its token
  (``connection_error`` UNAUTHENTICATED, close 4401/4403) invalidates it and is retried at
  once with a refreshed one.
* **Dead connections are noticed.** ``graphql-transport-ws``: a ``ping`` is sent after
  ``ping_interval`` seconds without a message, and the connection is dead when nothing arrives
  within ``keepalive_timeout`` after it. ``graphql-ws``: once the server has sent a ``ka``
  keep-alive, silence longer than ``keepalive_timeout`` is dead (servers that never send
  ``ka`` are watched by websocket-level pings every ``keepalive_timeout`` seconds instead).
* **Resync after every gap.** After each (re)connect, and when a consumer joins, the
  consumer first gets a :class:`StatusSnapshot` of each of its devices (read with
  ``getDeviceStatus``), then live events. Events arriving while a device's snapshot is on its
  way are held and delivered after it, in order. A failed snapshot query is retried with the
  reconnect backoff.
* **Observable.** :attr:`StreamManager.state` (:class:`StreamState`) and
  :meth:`StreamManager.on_state` callbacks, for availability in a UI; :attr:`StreamManager.stats`
  counts connections, events, snapshots and malformed frames.
* **Clean exits.** Leaving the ``async for`` (``break``, an exception, cancelling the task),
  :meth:`DeviceUpdates.aclose` or closing the session sends ``stop``/``complete`` for the
  subscriptions nobody needs any more and, with the last consumer, closes the websocket: no
  task, socket or callback is left behind. ``async with`` (or ``contextlib.aclosing``) makes
  the release immediate; a plain ``break`` releases when the iterator is dropped (at once in
  CPython).

What the consumer sees:

* statuses (:class:`~andersen_ev.DeviceStatus`; snapshots are the :class:`StatusSnapshot`
  subclass), each with ``.id`` set to its device;
* :class:`~andersen_ev.DeviceNotFoundError` for a device the account does not have, or
  :class:`~andersen_ev.ApiError` for a subscription the server rejects: the iterator ends
  with it (other iterators go on);
* :class:`~andersen_ev.ReauthRequiredError` when the tokens cannot be refreshed (or the
  service refuses even freshly refreshed ones): every iterator ends with it;
* the end of iteration, quietly, when the session is closed (``a2.close()``);
* nothing for connection trouble: drops, refusals, expired tokens, malformed frames (logged,
  counted, and handled as a broken connection) and dead connections only show in
  :attr:`StreamManager.state`.

Things to know: iterate each :class:`DeviceUpdates` from one task; statuses wait in the
iterator until taken (nothing is dropped, so a consumer that stops reading without leaving
holds them in memory); a snapshot of ``n`` devices costs ``n`` status queries (at most
``snapshot_concurrency`` at once) after every reconnect.

How it is built, one layer per module, each importing only those above it:

* ``settings``: :class:`StreamSettings`, :class:`StreamState`, :class:`StreamStats`;
* ``protocol``: the wire format without I/O: frames, the two subprotocols, keep-alive rules;
* ``connection``: one websocket: handshake, sending, receiving, the dead-connection check;
* ``updates``: :class:`DeviceUpdates` and the queue that feeds it; it uses the manager
  only through :class:`~andersen_ev.stream.updates.ConsumerHub`;
* ``manager``: :class:`StreamManager`: consumers, the websocket's lifecycle, reconnects,
  resync, state.
"""

from andersen_ev.stream.manager import StreamManager
from andersen_ev.stream.protocol import GRAPHQL_TRANSPORT_WS, GRAPHQL_WS
from andersen_ev.stream.settings import StateCallback, StreamSettings, StreamState, StreamStats
from andersen_ev.stream.statuses import StatusSnapshot, StatusUpdate
from andersen_ev.stream.updates import DeviceUpdates

__all__ = [
    "GRAPHQL_TRANSPORT_WS",
    "GRAPHQL_WS",
    "DeviceUpdates",
    "StateCallback",
    "StatusSnapshot",
    "StatusUpdate",
    "StreamManager",
    "StreamSettings",
    "StreamState",
    "StreamStats",
]
