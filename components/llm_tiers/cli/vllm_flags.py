"""Regenerate ``components/llm_tiers/tiers/vllm_flags.json``: every option ``vllm serve`` accepts at the pinned
vLLM (versions.IMAGES['vllm']), read from the release's source, so extraArgs are matched against the engine's
real option list (argparse's unambiguous-prefix matching needs the whole list, not just the guarded flags).

    pip download --no-deps --no-binary :all: --no-clean vllm==0.33.0   # fails building metadata (needs torch),
    # but leaves the unpacked sdist in a pip-download-* temporary folder; point --from at it (or at the .tar.gz)
    python -m llm_tiers.cli.vllm_flags --from <vllm-0.33.0 source tree or sdist .tar.gz> [--write]

Where the options come from (vllm-project/vllm at v0.33.0; the sdist's paths match the repository):

* ``vllm/entrypoints/common/cli_args.py`` ``make_arg_parser``: the literal ``add_argument("--headless", ...)``
  calls, then ``FrontendArgs.add_cli_args``: one ``--<field-with-dashes>`` per field of ``BaseFrontendArgs``
  and ``FrontendArgs``;
* ``vllm/engine/arg_utils.py`` ``EngineArgs.add_cli_args``: the literal ``add_argument("--model", ...)`` calls;
* a field typed ``bool`` (not ``bool | str | None``, which takes an optional value) gets
  ``argparse.BooleanOptionalAction``, hence a ``--no-<name>`` twin (arg_utils.py ``_compute_kwargs``); so does
  an explicit ``action=argparse.BooleanOptionalAction``.

Reading the source with ``ast`` rather than importing vLLM: its parser needs torch and CUDA libraries.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

from llm_tiers import versions

OUT = Path(__file__).resolve().parents[1] / "tiers" / "vllm_flags.json"
ENGINE_FILE = "vllm/engine/arg_utils.py"
SERVER_FILE = "vllm/entrypoints/common/cli_args.py"


def _names(node: Optional[ast.AST]) -> set[str]:
    if node is None:
        return set()
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Constant) and n.value is None:
            out.add("None")
    return out


def _is_bool_flag(annotation: Optional[ast.AST]) -> bool:
    names = _names(annotation)
    return "bool" in names and not {"str", "None"} <= names


def _class_fields(tree: ast.Module, classes: set[str]) -> dict[str, ast.AST]:
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in classes:
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    out[stmt.target.id] = stmt.annotation
    return out


def _literal_options(tree: ast.Module, bool_fields: dict[str, ast.AST]) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            continue
        opts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                and a.value.startswith("-")]
        boolean = any(k.arg == "action" and "BooleanOptionalAction" in ast.unparse(k.value) for k in node.keywords)
        for k in node.keywords:
            # **model_kwargs["enforce_eager"] (or **{**cache_kwargs["enable_prefix_caching"], ...}): the
            # EngineArgs field's type decides the action
            if k.arg is not None:
                continue
            for sub in ast.walk(k.value):
                if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Constant):
                    field = sub.slice.value
                    if field in bool_fields and _is_bool_flag(bool_fields[field]):
                        boolean = True
        out.update(opts)
        if boolean:
            out.update(f"--no-{o[2:]}" for o in opts if o.startswith("--"))
    return out


def options(source: Path) -> dict[str, list[str]]:
    engine = ast.parse((source / ENGINE_FILE).read_text())
    server = ast.parse((source / SERVER_FILE).read_text())
    engine_fields = _class_fields(engine, {"EngineArgs", "AsyncEngineArgs"})
    found = _literal_options(engine, engine_fields) | _literal_options(server, {})
    for name, annotation in _class_fields(server, {"BaseFrontendArgs", "FrontendArgs"}).items():
        flag = f"--{name.replace('_', '-')}"
        found.add(flag)
        if _is_bool_flag(annotation):
            found.add(f"--no-{flag[2:]}")
    found.update({"--help", "-h"})  # argparse's own
    return {"long": sorted(o for o in found if o.startswith("--")),
            "short": sorted(o for o in found if not o.startswith("--"))}


def _source_dir(path: Path, tmp: Path) -> Path:
    if path.is_dir():
        return path
    with tarfile.open(path) as tar:
        tar.extractall(tmp, filter="data")
    return next(p for p in tmp.iterdir() if (p / ENGINE_FILE).exists())


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", required=True, type=Path,
                        help="the vLLM source tree or sdist (.tar.gz) of the pinned version")
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name} (default: print, exit 1 if it differs)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        source = _source_dir(args.source, Path(tmp))
        doc = {"vllm": versions.IMAGES["vllm"].rsplit(":v", 1)[1],
               "source": f"{SERVER_FILE} make_arg_parser + FrontendArgs, {ENGINE_FILE} EngineArgs.add_cli_args",
               **options(source)}
    text = json.dumps(doc, indent=1) + "\n"
    if args.write:
        OUT.write_text(text)
        print(f"wrote {OUT} ({len(doc['long'])} long, {len(doc['short'])} short options)")
        return 0
    sys.stdout.write(text)
    return 0 if OUT.exists() and OUT.read_text() == text else 1


if __name__ == "__main__":
    sys.exit(main())
