"""The serving engines side by side (pure): which builder, image, guarded flags and quantization rules a
release's ``engine`` means. ``tgi`` (tiers/tgi.py) and ``vllm`` (tiers/vllm.py) read the same
``EngineSettings`` built from the same tier keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from llm_tiers import versions
from llm_tiers.tiers import tgi, vllm
from llm_tiers.tiers.engine_settings import EngineSettings, flag_name

# Each engine's module: args, guarded_extra_args, quantize_problem (same signatures).
_MODULES = {"tgi": tgi, "vllm": vllm}
ENGINES = tuple(_MODULES)


def args(engine: str, settings: EngineSettings) -> list[str]:
    """The container arguments of ``engine`` for ``settings``."""
    return _MODULES[engine].args(settings)


def image(engine: str) -> str:
    """The pinned image of ``engine`` (versions.IMAGES)."""
    return versions.IMAGES[engine]


def guarded_extra_args(engine: str, extra_args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, flag) of every extra argument setting a flag ``engine``'s builder owns."""
    return _MODULES[engine].guarded_extra_args(extra_args)


def foreign_extra_args(engine: str, extra_args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, flag) of every extra argument that is the other engine's flag and not ``engine``'s."""
    own, other = ((tgi.LAUNCHER_FLAGS, vllm.SERVER_FLAGS) if engine == "tgi"
                  else (vllm.SERVER_FLAGS, tgi.LAUNCHER_FLAGS))
    return [(i, flag_name(a)) for i, a in enumerate(extra_args) if flag_name(a) in other and flag_name(a) not in own]


def quantize_problem(engine: str, quantize: Optional[str], dtype: Optional[str], checkpoint_method: Optional[str],
                     weights_dtype: Optional[str]) -> Optional[tuple[str, str]]:
    """(key, problem) when ``engine`` cannot load the locked weights with ``quantize``/``dtype``."""
    return _MODULES[engine].quantize_problem(quantize, dtype, checkpoint_method, weights_dtype)
