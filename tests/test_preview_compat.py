"""The preview engine's old name, ``llm_tiers.testing``, still imports (a user's program or CI may name it), each
submodule as the very module ``llm_tiers.preview.<name>`` is, and warns with a DeprecationWarning naming the new
path."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

SCRIPT = r'''
import sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import llm_tiers.testing.render as old_render
    from llm_tiers.testing import mocks as old_mocks
    from llm_tiers.testing.validate import describe
import llm_tiers.preview.mocks
import llm_tiers.preview.render
import llm_tiers.preview.validate
assert old_render is llm_tiers.preview.render, "llm_tiers.testing.render is a second copy"
assert old_mocks is llm_tiers.preview.mocks, "llm_tiers.testing.mocks is a second copy"
assert describe is llm_tiers.preview.validate.describe
messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
for old, new in (("llm_tiers.testing", "llm_tiers.preview"), ("llm_tiers.testing.render", "llm_tiers.preview.render"),
                 ("llm_tiers.testing.mocks", "llm_tiers.preview.mocks"),
                 ("llm_tiers.testing.validate", "llm_tiers.preview.validate")):
    assert any(m.startswith(old + " is deprecated; import " + new + " ") for m in messages), (old, messages)
import importlib
try:
    importlib.import_module("llm_tiers.testing." + "absent")
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("a module the preview package lacks imported under the old name")
print("ok")
'''


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT / "components"), "PATH": "/usr/bin:/bin"})


def test_the_old_import_path_is_the_same_modules_and_warns():
    done = _run("-c", SCRIPT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_old_module_path_still_runs_as_a_command():
    done = _run("-W", "always::DeprecationWarning", "-m", "llm_tiers.testing.render", "--help")
    assert done.returncode == 0, done.stderr
    assert "--stack" in done.stdout
    assert "llm_tiers.testing.render is deprecated; import llm_tiers.preview.render" in done.stderr
