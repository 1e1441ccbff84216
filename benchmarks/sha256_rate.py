"""How fast the weight-sync Job verifies what it downloaded: SHA-256 of large files with hashlib, as
components/llm_tiers/tiers/scripts/sync_weights.py computes it (1 MiB reads, one file per thread).

    python benchmarks/sha256_rate.py [--gib 2] [--files 4] [--threads 1 2 4]

Writes the files into a temporary directory, drops nothing from the page cache (the Job hashes files it has just
written, so they are mostly cached too), and prints GB/s per thread count. timing_figures.SHA256_BYTES_PER_SECOND
quotes its result on the CI machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from llm_tiers.tiers.scripts.sync_weights import sha256_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="total size of the files (GiB)")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = int(args.gib * 1024 ** 3 / args.files)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.files):
            p = Path(tmp) / f"shard-{i}.safetensors"
            with open(p, "wb") as f:
                for _ in range(size // (1 << 20)):
                    f.write(os.urandom(1 << 20))
            paths.append(p)
        total = sum(p.stat().st_size for p in paths)
        print(f"{args.files} files, {total / 1e9:.2f} GB, {os.cpu_count()} CPUs")
        for threads in args.threads:
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                sha256_files(paths, threads)
                best = min(best, time.perf_counter() - start)
            print(f"threads={threads}: best of {args.repeat} {best:.2f} s, {total / best / 1e9:.2f} GB/s")


if __name__ == "__main__":
    main()
