"""Generate ``components/llm_tiers/config/specs/``: the stack config's sections as plain ``TypedDict`` types.

A component that takes a config section (``ModelTier``'s ``tier``, ``Gateway``'s ``settings``, ...) takes it as one
of these dictionaries: snake_case keys, plain types, each key documented from the section's field description and
default. They are what Pulumi's component provider infers the package schema from (it reads annotations, not
pydantic models), so TypeScript, Go, C# and YAML programs get the same vocabulary as the stack file; the component
validates the value against the section's model (constraints, defaults, cross-field checks) before registering
anything.

    python -m llm_tiers.cli.arg_specs --write     # regenerate after changing a model in llm_tiers.config
    python -m llm_tiers.cli.arg_specs --check     # exit 1 when a module of specs/ is stale (a test does this too)

A repository tool, not a console script of the package.
"""

from __future__ import annotations

import re
import sys
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

SPECS_DIR = Path(__file__).resolve().parents[1] / "config" / "specs"

INIT_HEADER = '''"""The stack config's sections as plain typed dictionaries: the shape components take a section in.

GENERATED from the models in ``llm_tiers.config`` by ``python -m llm_tiers.cli.arg_specs --write`` (one module per
section); a test fails when it is stale. Do not edit by hand.

Keys are the Python (snake_case) names of the stack file's camelCase keys (``max_total_tokens`` is
``maxTotalTokens``); Pulumi's component provider publishes them in camelCase again, so a TypeScript, Go or YAML
program writes the stack file's keys (an acronym is camel-cased: ``storageGiB`` is ``storageGib`` there). A key
not marked ``Required`` may be left out: the component fills in the default its description names. Each component
validates the value against the section's model (ranges, patterns, cross-field rules) before it registers anything,
and names a bad key at its ``args.`` path.
"""

'''

HEADER = '''"""The ``{section}`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import {typing_names}
'''


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def spec_name(model: type[BaseModel]) -> str:
    """``TierConfig`` -> ``TierSpec``."""
    name = model.__name__
    return spec_name_of[name]


def _choices(annotation: Any) -> list[Any]:
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return list(typing.get_args(annotation))
    if origin is Union:
        return [c for a in typing.get_args(annotation) for c in _choices(a)]
    if origin in (list, tuple):
        return [c for a in typing.get_args(annotation) for c in _choices(a)]
    return []


def py_type(annotation: Any, models: dict[str, type[BaseModel]]) -> str:
    """The plain type the provider's schema inference accepts for a model field's annotation."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin is Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return f"Optional[{py_type(args[0], models)}]"
        return "Any"
    if origin is Literal:
        kinds = {type(v) for v in typing.get_args(annotation)}
        return kinds.pop().__name__ if len(kinds) == 1 else "Any"
    if origin in (list, tuple, typing.Sequence if hasattr(typing, "Sequence") else list):
        inner = typing.get_args(annotation)
        return f"list[{py_type(inner[0], models) if inner else 'Any'}]"
    if origin is dict:
        return f"dict[str, {py_type(typing.get_args(annotation)[1], models)}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        models.setdefault(annotation.__name__, annotation)
        return spec_name(annotation)
    if annotation in (str, int, float, bool):
        return annotation.__name__
    if annotation is Any:
        return "Any"
    raise TypeError(f"no plain type for {annotation!r}")


def _default_text(field: Any) -> str:
    if "Default:" in (field.description or ""):
        return ""  # the description says it in words
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return ""  # every key of the section at its own default
        return f" Default: ``{value!r}``." if value not in ([], {}, ()) else " Default: empty."
    if field.default is PydanticUndefined:
        return ""
    return f" Default: ``{field.default!r}``."


def _doc(text: str, indent: str = "    ") -> str:
    text = text.replace('"""', "'''").replace("\\", "\\\\")
    return f'{indent}"""{text}"""'


def model_block(model: type[BaseModel], models: dict[str, type[BaseModel]]) -> str:
    doc = (model.__doc__ or "").strip() if model.__doc__ and model.__doc__ is not BaseModel.__doc__ else ""
    lines = [
        f"class {spec_name(model)}(TypedDict, total=False):",
        _doc(f"``{model.__name__}`` as plain data.{(' ' + doc) if doc else ''}"),
    ]
    for name, field in model.model_fields.items():
        typ = py_type(field.annotation, models)
        required = field.is_required()
        choices = _choices(field.annotation)
        text = (field.description or "").strip()
        if choices:
            text += f" One of: {', '.join(f'``{c}``' for c in choices)}."
        text += _default_text(field)
        text += f" (stack file key ``{field.alias or name}``)"
        lines.append(f"    {name}: {'Required[' + typ + ']' if required else typ}")
        lines.append(_doc(text.strip()))
    return "\n".join(lines)


