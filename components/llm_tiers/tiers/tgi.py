"""TGI launcher arguments (pure), for text-generation-inference 3.3.x (docs/components/model-tier.md).

The platform owns the flags that make a tier correct and safe (the *guarded* flags); ``extraArgs`` may add
anything else but never override one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from llm_tiers.config.base import DTYPES, QUANTIZE  # noqa: F401  (the stack file's vocabulary; re-exported)
from llm_tiers.tiers.engine_settings import (  # noqa: F401
    CACHE_DIR, HTTP_PORT, EngineSettings, check_shards_and_flags, flag_name)

# --port (the image's default PORT is 80): an unprivileged port (engine_settings.HTTP_PORT), so the container
# needs no NET_BIND_SERVICE. /health, /metrics and the OpenAI routes are all served there; the tier's Service
# still listens on 80. CACHE_DIR is HF_HOME in the image (``ENV HF_HOME=/data``); the weights PVC mounts there.


# What each --quantize value loads (server/text_generation_server/utils/quantization.py get_loader, 3.3.6):
# these read tensors a quantizer already wrote (qweight/scales...) and fail on a full-precision checkpoint ...
PREQUANTIZED = frozenset({"awq", "gptq", "marlin", "exl2", "compressed-tensors"})
# ... these quantize full-precision weights while loading them.
ON_LOAD = frozenset({"bitsandbytes", "bitsandbytes-nf4", "bitsandbytes-fp4", "eetq", "fp8"})
# A checkpoint's quantization_config.quant_method -> the --quantize values that load it. Without --quantize,
# TGI picks the first itself (models/__init__.py get_model: gptq/awq/exl2 as named, fp8 for fbgemm_fp8 and fp8,
# compressed-tensors); awq/gptq/exl2/marlin kernels only work with float16 params (it forces float16).
CHECKPOINT_QUANTIZE = {
    "awq": ("awq",), "gptq": ("gptq",), "exl2": ("exl2",), "marlin": ("marlin",),
    "compressed-tensors": ("compressed-tensors",), "fp8": ("fp8",), "fbgemm_fp8": ("fp8",),
}
FLOAT16_ONLY = frozenset({"awq", "gptq", "exl2", "marlin"})


def quantize_problem(quantize: Optional[str], dtype: Optional[str], checkpoint_method: Optional[str],
                     weights_dtype: Optional[str]) -> Optional[tuple[str, str]]:
    """(key, problem) when ``--quantize``/``--dtype`` cannot load a checkpoint quantized with
    ``checkpoint_method`` (None: full precision, stored as ``weights_dtype``); None when they can."""
    if checkpoint_method is None:
        if quantize in PREQUANTIZED:
            return ("quantize", f"{quantize} loads weights already quantized with {quantize}, but the locked weights "
                    f"are full precision ({weights_dtype or 'unquantized'}); remove quantize, quantize while loading "
                    f"({', '.join(sorted(ON_LOAD))}), or deploy a {quantize} checkpoint of the model")
        return None
    loads = CHECKPOINT_QUANTIZE.get(checkpoint_method)
    if loads is None:
        return ("quantize", f"the locked weights are quantized with {checkpoint_method!r}, which TGI 3.3 cannot load; "
                "deploy another checkpoint")
    if quantize is not None and quantize not in loads:
        return ("quantize", f"the locked weights are already quantized with {checkpoint_method}; {quantize} cannot "
                f"load them: remove quantize (TGI then uses {loads[0]}) or set quantize: {loads[0]}")
    effective = quantize or loads[0]
    if dtype == "bfloat16" and effective in FLOAT16_ONLY:
        return ("dtype", f"{effective} kernels only work with float16 params (the locked weights are "
                f"{checkpoint_method}-quantized); remove dtype")
    return None

GUARDED_FLAGS = frozenset({
    "--model-id", "--revision", "--max-input-tokens", "--max-input-length", "--max-total-tokens",
    "--max-batch-prefill-tokens", "--num-shard", "--sharded", "--quantize", "--dtype", "--hostname", "--port",
    "--max-concurrent-requests", "--usage-stats", "--disable-usage-stats", "--huggingface-hub-cache",
    "--trust-remote-code", "--otlp-endpoint", "--otlp-service-name", "--prometheus-port", "--json-output",
    # The capacity planner assumes the default memory fraction (1.0); the gateway authenticates (no key here);
    # the pod's terminationGracePeriodSeconds is sized for the default drain (launcher/src/main.rs, 3.3.6).
    "--cuda-memory-fraction", "--api-key", "--graceful-termination-timeout",
})

# Every launcher flag of TGI 3.3.6 (the fields of ``struct Args`` in launcher/src/main.rs at v3.3.6, as clap
# spells them): a vLLM tier's extraArgs naming one of these (and not a vLLM flag) is the other engine's flag.
LAUNCHER_FLAGS = frozenset({
    "--model-id", "--revision", "--validation-workers", "--sharded", "--num-shard", "--quantize", "--speculate",
    "--dtype", "--kv-cache-dtype", "--trust-remote-code", "--max-concurrent-requests", "--max-best-of",
    "--max-stop-sequences", "--max-top-n-tokens", "--max-input-tokens", "--max-input-length", "--max-total-tokens",
    "--waiting-served-ratio", "--max-batch-prefill-tokens", "--max-batch-total-tokens", "--max-waiting-tokens",
    "--max-batch-size", "--cuda-graphs", "--hostname", "--port", "--prometheus-port", "--shard-uds-path",
    "--master-addr", "--master-port", "--huggingface-hub-cache", "--weights-cache-override",
    "--disable-custom-kernels", "--cuda-memory-fraction", "--rope-scaling", "--rope-factor", "--json-output",
    "--otlp-endpoint", "--otlp-service-name", "--cors-allow-origin", "--api-key", "--watermark-gamma",
    "--watermark-delta", "--ngrok", "--ngrok-authtoken", "--ngrok-edge", "--tokenizer-config-path",
    "--disable-grammar-support", "--env", "--max-client-batch-size", "--lora-adapters", "--usage-stats",
    "--payload-limit", "--enable-prefill-logprobs", "--graceful-termination-timeout",
})

# The one settings type both engines read (engine_settings.EngineSettings); the old name stays for callers.
TgiSettings = EngineSettings


def resolve_flag(arg: str) -> tuple[Optional[str], Optional[str]]:
    """(the launcher option ``arg`` sets, None), or (None, why the launcher refuses it).

    The launcher parses with clap 4 derive (launcher/Cargo.toml ``clap = "4.4.5"``; ``#[clap(author, version,
    about, long_about = None)]`` on ``struct Args`` in launcher/src/main.rs at v3.3.6): long options are taken
    as ``--flag=value`` or ``--flag value``, by their exact kebab-case name. clap infers no prefixes
    (``infer_long_args`` is off unless set, and TGI does not set it) and does not treat ``_`` as ``-``, so
    ``--max_total_tokens`` or ``--max-total`` stop the launcher with "unexpected argument"."""
    name = flag_name(arg)
    if name in LAUNCHER_FLAGS:
        return name, None
    near = name.replace("_", "-")
    starts = sorted(o for o in LAUNCHER_FLAGS if o.startswith(near)) if len(near) > 2 else []
    hint = (f"; did you mean {near}?" if near in LAUNCHER_FLAGS else
            f"; did you mean {' or '.join(starts)}?" if starts else "")
    return None, (f"TGI's launcher has no option {name} (clap takes exact kebab-case names, no prefixes or "
                  f"underscores){hint}; it would not start")


def guarded_extra_args(extra_args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, flag) of every extra argument that tries to set a guarded flag."""
    return [(i, flag) for i, a in enumerate(extra_args) for flag, _ in [resolve_flag(a)] if flag in GUARDED_FLAGS]


