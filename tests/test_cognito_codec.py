"""botocore judges the library's own Cognito wire (andersen_ev.auth.codec), at test time.

The library sends six Cognito operations without botocore. Here botocore's ``cognito-idp``
model, serializer and parser check that it does so as the AWS SDKs would: the member table
matches the model, every request serialises to the same bytes both ways (and is refused
both ways when the model refuses it), recorded answers read the same both ways, and every
error code the model lists for these operations has a deliberate meaning.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal

import pytest
from botocore import loaders, model, parsers, serialize
from botocore.exceptions import ParamValidationError
from hypothesis import given
from hypothesis import strategies as st

from andersen_ev import CognitoError, InvalidInputError
from andersen_ev.auth import codes
from andersen_ev.auth.codec import (
    OPERATIONS,
    SESSION_LENGTH,
    Member,
    encode_request,
    read_answer,
    read_error,
)


@cache
def service() -> model.ServiceModel:
    raw = loaders.create_loader().load_service_model("cognito-idp", "service-2")
    return model.ServiceModel(raw, service_name="cognito-idp")


def botocore_request(operation: str, params: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    serializer = serialize.create_serializer("json", include_validation=True)
    request = serializer.serialize_to_request(params, service().operation_model(operation))
    return dict(request["headers"]), request["body"]


def botocore_parse(operation: str, status: int, body: bytes) -> dict[str, Any]:
    # ForgetDevice has no output shape: botocore's parser takes None there (its stubs do not)
    shape: Any = service().operation_model(operation).output_shape
    parsed: dict[str, Any] = parsers.create_parser("json").parse(
        {"status_code": status, "headers": {}, "body": body}, shape
    )
    parsed.pop("ResponseMetadata", None)
    return parsed


# -- the member table is the model's ----------------------------------------------------------


def member_of(shape: model.Shape, required: bool) -> Member:
    """What the codec's table should say of a member of the model."""
    kinds: dict[str, Literal["string", "map", "structure"]] = {
        "string": "string",
        "map": "map",
        "structure": "structure",
    }
    kind = kinds[shape.type_name]
    members = {}
    if isinstance(shape, model.StructureShape):
        members = {
            name: member_of(sub, name in shape.required_members)
            for name, sub in shape.members.items()
        }
    return Member(
        kind,
        required=required,
        min_length=shape.metadata.get("min"),
        max_length=shape.metadata.get("max"),
        members=members,
    )


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_member_table_matches_the_model(operation: str) -> None:
    shape = service().operation_model(operation).input_shape
    assert shape is not None
    ours = OPERATIONS[operation]
    assert set(shape.required_members) <= set(ours)  # every required member is sent
    for name, member in ours.items():
        assert member == member_of(shape.members[name], name in shape.required_members), name


def test_session_bounds_are_the_models() -> None:
    session = service().shape_for("SessionType")
    assert (SESSION_LENGTH.start, SESSION_LENGTH[-1]) == (
        session.metadata["min"],
        session.metadata["max"],
    )


# -- requests: the same bytes both ways ---------------------------------------------------------

TOKEN = "eyJraWQiOiJrIn0.eyJzdWIiOiJ1In0.c2ln"
EXAMPLES: dict[str, dict[str, Any]] = {
    "InitiateAuth": {
        "AuthFlow": "USER_SRP_AUTH",
        "ClientId": "23s0olnnniu5472ons0d9uoqt9",
        "AuthParameters": {"USERNAME": "u:1", "SRP_A": "ab" * 384, "DEVICE_KEY": "k"},
    },
    "RespondToAuthChallenge": {
        "ClientId": "23s0olnnniu5472ons0d9uoqt9",
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeResponses": {"USERNAME": "u", "TIMESTAMP": "Mon Jan 8 19:43:42 UTC 2018"},
        "Session": "s" * 40,
    },
    "ConfirmDevice": {
        "AccessToken": TOKEN,
        "DeviceKey": "eu-west-1_0f0e",
        "DeviceName": "Home Assistant ünïcode ☃",
        "DeviceSecretVerifierConfig": {"PasswordVerifier": "AQ==", "Salt": "Ag=="},
    },
    "UpdateDeviceStatus": {
        "AccessToken": TOKEN,
        "DeviceKey": "eu-west-1_0f0e",
        "DeviceRememberedStatus": "remembered",
    },
    "ForgetDevice": {"AccessToken": TOKEN, "DeviceKey": "eu-west-1_0f0e"},
    "GlobalSignOut": {"AccessToken": TOKEN},
}


def test_every_operation_has_an_example() -> None:
    assert set(EXAMPLES) == set(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(EXAMPLES))
def test_requests_serialise_to_botocores_bytes(operation: str) -> None:
    assert encode_request(operation, EXAMPLES[operation]) == botocore_request(
        operation, EXAMPLES[operation]
    )


