"""graphql-core's executor with a short path for plain leaf fields: a third less CPU per status.

A device status is some 150 fields, nearly all scalars read from a dict by the default
resolver. For each, graphql-core builds a ``GraphQLResolveInfo``, calls the resolver,
checks for awaitables and completes the value: most of the emulator's time per
``getDeviceStatus`` once documents are checked once (:mod:`.checked_documents`).

:class:`LeafExecutor` answers such a field directly: a field with no resolver, no
arguments, a scalar or enum type, on a dict source, is ``source[name]`` serialised by the
type's own graphql-core ``serialize`` (so the answer is the one graphql-core would give).
Everything else (objects, lists, resolvers, arguments, a null in a non-null field, a value
the scalar refuses) goes to graphql-core's own path, which raises its own errors. The
tests compare both executors' answers on every operation the library sends.
"""

from __future__ import annotations

from typing import Any, Final

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from graphql.execution.incremental.incremental_executor import IncrementalExecutor
from graphql.pyutils import Path, Undefined

__all__ = ["LeafExecutor", "LeafSubscriptionExecutor"]

_LEAF_TYPES: Final = (GraphQLScalarType, GraphQLEnumType)


class _PlainLeaves(Executor[Any]):
    """The short path, for either of graphql-core's executors (see the module doc)."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A plain leaf's value at once, or graphql-core's ``execute_field`` for the rest."""
        value = self._plain_leaf(parent_type, source, field_details_list)
        if value is not Undefined:
            return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _plain_leaf(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: FieldDetailsList
    ) -> Any:
        """The serialised value of a plain leaf field, or ``Undefined`` to take the long way."""
        if type(source) is not dict or self.middleware_manager is not None:
            return Undefined
        node = field_details_list[0].node
        typed = None if node.arguments else self._leaf_type(parent_type, node.name.value)
        if typed is None:
            return Undefined
        leaf, nullable = typed
        value = source.get(node.name.value)
        if value is None:  # null: fine where nullable, graphql-core's error where not
            return None if nullable else Undefined
        if callable(value):  # the default resolver calls it: leave that to graphql-core
            return Undefined
        try:
            return leaf.serialize(value)
        except Exception:  # noqa: BLE001 - graphql-core reports it, located, on its own path
            return Undefined

    def _leaf_type(
        self, parent_type: GraphQLObjectType, name: str
    ) -> tuple[GraphQLScalarType | GraphQLEnumType, bool] | None:
        """A resolver-less, argument-less leaf field's type and nullability; else None."""
        field = self.schema.get_field(parent_type, name)
        if field is None or field.resolve is not None or field.args:
            return None
        declared = field.type
        leaf = declared.of_type if isinstance(declared, GraphQLNonNull) else declared
        if not isinstance(leaf, _LEAF_TYPES):
            return None
        return leaf, leaf is declared


class LeafExecutor(_PlainLeaves, IncrementalExecutor):
    """The executor ``execute`` uses by default, with plain leaf fields answered directly."""


class LeafSubscriptionExecutor(_PlainLeaves, ExecutorThrowingOnIncremental):
    """The executor ``subscribe`` uses by default (for each event), with the short path."""
