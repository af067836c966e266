"""The selection walker's async resolvers against graphql-core's executor on a small schema of
failing fields: the same `data`, and errors at the same paths and locations, wherever the error
is nulled (a nullable field, a nullable object above a non-null one, all of `data`)."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from graphql import FieldNode, OperationDefinitionNode, Source, parse

from api.plans.answers import RootField, root_field_position
from api.plans.selection import Awaits, PlanInfo, Walker


@strawberry.type
class Leaf:
    n: int

    @strawberry.field
    async def fails(self) -> int | None:
        raise ValueError(f"leaf {self.n}")

    @strawberry.field
    async def strict(self) -> int:
        raise ValueError(f"strict {self.n}")

    @strawberry.field
    async def double(self) -> int:
        return self.n * 2


@strawberry.type
class Node:
    name: str = "node"

    @strawberry.field
    async def ok(self) -> str:
        return "ok"

    @strawberry.field
    async def nullable(self) -> str | None:
        raise ValueError("nullable")

    @strawberry.field
    async def leaves(self) -> list[Leaf]:
        return [Leaf(n=1), Leaf(n=2)]

    @strawberry.field
    async def maybe(self) -> Leaf | None:
        return Leaf(n=3)

    @strawberry.field
    async def none_strict(self) -> str:
        return None  # type: ignore[return-value]  # the fault under test


@strawberry.type
class Query:
    @strawberry.field
    async def node(self) -> Node:
        return Node()


SCHEMA = strawberry.Schema(query=Query)
WALKER = Walker(SCHEMA)


async def _node() -> Node:
    return Node()


async def _planned(document: str) -> dict[str, Any]:
    operation = parse(document, no_location=True).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    root = WALKER.root(operation)
    node = operation.selection_set.selections[0]
    assert root is not None
    assert isinstance(node, FieldNode)
    complete = WALKER.complete(root.fields["node"].type, node, parent=root.name)
    assert isinstance(complete, Awaits)
    info = PlanInfo(context=None)  # type: ignore[arg-type]  # these resolvers read no context
    position = root_field_position(document, None)
    assert position is not None
    field = RootField(None, "node", Source(document), position)
    answer = await field.answer(
        "rid",
        _node(),
        lambda value: complete.run(value, info, ("node",)),
        info.failures,
    )
    return answer.body


@pytest.mark.parametrize(
    "selection",
    [
        "ok name",
        "ok nullable",
        "a: nullable b: ok c: nullable",
        "ok leaves { n fails double }",
        "name leaves { n strict }",
        "maybe { n strict } ok",
        "maybe { double fails } leaves { double }",
        "noneStrict",
        "nullable leaves { strict }",
    ],
)
async def test_errors_and_nulls_are_graphql_cores(selection: str) -> None:
    document = f"{{\n  node {{\n    {selection}\n  }}\n}}"
    general = await SCHEMA.execute(document)
    planned = await _planned(document)
    assert (general.errors is None) == (selection == "ok name")  # every other one fails
    assert planned["data"] == general.data
    expected = [(e.path, e.locations) for e in general.errors or ()]
    got = [
        (e["path"], [(loc["line"], loc["column"]) for loc in e["locations"]])
        for e in planned.get("errors", ())
    ]
    assert got == [
        (path, [(loc.line, loc.column) for loc in locations or ()]) for path, locations in expected
    ]
