"""Generate docs/config.md, the reference of every stack config key, from the schema's field descriptions.

    python -m llm_tiers.cli.config_docs --write     # regenerate (make config-docs)
    python -m llm_tiers.cli.config_docs --check     # exit 1 when docs/config.md is stale (a test does this too)
"""

from __future__ import annotations

import argparse
import sys
import typing

from llm_tiers.project import root as project_root
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from llm_tiers.config.schema import SECRET_KEYS, StackConfig

PROJECT_DIR = project_root()  # the Pulumi project the command works on (llm_tiers.project)

DOC_PATH = PROJECT_DIR / "docs" / "config.md"

HEADER = """# Stack config reference

Generated from `components/llm_tiers/config/schema.py` by `make config-docs`; a test fails when this file is stale.
Every key lives in the project's namespace: `llm-tiers:<key>` in `stacks/Pulumi.<stack>.yaml`
(plus `aws:region`, which is required). Unknown keys are errors. Paths use `[]` for list items and
`<name>` for map keys, as error messages do (`tiers[1].maxTotalTokens`).
"""


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def type_name(annotation: Any) -> str:
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin is Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin is list:
        return f"list of {type_name(typing.get_args(annotation)[0])}"
    if origin is dict:
        return f"map of name to {type_name(typing.get_args(annotation)[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin is Union:
        annotation = _strip([a for a in typing.get_args(annotation) if a is not type(None)][0])
        origin = typing.get_origin(annotation)
    if origin is list:
        inner = _strip(typing.get_args(annotation)[0])
        return (inner, "[]") if isinstance(inner, type) and issubclass(inner, BaseModel) else (None, "")
    if origin is dict:
        inner = _strip(typing.get_args(annotation)[1])
        return (inner, ".<name>") if isinstance(inner, type) and issubclass(inner, BaseModel) else (None, "")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None, ""


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    if isinstance(value, BaseModel):
        if any(f.is_required() for f in type(value).model_fields.values()):
            dumped = value.model_dump(by_alias=True)
            return "`{" + ", ".join(f"{k}: {v}" for k, v in dumped.items()) + "}`"
        return "see below"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}`"
    return f"`{value}`"


def rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}" if prefix else key
        out.append((path, type_name(field.annotation), _default(field), field.description or ""))
        nested, suffix = _nested_model(field.annotation)
        if nested is not None:
            out += rows(nested, path + suffix)
    return out


def generate() -> str:
    parts = [HEADER]
    for name, field in StackConfig.model_fields.items():
        key = field.alias or name
        parts.append(f"\n## `{key}`\n\n{field.description or ''}\n")
        parts.append("| key | type | default | description |\n|---|---|---|---|")
        for path, typ, default, desc in _section_rows(key, field):
            parts.append(f"| `{path}` | {typ} | {default} | {desc} |")
    parts.append("\n## Secret keys\n\nSet with `pulumi config set --secret`; read as secret Outputs and never "
                 "written anywhere in plaintext.\n")
    parts.append("| key | description |\n|---|---|")
    for key, desc in SECRET_KEYS.items():
        parts.append(f"| `{key}` | {desc} |")
    return "\n".join(parts) + "\n"


def _section_rows(key: str, field: Any) -> list[tuple[str, str, str, str]]:
    result = [(key, type_name(field.annotation), _default(field), field.description or "")]
    nested, suffix = _nested_model(field.annotation)
    if nested is not None:
        result += rows(nested, key + suffix)
    return result


def write_or_check(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """The --write / --check command line shared by the generated-docs tools."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the docs")
    mode.add_argument("--check", action="store_true", help="exit 1 when the docs are stale")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = write_or_check(__doc__, argv)
    text = generate()
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(text)
        print(f"wrote {DOC_PATH}")
        return 0
    if not DOC_PATH.exists() or DOC_PATH.read_text() != text:
        print(f"{DOC_PATH} is stale: run `make config-docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
