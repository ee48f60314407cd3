"""What each Cognito error code means to a caller: one deliberate decision per code.

Every code Cognito's API model lists for the six operations this library sends
(``InitiateAuth``, ``RespondToAuthChallenge``, ``ConfirmDevice``, ``UpdateDeviceStatus``,
``ForgetDevice``, ``GlobalSignOut``) is in exactly one of the sets below; a test holds
them against botocore's model, so a code the service adds needs a decision here.

- :data:`THROTTLING` and :data:`OUTAGES` (and any HTTP 429 or 5xx answer) are the service
  failing, whatever was sent: :class:`~andersen_ev.RateLimitedError` and
  :class:`~andersen_ev.ServerError`, both :class:`~andersen_ev.ServiceUnavailableError`.
- :data:`SERVICE_FAULTS`: the user pool is misconfigured or its firewall blocks us; no
  password or login can fix that, so it is a :class:`~andersen_ev.ServiceUnavailableError`
  too.
- :data:`REFUSALS`: the account, the password, the device or the session is refused; what
  that means depends on the call (a wrong password at login, the session over at a refresh),
  so :mod:`~andersen_ev.auth.login` and :mod:`~andersen_ev.auth.session` map them to
  :class:`~andersen_ev.AuthenticationError` subclasses.
- :data:`REQUEST_ERRORS`: the service did not accept what this library sent (or asks for a
  step it does not implement): a :class:`~andersen_ev.CognitoError` carrying the code, to
  be reported.
"""

from __future__ import annotations

from typing import Final

__all__ = ["OUTAGES", "REFUSALS", "REQUEST_ERRORS", "SERVICE_FAULTS", "THROTTLING"]

#: Cognito asks us to slow down (``Rate exceeded``).
THROTTLING: Final = frozenset({"TooManyRequestsException", "ThrottlingException"})
#: Cognito (or the pool's own Lambda triggers) failed.
OUTAGES: Final = frozenset(
    {
        "InternalErrorException",
        "ServiceUnavailableException",
        "UnexpectedLambdaException",
        "InvalidLambdaResponseException",
    }
)
#: The pool cannot serve anybody as configured, or AWS WAF blocks this client.
SERVICE_FAULTS: Final = frozenset(
    {
        "InvalidUserPoolConfigurationException",
        "InvalidSmsRoleAccessPolicyException",
        "InvalidSmsRoleTrustRelationshipException",
        "InvalidEmailRoleAccessPolicyException",
        "ForbiddenException",
    }
)
#: The account, password, device or session is refused: mapped by the caller's context.
REFUSALS: Final = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
        "UserLambdaValidationException",
        "ResourceNotFoundException",
        "RefreshTokenReuseException",
    }
)
#: What this library sent was not accepted, or the service wants a step it cannot take.
REQUEST_ERRORS: Final = frozenset(
    {
        "InvalidParameterException",
        "InvalidPasswordException",
        "DeviceKeyExistsException",
        "UsernameExistsException",
        "AliasExistsException",
        "CodeMismatchException",
        "ExpiredCodeException",
        "MFAMethodNotFoundException",
        "SoftwareTokenMFANotFoundException",
        "PasswordHistoryPolicyViolationException",
        "OperationNotEnabledException",
        "FeatureUnavailableInTierException",
        "UnsupportedOperationException",
    }
)
