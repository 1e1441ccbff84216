"""The ``tiers`` and ``modelPolicy`` sections."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union  # noqa: F401

from pydantic import Field, StringConstraints, field_validator, model_validator  # noqa: F401

# The shared types and patterns (and the modules the validators use), by name.
from llm_tiers.config.base import *  # noqa: F401,F403
from llm_tiers.config.base import _cidr, _Model  # noqa: F401
from llm_tiers.config.evaluation import EvalConfig, GateConfig


class ReplicasConfig(_Model):
    min: int = Field(1, ge=0, le=100, description="Minimum replicas (0 only with `sporadic: true`).")
    max: int = Field(2, ge=1, le=100, description="Maximum replicas.")


class AutoscalingConfig(_Model):
    queue_depth_per_replica: PositiveInt = Field(
        8, description="Target queued requests per replica; above it the tier scales out.")
    gpu_utilization_percent: int = Field(85, ge=1, le=100, description="Target GPU utilization (%).")
    scale_down_stabilization_seconds: int = Field(
        600, ge=60, le=3600, description="How long load must stay low before replicas are removed.")
    idle_minutes_before_zero: int = Field(
        30, ge=5, le=1440, description="Sporadic tiers: idle minutes before scaling to zero.")


class SloConfig(_Model):
    ttft_p95_seconds: float = Field(
        2.0,
        gt=0,
        description="P95 time-to-first-token objective (vLLM measures TTFT; for TGI, P95 queue + P95 prefill).",
    )
    error_rate_percent: float = Field(
        2.0, gt=0, le=100, description="Alert when 5xx/failed requests exceed this share."
    )
    queue_alert_minutes: int = Field(
        10, ge=1, le=120, description="Minutes queue depth must stay high before alerting."
    )


# One engine argument, and how many a release may add: far above any real flag (the longest JSON-valued vLLM
# flags, --speculative-config or --compilation-config, stay well under 4 KiB) and far below what would bloat the
# Deployment (its object, with both releases, must stay under etcd's 1.5 MiB request limit).
MAX_EXTRA_ARG_CHARS = 4096
MAX_EXTRA_ARGS = 64
ExtraArg = Annotated[str, StringConstraints(max_length=MAX_EXTRA_ARG_CHARS)]


class ReleaseConfig(_Model):
    """What changes between a tier's live release and a candidate (blue/green)."""

    model_id: Optional[Annotated[str, StringConstraints(pattern=MODEL_ID)]] = Field(
        None, description="Candidate model (default: the tier's)."
    )
    revision: Optional[str] = Field(None, description="Candidate revision (must match the models lock).")
    image: Optional[str] = Field(None, description="Candidate engine image `repo:tag` (default: the pinned one).")
    extra_args: Optional[list[ExtraArg]] = Field(
        None,
        max_length=MAX_EXTRA_ARGS,
        description="Candidate extra engine arguments (at most 64, each at most 4096 characters).",
    )
    engine: Optional[Literal["tgi", "vllm"]] = Field(
        None,
        description="Candidate serving engine (default: the tier's). A different engine than the live "
        "release's is a blue/green switch like a new model: the candidate gets its own "
        "Deployment of that engine's pinned image, args built from the same tier keys.",
    )


