"""Each distinct GraphQL document parsed and validated once, for HTTP and websockets alike.

Clients send the same few documents over and over; parsing and validating one against the
schema cost most of the emulator's time per request (about 80 % of a ``getDeviceStatus``,
see ``benchmarks/emulator.py``). The verdict depends on the text only (the schema never
changes), so it is kept: the parsed document, or the parse error, or the validation
errors. The documents are still executed by graphql-core each time, so the GraphQL
semantics stay those of a real server. A bounded LRU keeps a client that sends ever new
documents (a fuzzer) from growing the cache without end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from graphql import DocumentNode, GraphQLError, parse, validate

from andersen_ev.testing.executable_schema import executable_schema

__all__ = ["CACHED_DOCUMENTS", "Checked", "checked_document"]

#: How many distinct documents are remembered (least recently used ones are dropped).
CACHED_DOCUMENTS: Final = 512


@dataclass(frozen=True)
class Checked:
    """A document's verdict: exactly one of its three fields says what it is.

    ``document`` when it parsed and validated; ``parse_error`` when it does not parse;
    ``validation_errors`` (never empty then) when it parsed but does not fit the schema.
    The errors are shared between requests: read them, never change them.
    """

    document: DocumentNode | None = None
    parse_error: GraphQLError | None = None
    validation_errors: tuple[GraphQLError, ...] = ()


@lru_cache(maxsize=CACHED_DOCUMENTS)
def checked_document(query: str) -> Checked:
    """Parse and validate ``query`` against the emulator's schema, once per distinct text."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return Checked(parse_error=error)
    errors = validate(executable_schema(), document)
    if errors:
        return Checked(validation_errors=tuple(errors))
    return Checked(document=document)
