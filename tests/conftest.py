"""Shared fixtures: renders of the real stacks (cached per session), raw stack values, CRD schemas."""

from __future__ import annotations

import copy
import inspect
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The package is installed (editable) like any dependency; the tests work on this repository's project
# wherever pytest is started from (llm_tiers.project reads LLM_TIERS_PROJECT before it looks at the cwd).
os.environ.setdefault("LLM_TIERS_PROJECT", str(ROOT))

from llm_tiers.preview import render as render_tool  # noqa: E402
from llm_tiers.preview import stack_file  # noqa: E402
from llm_tiers.preview import validate  # noqa: E402

# Upstream inputs the tests check against, each from ONE place: its environment variable, else the project's own
# verified download (`make test-inputs`, which `make test` tries first; each command checks every file against
# the SHA-256 committed beside it). Nothing outside the repository is assumed.
UPSTREAM_INPUTS = {
    validate.CRD_ENV: (ROOT / ".crds", "the pinned CRD schemas",
                       "python -m llm_tiers.cli.crds fetch --dest .crds"),
    "CHART_VALUES_DIR": (ROOT / ".chart-values", "the pinned charts' default values",
                         "python -m llm_tiers.cli.chart_values fetch --dest .chart-values"),
    "PULUMI_SCHEMA_DIR": (ROOT / ".pulumi-schema", "Pulumi's package metaschema",
                          "python -m llm_tiers.cli.metaschema fetch --dest .pulumi-schema"),
}
for _env, (_folder, _what, _how) in UPSTREAM_INPUTS.items():
    if not os.environ.get(_env) and _folder.is_dir() and any(_folder.iterdir()):
        os.environ[_env] = str(_folder)


def upstream_input(env: str) -> Path:
    """The folder of an upstream input; skips the test saying how to get it (fails instead when ``CI`` is set)."""
    folder, what, how = UPSTREAM_INPUTS[env]
    value = os.environ.get(env)
    if not value:
        message = (f"{env} is not set and {folder.name}/ was not fetched, so {what} are NOT checked; run `make "
                   f"test-inputs` (or `{how}`; needs github.com) or set {env} to a folder holding them")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"{env}={path} is not a directory")
    return path


@pytest.fixture(scope="session")
def chart_values_dir() -> Path:
    return upstream_input("CHART_VALUES_DIR")


@pytest.fixture(scope="session")
def pulumi_metaschema() -> Path:
    """The folder holding Pulumi's package metaschema (``pulumi.json``)."""
    return upstream_input("PULUMI_SCHEMA_DIR")


@pytest.fixture(scope="session")
def chart_values() -> Path:
    """The pinned charts' values folder (``<release>/values.yaml``, ``values.schema.json``, ``subcharts/``)."""
    return upstream_input("CHART_VALUES_DIR")

PROJECT = stack_file.project_name()
STACKS = stack_file.stacks()


def stack_values(stack: str) -> dict[str, Any]:
    """The project's config values of a stack file, without the ``<project>:`` prefix (a fresh copy)."""
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    prefix = f"{PROJECT}:"
    return copy.deepcopy({k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)})


def overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Project values -> render overrides (``{"<project>:<key>": value}``)."""
    return {f"{PROJECT}:{k}": v for k, v in values.items()}


@pytest.fixture(scope="session")
def rendered():
    """``rendered(stack)``: the stack rendered once per session under the mocks."""
    cache: dict[str, render_tool.RenderResult] = {}

    def get(stack: str) -> render_tool.RenderResult:
        if stack not in cache:
            cache[stack] = render_tool.render(stack)
        return cache[stack]

    return get


@pytest.fixture(scope="session")
def crd_schemas():
    crd_dir = upstream_input(validate.CRD_ENV)
    schemas = validate.load_crd_schemas(crd_dir)
    if not schemas:
        pytest.fail(f"no CustomResourceDefinitions found in {crd_dir}")
    return schemas


def run_promtool_test(promtool: str, rules: Path, series: list[dict[str, Any]], expect: list[dict[str, Any]],
                      tmp_path: Path, eval_time: str = "15m") -> None:
    """``promtool test rules`` on ``rules`` with one test: ``series`` at a 1-minute interval, each of ``expect``
    (``expr``, ``exp_samples``) evaluated at ``eval_time``; fails with promtool's own output."""
    import subprocess

    test = tmp_path / "test.yaml"
    test.write_text(yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "30s", "tests": [
        {"interval": "1m", "input_series": series,
         "promql_expr_test": [{**e, "eval_time": eval_time} for e in expect]}]}, sort_keys=False))
    out = subprocess.run([promtool, "test", "rules", str(test)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def require_opa(what: str) -> None:
    """Skip (fail under ``CI``) when OPA's engine is missing (opa-golib-python-bindings, requirements-opa.txt)."""
    import importlib.util

    if importlib.util.find_spec("opa_bindings") is None:
        message = (f"opa-golib-python-bindings not installed: {what} NOT checked "
                   "(make installs requirements-opa.txt)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def prod_guard_engine(rendered):
    """OPA's own engine with the policy and data.json of prod's rendered request-guard ConfigMap, as ``opa run``
    loads them."""
    require_opa("the request guard's Rego policy is")
    from llm_tiers.gateway import guard
    from llm_tiers.preview import guard_corpus

    engine = guard_corpus.load_engine(rendered("prod").objects_named("ConfigMap")[guard.NAME]["data"])
    yield engine
    engine.close()


@pytest.fixture()
def static_http(tmp_path):
    """(folder, base URL): a loopback HTTP server answering every path from the folder (no network)."""
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool's path. CI (``CI`` set) must have it (.ci/run installs Debian's prometheus package): there a
    missing promtool fails the test; elsewhere it skips, saying the rules are NOT checked."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus); recording and alert rules are NOT checked")
    return path


# ---------------------------------------------------------------------------------------------- the fast set
# `make test-fast` runs `pytest -m "not render"`: every test that does not run a whole program. A test is marked
# `render` when it (or a fixture it uses, or a function of its module it calls) runs the program: the `rendered`
# fixture, the render's entry points, a render in a subprocess. The marking reads sources, so it is checked where it
# matters: every in-process run of a program is counted (render.run_program), and a run deselecting `render` fails
# naming each test that ran a program anyway.
RENDERS = re.compile(r"render_tool\.(render|run_program|render_example|main)\b|\brender_example\(|\brun_program\(|"
                     r"render_state\(|llm-tiers-render|llm_tiers\.preview\.render|bench_render|\brendered\(|"
                     r"\.render\(\"|architecture_doc\.diagram|blue_green_doc\.(main|generate)|"
                     r"\bcheck_api_server\(")
RENDER_FIXTURES = {"rendered", "prod_guard_engine"}
PROGRAM_RUNS: list[str] = []
_run_program = render_tool.run_program


def _counted_run_program(*args: Any, **kwargs: Any):
    PROGRAM_RUNS.append(os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0])
    return _run_program(*args, **kwargs)


render_tool.run_program = _counted_run_program


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _renders(func: Any, module: Any, seen: set[int]) -> bool:
    """Whether ``func`` runs a program: by its source or a module-level function or fixture it names."""
    if id(func) in seen:
        return False
    seen.add(id(func))
    src = _source(func)
    if RENDERS.search(src):
        return True
    for name in set(re.findall(r"\b([A-Za-z_]\w*)\b", src)):
        helper = getattr(module, name, None)
        target = getattr(helper, "__wrapped__", helper)
        if (inspect.isfunction(target) and getattr(target, "__module__", None) == module.__name__
                and _renders(target, module, seen)):
            return True
    return False


def pytest_configure(config):
    config.addinivalue_line("markers", "render: runs a whole program under the mocks (deselected by make test-fast)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module
        fixtures = set(getattr(item, "fixturenames", ()))
        uses = fixtures & RENDER_FIXTURES or any(
            _renders(getattr(getattr(module, f, None), "__wrapped__", None) or getattr(module, f, None), module, set())
            for f in fixtures if inspect.isfunction(getattr(getattr(module, f, None), "__wrapped__", None)
                                                    or getattr(module, f, None)))
        if uses or _renders(item.function, module, set()):
            item.add_marker(pytest.mark.render)


def pytest_sessionfinish(session, exitstatus):
    if "not render" in (session.config.option.markexpr or "") and PROGRAM_RUNS:
        ran = sorted(set(PROGRAM_RUNS))
        session.config.get_terminal_writer().line(
            f"the fast set ran a whole program in {len(ran)} test(s) not marked `render`; teach tests/conftest.py "
            "RENDERS how they render: " + ", ".join(ran), red=True)
        session.exitstatus = 1
