"""Shared fixtures: renders of the real stacks (cached per session), raw stack values, CRD schemas."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The package is installed (editable) like any dependency; the tests work on this repository's project
# wherever pytest is started from (llm_tiers.project reads LLM_TIERS_PROJECT before it looks at the cwd).
os.environ.setdefault("LLM_TIERS_PROJECT", str(ROOT))

from llm_tiers.testing import render as render_tool  # noqa: E402
from llm_tiers.testing import validate  # noqa: E402

PROJECT = render_tool.project_name()
STACKS = render_tool.stacks()


def chart_values_dir() -> Path:
    """The pinned charts' default values (``<release>/values.yaml``): ``CHART_VALUES_DIR``, else the ``charts``
    folder beside ``CRD_SCHEMA_DIR`` (the two upstream inputs are laid out side by side)."""
    if os.environ.get("CHART_VALUES_DIR"):
        return Path(os.environ["CHART_VALUES_DIR"])
    crds = os.environ.get(validate.CRD_ENV)
    return Path(crds).parent / "charts" if crds else ROOT / "charts-not-configured"


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
    crd_dir = validate.crd_dir_from_env()
    if crd_dir is None:
        pytest.skip(f"{validate.CRD_ENV} is not set, so custom resources are NOT validated against their CRDs. "
                    f"Set {validate.CRD_ENV} to the folder of the pinned CRD schemas (CI does) to run these checks.")
    if not crd_dir.is_dir():
        pytest.fail(f"{validate.CRD_ENV}={crd_dir} is not a directory")
    schemas = validate.load_crd_schemas(crd_dir)
    if not schemas:
        pytest.fail(f"no CustomResourceDefinitions found in {crd_dir}")
    return schemas


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
