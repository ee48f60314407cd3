"""Each distinct GraphQL document is parsed and validated once, whatever the transport."""

from __future__ import annotations

import pytest
from graphql import DocumentNode

from andersen_ev.graphql import operation_document
from andersen_ev.testing.checked_documents import CACHED_DOCUMENTS, checked_document


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    checked_document.cache_clear()


def test_a_document_is_checked_once() -> None:
    text = operation_document("getDeviceStatus")
    first = checked_document(text)
    assert isinstance(first.document, DocumentNode)
    assert (first.parse_error, first.validation_errors) == (None, ())
    assert checked_document(text) is first
    assert checked_document.cache_info().hits == 1


def test_the_verdicts_on_bad_documents_are_kept_too() -> None:
    broken = checked_document("{ getDevice(")
    assert broken.document is None
    assert broken.parse_error is not None
    assert "Syntax Error" in broken.parse_error.message
    unknown = checked_document("{ noSuchField }")
    assert (unknown.document, unknown.parse_error) == (None, None)
    assert [error.message for error in unknown.validation_errors] == [
        "Cannot query field 'noSuchField' on type 'Query'."
    ]
    assert checked_document("{ noSuchField }") is unknown


def test_the_cache_is_bounded() -> None:
    for n in range(CACHED_DOCUMENTS + 10):
        checked_document(f"query q{n} {{ getSupportMessage }}")
    assert checked_document.cache_info().currsize == CACHED_DOCUMENTS
