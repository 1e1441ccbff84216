"""The ``tiers`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Optional, Required, TypedDict


class ReplicasSpec(TypedDict, total=False):
    """``ReplicasConfig`` as plain data."""
    min: int
    """Minimum replicas (0 only with `sporadic: true`). Default: ``1``. (stack file key ``min``)"""
    max: int
    """Maximum replicas. Default: ``2``. (stack file key ``max``)"""


class AutoscalingSpec(TypedDict, total=False):
    """``AutoscalingConfig`` as plain data."""
    queue_depth_per_replica: int
    """Target queued requests per replica; above it the tier scales out. Default: ``8``. (stack file key ``queueDepthPerReplica``)"""
    gpu_utilization_percent: int
    """Target GPU utilization (%). Default: ``85``. (stack file key ``gpuUtilizationPercent``)"""
    scale_down_stabilization_seconds: int
    """How long load must stay low before replicas are removed. Default: ``600``. (stack file key ``scaleDownStabilizationSeconds``)"""
    idle_minutes_before_zero: int
    """Sporadic tiers: idle minutes before scaling to zero. Default: ``30``. (stack file key ``idleMinutesBeforeZero``)"""


class SloSpec(TypedDict, total=False):
    """``SloConfig`` as plain data."""
    ttft_p95_seconds: float
    """P95 time-to-first-token objective (vLLM measures TTFT; for TGI, P95 queue + P95 prefill). Default: ``2.0``. (stack file key ``ttftP95Seconds``)"""
    error_rate_percent: float
    """Alert when 5xx/failed requests exceed this share. Default: ``2.0``. (stack file key ``errorRatePercent``)"""
    queue_alert_minutes: int
    """Minutes queue depth must stay high before alerting. Default: ``10``. (stack file key ``queueAlertMinutes``)"""


class ReleaseSpec(TypedDict, total=False):
    """``ReleaseConfig`` as plain data. What changes between a tier's live release and a candidate (blue/green)."""
    model_id: Optional[str]
    """Candidate model (default: the tier's). Default: ``None``. (stack file key ``modelId``)"""
    revision: Optional[str]
    """Candidate revision (must match the models lock). Default: ``None``. (stack file key ``revision``)"""
    image: Optional[str]
    """Candidate engine image `repo:tag` (default: the pinned one). Default: ``None``. (stack file key ``image``)"""
    extra_args: Optional[list[str]]
    """Candidate extra engine arguments (at most 64, each at most 4096 characters). Default: ``None``. (stack file key ``extraArgs``)"""
    engine: Optional[str]
    """Candidate serving engine (default: the tier's). A different engine than the live release's is a blue/green switch like a new model: the candidate gets its own Deployment of that engine's pinned image, args built from the same tier keys. One of: ``tgi``, ``vllm``. Default: ``None``. (stack file key ``engine``)"""


class FallbackSpec(TypedDict, total=False):
    """``FallbackConfig`` as plain data. A managed OpenAI-compatible endpoint that serves the tier's requests while the tier has no ready
    replica (at zero, waking or down)."""
    base_url: Required[str]
    """The provider's OpenAI base URL, `https://<host>[:port]/<prefix>` (e.g. `https://api.example.com/v1`); https only. The gateway sends `<prefix>/chat/completions` there. (stack file key ``baseUrl``)"""
    model: Required[str]
    """The model's name at the provider (the request's `model` is rewritten to it). It must differ from the tier's name and aliases (usage is split by it). (stack file key ``model``)"""
    api_key_secret: Required[str]
    """Name of the provider's API key in the secret config map `fallbackApiKeys` (`pulumi config set --secret --path 'fallbackApiKeys.<name>' <key>`); stored in Secrets Manager and synced by External Secrets into the gateway's namespace. Tiers may share one. (stack file key ``apiKeySecret``)"""


