from domain.catalogue import Catalogue
from tests.support import AppHarness


async def test_micro_service_by_slug_has_every_fixed_field(
    api: AppHarness, catalogue: Catalogue
) -> None:
    body = await api.graphql(
        '{ microService(slug: "wall-painting") { id slug name category subcategory '
        "questions { id key label type required options { value label } min max unit } } }"
    )
    service = body["data"]["microService"]
    assert service["category"] == "painting"
    assert service["subcategory"] == "interior"
    spec = catalogue.micro_service("wall-painting")
    assert spec is not None
    assert [q["key"] for q in service["questions"]] == [q.id for q in spec.questions]
    wall_count = next(q for q in service["questions"] if q["key"] == "wall_count")
    assert wall_count == {
        "id": "wall-painting/wall_count",
        "key": "wall_count",
        "label": wall_count["label"],
        "type": "NUMBER",
        "required": True,
        "options": [],
        "min": 1.0,
        "max": 50.0,
        "unit": "walls",
    }


async def test_micro_services_filter_by_category_and_subcategory(
    api: AppHarness, catalogue: Catalogue
) -> None:
    body = await api.graphql(
        '{ a: microServices(category: "painting") { slug category } '
        'b: microServices(category: "painting", subcategory: "interior") { slug subcategory } '
        "c: microServices { slug } }"
    )
    data = body["data"]
    expected_painting = {m.slug for m in catalogue.micro_services() if m.category == "painting"}
    assert {m["slug"] for m in data["a"]} == expected_painting
    assert all(m["subcategory"] == "interior" for m in data["b"])
    assert "wall-painting" in {m["slug"] for m in data["b"]}
    assert len(data["c"]) == len(catalogue.by_slug)


async def test_slugs_combined_with_a_category_filter(api: AppHarness) -> None:
    body = await api.graphql(
        '{ microServices(category: "plumbing", slugs: ["wall-painting"]) { slug } }'
    )
    assert body["data"]["microServices"] == []


async def test_categories_tree_follows_the_catalogue_file(
    api: AppHarness, catalogue: Catalogue
) -> None:
    body = await api.graphql(
        "{ categories { slug name subcategories { slug name microServices { slug id } } } }"
    )
    tree = body["data"]["categories"]
    assert [c["slug"] for c in tree] == [c.slug for c in catalogue.categories]
    painting = tree[0]
    assert painting["slug"] == "painting"
    interior = next(s for s in painting["subcategories"] if s["slug"] == "interior")
    assert interior["microServices"][0]["slug"] == "wall-painting"
    total = sum(len(s["microServices"]) for c in tree for s in c["subcategories"])
    assert total == len(catalogue.by_slug)
