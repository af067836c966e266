"""The packaged model rewritten for int8 arithmetic, once, and kept on disk.

The packaged all-MiniLM-L6-v2 stores its weights as int8 but computes in float32: onnxruntime
folds every weight back into a float32 matrix at load, so each search multiplies (and streams
from memory) float matrices four times the size. Requantized dynamically (int8 weights per
output channel, activations quantized per inference) the same model runs its matrix products in
int8: a few times faster on a CPU for a customer's few words, with rankings within noise of the
float ones (tests/search/test_quality.py holds both to the same gate).

The rewrite takes onnxruntime's own quantization tool a couple of seconds and several hundred MB
at its peak, so it runs in a child process (`python -m search.quantize SOURCE TARGET`) whose
memory goes back to the system when it exits, and its result is cached under a hash of the
source model and of the tools' versions.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

# Far above the seconds it takes; only a wedged child is stopped by it.
TIMEOUT_SECONDS = 300.0


class QuantizeError(RuntimeError):
    """The model could not be rewritten (the caller keeps the packaged one)."""


def cached_model(source: Path, cache_dir: Path) -> Path:
    """The int8 rewrite of `source` in `cache_dir`, made first if missing."""
    digest = hashlib.sha256(source.read_bytes())
    for package in ("onnxruntime", "onnx"):
        digest.update(f"{package}=={version(package)}".encode())
    target = cache_dir / f"model-int8-{digest.hexdigest()[:16]}.onnx"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "search.quantize", str(source), str(partial)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0 or not partial.is_file():
            lines = done.stderr.strip().splitlines()
            raise QuantizeError(lines[-1] if lines else f"exit status {done.returncode}")
        partial.replace(target)  # atomic: a concurrent worker reads a whole file or none
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QuantizeError(str(exc)) from exc
    finally:
        partial.unlink(missing_ok=True)
    return target


def quantize(source: Path, target: Path) -> None:
    """Write `source` with its matrix products in int8 to `target` (in this process)."""
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="jw-model-") as scratch:
        # Basic graph optimisation folds the stored int8 weights into plain float ones, which
        # the quantizer can then read as ordinary weights.
        folded = Path(scratch, "folded.onnx")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantize_dynamic(folded, target, weight_type=QuantType.QInt8, per_channel=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    arguments = parser.parse_args()
    quantize(arguments.source, arguments.target)
