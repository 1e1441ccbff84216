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
    """(index, flag) of every extra argument that ``engine`` does not know and the other engine does."""
    other = vllm if engine == "tgi" else tgi
    return [(i, flag_name(extra_args[i])) for i, _ in _MODULES[engine].unknown_extra_args(extra_args)
            if other.resolve_flag(extra_args[i])[0] is not None and flag_name(extra_args[i]).startswith("--")]


def unknown_extra_args(engine: str, extra_args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, why) of every extra argument ``engine``'s own parser refuses (foreign flags excluded: those get
    their own message)."""
    foreign = {i for i, _ in foreign_extra_args(engine, extra_args)}
    return [(i, why) for i, why in _MODULES[engine].unknown_extra_args(extra_args) if i not in foreign]


# The image repository (last path component) each engine's releases run; a mirror may change the registry.
IMAGE_NAMES = {e: versions.IMAGES[e].rsplit(":", 1)[0].rsplit("/", 1)[-1] for e in ENGINES}


def image_engine_problem(engine: str, image: str) -> Optional[str]:
    """Why ``image`` cannot run a release of ``engine`` (another engine's image, or not this engine's), else None."""
    repo = image.split("@", 1)[0]
    repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
    name = repo.rsplit("/", 1)[-1]
    if name == IMAGE_NAMES[engine]:
        return None
    owner = next((e for e, n in IMAGE_NAMES.items() if n == name), None)
    what = f"the {owner} image" if owner else f"not a {engine} image (its repository is not .../{IMAGE_NAMES[engine]})"
    return (f"{image} is {what}, but this release runs engine {engine}: its arguments would not start it; use "
            f"{versions.IMAGES[engine]} (or a mirror of .../{IMAGE_NAMES[engine]}), or set the release's engine")


def quantize_problem(engine: str, quantize: Optional[str], dtype: Optional[str], checkpoint_method: Optional[str],
                     weights_dtype: Optional[str]) -> Optional[tuple[str, str]]:
    """(key, problem) when ``engine`` cannot load the locked weights with ``quantize``/``dtype``."""
    return _MODULES[engine].quantize_problem(quantize, dtype, checkpoint_method, weights_dtype)
