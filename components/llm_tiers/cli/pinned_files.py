"""What the two upstream-input commands share (``llm-tiers-crds``, ``llm-tiers-chart-values``): download each pinned
file, refuse any whose SHA-256 is not the committed one, write nothing unless every file verified, and the ``fetch`` /
``sums`` command line."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Optional


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_verified(files: Iterable[tuple[str, str, str]], error: type[Exception],
                      opener: Callable[..., Any] = urllib.request.urlopen, timeout: float = 60) -> dict[str, bytes]:
    """``files``: (name, url, committed SHA-256). Every file's bytes, or ``error`` at the first mismatch."""
    got: dict[str, bytes] = {}
    for name, url, committed in files:
        with opener(url, timeout=timeout) as response:
            data = response.read()
        if sha256(data) != committed:
            raise error(f"{url}: SHA-256 {sha256(data)} is not the committed {committed}; refusing it")
        got[name] = data
    return got


def write_set(dest: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file (all of them already downloaded and verified, so a failed download writes nothing), each
    through a temporary file and a rename, so no reader sees a half-written file. Other files in ``dest`` stay."""
    dest = dest.resolve()
    for name, data in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)
    return [dest / name for name in files]


def main(argv: Optional[list[str]], *, description: str, label: str, what: str, sums_path: Path,
         fetch: Callable[..., list[Path]], local_sums: Callable[[Path], Any], error: type[Exception],
         sums_help: str) -> int:
    """``fetch --dest D [--timeout S]`` and ``sums --from F [--write]`` for one kind of pinned input."""
    parser = argparse.ArgumentParser(description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help=f"download and verify every pinned {what}")
    f.add_argument("--dest", type=Path, required=True)
    f.add_argument("--timeout", type=float, default=60, help="seconds per download (default 60)")
    s = sub.add_parser("sums", help=sums_help)
    s.add_argument("--from", dest="folder", type=Path, required=True)
    s.add_argument("--write", action="store_true", help=f"write {sums_path.name}")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            paths = fetch(args.dest, timeout=args.timeout)
            print(f"verified {len(paths)} {what} file(s) into {args.dest}")
            return 0
        text = json.dumps(local_sums(args.folder), indent=2) + "\n"
        if args.write:
            sums_path.write_text(text)
            print(f"wrote {sums_path}")
        else:
            sys.stdout.write(text)
        return 0
    except (error, OSError) as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return 2
