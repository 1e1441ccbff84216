"""Deprecated alias of :mod:`llm_tiers.preview` (the preview engine's old name; issue #27).

``import llm_tiers.testing.render`` (and every other submodule, and ``python -m llm_tiers.testing.render``) keeps
working: a meta-path finder hands out the
``llm_tiers.preview`` module itself under the old name, so both names are one module object (no second copy of
its state), and warns with a DeprecationWarning naming the new path. Import ``llm_tiers.preview.<module>`` instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

_OLD, _NEW = __name__, "llm_tiers.preview"


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; import {new} instead (the preview engine was renamed, issue #27)",
                  DeprecationWarning, stacklevel=3)


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec):
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:
        # The real module is already executed; the import system binds it under the old name too.
        pass

    # `python -m llm_tiers.testing.render` (runpy) runs the new module's code as __main__.
    def get_code(self, fullname):
        spec = importlib.util.find_spec(self.new)
        return spec.loader.get_code(self.new)

    def is_package(self, fullname) -> bool:
        return False


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_OLD + "."):
            return None
        new = _NEW + fullname[len(_OLD):]
        spec = importlib.util.find_spec(new)
        if spec is None:
            return None
        _warn(fullname, new)
        return importlib.util.spec_from_loader(fullname, _Alias(new), origin=spec.origin)


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
_warn(_OLD, _NEW)
