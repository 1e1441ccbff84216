"""A corpus of bad stack files (tests/bad_stacks/*.yaml), each run through the real render as a user's stack
would be: refused with every problem named by key path (or, for a file that is not a stack file, by file
and line), with what to do, before anything is registered, and never with a Python traceback.

Each file says what it expects in its header::

    # mode: unconfigured              (optional: render with --no-secret-placeholders)
    # expect: <key path> | <words>    (one line per problem; `(file)` for file-level errors)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llm_tiers.preview import render as render_tool

CORPUS = Path(__file__).parent / "bad_stacks"
FILES = sorted(CORPUS.glob("*.yaml"))


def header(path: Path) -> tuple[list[tuple[str, str]], bool]:
    expects, unconfigured = [], False
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if m := re.match(r"#\s*expect:\s*(.+?)\s*\|\s*(.*)$", line):
            expects.append((m.group(1), m.group(2)))
        elif re.match(r"#\s*mode:\s*unconfigured\s*$", line):
            unconfigured = True
    return expects, unconfigured


def issues_of(message: str) -> list[tuple[str, str]]:
    """(path, message) of every ``  - <path>: <message>`` item of a ConfigError."""
    out = []
    for item in message.split("\n  - ")[1:]:
        path, _, text = item.partition(": ")
        out.append((path, text))
    return out


def test_the_corpus_is_large_and_every_file_says_what_it_expects():
    assert len(FILES) >= 40
    for path in FILES:
        assert header(path)[0], f"{path.name} has no `# expect:` line"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_stack_is_refused_cleanly(path):
    expects, unconfigured = header(path)
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render(path.stem, stack_file=path, omit_secrets=unconfigured)
    message = str(info.value)
    assert "Traceback" not in message and 'File "' not in message, message
    recording = info.value.recording
    assert recording is None or recording.resources == [], "nothing may be registered before a refusal"
    found = issues_of(message)
    for where, words in expects:
        if where == "(file)":
            assert words in message, f"{path.name}: {message!r} does not say {words!r}"
            continue
        at = [text for p, text in found if p == where]
        assert at, f"{path.name}: expected a problem at {where}, got:\n{message}"
        assert any(words in text for text in at), f"{path.name}: {where}: {at} does not say {words!r}"


def test_a_2_mib_extra_arg_is_refused_at_its_key_without_echoing_it(tmp_path):
    """Bounded lengths: a 2 MiB extraArgs value (too large to keep in the corpus, so written here) is refused at
    its key path, and the message quotes only its start."""
    import yaml

    doc = yaml.safe_load((CORPUS / "vllm-candidate-guarded-flag.yaml").read_text())
    tier = doc["config"]["llm-tiers:tiers"][0]
    tier.pop("candidate")
    tier["extraArgs"] = ["--enable-prefix-caching", "--speculative-config=" + "x" * (2 * 2**20)]
    path = tmp_path / "extra-arg-2mib.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("extra-arg-2mib", stack_file=path)
    message = str(info.value)
    found = dict(issues_of(message))
    assert "tiers[0].extraArgs[1]" in found, message[:2000]
    assert "at most 4096 characters" in found["tiers[0].extraArgs[1]"], message[:2000]
    assert len(message) < 5000 and f"{len(tier['extraArgs'][1])} characters" in message
