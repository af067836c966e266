"""The int8 rewrite of the packaged model: made once per cache folder, really int8, and close to
the packaged model's vectors; search falls back to the packaged model when it cannot be made."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest

import search.encoder
from search.encoder import MODEL_PACKAGE, Encoder, _package_file
from search.quantize import QuantizeError, cached_model

TEXTS = ["loo wont flush properly", "boilr servise", "fuse box keeps tripping", "paint the hall"]


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("model")
    return cached_model(_package_file(MODEL_PACKAGE, Path("model.onnx")), cache)


def test_the_rewrite_multiplies_in_int8(rewritten: Path) -> None:
    ops = {node.op_type for node in onnx.load(str(rewritten)).graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeMatMul"}, ops


def test_the_rewrite_is_made_once_per_cache(
    rewritten: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("rewritten again")

    monkeypatch.setattr("search.quantize.subprocess.run", no_child)
    source = _package_file(MODEL_PACKAGE, Path("model.onnx"))
    assert cached_model(source, rewritten.parent) == rewritten


def test_its_vectors_are_the_packaged_models_within_rounding(rewritten: Path) -> None:
    packaged = Encoder().encode(TEXTS)
    int8 = Encoder(model_path=rewritten).encode(TEXTS)
    cosines = (packaged * int8).sum(axis=1)  # unit vectors: the dot product is the cosine
    assert np.all(cosines > 0.97), cosines


def test_a_failed_rewrite_keeps_the_packaged_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(source: Path, cache_dir: Path) -> Path:
        raise QuantizeError("no space left on device")

    monkeypatch.setattr(search.encoder, "cached_model", failing)
    with caplog.at_level(logging.WARNING, logger="jobwizard.search"):
        encoder = Encoder(cache_dir=tmp_path)
    assert "no space left on device" in caplog.text
    assert encoder.fingerprint == Encoder().fingerprint


def test_a_broken_source_is_a_quantize_error(tmp_path: Path) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(QuantizeError):
        cached_model(broken, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.tmp"))