texts = st.text(min_size=1, max_size=60)


@given(
    username=texts,
    srp_a=st.from_regex(r"\A[0-9a-f]{1,80}\Z"),
    name=st.text(min_size=1, max_size=80),
    session=st.text(min_size=20, max_size=60),
    responses=st.dictionaries(texts, texts, max_size=4),
)
def test_any_values_serialise_to_botocores_bytes(
    username: str, srp_a: str, name: str, session: str, responses: dict[str, str]
) -> None:
    cases = {
        "InitiateAuth": {
            **EXAMPLES["InitiateAuth"],
            "AuthParameters": {"USERNAME": username, "SRP_A": srp_a},
        },
        "RespondToAuthChallenge": {
            **EXAMPLES["RespondToAuthChallenge"],
            "ChallengeResponses": responses,
            "Session": session,
        },
        "ConfirmDevice": {**EXAMPLES["ConfirmDevice"], "DeviceName": name},
    }
    for operation, params in cases.items():
        assert encode_request(operation, params) == botocore_request(operation, params)


def refused_requests() -> list[Any]:
    """Requests botocore's validation refuses: a required member missing, a wrong type, a
    string below its minimum, an unknown member."""
    cases = []
    for operation, members in OPERATIONS.items():
        example = EXAMPLES[operation]
        for name, member in members.items():
            if member.required:
                without = {k: v for k, v in example.items() if k != name}
                cases.append(pytest.param(operation, without, id=f"{operation}-no-{name}"))
            wrong = 7 if member.kind == "string" else "text"
            cases.append(
                pytest.param(operation, {**example, name: wrong}, id=f"{operation}-{name}-type")
            )
            if member.min_length:
                short = "x" * (member.min_length - 1)
                cases.append(
                    pytest.param(
                        operation, {**example, name: short}, id=f"{operation}-{name}-short"
                    )
                )
        cases.append(pytest.param(operation, {**example, "Extra": "x"}, id=f"{operation}-extra"))
    return cases


@pytest.mark.parametrize(("operation", "params"), refused_requests())
def test_requests_botocore_refuses_are_refused(operation: str, params: dict[str, Any]) -> None:
    with pytest.raises(ParamValidationError):
        botocore_request(operation, params)
    with pytest.raises(InvalidInputError, match="nothing was sent") as caught:
        encode_request(operation, params)
    assert "x" * 3 not in str(caught.value)  # names parameters, not values


def test_maps_of_non_text_and_overlong_strings_are_refused_too() -> None:
    """Stricter than botocore, which leaves these to the service to refuse."""
    with pytest.raises(InvalidInputError, match="AuthParameters must be an object of texts"):
        encode_request("InitiateAuth", {**EXAMPLES["InitiateAuth"], "AuthParameters": {"A": 1}})
    with pytest.raises(InvalidInputError, match="DeviceName must be 1 to 1024 characters"):
        encode_request("ConfirmDevice", {**EXAMPLES["ConfirmDevice"], "DeviceName": "n" * 1025})
    with pytest.raises(InvalidInputError, match="DeviceSecretVerifierConfig must be an object"):
        encode_request(
            "ConfirmDevice", {**EXAMPLES["ConfirmDevice"], "DeviceSecretVerifierConfig": "x"}
        )


# -- answers: read the same both ways ------------------------------------------------------------

#: Answers as the real service sends them (shared/reference/cognito-wire.md), per operation.
RECORDED_ANSWERS: list[tuple[str, dict[str, Any]]] = [
    (
        "InitiateAuth",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": "8f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8",
                "SECRET_BLOCK": "c2VjcmV0IGJsb2Nr" * 20,
                "SRP_B": "1f" * 384,
                "USERNAME": "0a1b2c3d-4e5f:1",
                "USER_ID_FOR_SRP": "0a1b2c3d-4e5f:1",
            },
        },
    ),
    (
        "RespondToAuthChallenge",
        {
            "AuthenticationResult": {
                "AccessToken": TOKEN,
                "ExpiresIn": 3600,
                "IdToken": TOKEN,
                "NewDeviceMetadata": {
                    "DeviceGroupKey": "-7a9Bc",
                    "DeviceKey": "eu-west-1_0f0e1d2c-3b4a-5968-7f6e-5d4c3b2a1908",
                },
                "RefreshToken": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.opaque",
                "TokenType": "Bearer",
            },
            "ChallengeParameters": {},
        },
    ),
    ("RespondToAuthChallenge", {"ChallengeName": "DEVICE_SRP_AUTH", "Session": "s" * 900}),
    (
        "InitiateAuth",
        {
            "AuthenticationResult": {
                "AccessToken": TOKEN,
                "ExpiresIn": 3600,
                "IdToken": TOKEN,
                "TokenType": "Bearer",
            },
            "ChallengeParameters": {},
            "UnknownMember": {"ignored": True},
        },
    ),
    ("ConfirmDevice", {"UserConfirmationNecessary": True}),
    ("UpdateDeviceStatus", {}),
    ("ForgetDevice", {}),
    ("GlobalSignOut", {}),
]


