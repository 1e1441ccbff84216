"""The pinned charts' values as one verified fixture (components/llm_tiers/cli/chart_values.py), and no test or
module reaching outside the repository for its inputs."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from llm_tiers.cli import chart_values
from conftest import ROOT


def test_every_chart_the_tests_read_has_a_committed_url_and_sum():
    sums = chart_values.load_sums()
    for needed in ("dcgm-exporter/values.yaml", "external-secrets/values.yaml", "cert-manager/values.schema.json",
                   "kube-prometheus-stack/subcharts/grafana/values.yaml"):
        assert needed in sums, needed
    for name, entry in sums.items():
        assert entry["url"].startswith(chart_values.RAW + "/") and len(entry["sha256"]) == 64, name
        commit = entry["url"].removeprefix(chart_values.RAW + "/").split("/")[2]
        assert len(commit) == 40, f"{name}: pinned by commit, not a moving ref"


def test_committed_sums_are_those_of_the_pinned_values(chart_values_dir):
    for name, entry in chart_values.load_sums().items():
        folder = chart_values_dir
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"], name


@pytest.fixture()
def served(static_http, tmp_path, monkeypatch):
    root, base = static_http
    files = {"a/values.yaml": b"replicaCount: 1\n", "a/subcharts/b/values.yaml": b"x: {}\n"}
    sums = {}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
        sums[name] = {"url": f"{base}/{name}", "sha256": hashlib.sha256(data).hexdigest()}
    sums_file = tmp_path / "sums.json"
    sums_file.write_text(json.dumps(sums))
    monkeypatch.setattr(chart_values, "SUMS", sums_file)
    return root, files


def test_fetch_verifies_every_file_and_writes_all_or_nothing(served, tmp_path):
    root, files = served
    dest = tmp_path / "out"
    chart_values.fetch(dest, timeout=5)
    assert {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()} == files
    (root / "a/values.yaml").write_bytes(b"replicaCount: 9\n")   # upstream changed under the pin
    other = tmp_path / "other"
    with pytest.raises(chart_values.ChartValuesError, match="is not the committed"):
        chart_values.fetch(other, timeout=5)
    assert not other.exists(), "never half a set"


def test_sums_read_the_source_files(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "values.yaml").write_text("k: v\n")
    (tmp_path / "c" / "SOURCE").write_text("repo: o/r\ncommit: " + "1" * 40
                                           + "\nfiles:\n  values.yaml: charts/c/values.yaml\n")
    assert chart_values.local_sums(tmp_path) == {"c/values.yaml": {
        "url": f"{chart_values.RAW}/o/r/{'1' * 40}/charts/c/values.yaml",
        "sha256": hashlib.sha256(b"k: v\n").hexdigest()}}


def test_nothing_in_the_repository_names_a_folder_beside_it():
    """Inputs come from environment variables or the project's own verified fetch; only .ci/run (CI's entry point,
    which passes them as environment variables) may name the copy CI has beside the clone."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    beside = "../" + "shared"
    offenders = [f for f in listed.stdout.split() if f != ".ci/run" and (ROOT / f).is_file()
                 and beside in (ROOT / f).read_text(errors="ignore")]
    assert offenders == []
