"""Every integer, string and cursor argument of the schema, found through introspection, sent
extreme values as variables and as literals: never a 5xx but 503, every error coded, and no
traceback (nor any error) in the server's log."""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import get_introspection_query

from tests.support import AppHarness
from tests.support.keys import IssuedKey

SEED = 22
MAX_CASES = 1500  # keeps the test within seconds; the seed makes a failure repeatable

_INT64 = 2**63
_INTS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    _INT64 - 1,
    _INT64,
    -_INT64 - 1,
    10**30,
    -(10**30),
    10**400,
    1.5,
    1e308,
    "12",
    "",
    True,
    None,
    [],
    {},
)
# Cursors as this API and others shape them (an opaque prefix and a number, base64), holding
# numbers past int64, negative, fractional, and junk that is not base64 or not text.
_CURSORS: tuple[str, ...] = (
    *(
        base64.urlsafe_b64encode(f"{prefix}{number}".encode()).decode()
        for prefix in ("alert-event:", "cursor:", "")
        for number in ("9" * 30, "-" + "9" * 30, "-1", "0", "1e9", " 7", "\u0667")
    ),
    base64.urlsafe_b64encode(b"\xff\xfe\x00junk").decode(),
    base64.b64encode(bytes(range(256))).decode(),
    "not base64 !!",
    "====",
    "YQ",
)
_STRINGS: tuple[Any, ...] = (
    "",
    " ",
    "a" * 20_000,
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "x\ud83d",
    "\u202e\u200f\u200b",
    "\u0301" * 200,
    "\U0001f4a9" * 50,
    "'; DROP TABLE jobs; --",
    "%s%n%x",
    "../../etc/passwd",
    "9" * 30,
    "-" + "9" * 30,
    "00000000-0000-0000-0000-000000000000",
    "2030-13-45T99:99:99Z",
    "\\u0000",
    0,
    10**30,
    None,
    ["a"],
    {"a": 1},
    *_CURSORS,
)

# Plausible values for the arguments that are not under test, by type name.
_PLAUSIBLE: dict[str, Any] = {
    "String": "painting",
    "ID": "1",
    "Int": 5,
    "Float": 1.0,
    "Boolean": True,
    "UUID": "00000000-0000-0000-0000-000000000001",
    "DateTime": "2030-01-01T00:00:00+00:00",
    "JSON": {},
}
_FUZZED_SCALARS = frozenset({"Int", "String", "ID", "UUID", "DateTime"})


@dataclass(frozen=True, slots=True)
class Target:
    """One argument (or a field of an input argument, `path` deep) of one root field."""

    operation: str
    field: str
    arguments: tuple[tuple[str, str], ...]  # name and type as the document declares it
    argument: str
    path: tuple[str, ...]
    scalar: str