def shaped(shape: model.Shape | None, value: Any) -> Any:
    """``value`` as botocore's parser leaves it: only the model's members, no nulls."""
    if isinstance(shape, model.StructureShape):
        return {
            name: shaped(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if isinstance(shape, model.MapShape):
        return {key: shaped(shape.value, item) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("operation", "answer"), RECORDED_ANSWERS)
def test_recorded_answers_read_as_botocore_reads_them(
    operation: str, answer: dict[str, Any]
) -> None:
    body = json.dumps(answer).encode()
    ours = read_answer(operation, body)
    assert ours == answer
    output = service().operation_model(operation).output_shape
    assert shaped(output, ours) == botocore_parse(operation, 200, body)


#: Error answers: those of the wire reference, and odd ones botocore can still read.
RECORDED_ERRORS: list[tuple[int, bytes]] = [
    (400, b'{"__type":"NotAuthorizedException","message":"Incorrect username or password."}'),
    (400, b'{"__type":"UserNotFoundException","message":"User does not exist."}'),
    (400, b'{"__type":"NotAuthorizedException","message":"Refresh Token has been revoked"}'),
    (400, b'{"__type":"ResourceNotFoundException","message":"Device does not exist."}'),
    (400, b'{"__type":"InvalidParameterException","message":"Missing required parameter SRP_A"}'),
    (400, b'{"__type":"TooManyRequestsException","message":"Rate exceeded"}'),
    (400, b'{"__type":"SerializationException","Message":"Unexpected character"}'),
    (404, b'{"code":"BadRequest","message":"The server did not understand the operation."}'),
    (400, b'{"__type":"com.amazonaws.cognito#InternalErrorException","message":"m"}'),
    (400, b'{"__type":"NotAuthorizedException:http://internal/"}'),
    (500, b"<html>Internal Server Error</html>"),
    (502, b""),
    (503, b"  \n"),
    (500, b"not html"),
]


@pytest.mark.parametrize(("status", "body"), RECORDED_ERRORS)
def test_recorded_errors_read_as_botocore_reads_them(status: int, body: bytes) -> None:
    error = botocore_parse("InitiateAuth", status, body)["Error"]
    assert read_error(status, body) == (error["Code"], error["Message"])


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, b"[1, 2]", ("400", "")),  # botocore: AttributeError
        (400, b'{"__type": 5, "message": 6}', ("400", "")),  # botocore: TypeError
        (400, b"\xff\xfe", ("400", "\ufffd\ufffd")),  # botocore: UnicodeDecodeError
        (400, b"[" * 100_000, ("400", "[" * 100_000)),  # json.loads: RecursionError
        (400, b'{"__type": ":"}', ("400", "")),
    ],
)
def test_errors_botocore_cannot_read_are_read(
    status: int, body: bytes, expected: tuple[str, str]
) -> None:
    assert read_error(status, body) == expected


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"[" * 100_000, "is not JSON"),
        (b'{"ExpiresIn": NaN}', "is not JSON"),
        (b"\xff", "is not JSON"),
        (b'"text"', "is not a JSON object"),
    ],
)
def test_answers_that_are_not_sane_json_objects_are_malformed(body: bytes, what: str) -> None:
    with pytest.raises(CognitoError, match=what) as caught:
        read_answer("InitiateAuth", body)
    assert caught.value.code == "MalformedResponse"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


# -- every error code of the model has a meaning ----------------------------------------------

MEANINGS = {
    "throttling": codes.THROTTLING,
    "outages": codes.OUTAGES,
    "service faults": codes.SERVICE_FAULTS,
    "refusals": codes.REFUSALS,
    "request errors": codes.REQUEST_ERRORS,
}


def test_each_code_has_exactly_one_meaning() -> None:
    seen: dict[str, str] = {}
    for meaning, members in MEANINGS.items():
        for code in members:
            assert code not in seen, (code, seen.get(code), meaning)
            seen[code] = meaning


def test_every_code_the_model_lists_for_our_operations_has_a_meaning() -> None:
    listed = {
        error.name
        for operation in OPERATIONS
        for error in service().operation_model(operation).error_shapes
    }
    assert len(listed) >= 25
    meant = set().union(*MEANINGS.values())
    assert listed - meant == set()
    # codes the wire reference saw that are not in the model's lists
    assert {"RefreshTokenReuseException", "ThrottlingException"} <= meant
