"""Pulumi's package metaschema (``pkg/codegen/schema/pulumi.json``), fetched at a pinned commit and verified by
SHA-256: the tests check the component provider's inferred schema (``provider/schema.json``) against it.

    python -m llm_tiers.cli.metaschema fetch --dest .pulumi-schema     # what `make test` runs when it can

The tests read the folder named by ``PULUMI_SCHEMA_DIR``, or ``.pulumi-schema`` in the project once fetched.
A repository tool, not a console script of the package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from llm_tiers.cli import pinned_files

ENV = "PULUMI_SCHEMA_DIR"
# pulumi/pulumi at this commit (2026-08-21); the file last changed in bd47908 (2026-04-29), before the pinned SDK
# (pulumi 3.272.0) was released.
COMMIT = "1b5949891b3cefcb9974752b24a5ecef0acc86c8"
FILES = {"pulumi.json": (f"https://raw.githubusercontent.com/pulumi/pulumi/{COMMIT}/pkg/codegen/schema/pulumi.json",
                         "45c9aa5144ef1c1ef1ce3515a6d379d288558d36d189435dfa32a246b9d3ad4b")}


class MetaschemaError(Exception):
    pass


def fetch(dest: Path, timeout: float = 60) -> list[Path]:
    got = pinned_files.download_verified(((name, url, sha) for name, (url, sha) in FILES.items()), MetaschemaError,
                                         timeout=timeout)
    return pinned_files.write_set(dest, got)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download and verify the pinned metaschema")
    f.add_argument("--dest", type=Path, required=True)
    f.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    try:
        paths = fetch(args.dest, args.timeout)
    except (MetaschemaError, OSError) as exc:
        print(f"metaschema: {exc}", file=sys.stderr)
        return 2
    print(f"verified {len(paths)} file(s) into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