def _type_text(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return _type_text(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + _type_text(ref["ofType"]) + "]"
    return str(ref["name"])


def _named(ref: dict[str, Any]) -> dict[str, Any]:
    while ref["ofType"] is not None:
        ref = ref["ofType"]
    return ref


def _is_list(ref: dict[str, Any]) -> bool:
    while ref["kind"] == "NON_NULL":
        ref = ref["ofType"]
    return bool(ref["kind"] == "LIST")


class Schema:
    def __init__(self, introspection: dict[str, Any]) -> None:
        self.types = {kind["name"]: kind for kind in introspection["__schema"]["types"]}
        self.roots = {
            "query": introspection["__schema"]["queryType"]["name"],
            "mutation": introspection["__schema"]["mutationType"]["name"],
        }

    def targets(self) -> Iterator[Target]:
        for operation, root in self.roots.items():
            for field in self.types[root]["fields"]:
                arguments = tuple((a["name"], _type_text(a["type"])) for a in field["args"])
                for argument in field["args"]:
                    for path, scalar in self._leaves(argument["type"], (), set()):
                        yield Target(
                            operation, field["name"], arguments, argument["name"], path, scalar
                        )

    def _leaves(
        self, ref: dict[str, Any], path: tuple[str, ...], seen: set[str]
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        named = _named(ref)
        if named["kind"] == "SCALAR" and named["name"] in _FUZZED_SCALARS:
            yield path, named["name"]
        elif named["kind"] == "INPUT_OBJECT" and named["name"] not in seen:
            for inner in self.types[named["name"]]["inputFields"]:
                yield from self._leaves(
                    inner["type"], (*path, inner["name"]), seen | {named["name"]}
                )

    def plausible(self, ref: dict[str, Any]) -> Any:
        named = _named(ref)
        if named["kind"] == "INPUT_OBJECT":
            value = {
                inner["name"]: self.plausible(inner["type"])
                for inner in self.types[named["name"]]["inputFields"]
                if inner["type"]["kind"] == "NON_NULL" and inner["defaultValue"] is None
            }
        elif named["kind"] == "ENUM":
            value = self.types[named["name"]]["enumValues"][0]["name"]
        else:
            value = _PLAUSIBLE.get(named["name"], "x")
        return [value] if _is_list(ref) else value

    def argument_type(self, target: Target) -> dict[str, Any]:
        root = self.types[self.roots[target.operation]]
        field = next(f for f in root["fields"] if f["name"] == target.field)
        return next(a["type"] for a in field["args"] if a["name"] == target.argument)

    def selection(self, target: Target) -> str:
        root = self.types[self.roots[target.operation]]
        field = next(f for f in root["fields"] if f["name"] == target.field)
        kind = _named(field["type"])["kind"]
        return " { __typename }" if kind in ("OBJECT", "INTERFACE", "UNION") else ""


def _put(value: Any, path: tuple[str, ...], leaf: Any) -> Any:
    """`value` with the leaf at `path` replaced (through a one-item list where there is one)."""
    if not path:
        return [leaf] if isinstance(value, list) and not isinstance(leaf, list) else leaf
    if isinstance(value, list):
        return [_put(value[0] if value else {}, path, leaf)]
    return {**value, path[0]: _put(value.get(path[0], {}), path[1:], leaf)}


def _literal(value: Any) -> str:
    """`value` written as a GraphQL literal (strings JSON-escaped, lone surrogates included)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"


def _cases(schema: Schema, rng: random.Random) -> list[tuple[Target, Any, bool]]:
    cases: list[tuple[Target, Any, bool]] = []
    for target in schema.targets():
        values = _INTS if target.scalar == "Int" else _STRINGS
        for value in values:
            cases.append((target, value, rng.random() < 0.7))  # mostly as variables
    rng.shuffle(cases)
    return cases[:MAX_CASES]


def _request(schema: Schema, target: Target, leaf: Any, as_variables: bool) -> bytes:
    values = {}
    for name, _ in target.arguments:
        root = schema.types[schema.roots[target.operation]]
        field = next(f for f in root["fields"] if f["name"] == target.field)
        ref = next(a["type"] for a in field["args"] if a["name"] == name)
        if name == target.argument or ref["kind"] == "NON_NULL":
            values[name] = schema.plausible(ref)
    values[target.argument] = _put(values[target.argument], target.path, leaf)
    declared = dict(target.arguments)
    if as_variables:
        header = "(" + ", ".join(f"${name}: {declared[name]}" for name in values) + ")"
        arguments = ", ".join(f"{name}: ${name}" for name in values)
        variables = values
    else:
        header = ""
        arguments = ", ".join(f"{name}: {_literal(value)}" for name, value in values.items())
        variables = {}
    selection = schema.selection(target)
    query = f"{target.operation} F{header} {{ {target.field}({arguments}){selection} }}"
    # ensure_ascii: lone surrogates travel as JSON escapes, as a hostile client would send them.
    return json.dumps({"query": query, "variables": variables}, ensure_ascii=True).encode()


@pytest.fixture
async def fuzz_key(make_api_key: Any) -> IssuedKey:
    issued: IssuedKey = await make_api_key("jobs:write", "jobs:read", "ops:read", "ops:write")
    return issued


async def test_extreme_argument_values_are_refused_with_a_code_and_no_traceback(
    api: AppHarness, fuzz_key: IssuedKey, caplog: pytest.LogCaptureFixture
) -> None:
    introspection = await api.graphql(get_introspection_query())
    schema = Schema(introspection["data"])
    cases = _cases(schema, random.Random(SEED))
    assert len(cases) >= 300, "the schema's arguments were not all found"
    headers = {**fuzz_key.headers, "Content-Type": "application/json"}
    failures: list[str] = []
    with caplog.at_level(logging.WARNING):
        for target, leaf, as_variables in cases:
            body = _request(schema, target, leaf, as_variables)
            where = f"{target.field}({target.argument}{'.'.join(('', *target.path))})={leaf!r:.60}"
            try:
                response = await api.client.post("/graphql", content=body, headers=headers)
            except Exception as exc:  # an exception out of the app is a plain-text 500
                failures.append(f"{where}: raised {exc!r:.200}")
                continue
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"{where}: HTTP {response.status_code} {response.text[:200]}")
                continue
            answer = response.json()
            for error in answer.get("errors", ()):
                code = (error.get("extensions") or {}).get("code")
                if code is None or code == "INTERNAL_SERVER_ERROR":
                    failures.append(f"{where}: {code} {error['message'][:200]}")
    logged = [
        f"{record.levelname} {record.name}: {record.getMessage()[:200]}"
        for record in caplog.records
        if record.exc_info or record.levelno >= logging.ERROR
    ]
    assert not failures, "\n".join(failures[:30])
    assert not logged, "\n".join(logged[:30])
