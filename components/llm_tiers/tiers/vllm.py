"""vLLM server arguments (pure), from the same tier keys as TGI's (``tiers/tgi.py``), for the pinned
``vllm/vllm-openai`` image (versions.IMAGES['vllm'], vLLM 0.33.0).

Sources, all at vllm-project/vllm v0.33.0 (read from the release's sdist, whose paths match the repository):
``vllm/engine/arg_utils.py`` (engine flags), ``vllm/entrypoints/common/cli_args.py`` (server flags: this
release moved ``FrontendArgs`` there from ``vllm/entrypoints/openai/cli_args.py``), ``vllm/config/*.py`` (the
defaults), ``docker/Dockerfile`` (the image), ``vllm/entrypoints/serve/utils/api_utils.py`` (output caps).

What vLLM does differently from TGI with the same keys:

* ``maxInputTokens`` has no vLLM flag: vLLM refuses only prompts longer than ``--max-model-len`` (api_utils.py
  ``get_max_tokens``: "Input length (...) exceeds model's maximum context length"), so a prompt up to
  ``maxTotalTokens`` is accepted and the output room shrinks to what is left. TGI refuses prompts past
  ``--max-input-tokens`` itself.
* A request without ``max_tokens`` may generate the rest of the context (``model_max_tokens = max_model_len -
  input_length``). vLLM does better than TGI on the output cap, though: ``--override-generation-config
  '{"max_new_tokens": N}'`` becomes ``override_max_tokens`` (vllm/entrypoints/openai/chat_completion/serving.py
  and completion/serving.py ``self.override_max_tokens``), and ``get_max_tokens`` returns the minimum of the
  request's ``max_tokens``, the context left and N: an exact cap of N = maxTotalTokens - maxInputTokens on every
  request, asked for or not (N = ``maxOutputTokens`` when the tier sets it).
* ``maxConcurrentRequests`` becomes ``--max-num-seqs``, the most sequences vLLM runs in one batch; vLLM queues
  the rest instead of answering 429 as TGI does past ``--max-concurrent-requests``.
* ``maxBatchPrefillTokens`` (the prefill budget, default ``maxInputTokens``) becomes
  ``--max-num-batched-tokens``; chunked prefill is on by default (``SchedulerConfig.enable_chunked_prefill``),
  so the budget may be below a prompt's length, but the tier keeps TGI's rule (budget >= maxInputTokens) so
  both engines accept the same tier.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Optional

from llm_tiers import versions

from llm_tiers.tiers.engine_settings import (  # noqa: F401
    CACHE_DIR, HTTP_PORT, EngineSettings, check_shards_and_flags, flag_name)

# vllm/config/cache.py ``gpu_memory_utilization: float = Field(default=0.92, gt=0, le=1)``: the share of the
# GPU's total memory the engine budgets for weights, activations, CUDA graphs and KV cache. Guarded (below),
# so the planner's number is the engine's.
GPU_MEMORY_UTILIZATION = 0.92

# The image runs as root by default (docker/Dockerfile target ``vllm-openai``: "The default `vllm-openai`
# image keeps `USER root`") but is built for non-root use: uv's Python and caches live outside /root ("so
# downstream images ... and direct non-root runs (`docker run --user <uid>:<gid>`) can read and execute
# them"), and the opt-in ``vllm-openai-nonroot`` entrypoint only sets HOME/USER/LOGNAME for a UID without a
# passwd entry (docker/entrypoints/vllm-nonroot-entrypoint.sh). So vLLM pods run as this UID (>= 10000, the
# checkov CKV_K8S_40 floor) with HOME on the scratch volume and USER/LOGNAME set as that entrypoint would.
RUN_AS_USER = 10001
VERSION = versions.IMAGES["vllm"].rsplit(":v", 1)[-1]
USER_NAME = "vllm"

# Tier ``quantize`` values (TGI's vocabulary, config/base.py) and what vLLM 0.33.0 does with them.
# Pre-quantized checkpoints: vLLM reads ``quantization_config`` from the checkpoint and picks its fastest
# kernel itself (vllm/config/model.py ``_verify_quantization``: the override loop turns awq into awq_marlin,
# gptq into gptq_marlin); passing ``--quantization awq`` would pin the slower one, so the flag is left out and
# the key only has to match the checkpoint's method.
PREQUANTIZED = frozenset({"awq", "gptq", "compressed-tensors", "fp8"})
# Quantize full-precision weights while loading: only fp8. ``--quantization fp8`` "no longer supports online
# quantization. Please use `--quantization fp8_per_tensor`" (vllm/model_executor/layers/quantization/fp8.py
# ``Fp8Config.__init__``); fp8_per_tensor is an online shorthand in QuantizationMethods (quantization/__init__.py).
ON_LOAD = {"fp8": "fp8_per_tensor"}
# TGI-only: bitsandbytes*, eetq and exl2 have no vLLM method at all, and vLLM 0.33.0 removed its marlin
# (QuantizationMethods lists neither marlin, bitsandbytes, eetq nor exl2).
UNSUPPORTED = frozenset({"bitsandbytes", "bitsandbytes-nf4", "bitsandbytes-fp4", "eetq", "exl2", "marlin"})
# Checkpoint ``quant_method`` values vLLM 0.33.0 loads (QuantizationMethods, checkpoint methods only; fbgemm_fp8
# and fp_quant are deprecated there and refused without --allow-deprecated-quantization).
CHECKPOINT_METHODS = frozenset({
    "awq", "auto_awq", "fp8", "modelopt", "modelopt_fp4", "modelopt_mxfp8", "modelopt_mixed", "auto_gptq", "gptq",
    "gptq_marlin", "awq_marlin", "humming", "compressed-tensors", "experts_int8", "quark", "moe_wna16", "torchao",
    "inc", "mxfp4", "gpt_oss_mxfp4", "deepseek_v4_fp8",
})
DTYPES = ("float16", "bfloat16")  # vllm/config/model.py ModelDType also has auto/half/float/float32

# Flags the platform sets from the tier's config (or must stay at the value the planner and the pod assume).
GUARDED_FLAGS = frozenset({
    "--model", "--revision", "--code-revision", "--tokenizer", "--tokenizer-revision", "--served-model-name",
    "--host", "--port", "--max-model-len", "--max-num-batched-tokens", "--max-num-seqs",
    "--tensor-parallel-size", "-tp", "--pipeline-parallel-size", "-pp", "--data-parallel-size", "-dp",
    "--quantization", "-q", "--quantization-config", "--dtype", "--trust-remote-code", "--no-trust-remote-code",
    "--api-key", "--override-generation-config", "--generation-config", "--shutdown-timeout",
    "--otlp-traces-endpoint", "--download-dir", "--gpu-memory-utilization", "--device-memory-utilization",
    "--kv-cache-memory-bytes", "--num-gpu-blocks-override", "--headless",
    # Reads more arguments from a YAML file (argparse_utils.py _pull_args_from_config), out of these checks' sight.
    "--config",
    # Where and how weights load is the tier's weightsFrom (tiers/storage.py): `s3` sets both.
    "--load-format", "--model-loader-extra-config",
})
#: Run:ai Model Streamer readers for ``weightsFrom: s3``: the concurrency that loaded 15 GB fastest from same-region
#: S3 (4.88 s at 32, 5.01 s at 64, 8.45 s at 16: run-ai/runai-model-streamer docs/src/benchmarks.md at f73a19a);
#: ``--model-loader-extra-config`` ``concurrency`` becomes RUNAI_STREAMER_CONCURRENCY
#: (vllm/model_executor/model_loader/runai_streamer_loader.py at v0.33.0: allowed keys ``distributed``,
#: ``concurrency``, ``memory_limit``). The pinned image has the S3 streamer: vllm-project/vllm v0.33.0
#: docker/Dockerfile installs ``runai-model-streamer[s3,gcs,azure]>=0.15.7`` into the vllm-openai stage. With an
#: ``s3://`` model, vllm/config/model.py ``maybe_pull_model_tokenizer_for_runai`` first copies the config and
#: tokenizer files into $VLLM_ASSETS_CACHE (default ~/.cache/vllm/assets: HOME is the scratch volume).
STREAMER_CONCURRENCY = 32

# vLLM server flags a TGI tier's extraArgs might carry by mistake (a TGI tier naming one that TGI does not
# have is the other engine's flag): the guarded ones and the common tuning flags of vllm/engine/arg_utils.py.
SERVER_FLAGS = GUARDED_FLAGS | frozenset({
    "--enforce-eager", "--enable-prefix-caching", "--no-enable-prefix-caching", "--enable-chunked-prefill",
    "--no-enable-chunked-prefill", "--kv-cache-dtype", "--block-size", "--cpu-offload-gb",
    "--tokenizer-mode", "--chat-template", "--enable-auto-tool-choice",
    "--tool-call-parser", "--reasoning-parser", "--limit-mm-per-prompt", "--speculative-config",
    "--performance-mode", "--enable-log-requests", "--disable-log-stats", "--max-log-len", "--seed",
    "--load-format", "--compilation-config", "--async-scheduling", "--disable-uvicorn-access-log",
    "--disable-access-log-for-endpoints", "--uvicorn-log-level", "--collect-detailed-traces",
    "--custom-histogram-buckets",
})


# Every option ``vllm serve`` accepts at the pinned version, generated from its source by
# ``python -m llm_tiers.cli.vllm_flags --from <vllm sdist> --write`` (that module says where each comes from).
_OPTIONS = json.loads(resources.files("llm_tiers.tiers").joinpath("vllm_flags.json").read_text())
OPTIONS = frozenset(_OPTIONS["long"]) | frozenset(_OPTIONS["short"])
# vllm/utils/argparse_utils.py FlexibleArgumentParser.parse_args: "Everything between the first -- and the
# first ." has ``_`` turned into ``-``; ``--name.key=value`` (or ``--name.key+=v``) is folded into one
# ``--name '<json>'`` argument.
_DOTTED = re.compile(r"^--([^.=]*)(\.[^=]*)?(=.*)?$", re.S)


def resolve_flag(arg: str) -> tuple[Optional[str], Optional[str]]:
    """(the option ``arg`` sets, None) as ``vllm serve`` parses it, or (None, why vLLM refuses it).

    FlexibleArgumentParser (vllm-project/vllm ``vllm/utils/argparse_utils.py`` ``parse_args``, read in the v0.33.0
    sdist; no parser in that release sets ``allow_abbrev=False``) first spells the name with
    dashes (``--max_model_len`` is ``--max-model-len``) and folds dotted keys into their option
    (``--override-generation-config.max_new_tokens=N`` sets ``--override-generation-config``); then Python's
    argparse, with ``allow_abbrev`` left on, takes an unambiguous prefix for the option it starts
    (``--tensor-parallel=2`` is ``--tensor-parallel-size``) and refuses an ambiguous or unknown one."""
    if not arg.startswith("--"):  # a short option (-tp=2) is taken as written
        name = flag_name(arg)
        return (name, None) if name in OPTIONS else (None, f"vLLM {VERSION} has no option {name}")
    m = _DOTTED.match(arg)
    name = "--" + (m.group(1) if m else arg[2:]).replace("_", "-")
    if name in OPTIONS:
        return name, None
    candidates = sorted(o for o in OPTIONS if o.startswith(name) and o.startswith("--")) if len(name) > 2 else []
    if len(candidates) == 1:
        return candidates[0], None
    if candidates:
        return None, (f"{name} is ambiguous to vLLM {VERSION} (argparse prefix of {', '.join(candidates[:6])}"
                      f"{', ...' if len(candidates) > 6 else ''}); spell the option out")
    return None, f"vLLM {VERSION} has no option {name} (`vllm serve --help=all` lists them); it would not start"


def guarded_extra_args(extra_args) -> list[tuple[int, str]]:
    """(index, flag) of every extra argument that sets a guarded flag, as vLLM resolves its name
    (``resolve_flag``: ``_``/``-``, dotted keys, prefixes)."""
    out = []
    for i, a in enumerate(extra_args):
        flag, _ = resolve_flag(a)
        if flag in GUARDED_FLAGS:
            out.append((i, flag if flag == flag_name(a) else f"{flag} (written {flag_name(a)})"))
    return out


def unknown_extra_args(extra_args) -> list[tuple[int, str]]:
    """(index, why) of every extra argument vLLM's parser refuses (no such option, or an ambiguous prefix)."""
    return [(i, why) for i, a in enumerate(extra_args) for flag, why in [resolve_flag(a)] if why]


