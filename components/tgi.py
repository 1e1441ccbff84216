"""TGI launcher arguments (pure), following DESIGN.md section 4 (text-generation-inference 3.3.x).

The platform owns the flags that make a tier correct and safe (the *guarded* flags); ``extraArgs`` may add
anything else but never override one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

HTTP_PORT = 80           # the image's PORT; /health, /metrics and the OpenAI routes are all served here
CACHE_DIR = "/data"      # HF_HOME in the image; the weights PVC mounts here

QUANTIZE = ("awq", "compressed-tensors", "eetq", "exl2", "gptq", "marlin", "bitsandbytes", "bitsandbytes-nf4",
            "bitsandbytes-fp4", "fp8")
DTYPES = ("float16", "bfloat16")

GUARDED_FLAGS = frozenset({
    "--model-id", "--revision", "--max-input-tokens", "--max-input-length", "--max-total-tokens",
    "--max-batch-prefill-tokens", "--num-shard", "--sharded", "--quantize", "--dtype", "--hostname", "--port",
    "--max-concurrent-requests", "--usage-stats", "--disable-usage-stats", "--huggingface-hub-cache",
    "--trust-remote-code", "--otlp-endpoint", "--otlp-service-name", "--prometheus-port", "--json-output",
})


@dataclass(frozen=True)
class TgiSettings:
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


def flag_name(arg: str) -> str:
    return arg.split("=", 1)[0]


def guarded_extra_args(extra_args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, flag) of every extra argument that tries to set a guarded flag."""
    return [(i, flag_name(a)) for i, a in enumerate(extra_args) if flag_name(a) in GUARDED_FLAGS]


def args(s: TgiSettings) -> list[str]:
    """The launcher arguments. Raises ValueError on a combination TGI would reject at start-up."""
    if s.max_input_tokens >= s.max_total_tokens:
        raise ValueError(f"max_input_tokens ({s.max_input_tokens}) must be below max_total_tokens ({s.max_total_tokens})")
    prefill = s.max_batch_prefill_tokens if s.max_batch_prefill_tokens is not None else s.max_input_tokens
    if prefill < s.max_input_tokens:
        raise ValueError(f"max_batch_prefill_tokens ({prefill}) must be at least max_input_tokens ({s.max_input_tokens})")
    if s.quantize is not None and s.quantize not in QUANTIZE:
        raise ValueError(f"unknown quantize {s.quantize!r}; TGI knows {', '.join(QUANTIZE)}")
    if s.dtype is not None and s.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {s.dtype!r}; TGI knows {', '.join(DTYPES)}")
    if s.quantize and s.dtype and not s.quantize.startswith("bitsandbytes"):
        raise ValueError(f"dtype cannot be combined with quantize {s.quantize} (only bitsandbytes*)")
    if s.num_shard < 1:
        raise ValueError("num_shard must be at least 1")
    guarded = guarded_extra_args(s.extra_args)
    if guarded:
        raise ValueError(f"extra args may not set platform-owned flags: {', '.join(f for _, f in guarded)}")
    out = [
        "--model-id", s.model_id,
        "--revision", s.revision,
        "--hostname", "0.0.0.0",
        "--port", str(HTTP_PORT),
        "--huggingface-hub-cache", f"{CACHE_DIR}/hub",
        "--max-input-tokens", str(s.max_input_tokens),
        "--max-total-tokens", str(s.max_total_tokens),
        "--max-batch-prefill-tokens", str(prefill),
        "--max-concurrent-requests", str(s.max_concurrent_requests),
        "--num-shard", str(s.num_shard),
        "--usage-stats", "off",
        "--json-output",
    ]
    if s.quantize:
        out += ["--quantize", s.quantize]
    if s.dtype:
        out += ["--dtype", s.dtype]
    if s.trust_remote_code:
        out += ["--trust-remote-code"]
    if s.otlp_endpoint:
        out += ["--otlp-endpoint", s.otlp_endpoint, "--otlp-service-name", s.otlp_service_name or s.model_id]
    return out + list(s.extra_args)