class LmEvalSpec(TypedDict, total=False):
    """``LmEvalConfig`` as plain data."""
    tasks: Required[list[str]]
    """lm-evaluation-harness tasks to run (`--tasks`). Generative tasks only (e.g. `gsm8k`, `ifeval`): the harness reaches the release through `/v1/chat/completions`, which returns no log-probabilities, so multiple-choice (loglikelihood) tasks cannot run. Their datasets must already be in the results volume's dataset cache (docs/components/eval.md, "Offline"). (stack file key ``tasks``)"""
    limit: int
    """Samples per task (`--limit`): the same ones on every release, so two releases compare on the same questions. Default: ``200``. (stack file key ``limit``)"""
    num_fewshot: Optional[int]
    """Few-shot examples per prompt (`--num_fewshot`); default: each task's own. Default: ``None``. (stack file key ``numFewshot``)"""
    max_gen_tokens: int
    """Most tokens generated per answer (`max_gen_toks` of the chat client). Must fit the tier's output budget (maxTotalTokens - maxInputTokens). Default: ``512``. (stack file key ``maxGenTokens``)"""


class EvalSetSpec(TypedDict, total=False):
    """``EvalSetConfig`` as plain data."""
    file: Optional[str]
    """The team's eval set in the repository (JSONL, one `{"prompt": ..., "reference": ...}` per line; path relative to the project directory). The program puts it in a ConfigMap beside the tier. Exactly one of `file` and `configMap`. Default: ``None``. (stack file key ``file``)"""
    config_map: Optional[str]
    """An existing ConfigMap in the tiers' namespace that holds the eval set (for sets managed outside this repository). Exactly one of `file` and `configMap`. Default: ``None``. (stack file key ``configMap``)"""
    key: str
    """The ConfigMap key that holds the JSONL. Default: ``'evals.jsonl'``. (stack file key ``key``)"""
    scoring: str
    """How an answer matches its reference: `exact` (equal after trimming whitespace and case), `regex` (the reference is a Python regular expression searched in the answer) or `contains` (the reference appears in the answer, case-insensitive). One of: ``exact``, ``regex``, ``contains``. Default: ``'contains'``. (stack file key ``scoring``)"""
    max_tokens: int
    """`max_tokens` of each eval-set request (temperature 0). Default: ``256``. (stack file key ``maxTokens``)"""


class EvalSpec(TypedDict, total=False):
    """``EvalConfig`` as plain data."""
    harness: str
    """The maintained harness the `lmEval` key configures: EleutherAI's lm-evaluation-harness, pinned in components/llm_tiers/versions.py (`LM_EVAL_VERSION`). One of: ``lm-eval``. Default: ``'lm-eval'``. (stack file key ``harness``)"""
    lm_eval: Optional[LmEvalSpec]
    """Run lm-evaluation-harness tasks against each release's own Service. Default: ``None``. (stack file key ``lmEval``)"""
    eval_set: Optional[EvalSetSpec]
    """Score the team's own eval set (prompt and reference) against each release. Default: ``None``. (stack file key ``evalSet``)"""
    pip_index_url: Optional[str]
    """Python package index the eval Job installs the pinned lm-evaluation-harness from (a mirror inside your network). Default: PyPI (the Job then needs HTTPS egress to it). (stack file key ``pipIndexUrl``)"""


class GateSpec(TypedDict, total=False):
    """``GateConfig`` as plain data."""
    tolerance: float
    """How far below the live release's score a candidate's may be, on every score both releases have (0-1 scale, e.g. 0.02 = two points of accuracy). Default: ``0.02``. (stack file key ``tolerance``)"""
    min_output_tokens_per_second: Optional[float]
    """Output tokens/s floor: the candidate's best benchmark strategy whose TTFT P95 is within `slo.ttftP95Seconds` must reach it. Unset: only the TTFT objective is checked. Default: ``None``. (stack file key ``minOutputTokensPerSecond``)"""
    wait_minutes: int
    """How long the gate Job waits for the candidate's and the live release's results to appear on the results volume before it fails (closed). Default: ``90``. (stack file key ``waitMinutes``)"""
    override: Optional[str]
    """Promote whatever the results say, deliberately: the reason (at least 10 characters, e.g. the incident number). The gate Job still runs and logs every check, then succeeds; remove the key after the switch (docs/runbook.md, "Overriding the promotion gate"). Default: ``None``. (stack file key ``override``)"""


