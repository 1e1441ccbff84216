"""What a release asks of its serving engine, engine-neutral (pure).

``tiers/tgi.py`` and ``tiers/vllm.py`` turn one ``EngineSettings`` into their engine's arguments from the same
tier keys; ``tiers/engines.py`` picks the builder by the release's ``engine``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

# Both engines serve HTTP (OpenAI routes, /health, /metrics) on this unprivileged container port, named
# ``http``; the tier's Service keeps port 80 and targets the name, so switching engine changes no Service,
# route, NetworkPolicy or PodMonitor.
HTTP_PORT = 8080
# HF_HOME of both engines' pods: the weights PVC mounts here and the Hub cache is ``CACHE_DIR/hub``.
CACHE_DIR = "/data"


@dataclass(frozen=True)
class EngineSettings:
    model_id: str
    revision: str
    max_input_tokens: int
    max_total_tokens: int
    num_shard: int = 1
    max_batch_prefill_tokens: Optional[int] = None
    max_concurrent_requests: int = 128
    quantize: Optional[str] = None
    dtype: Optional[str] = None
    trust_remote_code: bool = False
    otlp_endpoint: Optional[str] = None
    otlp_service_name: Optional[str] = None
    extra_args: Sequence[str] = ()
    served_model_name: Optional[str] = None
    """The OpenAI ``model`` the server answers to (the tier's name); TGI accepts any ``model``."""
    served_model_aliases: Sequence[str] = ()
    """Other ``model`` names the gateway routes to the tier (its ``aliases``): passed through unchanged."""
    max_output_tokens: Optional[int] = None
    """The tier's output cap (``maxOutputTokens``); None: ``max_total_tokens - max_input_tokens``."""
    checkpoint_quantization: Optional[str] = None
    """``quantization_config.quant_method`` of the locked weights (None: full precision)."""
    weights_uri: Any = None
    """``weightsFrom: s3``: the S3 mirror prefix the engine streams its weights from (vLLM only); a string, or an
    Output when the bucket's name is one. None: the Hugging Face cache at ``revision``."""
    shutdown_timeout_seconds: Optional[int] = None
    """How long the server drains in-flight requests after SIGTERM (vLLM's ``--shutdown-timeout``; TGI's own
    drain is fixed)."""

    @property
    def output_cap(self) -> int:
        return self.max_output_tokens or self.max_total_tokens - self.max_input_tokens

    @property
    def prefill_tokens(self) -> int:
        """The prefill budget: ``maxBatchPrefillTokens``, default ``maxInputTokens``."""
        return self.max_batch_prefill_tokens if self.max_batch_prefill_tokens is not None else self.max_input_tokens


def flag_name(arg: str) -> str:
    return arg.split("=", 1)[0]


def flag_values(argv: Sequence[str], flags: Iterable[str]) -> list[tuple[str, str]]:
    """Every (flag, value) of ``flags`` on a rendered command line, as ``--flag=value`` or ``--flag value``."""
    out, wanted = [], set(flags)
    for i, a in enumerate(argv):
        name, eq, value = a.partition("=")
        if name in wanted:
            if eq:
                out.append((name, value))
            elif i + 1 < len(argv):
                out.append((name, argv[i + 1]))
    return out


def check_shards_and_flags(s: "EngineSettings", guarded: Sequence[tuple[int, str]]) -> None:
    """What both engines' ``args`` refuse alike: no GPU, or extra args (``guarded``: what the engine's
    ``guarded_extra_args`` found) setting flags the platform owns."""
    if s.num_shard < 1:
        raise ValueError("num_shard must be at least 1")
    if guarded:
        raise ValueError(f"extra args may not set platform-owned flags: {', '.join(f for _, f in guarded)}")
