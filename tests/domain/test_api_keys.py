"""The shape of an issued key: what is looked up at all."""

import pytest

from domain.api_keys import generate_key, looks_like_key


def test_every_generated_key_has_the_shape() -> None:
    assert all(looks_like_key(generate_key()) for _ in range(1000))


@pytest.mark.parametrize(
    "token", ["", "jw_", "jw_short", "xx_" + "a" * 43, "jw_" + "a" * 44, "jw_" + "a" * 42 + "="]
)
def test_anything_else_does_not(token: str) -> None:
    assert not looks_like_key(token)
