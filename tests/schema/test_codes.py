"""The error table: every error the API reports on purpose has a code by its type."""

from __future__ import annotations

import importlib
import pkgutil

from graphql import parse, validate

import domain
import loaders
import resolvers
from domain.errors import DomainError
from schema import schema
from schema.codes import (
    CODES,
    IntrospectionDisabledError,
    MaxAliasesExceededError,
    MaxDepthExceededError,
    MaxMutationsExceededError,
    RequestRefusedError,
    code_of,
    error_code,
)
from schema.limits.document import NoIntrospection, shape_rule
from schema.limits.mutations import mutation_count_rule


def _subclasses(base: type[Exception]) -> set[type[Exception]]:
    found: set[type[Exception]] = set()
    pending = [base]
    while pending:
        for kind in pending.pop().__subclasses__():
            found.add(kind)
            pending.append(kind)
    return found


def test_every_domain_error_raised_has_a_code_by_its_type() -> None:
    # Import every module that may declare one, so that none is missed for not being loaded.
    for package in (domain, loaders, resolvers):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    # A base that only groups others (UUIDLookupError) is never raised itself: its leaves are.
    leaves = {kind for kind in _subclasses(DomainError) if not kind.__subclasses__()}
    assert len(leaves) >= 10
    assert sorted(kind.__name__ for kind in leaves if code_of(kind) is None) == []


def test_every_http_refusal_has_a_code_and_a_client_error_status() -> None:
    kinds = _subclasses(RequestRefusedError)
    assert len(kinds) >= 10
    for kind in kinds:
        entry = code_of(kind)
        assert entry is not None, kind
        assert 400 <= entry.status < 500, kind


def test_a_subclass_takes_its_own_entry_before_its_base_s() -> None:
    from domain.errors import ImageTooLargeError, InvalidImageError

    assert code_of(ImageTooLargeError) == ("PAYLOAD_TOO_LARGE", 413)
    assert code_of(InvalidImageError) == CODES[InvalidImageError.__mro__[1]]


def test_each_request_limit_refuses_with_its_typed_error_and_the_table_s_code() -> None:
    rules = [shape_rule(1, 0), mutation_count_rule(1), NoIntrospection]
    query = "{ a: categories { slug } __schema { queryType { name } } }"
    mutation = 'mutation { a: acknowledgeAlert(name: "x") { name } b: silenceAlert(name: "y") }'
    errors = validate(schema._schema, parse(query), rules)
    errors += validate(schema._schema, parse(mutation), rules)
    kinds = {type(error) for error in errors}
    assert {
        MaxDepthExceededError,
        MaxAliasesExceededError,
        MaxMutationsExceededError,
        IntrospectionDisabledError,
    } <= kinds
    for error in errors:
        assert error.extensions is not None
        assert error.extensions["code"] == error_code(error).code