def quantize_problem(quantize: Optional[str], dtype: Optional[str], checkpoint_method: Optional[str],
                     weights_dtype: Optional[str]) -> Optional[tuple[str, str]]:
    """(key, problem) when vLLM 0.33.0 cannot honour ``quantize`` on the locked weights; None when it can."""
    del dtype  # vLLM takes --dtype with any quantization method
    if quantize in UNSUPPORTED:
        return ("quantize", f"vLLM 0.33 has no {quantize} quantization (it is a TGI method); remove quantize, use a "
                "checkpoint quantized with awq, gptq, compressed-tensors or fp8, quantize: fp8 (fp8 while loading), "
                "or serve this tier with engine: tgi")
    if checkpoint_method is None:
        if quantize in ON_LOAD or quantize is None:
            return None
        return ("quantize", f"{quantize} loads weights already quantized with {quantize}, but the locked weights "
                f"are full precision ({weights_dtype or 'unquantized'}); remove quantize, quantize while loading "
                f"({', '.join(sorted(ON_LOAD))}), or deploy a {quantize} checkpoint of the model")
    if checkpoint_method not in CHECKPOINT_METHODS:
        return ("quantize", f"the locked weights are quantized with {checkpoint_method!r}, which vLLM 0.33 cannot "
                "load; deploy another checkpoint or serve this tier with engine: tgi")
    family = {"awq": "awq", "auto_awq": "awq", "awq_marlin": "awq", "gptq": "gptq", "auto_gptq": "gptq",
              "gptq_marlin": "gptq"}.get(checkpoint_method, checkpoint_method)
    if quantize is not None and quantize != family:
        return ("quantize", f"the locked weights are already quantized with {checkpoint_method}; vLLM loads them "
                f"with that method, not {quantize}: remove quantize (vLLM reads the checkpoint's method)")
    return None


