"""Docs are part of done: the config reference covers every key and is current; Pulumi.yaml declares the
project's keys; the README carries the two commands."""

from __future__ import annotations

from pathlib import Path

import yaml

from llm_tiers.config import schema as config
from llm_tiers.stack import parse as stack_parse
from llm_tiers.cli import config_docs

ROOT = Path(__file__).resolve().parents[1]


def test_config_reference_is_current():
    assert config_docs.DOC_PATH.read_text() == config_docs.generate(), "docs/config.md is stale: run make config-docs"


def _all_fields(model, seen=None):
    seen = seen if seen is not None else set()
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        yield model, name, field
        nested, _ = config_docs._nested_model(field.annotation)
        if nested is not None:
            yield from _all_fields(nested, seen)


def test_every_config_key_has_a_description_and_a_row():
    doc = config_docs.DOC_PATH.read_text()
    missing = [f"{m.__name__}.{n}" for m, n, f in _all_fields(config.StackConfig) if not (f.description or "").strip()]
    assert not missing, f"fields without a description: {missing}"
    for _, name, field in _all_fields(config.StackConfig):
        assert f".{field.alias or name}`" in doc or f"`{field.alias or name}`" in doc
    for key in config.SECRET_KEYS:
        assert f"`{key}`" in doc


def test_pulumi_yaml_declares_exactly_the_schema_keys():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "python" and project["stackConfigDir"] == "stacks"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    declared = project["config"]
    assert list(declared) == stack_parse.top_level_keys()
    required = {f.alias or n for n, f in config.StackConfig.model_fields.items() if f.is_required()}
    for key, decl in declared.items():
        assert decl["type"] in {"string", "integer", "boolean", "array", "object"} and decl["description"]
        if decl["type"] == "array":
            assert "items" in decl
        # The CLI requires every declared key without a default: only the schema's required keys may lack one.
        assert ("default" not in decl) == (key in required), key
        if key in config.SECRET_KEYS:
            assert decl["default"] in ("", {}) and "--secret" in decl["description"], key
        elif "default" in decl:
            # Empty, or a boolean's false (what the schema also defaults to): real defaults live in the schema.
            assert decl["default"] in ({}, []) or (decl["type"] == "boolean" and decl["default"] is False), key


def test_readme_has_the_two_commands_and_the_real_user_path():
    readme = (ROOT / "README.md").read_text()
    for words in ("make render STACK=prod", "make test", "pulumi preview", "pulumi up", "pulumi login",
                  "pulumi config set --secret hfToken", "docs/config.md"):
        assert words in readme, words


def test_ci_runs_the_readme_test_command_with_the_upstream_inputs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "CRD_SCHEMA_DIR" in ci and "CHART_VALUES_DIR" in ci


def test_component_docs_are_generated_and_current():
    from llm_tiers.cli import component_docs
    import llm_tiers as components
    assert component_docs.main(["--check"]) == 0, "docs/components is stale or an arg lacks its docstring"
    # TenantKeyArgs: a value type, not a component.
    args_classes = {n for n in components.__all__ if n.endswith("Args")} - {"TenantKeyArgs"}
    assert args_classes == set(component_docs.PAGES), "every component's Args has a doc page"


def test_an_undocumented_arg_is_caught():
    import dataclasses
    from llm_tiers.cli import component_docs

    @dataclasses.dataclass
    class ExampleArgs:
        documented: int = 1
        """Has a description."""
        forgotten: int = 2

    table, missing = component_docs.table(ExampleArgs)
    assert missing == ["forgotten"] and "Has a description." in table