# A managed endpoint's host as an Envoy Gateway Backend FQDN endpoint takes it (lowercase DNS name:
# api/v1alpha1/backend_types.go FQDNEndpoint.Hostname at envoyproxy/gateway v1.9.0).
FALLBACK_HOST = r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$"


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_base_url(url: str) -> tuple[str, int, str]:
    """``https://host[:port]/prefix`` -> (host, port, prefix). Only HTTPS: the key travels in the
    Authorization header, so a plaintext upstream would expose it (and every prompt)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc}); write it like https://api.example.com/v1") from None
    if parts.scheme == "http":
        raise ValueError(
            "http:// sends the API key and every prompt unencrypted; use the provider's https:// URL "
            "(the gateway verifies its certificate against the system CAs)"
        )
    if parts.scheme != "https":
        raise ValueError(f"scheme {parts.scheme or '(none)'!r} is not https; write it like https://api.example.com/v1")
    if parts.username or parts.password:
        raise ValueError("credentials in the URL are not allowed; give the key through apiKeySecret")
    if parts.query or parts.fragment:
        raise ValueError(
            "no query or fragment: the base URL is the provider's OpenAI prefix, e.g. https://api.example.com/v1"
        )
    host = parts.hostname or ""
    if not re.match(FALLBACK_HOST, host) or _is_ip(host):
        raise ValueError(
            f"host {host!r} is not a DNS name (an IP address or a bare name cannot be verified "
            "by TLS); use the provider's hostname"
        )
    return host, port or 443, parts.path.strip("/")


class FallbackConfig(_Model):
    """A managed OpenAI-compatible endpoint that serves the tier's requests while the tier has no ready
    replica (at zero, waking or down)."""

    base_url: str = Field(
        ...,
        description="The provider's OpenAI base URL, `https://<host>[:port]/<prefix>` (e.g. "
        "`https://api.example.com/v1`); https only. The gateway sends "
        "`<prefix>/chat/completions` there.",
    )
    model: Annotated[
        str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")
    ] = Field(
        ...,
        description="The model's name at the provider (the request's `model` is rewritten to it). It must "
        "differ from the tier's name and aliases (usage is split by it).",
    )
    api_key_secret: Name = Field(
        ...,
        description="Name of the provider's API key in the secret config map `fallbackApiKeys` (`pulumi config "
        "set --secret --path 'fallbackApiKeys.<name>' <key>`); stored in Secrets Manager and synced "
        "by External Secrets into the gateway's namespace. Tiers may share one.",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        parse_base_url(v)
        return v

    @property
    def endpoint(self) -> tuple[str, int, str]:
        """(host, port, prefix) of ``base_url``."""
        return parse_base_url(self.base_url)


class TierConfig(_Model):
    """A tier: a pinned model on a GPU class with its own limits, cache and autoscaling."""

    name: TierName = Field(
        ...,
        description="Tier name: the name of its Service, so an RFC 1035 label (lowercase "
        "letters, digits and '-', starting with a letter), at most 40 "
        "characters; also its URL prefix.",
    )
    aliases: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]] = Field(
        default_factory=list,
        description="Other `model` names this tier answers to on the single base URL "
        "(e.g. a name clients already use: letters, digits and `._:/-`, at most 128 "
        "characters); unique across tiers. Hard limits: the name and aliases "
        "together at most 128 (AIGatewayRoute rule matches), joined into a "
        "regular expression of at most 1,024 characters (rate-limit header "
        "value) and a CEL list of at most 4,096 (authorization rule).",
    )
    engine: Literal["tgi", "vllm"] = Field(
        "tgi",
        description="Serving engine of the live release: `tgi` (Text Generation Inference) or `vllm`. Both "
        "read the same keys below (vLLM: maxTotalTokens = `--max-model-len`, the prefill budget = "
        "`--max-num-batched-tokens`, maxConcurrentRequests = `--max-num-seqs`, gpusPerReplica = "
        "`--tensor-parallel-size`, output cap maxOutputTokens via `--override-generation-config`, "
        "served names the tier's name, aliases and modelId); vLLM has no prompt-length cap of its own and queues "
        "past maxConcurrentRequests instead of answering 429. Switch it through a candidate.",
    )
    model_id: Annotated[str, StringConstraints(pattern=MODEL_ID)] = Field(
        ..., description="Hugging Face model id `org/name`."
    )
    revision: Optional[str] = Field(
        None, description="Model revision; default: the commit recorded in the models lock."
    )
    trust_remote_code: bool = Field(False, description="Allow models that need custom code.")
    gpu_class: Name = Field(..., description="Key of `gpuClasses` this tier runs on.")
    gpus_per_replica: Literal[1, 2, 4, 8] = Field(
        1, description="GPUs per replica (TGI `--num-shard`, vLLM `--tensor-parallel-size`)."
    )
    max_input_tokens: PositiveInt = Field(
        ...,
        description="TGI `--max-input-tokens`: longest prompt accepted (vLLM has no such cap: it accepts prompts "
        "up to maxTotalTokens).",
    )
    max_total_tokens: PositiveInt = Field(
        ...,
        description="TGI `--max-total-tokens`, vLLM `--max-model-len`: prompt + generated tokens; caps `max_tokens`.",
    )
    max_output_tokens: Optional[PositiveInt] = Field(
        None,
        description="Largest `max_tokens` (or `max_completion_tokens`) the gateway accepts for this tier; "
        "above it: HTTP 400 (refused, not clamped: a clamp would silently shorten answers). "
        "Default: `maxTotalTokens - maxInputTokens` (what a full-length prompt leaves; plan.md's "
        "column of that name). The engine's own check (prompt + `max_tokens` <= "
        "`maxTotalTokens`) still applies.",
    )
    max_batch_prefill_tokens: Optional[PositiveInt] = Field(
        None,
        description="Prefill budget (TGI `--max-batch-prefill-tokens`, vLLM `--max-num-batched-tokens`); "
        "default: maxInputTokens.",
    )
    max_concurrent_requests: PositiveInt = Field(
        128,
        description="TGI `--max-concurrent-requests` (beyond it the replica answers 429); vLLM `--max-num-seqs` "
        "(beyond it requests wait in vLLM's queue).",
    )
    quantize: Optional[Quantize] = Field(
        None,
        description="TGI `--quantize` method. vLLM honours awq, gptq, compressed-tensors and fp8 when the "
        "checkpoint is quantized with them (it reads the checkpoint's method) and fp8 on "
        "full-precision weights (`--quantization fp8_per_tensor`); the rest are TGI-only.",
    )
    dtype: Optional[Dtype] = Field(None, description="`--dtype` (TGI: not with `quantize`, except bitsandbytes*).")
    extra_args: list[ExtraArg] = Field(
        default_factory=list,
        max_length=MAX_EXTRA_ARGS,
        description="Extra engine flags of the tier's engine, parsed as the engine parses them (vLLM: `_` = `-`, "
        "dotted `--a.b=` keys, unambiguous prefixes; TGI: exact names): flags the platform sets, the "
        "other engine's flags and options the engine does not have are refused. At most 64, each at "
        "most 4096 characters.",
    )
    weights_from: Literal["efs", "nvme", "s3"] = Field(
        "efs",
        description="Where a replica reads its weights. `efs` (default): the tier's EFS cache, filled by the sync Job. "
        "`nvme`: the sync Job fills the stack's in-region S3 weight mirror (checksums verified against the Hub) "
        "and each replica first copies the locked revision onto its node's local NVMe (the class needs "
        "`instanceStore: raid0`), then loads from there; both engines. `s3`: vLLM streams the weights from the S3 "
        "mirror into GPU memory (`--load-format runai_streamer`); vLLM releases only (TGI has no S3 loader: use "
        '`nvme`). docs/components/model-tier.md, "Where weights load from", gives what each saves and costs.',
    )
    sporadic: bool = Field(False, description="Scale to zero when idle and wake on traffic.")
    replicas: ReplicasConfig = Field(default_factory=ReplicasConfig, description="Replica bounds.")
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="Autoscaling targets.")
    slo: SloConfig = Field(default_factory=SloConfig, description="Objectives that drive alerts.")
    candidate: Optional[ReleaseConfig] = Field(None, description="A candidate release deployed beside the live one.")
    fallback: Optional[FallbackConfig] = Field(
        None,
        description="A managed OpenAI-compatible endpoint that answers the tier's requests while it has no "
        "ready replica (scaled to zero, waking, or down): the gateway tries the tier first and "
        "retries a refused connection, reset or 503 there once (Envoy AI Gateway backend priority "
        '1). Billed by the provider per token; see docs/components/gateway.md "Fallback".',
    )
    serve: Literal["live", "candidate"] = Field(
        "live", description="Which release receives traffic; flip to `candidate` to switch, back to roll back."
    )
    eval: Optional[EvalConfig] = Field(
        None,
        description="Measure each release's quality (lm-evaluation-harness tasks and/or the team's eval set) "
        "in a Job per release and `benchmark.runId`, beside the benchmark's results; the tier must be in "
        "`benchmark.tiers`. With a candidate, switching `serve` to it waits for the promotion gate "
        "(docs/components/eval.md).",
    )
    gate: GateConfig = Field(
        default_factory=GateConfig,
        description="The promotion gate (a tier with `eval` and a candidate): what "
        "the candidate must measure before `serve: candidate` moves traffic.",
    )


class ModelPolicyConfig(_Model):
    allowed_licenses: list[str] = Field(
        default_factory=lambda: ["apache-2.0", "mit"],
        min_length=1,
        description="Hub license ids a tier's model may carry (e.g. `apache-2.0`, `llama3.1`).",
    )
    lock_file: str = Field(
        "models.lock.json",
        description="Path of the committed models lock (relative to the project directory), written by "
        "`make models-lock`. Every model a tier deploys must be in it; gating, license, revision and "
        "capacity checks read it.",
    )


def release_engine(t: TierConfig, release: str) -> str:
    """The engine a tier's release runs: the candidate's own ``engine``, else the tier's."""
    if release == "candidate" and t.candidate is not None and t.candidate.engine is not None:
        return t.candidate.engine
    return t.engine
