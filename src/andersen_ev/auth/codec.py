"""Cognito's AWS JSON 1.1 wire for the six calls this library makes, without botocore.

A request is ``POST /`` with ``X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>``,
``Content-Type: application/x-amz-json-1.1`` and the parameters as a JSON object; an answer
is a JSON object, or, for an error, ``{"__type": "<Code>", "message": "<text>"}``.

:func:`encode_request` checks the parameters against the members the API model gives each
operation (:data:`OPERATIONS`: which are required, their types and lengths) and writes the
body exactly as botocore does; :func:`read_answer` and :func:`read_error` read answers the
way botocore's parser reads them, except that nothing here can raise anything but the
library's own errors. botocore stays the judge, at test time only: a test serialises every
request both ways and compares the bytes, parses recorded answers both ways, and holds
:data:`OPERATIONS` against botocore's ``cognito-idp`` model. Importing botocore and loading
its model cost ~0.1 s of CPU and a few MB per process, for six fixed shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.client import responses
from typing import Any, Final, Literal

from andersen_ev.exceptions import CognitoError, InvalidInputError
from andersen_ev.wire import MalformedJsonError, parse_json

__all__ = [
    "CONTENT_TYPE",
    "OPERATIONS",
    "SESSION_LENGTH",
    "TARGET_PREFIX",
    "Member",
    "encode_request",
    "malformed_answer",
    "read_answer",
    "read_error",
]

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService"
_SERVER_ERRORS: Final = 500
CONTENT_TYPE: Final = "application/x-amz-json-1.1"


@dataclass(frozen=True, slots=True)
class Member:
    """One request member of Cognito's API model: its type, whether required, its lengths."""

    kind: Literal["string", "map", "structure"]
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    members: Mapping[str, Member] = field(default_factory=dict)
    """A structure's own members."""


#: Bounds of ``Session`` in the API model (answers outside them are refused, too).
SESSION_LENGTH: Final = range(20, 4097)

_CLIENT_ID: Final = Member("string", required=True, min_length=1, max_length=128)
_ACCESS_TOKEN: Final = Member("string", required=True)
_DEVICE_KEY: Final = Member("string", required=True, min_length=1, max_length=55)
_VERIFIER_PART: Final = Member("string", min_length=0, max_length=131072)
_SESSION: Final = Member("string", min_length=SESSION_LENGTH.start, max_length=SESSION_LENGTH[-1])

#: The members this library sends, per operation, as Cognito's API model defines them.
OPERATIONS: Final[Mapping[str, Mapping[str, Member]]] = {
    "InitiateAuth": {
        "AuthFlow": Member("string", required=True),
        "ClientId": _CLIENT_ID,
        "AuthParameters": Member("map"),
    },
    "RespondToAuthChallenge": {
        "ClientId": _CLIENT_ID,
        "ChallengeName": Member("string", required=True),
        "Session": _SESSION,
        "ChallengeResponses": Member("map"),
    },
    "ConfirmDevice": {
        "AccessToken": _ACCESS_TOKEN,
        "DeviceKey": _DEVICE_KEY,
        "DeviceSecretVerifierConfig": Member(
            "structure",
            members={"PasswordVerifier": _VERIFIER_PART, "Salt": _VERIFIER_PART},
        ),
        "DeviceName": Member("string", min_length=1, max_length=1024),
    },
    "UpdateDeviceStatus": {
        "AccessToken": _ACCESS_TOKEN,
        "DeviceKey": _DEVICE_KEY,
        "DeviceRememberedStatus": Member("string"),
    },
    "ForgetDevice": {"AccessToken": Member("string"), "DeviceKey": _DEVICE_KEY},
    "GlobalSignOut": {"AccessToken": _ACCESS_TOKEN},
}


def encode_request(operation: str, params: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """The headers and body of ``operation`` with ``params``, checked against the model.

    Raises:
        InvalidInputError: an operation this library does not send, or ``params`` that do
            not fit the model (the message names the parameters, never their values);
            nothing was sent.
    """
    members = OPERATIONS.get(operation)
    if members is None:
        raise InvalidInputError(
            f"andersen-ev does not send Cognito {operation}; it sends {', '.join(OPERATIONS)}"
        )
    problems = list(_problems(members, params, ""))
    if problems:
        raise InvalidInputError(
            f"invalid Cognito {operation} request: {'; '.join(problems)}; correct these"
            " arguments (nothing was sent)"
        )
    headers = {"X-Amz-Target": f"{TARGET_PREFIX}.{operation}", "Content-Type": CONTENT_TYPE}
    return headers, json.dumps(params).encode()


def _problems(members: Mapping[str, Member], params: Mapping[str, Any], path: str) -> Iterator[str]:
    for name in params:
        if name not in members:
            yield f"unknown parameter {path}{name}"
    for name, member in members.items():
        if name not in params:
            if member.required:
                yield f"missing required parameter {path}{name}"
            continue
        yield from _member_problems(member, params[name], f"{path}{name}")


def _member_problems(member: Member, value: object, name: str) -> Iterator[str]:
    if member.kind == "structure":
        if isinstance(value, Mapping):
            yield from _problems(member.members, value, f"{name}.")
        else:
            yield f"parameter {name} must be an object"
    elif member.kind == "map":
        if not (
            isinstance(value, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            yield f"parameter {name} must be an object of texts"
    elif not isinstance(value, str):
        yield f"parameter {name} must be text"
    elif (member.min_length is not None and len(value) < member.min_length) or (
        member.max_length is not None and len(value) > member.max_length
    ):
        yield f"parameter {name} must be {_lengths(member)} characters long"


def _lengths(member: Member) -> str:
    if member.max_length is None:
        return f"at least {member.min_length}"
    return f"{member.min_length or 0} to {member.max_length}"


def malformed_answer(operation: str, what: str) -> CognitoError:
    """The error for an answer of ``operation`` that Cognito would not send (``what`` it has)."""
    return CognitoError(
        "MalformedResponse",
        f"the answer {what}; is cognito_url pointing at a Cognito service?",
        operation=operation,
    )


def read_answer(operation: str, body: bytes) -> dict[str, Any]:
    """The JSON object of a successful answer of ``operation`` (an empty body is ``{}``).

    Raises:
        CognitoError: ``MalformedResponse``: the body is not a sane JSON object.
    """
    if not body:
        return {}
    try:
        answer = parse_json(body)
    except MalformedJsonError:
        raise malformed_answer(operation, "is not JSON") from None
    if not isinstance(answer, dict):
        raise malformed_answer(operation, "is not a JSON object")
    return answer


def read_error(status: int, body: bytes) -> tuple[str, str]:
    """The code and message of an error answer, read as botocore reads them.

    The code is ``__type`` without a namespace (``com.amazonaws#Code``) or a suffix
    (``Code:...``), else the HTTP status; the message is ``message``, else ``Message``, else
    the body itself when it is not JSON. A 5xx answer with an empty or HTML body (a proxy's
    page) has the status as its code and the status's reason phrase as its message.
    """
    stripped = body.strip()
    if status >= _SERVER_ERRORS and (not stripped or stripped.startswith(b"<html>")):
        return str(status), responses.get(status, "")
    text = body.decode(errors="replace")
    document: object
    try:
        document = parse_json(body) if body else {}
    except MalformedJsonError:
        document = {"message": text}
    if not isinstance(document, dict):
        document = {}
    code = document.get("__type")
    code = code if isinstance(code, str) else ""
    code = code.split(":", 1)[0].rsplit("#", 1)[-1] or str(status)
    message = document.get("message", document.get("Message", ""))
    return code, message if isinstance(message, str) else ""
