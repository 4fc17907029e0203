#!/usr/bin/env python3
"""FAISS peer for bench/index_speed.rs: radius-31 range search over the
same PDQ hashes with IndexBinaryFlat (exhaustive), on one thread.

Usage: faiss_range.py HASHES.bin QUERIES.bin (32 bytes per hash).
Prints `ms_per_query` and `found_per_query`. Installs faiss-cpu with pip
when missing.
"""

import subprocess
import sys
import time

try:
    import faiss
except ImportError:
    subprocess.check_call(
        [sys.executable, "-m", "pip", "install", "--quiet", "faiss-cpu"]
    )
    import faiss
import numpy as np


def main():
    hashes = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, 32)
    queries = np.fromfile(sys.argv[2], dtype=np.uint8).reshape(-1, 32)
    faiss.omp_set_num_threads(1)
    index = faiss.IndexBinaryFlat(256)
    index.add(hashes)
    # FAISS keeps distances strictly below the radius: 32 finds <= 31.
    probe = np.zeros((2, 32), dtype=np.uint8)
    probe[1, :4] = 0xFF
    probe[1, 4] = 0x7F  # 39 bits
    check = faiss.IndexBinaryFlat(256)
    check.add(probe)
    lims, _, _ = check.range_search(probe[:1], 39)
    assert lims[1] == 1, "radius semantics changed"
    found = 0
    start = time.perf_counter()
    for q in queries:
        lims, _, _ = index.range_search(q.reshape(1, 32), 32)
        found += int(lims[1])
    took = time.perf_counter() - start
    print(f"ms_per_query {took * 1000 / len(queries):.4f}")
    print(f"found_per_query {found / len(queries):.2f}")


if __name__ == "__main__":
    main()
