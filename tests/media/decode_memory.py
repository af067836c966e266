"""Run as `python -m tests.media.decode_memory N`: decodes N 49-megapixel PNGs in N threads at
once and prints, as JSON, the process's resident memory before, at its peak and after, and the most
Pillow keeps for reuse (bytes). A process of its own, so that nothing else the test run holds
blurs the figures."""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from config.uploads import UploadSettings
from media.images import process_image, return_large_blocks_to_the_system, reuse_image_blocks
from tests.media import samples

PAGE = os.sysconf("SC_PAGE_SIZE")


def resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def main(count: int) -> None:
    # As the server does at start.
    return_large_blocks_to_the_system()
    kept = reuse_image_blocks(UploadSettings.model_fields["upload_processing"].default)
    data = samples.large_png()
    process_image(io.BytesIO(samples.png((64, 64))))  # libraries loaded before the baseline
    gc.collect()
    before = peak = resident()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, resident())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with ThreadPoolExecutor(count) as pool:
        results = pool.map(lambda _: process_image(io.BytesIO(data)).image.width, range(count))
        widths = list(results)
    done.set()
    sampler.join()
    gc.collect()
    figures = {"before": before, "peak": peak, "after": resident(), "kept": kept}
    print(json.dumps({**figures, "widths": widths}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
