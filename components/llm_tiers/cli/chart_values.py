"""The pinned charts' default values (values.yaml, values.schema.json), fetched from their upstream repositories at
the pinned commits and verified by SHA-256: the tests check every chart key the program sets against them.

    python -m llm_tiers.cli.chart_values fetch --dest .chart-values     # what `make test` runs when it can
    python -m llm_tiers.cli.chart_values sums --from <pinned charts folder> [--write]

A pinned charts folder holds ``<release>/values.yaml`` (and ``values.schema.json``, ``subcharts/<key>/...``)
with a ``SOURCE`` file beside each (``repo``, ``commit``, ``files: {name: path in the repository}``); ``sums``
turns it into ``components/llm_tiers/cli/chart-values-sums.json`` (file -> upstream URL at that commit and
SHA-256), which is all ``fetch`` needs. The tests read the folder named by ``CHART_VALUES_DIR``, or
``.chart-values`` in the project once fetched (tests/conftest.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Optional

import yaml

SUMS = Path(__file__).with_name("chart-values-sums.json")
RAW = "https://raw.githubusercontent.com"
ENV = "CHART_VALUES_DIR"


class ChartValuesError(Exception):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_sums() -> dict[str, dict[str, str]]:
    return json.loads(SUMS.read_text())


def local_sums(folder: Path) -> dict[str, dict[str, str]]:
    """file (relative to ``folder``) -> {url, sha256}, from every SOURCE under ``folder``."""
    out: dict[str, dict[str, str]] = {}
    for source in sorted(folder.rglob("SOURCE")):
        meta = yaml.safe_load(source.read_text()) or {}
        repo, commit = meta.get("repo"), meta.get("commit")
        if not repo or not commit:
            raise ChartValuesError(f"{source}: needs repo and commit")
        for name, upstream in (meta.get("files") or {}).items():
            path = source.parent / name
            if not path.exists():
                raise ChartValuesError(f"{path} is missing (listed in {source})")
            out[str(path.relative_to(folder))] = {"url": f"{RAW}/{repo}/{commit}/{upstream}",
                                                  "sha256": sha256(path.read_bytes())}
    if not out:
        raise ChartValuesError(f"no SOURCE files under {folder}")
    return dict(sorted(out.items()))


def fetch(dest: Path, opener=urllib.request.urlopen, timeout: float = 60) -> list[Path]:
    """Download every pinned file, verify it, and only then put the whole set at ``dest`` (never half a set)."""
    sums = load_sums()
    dest = dest.resolve()
    with tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmp:
        staged = Path(tmp) / "values"
        for name, entry in sums.items():
            with opener(entry["url"], timeout=timeout) as response:
                data = response.read()
            if sha256(data) != entry["sha256"]:
                raise ChartValuesError(f"{entry['url']}: SHA-256 {sha256(data)} is not the committed "
                                       f"{entry['sha256']}; refusing it")
            target = staged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(staged), dest)
    return [dest / name for name in sums]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download and verify every pinned chart values file")
    f.add_argument("--dest", type=Path, required=True)
    f.add_argument("--timeout", type=float, default=60, help="seconds per download (default 60)")
    s = sub.add_parser("sums", help="URLs and SHA-256 of a pinned charts folder (with SOURCE files)")
    s.add_argument("--from", dest="folder", type=Path, required=True)
    s.add_argument("--write", action="store_true", help=f"write {SUMS.name}")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            paths = fetch(args.dest, timeout=args.timeout)
            print(f"verified {len(paths)} chart values files into {args.dest}")
            return 0
        text = json.dumps(local_sums(args.folder), indent=2) + "\n"
        if args.write:
            SUMS.write_text(text)
            print(f"wrote {SUMS}")
        else:
            sys.stdout.write(text)
        return 0
    except (ChartValuesError, OSError) as exc:
        print(f"chart-values: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
