"""What a GraphQL document selects, with its fragments expanded (graphql-core's AST)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    print_ast,
)


def operations(document: DocumentNode) -> dict[str, OperationDefinitionNode]:
    """The named operations of a document, by name."""
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name
    }


def fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The fragment definitions of a document, by name."""
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def fields(document: DocumentNode, selection_set: SelectionSetNode) -> Iterator[FieldNode]:
    """The fields a selection set selects at its own level, through fragments and inline ones."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, FragmentSpreadNode):
            yield from fields(document, fragments(document)[selection.name.value].selection_set)
        elif isinstance(selection, InlineFragmentNode):
            yield from fields(document, selection.selection_set)


def response_names(document: DocumentNode, selection_set: SelectionSetNode) -> list[str]:
    """The keys a selection set gives its object in a response, in order, once each."""
    names = (
        field.alias.value if field.alias else field.name.value
        for field in fields(document, selection_set)
    )
    return list(dict.fromkeys(names))


def _field_key(field: FieldNode) -> str:
    """A field as it appears in a path: alias, name, arguments (sorted) and directives."""
    key = f"{field.alias.value}: {field.name.value}" if field.alias else field.name.value
    if field.arguments:
        arguments = sorted(f"{arg.name.value}: {print_ast(arg.value)}" for arg in field.arguments)
        key += f"({', '.join(arguments)})"
    return "".join([key, *(f" {print_ast(directive)}" for directive in field.directives or ())])


def selected_paths(document: DocumentNode, name: str) -> set[str]:
    """Every field path operation ``name`` selects, e.g. ``getDevice(id: $id).deviceStatus.id``."""
    paths: set[str] = set()

    def walk(selection_set: SelectionSetNode, prefix: str) -> None:
        for field in fields(document, selection_set):
            path = f"{prefix}{_field_key(field)}"
            paths.add(path)
            if field.selection_set:
                walk(field.selection_set, f"{path}.")

    walk(operations(document)[name].selection_set, "")
    return paths


def spreads(selection_set: SelectionSetNode) -> set[str]:
    """The fragments a selection set spreads itself, at any depth (not through fragments)."""
    found: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            found.add(selection.name.value)
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            found |= spreads(selection.selection_set)
    return found
