"""The operation table against the documents and the schema, and the typed call path: every
reply shape becomes the same typed result on the fast and the slow path, or the right error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLScalarType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    get_named_type,
    parse,
)

from andersen_ev import (
    Address,
    ChargeRate,
    CommandResult,
    Device,
    DeviceInfo,
    DeviceNotFoundError,
    DeviceStatus,
    ResponseError,
    SolarSettings,
)
from andersen_ev import operations as ops
from andersen_ev.graphql import OPERATION_NAMES, operation_document, schema_sdl
from andersen_ev.http import GraphQLResult
from andersen_ev.operations import OPERATIONS, Operation

SCHEMA = build_schema(schema_sdl())
#: What each scalar leaf of the schema becomes (objects are checked by the models' tests).
SCALAR_RESULTS = {"Boolean": ops.OPTIONAL_FLAG, "String": ops.OPTIONAL_TEXT, "JSON": ops.JSON}


def test_every_document_but_the_subscription_has_one_entry() -> None:
    assert set(OPERATIONS) == set(OPERATION_NAMES) - {"deviceStatusUpdated"}
    assert all(name == operation.name for name, operation in OPERATIONS.items())


def _field(
    selections: SelectionSetNode, key: str, fragments: dict[str, FragmentDefinitionNode]
) -> FieldNode | None:
    """The field answered under ``key`` (alias or name), looking into fragments too."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if (selection.alias or selection.name).value == key:
                return selection
            continue
        if isinstance(selection, FragmentSpreadNode):
            inner = fragments[selection.name.value].selection_set
        else:
            assert isinstance(selection, InlineFragmentNode)
            inner = selection.selection_set
        found = _field(inner, key, fragments)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_entry_matches_its_document_and_the_schema(name: str) -> None:
    operation = OPERATIONS[name]
    document = parse(operation_document(name))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    (definition,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert definition.name is not None
    assert definition.name.value == name
    assert operation.mutation == (definition.operation is OperationType.MUTATION)
    parent: Any = SCHEMA.mutation_type if operation.mutation else SCHEMA.query_type
    selections: SelectionSetNode | None = definition.selection_set
    for key in operation.path:  # every step of the path is selected by the document
        assert selections is not None, (name, key)
        field = _field(selections, key, fragments)
        assert field is not None, (name, key)
        assert isinstance(parent, GraphQLObjectType)
        parent = get_named_type(parent.fields[field.name.value].type)
        selections = field.selection_set
    if isinstance(parent, GraphQLScalarType):  # a bare value: typed from the schema
        assert operation.result is SCALAR_RESULTS[parent.name], name
    else:
        assert selections is not None, name


class SlowResult(GraphQLResult):
    """A reply that never takes the fast path: what the detailed checks make of it."""

    def validate(self, envelope: Any) -> None:
        return None


def read(operation: Operation[Any], data: object, **variables: object) -> tuple[Any, Any]:
    """The result of a reply ``{"data": data}`` on the fast and on the slow path."""
    body = json.dumps({"data": data}).encode()
    fast = operation.read(GraphQLResult(operation.name, body, 200), variables)
    slow = operation.read(SlowResult(operation.name, body, 200), variables)
    return fast, slow


@pytest.mark.parametrize(
    ("operation", "data", "expected"),
    [
        (ops.GET_SUPPORT_MESSAGE, {"getSupportMessage": "hi"}, "hi"),
        (ops.GET_SUPPORT_MESSAGE, {"getSupportMessage": None}, None),
        (ops.GET_SUPPORT_MESSAGE, {}, None),
        (
            ops.GET_CURRENT_USER_DEVICES,
            {"getCurrentUserDevices": [None, {"id": "a"}, None, {"id": "b"}]},
            [Device(id="a"), Device(id="b")],
        ),
        (ops.GET_CURRENT_USER_DEVICES, {"getCurrentUserDevices": None}, []),
        (ops.SEARCH_ADDRESS, {"searchAddress": [{"postcode": "X1"}]}, [Address(postcode="X1")]),
        (ops.GET_DEVICE, {"getDevice": {"id": "d", "name": "A2"}}, Device(id="d", name="A2")),
        (
            ops.GET_DEVICE_STATUS,
            {"getDevice": {"deviceStatus": {"evseState": 3}}},
            DeviceStatus(evse_state=3),
        ),
        (ops.GET_DEVICE_CHARGE_RATES, {"getDevice": {"deviceChargeRates": None}}, []),
        (
            ops.GET_DEVICE_LORA,
            {"getDevice": {"deviceInfo": {"loraDevices": [{"a": 1}]}}},
            [{"a": 1}],
        ),
        (
            ops.GET_DEVICE_LORA,
            {"getDevice": {"deviceInfo": {"loraDevices": {"x": None}}}},
            {"x": None},
        ),
        (ops.GET_DEVICE_LORA, {"getDevice": {"deviceInfo": None}}, None),
        (ops.GET_DEVICE_LORA, {"getDevice": {"deviceInfo": {}}}, None),
        (ops.GET_DEVICE_LORA, {"getDevice": {}}, None),
        (ops.GET_DEVICE_SOLAR, {"getDevice": {"deviceInfo": None}}, DeviceInfo()),
        (
            ops.GET_CALCULATED_POWER_LOGS_BINNED,
            {"getDevice": {"deviceCalculatedPowerLogsBinned": [[1, 2.5, "x", True]]}},
            [[1, 2.5, "x", True]],
        ),
        (ops.GET_SOLAR, {"getSolar": None}, None),
        (ops.GET_SOLAR, {"getSolar": {"override": True}}, SolarSettings(override=True)),
        (ops.RUN_AEV_COMMAND, {"runAEVCommand": {"id": "d"}}, CommandResult(id="d")),
        (ops.RUN_AEV_COMMAND, {"runAEVCommand": None}, None),
        (ops.SET_SCHEDULE_NAMES, {"upsertDeviceInfo": None}, DeviceInfo()),
        (ops.UPSERT_DEVICE_FRIENDLY_NAME, {"upsertDeviceInfo": None}, None),
        (ops.CREATE_CHARGE_RATE, {"createChargeRate": {"id": "r"}}, ChargeRate(id="r")),
        (ops.DELETE_CHARGE_RATE, {"deleteChargeRate": True}, True),
        (ops.UNCLAIM_DEVICE, {"unclaimDevice": False}, False),
        (ops.UPSERT_ACCOUNT, {"upsertAccount": None}, None),
        (ops.REGISTER_MOBILE_DEVICE, {}, None),
    ],
)
def test_replies_become_typed_results_on_both_paths(
    operation: Operation[Any], data: object, expected: object
) -> None:
    fast, slow = read(operation, data, id="d")
    assert fast == expected
    assert slow == expected
    assert type(fast) is type(expected)


@pytest.mark.parametrize(
    ("operation", "data", "match", "path"),
    [
        (ops.GET_DEVICE, {"getDevice": "x"}, "getDevice is not an object", "getDevice"),
        (ops.GET_DEVICE_LORA, {"getDevice": []}, "getDevice is not an object", "getDevice"),
        (
            ops.GET_DEVICE_LORA,
            {"getDevice": {"deviceInfo": "x"}},
            "getDevice.deviceInfo is not an object",
            "getDevice.deviceInfo",
        ),
        (
            ops.GET_DEVICE_STATUS_SIMPLE,
            {"getDevice": {"id": "d"}},
            "the device has no status",
            "getDevice.deviceStatus",
        ),
        (
            ops.GET_CURRENT_USER_DEVICES,
            {"getCurrentUserDevices": [None, {"name": "no id"}]},
            "unexpected value at getCurrentUserDevices.1.id",
            "getCurrentUserDevices.1.id",
        ),
        (
            ops.GET_CURRENT_USER_DEVICES,
            {"getCurrentUserDevices": {"id": "a"}},
            "unexpected value",
            "getCurrentUserDevices",
        ),
        (
            ops.CREATE_CHARGE_RATE,
            {"createChargeRate": None},
            "unexpected value",
            "createChargeRate",
        ),
        (ops.UNCLAIM_DEVICE, {"unclaimDevice": "maybe"}, "unexpected value", "unclaimDevice"),
        (
            ops.GET_DEVICE_SOLAR,
            {"getDevice": {"deviceInfo": 7}},
            "unexpected value",
            "getDevice.deviceInfo",
        ),
    ],
)
def test_replies_that_do_not_fit_name_the_path(
    operation: Operation[Any], data: object, match: str, path: str
) -> None:
    with pytest.raises(ResponseError, match=match) as info:
        read(operation, data, id="d")
    assert info.value.path == path
    assert info.value.operation == operation.name


@pytest.mark.parametrize(
    "operation", [op for op in OPERATIONS.values() if op.path[0] == ops.DEVICE_ROOT]
)
def test_a_device_query_without_the_device_is_device_not_found(operation: Operation[Any]) -> None:
    for data in ({"getDevice": None}, {}):
        with pytest.raises(DeviceNotFoundError, match="no device 'gone' in this account") as info:
            read(operation, data, id="gone")
        assert info.value.operation == operation.name
        assert info.value.errors == []