def unknown_extra_args(extra_args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, why) of every extra argument the launcher refuses as an unknown option."""
    return [(i, why) for i, a in enumerate(extra_args) for _, why in [resolve_flag(a)] if why]


def env_flag(name: str) -> Optional[str]:
    """The launcher option an environment variable sets, if any: every ``struct Args`` field but ``env`` is
    ``#[clap(long, env)]`` (launcher/src/main.rs at v3.3.6), so ``MAX_TOTAL_TOKENS`` sets
    ``--max-total-tokens`` when the command line does not."""
    flag = "--" + name.lower().replace("_", "-")
    return flag if flag in LAUNCHER_FLAGS and flag != "--env" and name == name.upper() else None


def guarded_env(env: Sequence[dict]) -> list[tuple[int, str]]:
    """(index, flag) of every container env entry that sets a guarded launcher flag through clap's ``env``."""
    return [(i, f) for i, e in enumerate(env) for f in [env_flag(e.get("name", ""))] if f in GUARDED_FLAGS]


def args(s: TgiSettings) -> list[str]:
    """The launcher arguments. Raises ValueError on a combination TGI would reject at start-up."""
    if getattr(s, "weights_uri", None) is not None:
        raise ValueError("TGI cannot stream weights from S3 (it reads local files or the Hub): use weightsFrom nvme")
    if s.max_input_tokens >= s.max_total_tokens:
        raise ValueError(f"max_input_tokens ({s.max_input_tokens}) must be below max_total_tokens "
                         f"({s.max_total_tokens})")
    prefill = s.max_batch_prefill_tokens if s.max_batch_prefill_tokens is not None else s.max_input_tokens
    if prefill < s.max_input_tokens:
        raise ValueError(f"max_batch_prefill_tokens ({prefill}) must be at least max_input_tokens "
                         f"({s.max_input_tokens})")
    if s.quantize is not None and s.quantize not in QUANTIZE:
        raise ValueError(f"unknown quantize {s.quantize!r}; TGI knows {', '.join(QUANTIZE)}")
    if s.dtype is not None and s.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {s.dtype!r}; TGI knows {', '.join(DTYPES)}")
    if s.quantize and s.dtype and not s.quantize.startswith("bitsandbytes"):
        raise ValueError(f"dtype cannot be combined with quantize {s.quantize} (only bitsandbytes*)")
    check_shards_and_flags(s, guarded_extra_args(s.extra_args))
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
