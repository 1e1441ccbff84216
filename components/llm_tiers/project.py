"""Which Pulumi project a command works on (pure)."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "LLM_TIERS_PROJECT"


def root() -> Path:
    """``$LLM_TIERS_PROJECT``, else the nearest directory at or above the current one that holds a
    ``Pulumi.yaml``, else the current directory: the CLIs and the offline render work on the project they are
    run in (this repository, or a team's own program)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").exists():
            return folder
    return here
