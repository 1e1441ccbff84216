"""Benchmark the offline render: wall time of `python -m llm_tiers.preview.render --stack <s>` in fresh processes
(what `make render` costs after setup), plus the in-process program time the render reports.

    .venv/bin/python -m llm_tiers.cli.bench_render --runs 5 [--stack prod]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time

from llm_tiers.project import root as project_root

from llm_tiers.preview.stack_file import stacks

PROJECT_DIR = project_root()  # the Pulumi project the command works on (llm_tiers.project)


def bench(stack: str, runs: int) -> dict[str, float]:
    walls, programs = [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "llm_tiers.preview.render", "--stack", stack, "--out", out],
                                  cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - start)
            seconds = re.search(r"in ([0-9.]+)s", proc.stdout)
            if seconds is None:
                raise RuntimeError(f"render printed no time: {proc.stdout!r}")
            programs.append(float(seconds.group(1)))
    return {"min": min(walls), "median": statistics.median(walls), "max": max(walls),
            "program_median": statistics.median(programs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", action="append", help="stack(s) to time (default: all)")
    args = parser.parse_args()
    print(f"{'stack':10} {'wall min':>9} {'median':>8} {'max':>8} {'program':>8}   ({args.runs} runs, "
          f"{sys.version.split()[0]})")
    for stack in args.stack or stacks():
        r = bench(stack, args.runs)
        print(f"{stack:10} {r['min']:8.2f}s {r['median']:7.2f}s {r['max']:7.2f}s {r['program_median']:7.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
