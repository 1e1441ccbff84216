"""A models-lock entry as plain data: how a component takes one (``ModelTierArgs.lock``).

A program in any language reads ``models.lock.json`` (components/llm_tiers/tiers/models_lock.py) and passes
``models[<modelId>]`` as it stands: Pulumi's component provider publishes these keys in camelCase, the file's own
spelling (``num_layers`` is ``numLayers``). A Python program passes ``lock_spec(entry)`` of a loaded entry
(``models_lock.load``), or the entry with snake_case keys. The component validates it with ``ModelLockEntry`` (the lock
file's own model) and
names a bad key at its ``args.lock.`` path. A test keeps these keys equal to ``ModelLockEntry``'s fields.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Any, Optional, Required, TypedDict


class LockedFileSpec(TypedDict, total=False):
    """One weight or tokenizer file of a locked revision."""

    path: Required[str]
    """Path of the file in the model's repository. Required."""
    size: Optional[int]
    """Bytes at the locked revision (the sync Job checks it); null only in a ``manual`` entry. Required (may be
    null in a manual entry)."""


class ModelLockSpec(TypedDict, total=False):
    """One entry of ``models.lock.json``'s ``models`` (``ModelLockEntry`` as plain data): what the Hub said about a
    model at its locked revision."""

    revision: Required[str]
    """The locked commit (40 hex digits). Required."""
    license: Optional[str]
    """The model's Hub license. Default: unknown."""
    gated: Required[bool]
    """The model is gated on the Hub (the sync Job needs a token). Required."""
    requires_remote_code: bool
    """The model needs custom code from its repository (the tier must set ``trust_remote_code``). Default: false."""
    architecture: Optional[str]
    """config.json ``architectures[0]``. Default: unknown."""
    torch_dtype: Optional[str]
    """config.json ``torch_dtype`` (checked against the tier's ``quantize``/``dtype``). Default: unknown."""
    num_layers: Optional[int]
    """config.json ``num_hidden_layers`` (the capacity planner's KV cache). Required for planning."""
    num_attention_heads: Optional[int]
    """config.json ``num_attention_heads``. Required for planning."""
    num_key_value_heads: Optional[int]
    """config.json ``num_key_value_heads``. Required for planning."""
    head_dim: Optional[int]
    """config.json ``head_dim`` (or ``hidden_size / num_attention_heads``). Required for planning."""
    hidden_size: Optional[int]
    """config.json ``hidden_size`` (the planner's activation estimate). Default: unknown."""
    max_position_embeddings: Optional[int]
    """config.json ``max_position_embeddings``: the model's context length (caps the tier's token limits).
    Default: not checked."""
    vocab_size: Optional[int]
    """config.json ``vocab_size``. Default: a large vocabulary is assumed (capacity.ASSUMED_VOCAB_SIZE)."""
    quantization: Optional[str]
    """config.json ``quantization_config.quant_method`` of a pre-quantized checkpoint. Default: none."""
    files: list[LockedFileSpec]
    """The files the sync Job downloads and verifies. Required to sync (at least one)."""
    weights_bytes: int
    """Total bytes of the weight files (sizes the weights cache and the await budgets). Required for planning
    (more than 0)."""
    source: str
    """``hub`` (written from the Hub's API, every size exact) or ``manual`` (written by hand; needs ``note``).
    Default: ``hub``."""
    note: Optional[str]
    """Where a manual entry's values come from. Default: none."""


def lock_spec(entry: Any) -> dict[str, Any]:
    """A ``ModelLockEntry`` as the plain :class:`ModelLockSpec` dictionary a component takes (the fields the entry
    set, so validating it again gives an equal entry)."""
    return entry.model_dump(mode="python", exclude_unset=True)