class TierSpec(TypedDict, total=False):
    """``TierConfig`` as plain data. A tier: a pinned model on a GPU class with its own limits, cache and autoscaling."""
    name: Required[str]
    """Tier name: the name of its Service, so an RFC 1035 label (lowercase letters, digits and '-', starting with a letter), at most 40 characters; also its URL prefix. (stack file key ``name``)"""
    aliases: list[str]
    """Other `model` names this tier answers to on the single base URL (e.g. a name clients already use: letters, digits and `._:/-`, at most 128 characters); unique across tiers. Hard limits: the name and aliases together at most 128 (AIGatewayRoute rule matches), joined into a regular expression of at most 1,024 characters (rate-limit header value) and a CEL list of at most 4,096 (authorization rule). Default: empty. (stack file key ``aliases``)"""
    engine: str
    """Serving engine of the live release: `tgi` (Text Generation Inference) or `vllm`. Both read the same keys below (vLLM: maxTotalTokens = `--max-model-len`, the prefill budget = `--max-num-batched-tokens`, maxConcurrentRequests = `--max-num-seqs`, gpusPerReplica = `--tensor-parallel-size`, output cap maxOutputTokens via `--override-generation-config`, served names the tier's name, aliases and modelId); vLLM has no prompt-length cap of its own and queues past maxConcurrentRequests instead of answering 429. Switch it through a candidate. One of: ``tgi``, ``vllm``. Default: ``'tgi'``. (stack file key ``engine``)"""
    model_id: Required[str]
    """Hugging Face model id `org/name`. (stack file key ``modelId``)"""
    revision: Optional[str]
    """Model revision; default: the commit recorded in the models lock. Default: ``None``. (stack file key ``revision``)"""
    trust_remote_code: bool
    """Allow models that need custom code. Default: ``False``. (stack file key ``trustRemoteCode``)"""
    gpu_class: Required[str]
    """Key of `gpuClasses` this tier runs on. (stack file key ``gpuClass``)"""
    gpus_per_replica: int
    """GPUs per replica (TGI `--num-shard`, vLLM `--tensor-parallel-size`). One of: ``1``, ``2``, ``4``, ``8``. Default: ``1``. (stack file key ``gpusPerReplica``)"""
    max_input_tokens: Required[int]
    """TGI `--max-input-tokens`: longest prompt accepted (vLLM has no such cap: it accepts prompts up to maxTotalTokens). (stack file key ``maxInputTokens``)"""
    max_total_tokens: Required[int]
    """TGI `--max-total-tokens`, vLLM `--max-model-len`: prompt + generated tokens; caps `max_tokens`. (stack file key ``maxTotalTokens``)"""
    max_output_tokens: Optional[int]
    """Largest `max_tokens` (or `max_completion_tokens`) the gateway accepts for this tier; above it: HTTP 400 (refused, not clamped: a clamp would silently shorten answers). Default: `maxTotalTokens - maxInputTokens` (what a full-length prompt leaves; plan.md's column of that name). The engine's own check (prompt + `max_tokens` <= `maxTotalTokens`) still applies. (stack file key ``maxOutputTokens``)"""
    max_batch_prefill_tokens: Optional[int]
    """Prefill budget (TGI `--max-batch-prefill-tokens`, vLLM `--max-num-batched-tokens`); default: maxInputTokens. Default: ``None``. (stack file key ``maxBatchPrefillTokens``)"""
    max_concurrent_requests: int
    """TGI `--max-concurrent-requests` (beyond it the replica answers 429); vLLM `--max-num-seqs` (beyond it requests wait in vLLM's queue). Default: ``128``. (stack file key ``maxConcurrentRequests``)"""
    quantize: Optional[str]
    """TGI `--quantize` method. vLLM honours awq, gptq, compressed-tensors and fp8 when the checkpoint is quantized with them (it reads the checkpoint's method) and fp8 on full-precision weights (`--quantization fp8_per_tensor`); the rest are TGI-only. One of: ``awq``, ``compressed-tensors``, ``eetq``, ``exl2``, ``gptq``, ``marlin``, ``bitsandbytes``, ``bitsandbytes-nf4``, ``bitsandbytes-fp4``, ``fp8``. Default: ``None``. (stack file key ``quantize``)"""
    dtype: Optional[str]
    """`--dtype` (TGI: not with `quantize`, except bitsandbytes*). One of: ``float16``, ``bfloat16``. Default: ``None``. (stack file key ``dtype``)"""
    extra_args: list[str]
    """Extra engine flags of the tier's engine, parsed as the engine parses them (vLLM: `_` = `-`, dotted `--a.b=` keys, unambiguous prefixes; TGI: exact names): flags the platform sets, the other engine's flags and options the engine does not have are refused. At most 64, each at most 4096 characters. Default: empty. (stack file key ``extraArgs``)"""
    weights_from: str
    """Where a replica reads its weights. `efs` (default): the tier's EFS cache, filled by the sync Job. `nvme`: the sync Job fills the stack's in-region S3 weight mirror (checksums verified against the Hub) and each replica first copies the locked revision onto its node's local NVMe (the class needs `instanceStore: raid0`), then loads from there; both engines. `s3`: vLLM streams the weights from the S3 mirror into GPU memory (`--load-format runai_streamer`); vLLM releases only (TGI has no S3 loader: use `nvme`). docs/components/model-tier.md, "Where weights load from", gives what each saves and costs. One of: ``efs``, ``nvme``, ``s3``. Default: ``'efs'``. (stack file key ``weightsFrom``)"""
    sporadic: bool
    """Scale to zero when idle and wake on traffic. Default: ``False``. (stack file key ``sporadic``)"""
    replicas: ReplicasSpec
    """Replica bounds. (stack file key ``replicas``)"""
    autoscaling: AutoscalingSpec
    """Autoscaling targets. (stack file key ``autoscaling``)"""
    slo: SloSpec
    """Objectives that drive alerts. (stack file key ``slo``)"""
    candidate: Optional[ReleaseSpec]
    """A candidate release deployed beside the live one. Default: ``None``. (stack file key ``candidate``)"""
    fallback: Optional[FallbackSpec]
    """A managed OpenAI-compatible endpoint that answers the tier's requests while it has no ready replica (scaled to zero, waking, or down): the gateway tries the tier first and retries a refused connection, reset or 503 there once (Envoy AI Gateway backend priority 1). Billed by the provider per token; see docs/components/gateway.md "Fallback". Default: ``None``. (stack file key ``fallback``)"""
    serve: str
    """Which release receives traffic; flip to `candidate` to switch, back to roll back. One of: ``live``, ``candidate``. Default: ``'live'``. (stack file key ``serve``)"""
    eval: Optional[EvalSpec]
    """Measure each release's quality (lm-evaluation-harness tasks and/or the team's eval set) in a Job per release and `benchmark.runId`, beside the benchmark's results; the tier must be in `benchmark.tiers`. With a candidate, switching `serve` to it waits for the promotion gate (docs/components/eval.md). Default: ``None``. (stack file key ``eval``)"""
    gate: GateSpec
    """The promotion gate (a tier with `eval` and a candidate): what the candidate must measure before `serve: candidate` moves traffic. (stack file key ``gate``)"""


class ModelPolicySpec(TypedDict, total=False):
    """``ModelPolicyConfig`` as plain data."""
    allowed_licenses: list[str]
    """Hub license ids a tier's model may carry (e.g. `apache-2.0`, `llama3.1`). Default: ``['apache-2.0', 'mit']``. (stack file key ``allowedLicenses``)"""
    lock_file: str
    """Path of the committed models lock (relative to the project directory), written by `make models-lock`. Every model a tier deploys must be in it; gating, license, revision and capacity checks read it. Default: ``'models.lock.json'``. (stack file key ``lockFile``)"""
