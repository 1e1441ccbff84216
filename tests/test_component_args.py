"""Every component checks its own args before it registers anything (a composed component is checked as the stack's
loader checks a stack file): one error listing every problem at its ``args.`` path, and nothing registered.

Each component has a case here: a program of its own that composes it with bad args, run under the mocks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llm_tiers import arguments
from llm_tiers.config.specs import TierSpec
from llm_tiers.preview import render as render_tool

# component -> (program body composing it with bad args, the arg paths the error must name)
BAD: dict[str, tuple[str, list[str]]] = {
    "Tracing": ("""
from llm_tiers import Tracing, TracingArgs
Tracing("tracing", TracingArgs(export_endpoint="otlp.example.com:4318/v1/traces", namespace="Monitoring",
                               node_cidrs=["10.0.0.0/33"]))
""", ["args.export_endpoint", "args.namespace", "args.node_cidrs[0]"]),
}


def run(tmp_path: Path, body: str) -> render_tool.RenderResult:
    project = tmp_path / "p"
    project.mkdir(exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: composed\nruntime: python\n")
    (project / "__main__.py").write_text("import pulumi\n" + textwrap.dedent(body))
    return render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=project)


def refused(tmp_path: Path, body: str, component: str, paths: list[str]) -> str:
    """Run ``body`` (a program composing ``component``): it must be refused with one error naming every one of
    ``paths``, before anything was registered. Returns the message."""
    with pytest.raises(render_tool.RenderError) as exc:
        run(tmp_path, body)
    message = str(exc.value)
    assert f"{component} " in message and "problem(s) in its args" in message, message
    for path in paths:
        assert f"  - {path}:" in message, f"{path} not named in:\n{message}"
    assert not exc.value.recording.resources, "registered before the args were checked: " + ", ".join(
        r.type for r in exc.value.recording.resources)
    return message


@pytest.mark.parametrize("component", sorted(BAD))
def test_a_composed_component_refuses_bad_args_at_their_paths(tmp_path, component):
    body, paths = BAD[component]
    refused(tmp_path, body, component, paths)


def test_shape_issues_walk_nested_specs():
    issues = arguments.shape_issues({"name": "chat", "replicas": {"mn": 1, "max": "two"}, "extra_args": "--x",
                                     "model_id": 3}, TierSpec, "args.tier")
    found = {(i.path, i.message.split(";")[0].split(" (")[0]) for i in issues}
    assert ("args.tier.replicas.mn", "unknown key") in found
    assert ("args.tier.replicas.max", "must be a whole number") in found
    assert ("args.tier.extra_args", "must be a list") in found
    assert ("args.tier.model_id", "must be a string") in found
    assert ("args.tier.gpu_class", "required") in found


def test_an_output_where_a_plain_value_is_needed_is_named():
    """An Output (any awaitable: a real one would leave a task on the SDK's RPC manager for the next program)."""

    class Pending:
        def __await__(self):
            yield

    issues = arguments.shape_issues({"name": Pending()}, TierSpec, "args.tier")
    assert any(i.path == "args.tier.name" and "not an Output" in i.message for i in issues)


def test_the_generated_specs_are_current():
    """config/specs/ is what ``python -m llm_tiers.cli.arg_specs --write`` writes from the config models."""
    from llm_tiers.cli import arg_specs

    stale = arg_specs.outdated(arg_specs._files())
    assert not stale, f"stale: {stale}; run python -m llm_tiers.cli.arg_specs --write"


def test_a_spec_has_every_key_of_its_section_model():
    """The generator can fail: each spec carries its model's fields (a model field added without regenerating the
    specs would be missing here), Required exactly where the model has no default."""
    from llm_tiers.config import schema
    from llm_tiers.config import specs

    for model in (schema.TierConfig, schema.GatewayConfig, schema.ClusterConfig, schema.GpuClassConfig):
        spec = getattr(specs, model.__name__.removesuffix("Config") + "Spec")
        assert list(spec.__annotations__) == list(model.model_fields), model.__name__
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(spec.__required_keys__) == required, model.__name__
