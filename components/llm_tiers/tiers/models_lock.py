"""The models lock (pure): what the Hub said about each model a tier uses, committed so previews and
renders are reproducible and offline, and so license and gating changes show up in pull requests.

Format (``models.lock.json``)::

    {"version": 1,
     "models": {"meta-llama/Llama-3.1-8B-Instruct": {
         "revision": "<40-hex commit>", "license": "llama3.1", "gated": true, "requiresRemoteCode": false,
         "architecture": "LlamaForCausalLM", "torchDtype": "bfloat16",
         "numLayers": 32, "numAttentionHeads": 32, "numKeyValueHeads": 8, "headDim": 128,
         "hiddenSize": 4096, "maxPositionEmbeddings": 131072, "quantization": null,
         "files": [{"path": "model-00001-of-00004.safetensors", "size": 4976698672}, ...],
         "weightsBytes": 16060556376}}}

This module reads, checks and builds lock entries; ``components/llm_tiers/cli/models_lock.py`` (``make models-lock``)
asks the Hub through huggingface_hub and writes the file. Every model a stack deploys must be in it: preview
refuses an unlocked model at its key path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.tiers import engines, vllm
from llm_tiers.config.schema import ConfigIssue, StackConfig, release_engine

LOCK_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class LockedFile(_Model):
    path: str
    size: Optional[int] = Field(ge=0)
    """Bytes at the locked revision; null only in a ``manual`` entry, for a file whose exact size was not
    published where the entry was written (the sync Job then checks it against the Hub at that commit)."""


class ModelLockEntry(_Model):
    revision: str = Field(pattern=r"^[0-9a-f]{40}$")
    license: Optional[str] = None
    gated: bool
    requires_remote_code: bool = False
    architecture: Optional[str] = None
    torch_dtype: Optional[str] = None
    num_layers: Optional[int] = Field(None, gt=0)
    num_attention_heads: Optional[int] = Field(None, gt=0)
    num_key_value_heads: Optional[int] = Field(None, gt=0)
    head_dim: Optional[int] = Field(None, gt=0)
    hidden_size: Optional[int] = Field(None, gt=0)
    max_position_embeddings: Optional[int] = Field(None, gt=0)
    vocab_size: Optional[int] = Field(None, gt=0)
    """config.json ``vocab_size`` (vLLM's sampler profile scales with it); absent in entries locked before it was
    recorded: the planner then assumes a large vocabulary (capacity.ASSUMED_VOCAB_SIZE)."""
    quantization: Optional[str] = None
    files: list[LockedFile] = Field(default_factory=list)
    weights_bytes: int = Field(0, ge=0)
    source: Literal["hub", "manual"] = "hub"
    """``hub``: written by ``make models-lock`` from the Hub's API (every size exact). ``manual``: written by
    hand from the model's published metadata where the Hub was out of reach; ``note`` says what is not exact,
    previews warn, and ``make models-lock`` replaces it on its next run with Hub access."""
    note: Optional[str] = None

    @model_validator(mode="after")
    def _sizes_known_unless_manual(self) -> "ModelLockEntry":
        unknown = [f.path for f in self.files if f.size is None]
        if unknown and self.source == "hub":
            raise ValueError(f"files without a size in a hub entry: {', '.join(unknown)}")
        if self.source == "manual" and not self.note:
            raise ValueError("a manual entry needs a note saying where its values come from")
        return self

    @property
    def unverified_files(self) -> list[str]:
        """Files whose size the lock does not hold (checked against the Hub by the sync Job instead)."""
        return [f.path for f in self.files if f.size is None]


class ModelsLock(_Model):
    version: int
    models: dict[str, ModelLockEntry] = Field(default_factory=dict)


class LockError(ValueError):
    pass


def load(path: Path) -> Optional[ModelsLock]:
    """The lock at ``path``, or None when there is no lock file. Raises LockError when it is unreadable."""
    if not path.exists():
        return None
    try:
        lock = ModelsLock.model_validate(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise LockError(f"{path} is not a valid models lock ({exc}); regenerate it") from None
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise LockError(f"{path} is not a valid models lock ({where}); regenerate it") from None
    if lock.version != LOCK_VERSION:
        raise LockError(f"{path} has lock version {lock.version}; this program reads version {LOCK_VERSION}")
    return lock


def tier_models(cfg: StackConfig) -> list[tuple[str, str]]:
    """(key path, model id) of every model the stack deploys: each tier's and each candidate's."""
    models = []
    for i, tier in enumerate(cfg.tiers):
        if tier is None:  # a tier the schema refused (a partial config, ConfigError.partial)
            continue
        models.append((f"tiers[{i}].modelId", tier.model_id))
        if tier.candidate and tier.candidate.model_id:
            models.append((f"tiers[{i}].candidate.modelId", tier.candidate.model_id))
    return models


def gated_without_token(cfg: StackConfig, lock: Optional[ModelsLock], has_token: bool) -> list[ConfigIssue]:
    """A gated model cannot be downloaded without a token: refuse at preview, not in a Job at 3 a.m."""
    if has_token or lock is None:
        return []
    issues = []
    for path, model_id in tier_models(cfg):
        entry = lock.models.get(model_id)
        if entry is not None and entry.gated:
            issues.append(ConfigIssue(path, f"{model_id} is gated on the Hugging Face Hub and no token is configured; "
                                            "run `pulumi config set --secret hfToken <token>` with a token whose "
                                            "account has accepted the model's license"))
    return issues


def missing_issues(cfg: StackConfig, lock: Optional[ModelsLock]) -> list[ConfigIssue]:
    """Every model a tier deploys must be locked, with the files and numbers the Job and the planner need:
    an unlocked model would be downloaded at an unknown revision and never capacity-checked."""
    lock_file = cfg.model_policy.lock_file
    how = (f"run `make models-lock` (needs Hub access; HF_TOKEN for gated models) and commit {lock_file}")
    issues = []
    for path, model_id in tier_models(cfg):
        entry = lock.models.get(model_id) if lock else None
        if entry is None:
            where = f"not in {lock_file}" if lock else f"not locked ({lock_file} does not exist)"
            issues.append(ConfigIssue(path, f"{model_id} is {where}; {how}"))
        elif not entry.files or model_shape(entry) is None:
            issues.append(ConfigIssue(path, f"the {lock_file} entry of {model_id} lacks its weight files or "
                                            f"architecture numbers, so it can be neither synced nor planned; {how}"))
    return issues


def manual_entry_warnings(cfg: StackConfig, lock: Optional[ModelsLock]) -> list[str]:
    """What a preview should say about hand-written lock entries the stack deploys."""
    if lock is None:
        return []
    warnings = []
    for path, model_id in tier_models(cfg):
        entry = lock.models.get(model_id)
        if entry is not None and entry.source == "manual":
            unknown = entry.unverified_files
            sizes = (f"{len(unknown)} file size(s) are not in the lock and are checked against the Hub at "
                     f"{entry.revision[:10]} by the sync Job" if unknown else "every file size is in the lock")
            warnings.append(f"{path}: the lock entry of {model_id} is hand-written ({entry.note}); {sizes}. "
                            f"Run `make models-lock` with Hub access to replace it with the Hub's own answer.")
    return warnings


def model_shape(entry: ModelLockEntry) -> Optional["capacity.ModelShape"]:
    """The planner's view of a locked model, or None when the lock lacks the architecture numbers."""
    if (entry.num_layers is None or entry.num_attention_heads is None or entry.num_key_value_heads is None
            or entry.head_dim is None or not entry.weights_bytes):
        return None
    return capacity.ModelShape(num_layers=entry.num_layers, num_attention_heads=entry.num_attention_heads,
                               num_key_value_heads=entry.num_key_value_heads, head_dim=entry.head_dim,
                               weights_bytes=entry.weights_bytes, hidden_size=entry.hidden_size,
                               vocab_size=entry.vocab_size)


def release_models(tier) -> dict[str, str]:
    """Release name -> the model it serves (``live``, and ``candidate`` when configured)."""
    out = {"live": tier.model_id}
    if tier.candidate is not None:
        out["candidate"] = tier.candidate.model_id or tier.model_id
    return out


def tier_plans(cfg: StackConfig, lock: Optional[ModelsLock]) -> dict[tuple[int, str], "capacity.TierPlan"]:
    """Capacity plan per (tier index, release), for every release whose model is locked with its numbers: the
    candidate is planned like the live release (it runs on the same GPUs with the same token limits)."""
    plans = {}
    for i, tier in enumerate(cfg.tiers):
        if tier is None:
            continue
        cls = cfg.gpu_classes.get(tier.gpu_class)
        for release, model_id in release_models(tier).items():
            entry = lock.models.get(model_id) if lock else None
            shape = model_shape(entry) if entry else None
            if shape is None or cls is None:
                continue
            types = [gpu_catalog.lookup(t) for t in cls.instance_types]
            prefill = tier.max_batch_prefill_tokens or tier.max_input_tokens
            plans[(i, release)] = capacity.plan(shape, gpu_catalog.class_gpu(list(cls.instance_types)),
                                                tier.gpus_per_replica, tier.max_total_tokens, types,
                                                engine=release_engine(tier, release), prefill_tokens=prefill,
                                                max_num_seqs=tier.max_concurrent_requests)
    return plans


def capacity_issues(cfg: StackConfig, plans: dict[tuple[int, str], "capacity.TierPlan"]) -> list[ConfigIssue]:
    out = []
    for (i, release), p in sorted(plans.items()):
        path = f"tiers[{i}]" if release == "live" else f"tiers[{i}].candidate"
        model_id = release_models(cfg.tiers[i])[release]
        out += [ConfigIssue(path, f"{model_id} on {p.gpus} x {p.gpu}: {problem}") for problem in p.problems]
    return out


# ---------------------------------------------------------------------------------------------- from the Hub

# Files the engine needs from a model repository (and all the weight-sync Job downloads): safetensors
# weights and their index, configs, tokenizer files. Never *.bin / *.pth / original/ checkpoints.
ENGINE_FILE_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "config.json", "generation_config.json",
                        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                        "vocab.json", "merges.txt", "chat_template.jinja", "preprocessor_config.json")


