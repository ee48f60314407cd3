"""A faithful local emulator of the Andersen cloud, for tests, demos and your own harnesses.

:class:`AndersenCloud` serves GraphQL over HTTP and websockets, the username lookup and a
Cognito user pool with real SRP on loopback, with stateful simulated chargers and fault
knobs. It is no kinder than production (:class:`Realism`): device commands land a second
or two late, as on the real service. The pytest plugin (loaded automatically when
andersen-ev is installed) offers the fixtures ``andersen_cloud``, ``andersen_user`` and
``andersen_charger``.

The library itself never imports this package.
"""

from andersen_ev.testing.charger import Charger
from andersen_ev.testing.cloud import AndersenCloud
from andersen_ev.testing.faults import CloudStats, Faults
from andersen_ev.testing.realism import Realism
from andersen_ev.testing.state import EmulatedUser

__all__ = ["AndersenCloud", "Charger", "CloudStats", "EmulatedUser", "Faults", "Realism"]