def quantization_flag(quantize: Optional[str], checkpoint_method: Optional[str]) -> Optional[str]:
    """The ``--quantization`` value for a tier's ``quantize``: only fp8 while loading full-precision weights
    needs one; a pre-quantized checkpoint carries its own method."""
    if quantize in ON_LOAD and checkpoint_method is None:
        return ON_LOAD[quantize]
    return None


def args(s: EngineSettings) -> list[str]:
    """The ``vllm serve`` arguments (the image's ENTRYPOINT is ``["vllm", "serve"]``, docker/Dockerfile target
    ``vllm-openai``). Raises ValueError on a combination the server would reject or the tier cannot honour."""
    if s.max_input_tokens >= s.max_total_tokens:
        raise ValueError(f"max_input_tokens ({s.max_input_tokens}) must be below max_total_tokens "
                         f"({s.max_total_tokens})")
    if s.prefill_tokens < s.max_input_tokens:
        raise ValueError(f"max_batch_prefill_tokens ({s.prefill_tokens}) must be at least max_input_tokens "
                         f"({s.max_input_tokens})")
    if s.dtype is not None and s.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {s.dtype!r}; use one of {', '.join(DTYPES)}")
    problem = quantize_problem(s.quantize, s.dtype, s.checkpoint_quantization, None)
    if problem:
        raise ValueError(problem[1])
    check_shards_and_flags(s, guarded_extra_args(s.extra_args))
    out = [
        # Positional model (``vllm serve <model>``); resolved offline from HF_HOME's hub cache at --revision
        # (vllm/config/load.py ``download_dir`` default None = the Hugging Face cache). The tokenizer follows
        # the same revision (vllm/config/model.py: ``if self.tokenizer_revision is None:
        # self.tokenizer_revision = self.revision``).
        *([s.weights_uri] if s.weights_uri is not None else [s.model_id, "--revision", s.revision]),
        # With weightsFrom s3 the model is its mirror prefix, streamed by the Run:ai Model Streamer: vLLM pulls the
        # config and tokenizer files from it into its assets cache and streams the safetensors into GPU memory
        # (vllm/transformers_utils/runai_utils.py, model_loader/runai_streamer_loader.py); the prefix holds one
        # revision, so there is no --revision to give.
        *(["--load-format", "runai_streamer", "--model-loader-extra-config",
           json.dumps({"concurrency": STREAMER_CONCURRENCY}, separators=(",", ":"))]
          if s.weights_uri is not None else []),
        # The OpenAI ``model`` names vLLM answers to (any other is a 404, unlike TGI, which ignores ``model``):
        # the tier's name first, the name vLLM reports in responses and the ``model_name`` metric label
        # (vllm/config/model.py ``served_model_name``, one or more names, ``get_served_model_name`` takes the
        # first), then its aliases (the gateway routes on them and passes ``model`` through unchanged), then
        # the Hub id.
        "--served-model-name", *dict.fromkeys([s.served_model_name or s.model_id, *s.served_model_aliases,
                                               s.model_id]),
        # FrontendArgs.host None binds every interface already; explicit, like TGI's --hostname. FrontendArgs.port
        # defaults to 8000: set to the container port both engines use, so Service, NetworkPolicy and PodMonitor
        # stay engine-neutral.
        "--host", "0.0.0.0",
        "--port", str(HTTP_PORT),
        "--max-model-len", str(s.max_total_tokens),
        "--max-num-batched-tokens", str(s.prefill_tokens),
        "--max-num-seqs", str(s.max_concurrent_requests),
        "--tensor-parallel-size", str(s.num_shard),
        # The exact output cap (module docstring): N = maxOutputTokens (default maxTotalTokens - maxInputTokens),
        # the same number the gateway's request guard refuses above.
        "--override-generation-config",
        json.dumps({"max_new_tokens": s.output_cap}, separators=(",", ":")),
        # arg_utils.py ``--shutdown-timeout`` (type=int, default=0, "0 = abort, >0 = wait"): on SIGTERM the
        # server drains in-flight requests up to this long (vllm/entrypoints/launchers/launcher.py handle_shutdown
        # ``mode = "abort" if timeout == 0 else "drain"``); the pod's grace period is longer.
        "--shutdown-timeout", str(s.shutdown_timeout_seconds or 0),
        # Probe and scrape requests are not access-logged (cli_args.py FrontendArgs
        # ``disable_access_log_for_endpoints``, a comma-separated list).
        "--disable-access-log-for-endpoints", "/health,/metrics",
    ]
    quant = quantization_flag(s.quantize, s.checkpoint_quantization)
    if quant:
        out += ["--quantization", quant]
    if s.dtype:
        out += ["--dtype", s.dtype]
    if s.trust_remote_code:
        # ModelConfig.trust_remote_code (default False); a BooleanOptionalAction flag.
        out += ["--trust-remote-code"]
    if s.otlp_endpoint:
        # ObservabilityConfig.otlp_traces_endpoint, "Target URL to which OpenTelemetry traces will be sent"
        # (vllm/config/observability.py); the image ships the OpenTelemetry SDK and OTLP exporter
        # (requirements/common.txt). The service name comes from OTEL_SERVICE_NAME (the pod's env).
        out += ["--otlp-traces-endpoint", s.otlp_endpoint]
    return out + list(s.extra_args)
