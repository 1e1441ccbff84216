"""llm_tiers as a platform team installs and composes it: a wheel, installed into a fresh virtual environment
outside this repository, renders a team's own program (ModelTier + Gateway on a cluster given by kubeconfig)
with the package's own offline helper; the import graph has no cycles; one folder per concern."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT

PKG = ROOT / "components" / "llm_tiers"
CONCERNS = {"cluster", "gpu", "secrets", "observability", "gateway", "tiers", "benchmark", "tracing", "config", "cost",
            "preview", "cli", "evaluation", "stack", "mirror"}

TEAM_PROGRAM = '''
"""A team's program: one tier and the gateway on the cluster it already has."""
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import Gateway, GatewayArgs, ModelTier, ModelTierArgs, Namespaces
from llm_tiers import arguments
from llm_tiers.config import TierConfig
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.tiers.models_lock import load

config = pulumi.Config()
provider = k8s.Provider("theirs", kubeconfig=config.require_secret("kubeconfig"))
opts = pulumi.ResourceOptions(providers=[provider])
lock = load(Path(config.require("lockFile")))
tier = TierConfig(name="chat", model_id="Qwen/Qwen2.5-7B-Instruct", gpu_class="l4", max_input_tokens=4096,
                  max_total_tokens=8192)
namespaces = Namespaces("namespaces", opts=opts)
keys = k8s.core.v1.Secret("keys", metadata={"name": "tenant-api-keys", "namespace": "llm-gateway"},
                          string_data={"team": config.require_secret("teamKey")},
                          opts=pulumi.ResourceOptions(provider=provider, depends_on=namespaces.resources))
chat = ModelTier("chat", ModelTierArgs(tier=arguments.spec_of(tier), lock=lock_spec(lock.models[tier.model_id]),
                                       instance_types=["g6.xlarge"], autoscaling=False),
                 opts=opts, depends_on=namespaces.resources)
CERT = "arn:aws:acm:us-east-1:111122223333:certificate/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
Gateway("gateway", GatewayArgs(settings={"hostname": "llm.team.example", "tls": {"certificate_arn": CERT}},
                               tiers=[arguments.spec_of(tier)], tenants=[{"name": "team", "tiers": ["chat"]}],
                               monitoring=False),
        opts=opts, tier_services={"chat": chat.service}, depends_on=[*namespaces.resources, keys])
