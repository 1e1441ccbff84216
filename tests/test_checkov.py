"""checkov's Kubernetes checks on every rendered stack and example: zero failed checks, and every check
skipped has its reason on the object it applies to (``checkov.io/skip<N>`` annotations from
components/llm_tiers/security.py).

checkov runs from its own virtualenv (``.venv-checkov``, made by ``make test`` from requirements-checkov.txt:
its pins conflict with the program's). Set ``CHECKOV=/path/to/checkov`` to use another one. Without checkov
the tests are skipped with a message locally and fail under CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from llm_tiers import security as security_exceptions
from conftest import ROOT, STACKS
from llm_tiers.preview import render as render_tool


def _checkov() -> str:
    for candidate in (os.environ.get("CHECKOV"), str(ROOT / ".venv-checkov" / "bin" / "checkov"),
                      shutil.which("checkov")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    message = ("checkov not found (CHECKOV, .venv-checkov/bin/checkov or PATH): the rendered stacks are NOT "
               "security-checked. `make test` installs it (requirements-checkov.txt).")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_checkov(objects: list[dict], tmp_path: Path) -> dict:
    target = tmp_path / "kubernetes.yaml"
    target.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    proc = subprocess.run([_checkov(), "-f", str(target), "--framework", "kubernetes", "-o", "json", "--quiet",
                           "--skip-download"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if isinstance(report, list):
        (report,) = [r for r in report if r.get("check_type") == "kubernetes"]
    return report


def _assert_clean(report: dict, what: str) -> None:
    results = report.get("results") or {}
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results.get("failed_checks", [])]
    assert report.get("summary", {}).get("parsing_errors", 0) == 0, f"{what}: checkov could not parse the render"
    assert not failed, f"{what}: checkov failed checks:\n" + "\n".join(failed)
    assert report["summary"]["passed"] > 100, f"{what}: checkov ran almost no check"
    for skipped in results.get("skipped_checks", []):
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert reason == security_exceptions.SKIPS.get(skipped["check_id"]), (
            f"{what}: {skipped['check_id']} on {skipped['resource']} is skipped without the reason from "
            f"components/llm_tiers/security.py: {reason!r}")


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_checkov(rendered, stack, tmp_path):
    _assert_clean(run_checkov(rendered(stack).kubernetes_objects(), tmp_path), stack)


@pytest.mark.parametrize("example", render_tool.examples())
def test_every_example_passes_checkov(example, tmp_path):
    _assert_clean(run_checkov(render_tool.render_example(example).kubernetes_objects(), tmp_path), example)


def test_checkov_finds_what_the_exceptions_would_hide(rendered, tmp_path):
    """The exceptions are real: without them, checkov fails exactly the checks they name (so a skip that no
    longer applies shows up as an unused entry here)."""
    objects = rendered("prod").kubernetes_objects()
    for obj in objects:
        notes = obj.get("metadata", {}).get("annotations") or {}
        for key in [k for k in notes if k.startswith("checkov.io/skip")]:
            del notes[key]
    failed = {c["check_id"] for c in run_checkov(objects, tmp_path)["results"]["failed_checks"]}
    assert failed == set(security_exceptions.SKIPS)
