"""The package as a component provider (provider/, llm_tiers.provider): Pulumi infers a schema from every exported
component's typed args; the committed provider/schema.json is that schema and satisfies Pulumi's package
metaschema; and each component can be constructed the way the provider constructs it for a TypeScript, Go or YAML
program: plain camelCase inputs, mapped by the SDK's own code, under the mocks."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from llm_tiers import provider
from llm_tiers.preview import render as render_tool

ROOT = Path(__file__).resolve().parents[1]

# One plain-input example per served component: what a program in another language passes (camelCase keys).
CONSTRUCT_INPUTS: dict[str, dict] = {
    "Tracing": {"exportEndpoint": "https://otlp.example.com:4317", "nodeCidrs": ["10.0.0.0/16"]},
}


def test_every_served_component_has_a_schema():
    schema = provider.schema()
    served = {c.__name__ for c in provider.components()}
    assert {t.split(":")[-1] for t in schema["resources"]} == served
    for token, resource in schema["resources"].items():
        assert resource["isComponent"] is True
        assert token.startswith("llmtiers:index:")
        for name, prop in resource["inputProperties"].items():
            assert prop.get("description"), f"{token}.{name} has no description"


def test_every_exported_component_is_served():
    import llm_tiers

    exported = {n for n in llm_tiers.__all__ if isinstance(getattr(llm_tiers, n), type)
                and issubclass(getattr(llm_tiers, n), provider.pulumi.ComponentResource)}
    assert exported == {c.__name__ for c in provider.components()}


def test_committed_schema_is_current():
    committed = json.loads(provider.SCHEMA_PATH.read_text())
    assert committed == provider.schema(), "provider/schema.json is stale: run `python -m llm_tiers.provider --schema`"


def metaschema_validator(folder: Path) -> jsonschema.protocols.Validator:
    """Draft 2020-12, with the metaschema's patterns as ECMA-262 regular expressions (JSON Schema's regex dialect:
    the metaschema uses ``(?<name>...)`` groups, which Python's ``re`` does not read), through ``regress`` (the
    ECMA regex engine check-jsonschema uses)."""
    import regress

    def pattern(validator, value, instance, schema):
        if validator.is_type(instance, "string") and regress.Regex(value).find(instance) is None:
            yield jsonschema.ValidationError(f"{instance!r} does not match {value!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})
    return cls(json.loads((folder / "pulumi.json").read_text()))


def test_schema_satisfies_pulumis_metaschema(pulumi_metaschema):
    validator = metaschema_validator(pulumi_metaschema)
    errors = sorted(validator.iter_errors(json.loads(provider.SCHEMA_PATH.read_text())), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


def test_the_metaschema_rejects_a_broken_schema(pulumi_metaschema):
    """The check can fail: a resource whose input property has an unknown type is refused."""
    broken = json.loads(provider.SCHEMA_PATH.read_text())
    token = next(iter(broken["resources"]))
    broken["resources"][token]["inputProperties"]["x"] = {"type": "no-such-type"}
    assert list(metaschema_validator(pulumi_metaschema).iter_errors(broken))
    bad_token = json.loads(provider.SCHEMA_PATH.read_text())
    bad_token["resources"]["not a token"] = bad_token["resources"].pop(token)
    assert list(metaschema_validator(pulumi_metaschema).iter_errors(bad_token))


CONSTRUCT_PROGRAM = """
import json
import pulumi
from llm_tiers import provider
try:
    result = provider.provider().construct({name!r}, "llmtiers:index:{component}", json.loads({inputs!r}),
                                           pulumi.ResourceOptions())
    pulumi.export("urn", result.urn)
except Exception as exc:  # the provider wraps a component's error in ComponentInitError
    pulumi.export("error", f"{{type(exc).__name__}}: {{exc}}")
"""


def construct(tmp_path: Path, component: str, inputs: dict) -> render_tool.RenderResult:
    project = tmp_path / component
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: construct\nruntime: python\n")
    (project / "__main__.py").write_text(textwrap.dedent(CONSTRUCT_PROGRAM.format(
        name=component.lower(), component=component, inputs=json.dumps(inputs))))
    return render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=project)


def constructed(tmp_path: Path, component: str, inputs: dict) -> render_tool.RenderResult:
    """:func:`construct`, which must succeed: the component is served, raises nothing, and registers itself and
    its children."""
    assert component in {c.__name__ for c in provider.components()}
    result = construct(tmp_path, component, inputs)
    assert "error" not in result.recording.stack_outputs, result.recording.stack_outputs.get("error")
    types = [r.type for r in result.recording.resources]
    assert f"llmtiers:index:{component}" in types
    assert len(types) > 1, f"{component} registered no children: {types}"
    return result


@pytest.mark.parametrize("component", sorted(CONSTRUCT_INPUTS))
def test_construct_with_plain_inputs(tmp_path, component):
    constructed(tmp_path, component, CONSTRUCT_INPUTS[component])


def test_construct_refuses_a_bad_input_at_its_arg_path(tmp_path):
    result = construct(tmp_path, "Tracing", {"exportEndpoint": "otlp.example.com:4317"})
    error = result.recording.stack_outputs.get("error", "")
    assert error.startswith("ComponentInitError") and "args.export_endpoint" in error, error
    assert not result.recording.resources, "something was registered before the args were checked"


def test_served_components_are_every_component_served_by_the_plugin():
    """provider/__main__.py serves what llm_tiers.provider serves (no second list to drift)."""
    text = (ROOT / "provider" / "__main__.py").read_text()
    assert "from llm_tiers.provider import main" in text
    assert (ROOT / "provider" / "PulumiPlugin.yaml").is_file()
