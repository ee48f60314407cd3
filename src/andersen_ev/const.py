"""Production endpoints and identifiers of the Andersen cloud, and :class:`Endpoints`.

Every URL and id the library talks to lives in one :class:`Endpoints` value, so that tests
and users can point a client at the emulator (``AndersenCloud().endpoints``) or elsewhere
without touching anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from andersen_ev import srp

__all__ = ["DEFAULT_TIMEOUT", "PRODUCTION", "Endpoints"]

#: Seconds a request (Cognito or GraphQL) may take unless the caller says otherwise.
DEFAULT_TIMEOUT: Final = 30.0

PRODUCTION_GRAPHQL_URL: Final = "https://graphql.andersen-ev.com"
PRODUCTION_WEBSOCKET_URL: Final = "wss://graphql.andersen-ev.com/graphql"
PRODUCTION_USER_LOOKUP_URL: Final = "https://graphql.andersen-ev.com/get-pending-user"
PRODUCTION_REGION: Final = "eu-west-1"
PRODUCTION_USER_POOL_ID: Final = "eu-west-1_t5HV3bFjl"
PRODUCTION_CLIENT_ID: Final = "23s0olnnniu5472ons0d9uoqt9"
PRODUCTION_COGNITO_URL: Final = f"https://cognito-idp.{PRODUCTION_REGION}.amazonaws.com/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoints:
    """Where the Andersen cloud lives: URLs and Cognito identifiers.

    The defaults are the production service. The emulator hands out an instance whose URLs
    point at its loopback ports while keeping the production pool and client ids.
    """

    graphql_url: str = PRODUCTION_GRAPHQL_URL
    """GraphQL over HTTP (POST, JSON body)."""
    websocket_url: str = PRODUCTION_WEBSOCKET_URL
    """GraphQL subscriptions over a websocket."""
    user_lookup_url: str = PRODUCTION_USER_LOOKUP_URL
    """``/get-pending-user``: maps an email to the Cognito username (no auth)."""
    cognito_url: str = PRODUCTION_COGNITO_URL
    """Cognito identity provider, AWS JSON 1.1, unsigned."""
    region: str = PRODUCTION_REGION
    """AWS region of the user pool."""
    user_pool_id: str = PRODUCTION_USER_POOL_ID
    """Cognito user pool id (``<region>_<poolName>``)."""
    client_id: str = PRODUCTION_CLIENT_ID
    """Cognito app client id (a public client: no secret)."""

    @property
    def pool_name(self) -> str:
        """The user pool id after the underscore: the SRP ``poolName``.

        Raises:
            InvalidInputError: ``user_pool_id`` is not ``<region>_<poolName>``.
        """
        return srp.pool_name(self.user_pool_id)


#: The production Andersen cloud.
PRODUCTION: Final = Endpoints()