def generate(sections: dict[str, list[type[BaseModel]]]) -> dict[str, str]:
    """One module per section group: every model reachable from the group's roots that an earlier group did not
    already define, dependencies before their users; types of earlier groups are imported."""
    owner: dict[str, str] = {}
    blocks: dict[str, str] = {}
    files: dict[str, str] = {}
    for module, group in sections.items():
        order: list[type[BaseModel]] = []
        uses: set[str] = set()

        def visit(model: type[BaseModel]) -> None:
            if model.__name__ in owner:
                if owner[model.__name__] != module:
                    uses.add(model.__name__)
                return
            owner[model.__name__] = module  # mark before recursing
            nested: dict[str, type[BaseModel]] = {}
            block = model_block(model, nested)
            for child in nested.values():
                visit(child)
            blocks[model.__name__] = block
            order.append(model)

        for root in group:
            visit(root)
        imported = {m: sorted(spec_name_of[n] for n in uses if owner[n] == m) for m in {owner[n] for n in uses}}
        imports = "".join(f"from llm_tiers.config.specs.{m} import {', '.join(names)}\n"
                          for m, names in sorted(imported.items()))
        body = "".join(f"\n\n{blocks[m.__name__]}\n" for m in order)
        annotations = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith('"'))
        used = [n for n in ("Any", "Optional", "Required") if re.search(rf"\b{n}\b", annotations)]
        files[module] = (
            HEADER.replace("{section}", module).replace("{typing_names}", ", ".join([*used, "TypedDict"]))
            + imports
            + body
        )
    names = {module: [n for n, o in owner.items() if o == module] for module in sections}
    files["__init__"] = (
        INIT_HEADER
        + "".join(
            f"from llm_tiers.config.specs.{m} import {', '.join(sorted(spec_name_of[n] for n in names[m]))}\n"
            for m in sections
        )
        + "\n__all__ = ["
        + ", ".join(f'"{spec_name_of[n]}"' for n in sorted(owner, key=lambda n: spec_name_of[n]))
        + "]\n"
    )
    return files


class _SpecNames(dict):
    def __missing__(self, key: str) -> str:
        return (key[: -len("Config")] if key.endswith("Config") else key) + "Spec"


spec_name_of = _SpecNames()


def sections() -> dict[str, list[type[BaseModel]]]:
    """The sections the components take (and, through them, every nested model), by module."""
    from llm_tiers.config import schema

    groups = {
        "cluster": ["ClusterConfig"],
        "gpu": ["GpuClassConfig"],
        "secrets": ["SecretStoreConfig"],
        "observability": ["ObservabilityConfig", "AlertReceiverConfig"],
        "gateway": ["GatewayConfig", "TenantConfig"],
        "tiers": ["TierConfig", "ModelPolicyConfig"],
        "benchmark": ["BenchmarkConfig"],
    }
    return {m: [getattr(schema, n) for n in names] for m, names in groups.items()}


def _files() -> dict[Path, str]:
    return {SPECS_DIR / f"{m}.py": text for m, text in generate(sections()).items()}


def outdated(files: dict[Path, str]) -> list[str]:
    """The spec modules that differ from ``files`` (what --write would write), and the ones it would remove."""
    return (sorted(str(p) for p, text in files.items() if not p.is_file() or p.read_text() != text)
            + sorted(str(p) for p in set(SPECS_DIR.glob("*.py")) - set(files)))


def main(argv: list[str] | None = None) -> int:
    from llm_tiers.cli.config_docs import write_or_check

    args = write_or_check(__doc__, argv)
    files = _files()
    if args.write:
        SPECS_DIR.mkdir(exist_ok=True)
        for stale in set(SPECS_DIR.glob("*.py")) - set(files):
            stale.unlink()
        for path, text in files.items():
            path.write_text(text)
        print(f"wrote {len(files)} modules in {SPECS_DIR}")
        return 0
    behind = outdated(files)
    if behind:
        print(f"stale: {', '.join(behind)}; run python -m llm_tiers.cli.arg_specs --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