pulumi.export("url", chat.service_url)
'''


def _run(*cmd, **kw):
    # Without the caller's PYTHONPATH: the new venv must import the wheel, not the repository (where the
    # wheel build leaves its egg-info directory, which would also make pip think the package is already installed).
    kw.setdefault("env", {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel of this repository installed into a new virtual environment outside it. Its dependencies come
    from the project's own virtual environment (a .pth line, which does not pull in the editable install)."""
    tmp = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", ROOT)
    (wheel,) = (tmp / "dist").glob("llm_tiers-*.whl")
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    _run(py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel)
    site = _run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(site) / "llm_tiers_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, venv


def test_the_wheel_is_named_versioned_and_typed(installed):
    wheel, venv = installed
    assert wheel.name.startswith("llm_tiers-0.") and wheel.name.endswith("-py3-none-any.whl")
    out = _run(
        venv / "bin" / "python",
        "-c",
        "import llm_tiers, pathlib, importlib.metadata as m; "
        "print(llm_tiers.__file__); print(m.version('llm-tiers')); "
        "print((pathlib.Path(llm_tiers.__file__).parent / 'py.typed').exists())",
    ).stdout.split()
    assert str(venv) in out[0] and "/components/" not in out[0], "imported from the wheel, not the repository"
    assert out[1].startswith("0.") and out[2] == "True"


def test_the_wheel_installs_only_the_users_commands(installed):
    """The commands a user runs on their own project are on PATH; the repository's doc generators are not (they
    write this repository's docs/ and run as `python -m llm_tiers.cli.<tool>`)."""
    _, venv = installed
    scripts = {p.name for p in (venv / "bin").iterdir() if p.name.startswith("llm-tiers-")}
    assert scripts == {
        "llm-tiers-render",
        "llm-tiers-render-diff",
        "llm-tiers-models-lock",
        "llm-tiers-crds",
        "llm-tiers-chart-values",
        "llm-tiers-bench-render",
        "llm-tiers-measurements",
    }
    for tool in ("config_docs", "component_docs", "blue_green_doc", "architecture_doc"):
        out = _run(venv / "bin" / "python", "-m", f"llm_tiers.cli.{tool}", "--help")
        assert "--write" in out.stdout, tool


def test_a_teams_program_renders_with_the_packages_own_offline_helper(installed, tmp_path):
    _, venv = installed
    team = tmp_path / "team-program"
    team.mkdir()
    (team / "Pulumi.yaml").write_text("name: team-llm\nruntime: python\n")
    (team / "__main__.py").write_text(TEAM_PROGRAM)
    (team / "Pulumi.dev.yaml").write_text(
        textwrap.dedent(f"""
        config:
          team-llm:lockFile: {ROOT / "models.lock.json"}
          team-llm:kubeconfig: {{secure: offline}}
          team-llm:teamKey: {{secure: offline}}
    """)
    )
    out = _run(
        venv / "bin" / "llm-tiers-render",
        "--stack",
        "dev",
        "--out",
        tmp_path / "build",
        cwd=team,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert "rendered dev" in out.stdout
    build = tmp_path / "build" / "dev"
    assert {p.name for p in build.iterdir()} >= {"kubernetes.yaml", "plan.md", "rollout.md", "state.json"}
    import yaml

    objects = {
        (o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all((build / "kubernetes.yaml").read_text()) if o
    }
    assert {
        ("Deployment", "chat-live"),
        ("Service", "chat"),
        ("HTTPRoute", "chat"),
        ("SecurityPolicy", "chat"),
    } <= objects
    assert json.loads((build / "outputs.json").read_text())["url"] == "http://chat.llm-tiers.svc/v1"
    assert not json.loads((build / "aws.json").read_text()), "a team's program on its own cluster creates no AWS"


def test_a_composed_tier_refuses_bad_args_in_the_teams_program_too(installed, tmp_path):
    _, venv = installed
    team = tmp_path / "team-program"
    team.mkdir()
    (team / "Pulumi.yaml").write_text("name: team-llm\nruntime: python\n")
    (team / "__main__.py").write_text(
        TEAM_PROGRAM.replace(
            'gpu_class="l4", max_input_tokens=4096', 'gpu_class="l4", extra_args=["--port=1"], max_input_tokens=4096'
        )
    )
    (team / "Pulumi.dev.yaml").write_text(
        f"config:\n  team-llm:lockFile: {ROOT / 'models.lock.json'}\n"
        "  team-llm:kubeconfig: {secure: x}\n  team-llm:teamKey: {secure: x}\n"
    )
    out = subprocess.run(
        [venv / "bin" / "llm-tiers-render", "--stack", "dev", "--out", tmp_path / "b"],
        cwd=team,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 2 and "args.tier.extra_args[0]" in out.stderr and "Traceback" not in out.stderr, out.stderr


def _imports(path: Path, module: str) -> set[str]:
    """The llm_tiers modules a module imports at its top level (a `from llm_tiers.x import y` where y is a
    module counts as llm_tiers.x.y)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llm_tiers") and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                target = PKG.parent / (sub.replace(".", "/") + ".py")
                pkg = PKG.parent / sub.replace(".", "/") / "__init__.py"
                found.add(sub if target.exists() or pkg.exists() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("llm_tiers")}
    return found - {module}


def test_the_import_graph_has_no_cycles():
    modules = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = _imports(path, name)
    # A package's __init__ re-exporting its modules is not a cycle of theirs: drop package -> child edges.
    graph = {m: {d for d in deps if d in modules and not d.startswith(m + ".")} for m, deps in modules.items()}
    state: dict[str, int] = {}

    def visit(m, trail):
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, m, d]))
            if not state.get(d):
                visit(d, [*trail, m])
        state[m] = 2

    for m in sorted(graph):
        if not state.get(m):
            visit(m, [])


def test_the_tree_has_one_folder_per_concern_and_each_component_beside_its_builders():
    # testing/: only the deprecated alias of preview/ (its __init__; tests/test_preview_compat.py).
    folders = {
        p.name
        for p in PKG.iterdir()
        if p.is_dir() and p.name not in ("__pycache__", "testing") and not p.name.startswith(".")
    }
    assert folders == CONCERNS
    assert [p.name for p in (PKG / "testing").iterdir() if p.name != "__pycache__"] == ["__init__.py"]
    import llm_tiers

    homes = {
        name: getattr(llm_tiers, name).__module__
        for name in (
            "Cluster",
            "GpuCapacity",
            "SecretStore",
            "Observability",
            "Gateway",
            "ModelTier",
            "Benchmark",
            "Tracing",
            "WeightMirror",
        )
    }
    assert homes == {
        "Cluster": "llm_tiers.cluster.component",
        "GpuCapacity": "llm_tiers.gpu.component",
        "SecretStore": "llm_tiers.secrets.component",
        "Observability": "llm_tiers.observability.component",
        "Gateway": "llm_tiers.gateway.component",
        "ModelTier": "llm_tiers.tiers.component",
        "Benchmark": "llm_tiers.benchmark.component",
        "Tracing": "llm_tiers.tracing.component",
        "WeightMirror": "llm_tiers.mirror.component",
    }


def test_nothing_outside_the_tests_touches_sys_path():
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = [f for f in tracked.stdout.split() if not f.startswith("tests/")]
    assert files, "no tracked Python files found"
    offenders = [f for f in files if "sys.path" in (ROOT / f).read_text()]
    assert not offenders, offenders
