"""Log in once, then live on tokens: Cognito SRP login, refresh, and device confirmation.

:class:`Authenticator` owns a user's :class:`Tokens`. It logs in with the email and password
(Cognito ``USER_SRP_AUTH``: the password never leaves this process), refreshes the tokens
ahead of expiry with the refresh token, and can *remember this device* (``ConfirmDevice``)
so that an application may persist the tokens and the device secret instead of the password.

Typical use, through :class:`andersen_ev.AndersenA2`::

    async with AndersenA2(tokens=saved, on_tokens_updated=store.update) as a2:
        if a2.tokens is None:
            await a2.authenticate(email, password)
            await a2.confirm_device("Home Assistant")
        ...

Tokens change on every login and refresh; ``on_tokens_updated`` is called each time (and
with None after :meth:`Authenticator.sign_out`) so that the application can save them, for
example with :class:`andersen_ev.TokenStore`. ``tokens.login_at`` tells a refresh (same
value) from a new login.

The package, one concern per module:

- :mod:`~andersen_ev.auth.tokens`: :class:`Tokens` (JSON in one call, the account id,
  :data:`TOKENS_TO_REDACT`) and the callback told of new ones;
- :mod:`~andersen_ev.auth.session`: :class:`Authenticator`: the current tokens, refresh
  (single-flight), invalidation, device confirmation, sign-out;
- :mod:`~andersen_ev.auth.login`: the password login, one function per step;
- :mod:`~andersen_ev.auth.challenges`: the answer to each login challenge (no I/O);
- :mod:`~andersen_ev.auth.device`: the remembered device's secret and its verifier;
- :mod:`~andersen_ev.auth.cognito`: the Cognito calls, and outages told from refusals;
- :mod:`~andersen_ev.auth.codec`: Cognito's JSON 1.1 wire (botocore judges it in tests);
- :mod:`~andersen_ev.auth.codes`: what each Cognito error code means;
- :mod:`~andersen_ev.auth.answers`: Cognito's authentication answers, read strictly;
- :mod:`~andersen_ev.auth.compute`: the SRP maths, in slices short enough for the loop.

The SRP maths live apart, in :mod:`andersen_ev.srp`, shared with the emulator.
"""

from __future__ import annotations

from andersen_ev.auth.device import device_secret_verifier_config
from andersen_ev.auth.session import DEFAULT_REFRESH_MARGIN, Authenticator, SessionSource
from andersen_ev.auth.tokens import TOKENS_TO_REDACT, Tokens, TokensCallback

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "TOKENS_TO_REDACT",
    "Authenticator",
    "SessionSource",
    "Tokens",
    "TokensCallback",
    "device_secret_verifier_config",
]
