"""PLACEHOLDER: Query and Mutation resolvers (being written)."""

from __future__ import annotations

from graphql import GraphQLSchema


def attach(schema: GraphQLSchema) -> None:
    """Attach the Query and Mutation resolvers to ``schema``."""