def is_engine_file(path: str) -> bool:
    from fnmatch import fnmatch
    return "/" not in path and any(fnmatch(path, p) for p in ENGINE_FILE_PATTERNS)


def architecture_numbers(config: dict) -> dict:
    """The planner's numbers from a model's config.json (text config of multimodal models)."""
    c = config.get("text_config") or config
    heads = c.get("num_attention_heads")
    hidden = c.get("hidden_size")
    head_dim = c.get("head_dim") or (hidden // heads if hidden and heads else None)
    quant = (config.get("quantization_config") or {}).get("quant_method")
    return {
        "architecture": (config.get("architectures") or [None])[0],
        "torchDtype": c.get("torch_dtype") or config.get("torch_dtype"),
        "numLayers": c.get("num_hidden_layers"),
        "numAttentionHeads": heads,
        "numKeyValueHeads": c.get("num_key_value_heads") or heads,
        "headDim": head_dim,
        "hiddenSize": hidden,
        "maxPositionEmbeddings": c.get("max_position_embeddings"),
        "vocabSize": c.get("vocab_size"),
        "quantization": quant,
        "requiresRemoteCode": bool(config.get("auto_map")),
    }


def entry_from_hub(sha: str, siblings: list[tuple[str, Optional[int]]], license_id: Optional[str], gated: Any,
                   config: dict) -> ModelLockEntry:
    """Build a lock entry from what the Hub reported (pure, so it is tested without a Hub)."""
    files = sorted((p, s or 0) for p, s in siblings if is_engine_file(p))
    if not any(p.endswith(".safetensors") for p, _ in files):
        raise LockError("the repository has no safetensors weights at this revision; TGI needs safetensors")
    return ModelLockEntry.model_validate({
        "revision": sha,
        "license": license_id,
        "gated": bool(gated),
        "files": [{"path": p, "size": s} for p, s in files],
        "weightsBytes": sum(s for p, s in files if p.endswith(".safetensors")),
        **architecture_numbers(config),
    })


def dump(lock: ModelsLock) -> str:
    return json.dumps(lock.model_dump(by_alias=True, mode="json"), indent=2, sort_keys=True) + "\n"


def policy_issues(cfg: StackConfig, lock: Optional[ModelsLock]) -> list[ConfigIssue]:
    """What the lock says against what the stack allows: license, custom code, pinned revision."""
    if lock is None:
        return []
    allowed = set(cfg.model_policy.allowed_licenses)
    issues = []
    for i, tier in enumerate(cfg.tiers):
        if tier is None:
            continue
        releases = [(f"tiers[{i}]", tier.model_id, tier.revision)]
        if tier.candidate:
            releases.append((f"tiers[{i}].candidate", tier.candidate.model_id or tier.model_id,
                             tier.candidate.revision))
        for path, model_id, revision in releases:
            entry = lock.models.get(model_id)
            if entry is None:
                continue
            if entry.license not in allowed:
                issues.append(ConfigIssue(f"{path}.modelId", f"{model_id} is licensed {entry.license!r}, which is not "
                                          f"in modelPolicy.allowedLicenses ({', '.join(sorted(allowed))}); add it "
                                          "there once the license is approved"))
            if entry.requires_remote_code and not tier.trust_remote_code:
                issues.append(ConfigIssue(f"tiers[{i}].trustRemoteCode", f"{model_id} needs custom code from its "
                                          "repository; set trustRemoteCode: true after reviewing that code"))
            if revision and not entry.revision.startswith(revision):
                issues.append(ConfigIssue(f"{path}.revision", f"{revision!r} differs from the locked revision "
                                          f"{entry.revision}; run `make models-lock` to lock the new revision"))
    return issues


def engine_issues(cfg: StackConfig, lock: Optional[ModelsLock]) -> list[ConfigIssue]:
    """What the locked model itself rules out for a tier's live release: token limits past the model's
    context length (``maxPositionEmbeddings``: TGI 3.3.6 caps only its *defaults* there and accepts larger
    explicit limits, so prompts would reach positions the model was never trained on), and a quantization
    that cannot load the locked weights with the release's engine (e.g. ``awq`` on a bf16 checkpoint, or a TGI-only
    method on vLLM; components/llm_tiers/tiers/tgi.py and vllm.py). A candidate on another engine or model is
    checked with its own."""
    if lock is None:
        return []
    issues = []
    for i, tier in enumerate(cfg.tiers):
        if tier is None:
            continue
        if tier.candidate is not None:
            engine = release_engine(tier, "candidate")
            model = tier.candidate.model_id or tier.model_id
            entry = lock.models.get(model)
            if entry is not None and (engine != tier.engine or model != tier.model_id):
                problem = engines.quantize_problem(engine, tier.quantize, tier.dtype, entry.quantization,
                                                   entry.torch_dtype)
                if problem and not (engine == "vllm" and tier.quantize in vllm.UNSUPPORTED):
                    key, message = problem
                    issues.append(ConfigIssue(f"tiers[{i}].{key}", f"candidate ({engine}) {model}: {message}"))
        entry = lock.models.get(tier.model_id)
        if entry is None:
            continue
        context = entry.max_position_embeddings
        if context is not None:
            for key, value in (("maxTotalTokens", tier.max_total_tokens), ("maxInputTokens", tier.max_input_tokens)):
                if value > context:
                    issues.append(ConfigIssue(f"tiers[{i}].{key}", f"{value} exceeds the context length of "
                                              f"{tier.model_id} ({context} tokens, maxPositionEmbeddings in "
                                              f"{cfg.model_policy.lock_file}); lower {key} to at most {context}"))
        problem = engines.quantize_problem(tier.engine, tier.quantize, tier.dtype, entry.quantization,
                                           entry.torch_dtype)
        if tier.engine == "vllm" and tier.quantize in vllm.UNSUPPORTED:
            problem = None  # the schema reports a TGI-only method on vLLM at tiers[i].quantize already
        if problem:
            key, message = problem
            issues.append(ConfigIssue(f"tiers[{i}].{key}", f"{tier.model_id}: {message}"))
    return issues
