"""The CRD schemas CI fetches on GitHub (components/llm_tiers/cli/crds.py): the committed sums are those of the pinned
schemas (CRD_SCHEMA_DIR), a moved pin without new sums fails before any download, and a tampered download is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_tiers import versions
from llm_tiers.cli import crds
from llm_tiers.preview import validate
from conftest import upstream_input


def test_every_pinned_schema_has_a_committed_sum():
    crds.check_pins(crds.load_sums())
    assert set(crds.load_sums()) == set(crds.sources().values()), "stale sums for URLs no pin produces"


def test_committed_sums_are_those_of_the_pinned_schemas():
    folder = upstream_input(validate.CRD_ENV)
    assert crds.local_sums(Path(folder)) == crds.load_sums()


def test_a_moved_pin_without_new_sums_fails_before_downloading(monkeypatch, tmp_path):
    monkeypatch.setitem(versions.CHARTS, "keda", versions.Chart("keda", versions.CHARTS["keda"].repository, "2.21.0"))
    calls = []
    with pytest.raises(crds.CrdError, match="a version pin moved"):
        crds.fetch(tmp_path, opener=lambda url, timeout: calls.append(url))
    assert not calls


@pytest.fixture()
def served(static_http):
    """A local HTTP server that answers every upstream URL's path from a folder (no network)."""
    return static_http


def _publish(root: Path, contents: dict[str, bytes]) -> None:
    for url, data in contents.items():
        path = root / url.removeprefix(crds.RAW + "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_fetch_verifies_every_file(served, tmp_path, monkeypatch):
    import urllib.request

    root, base = served
    contents = {url: f"# schema for {name}\n".encode() for name, url in crds.sources().items()}
    _publish(root, contents)
    monkeypatch.setattr(crds, "load_sums", lambda: {u: crds.sha256(d) for u, d in contents.items()})
    opener = lambda url, timeout: urllib.request.urlopen(url.replace(crds.RAW, base), timeout=timeout)  # noqa: E731
    written = crds.fetch(tmp_path / "out", opener=opener)
    assert sorted(p.name for p in written) == sorted(crds.sources())
    # One byte changed upstream: refused.
    first = next(iter(contents))
    _publish(root, {first: contents[first] + b" "})
    with pytest.raises(crds.CrdError, match="is not the committed"):
        crds.fetch(tmp_path / "again", opener=opener)
