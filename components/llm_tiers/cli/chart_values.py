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

import json
import sys
import urllib.request
from pathlib import Path
from typing import Optional

import yaml

from llm_tiers.cli import pinned_files
from llm_tiers.cli.pinned_files import sha256

SUMS = Path(__file__).with_name("chart-values-sums.json")
RAW = "https://raw.githubusercontent.com"
ENV = "CHART_VALUES_DIR"


class ChartValuesError(Exception):
    pass


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
    files = pinned_files.download_verified(((name, e["url"], e["sha256"]) for name, e in sums.items()),
                                           ChartValuesError, opener, timeout)
    return pinned_files.write_set(dest, files)


def main(argv: Optional[list[str]] = None) -> int:
    return pinned_files.main(argv, description=__doc__.split("\n\n")[0], label="chart-values", what="chart values",
                             sums_path=SUMS, fetch=fetch, local_sums=local_sums, error=ChartValuesError,
                             sums_help="URLs and SHA-256 of a pinned charts folder (with SOURCE files)")


if __name__ == "__main__":
    sys.exit(main())
