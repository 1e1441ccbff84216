"""Every version the platform pins: Kubernetes, EKS add-ons, Helm charts and container images.

This is the only module that names a version. Components import from here; tests assert that nothing
else in the tree pins an image or chart, and that no pin is ``latest``. Moving a pin is a one-line diff
that shows up in every stack's render.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kubernetes minor versions this release of the platform is tested against. The EKS add-on pins below
# exist for each of them; the schema rejects any other ``cluster.kubernetesVersion``.
DEFAULT_KUBERNETES_VERSION = "1.34"

# EKS managed add-on versions per Kubernetes minor version (``aws eks describe-addon-versions
# --kubernetes-version <v> --addon-name <name>``). Pinned, never "most recent": an add-on upgrade is a
# reviewed change like any other.
_ADDONS_COMMON = {
    "vpc-cni": "v1.21.1-eksbuild.7",
    "coredns": "v1.13.2-eksbuild.4",
    "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    "aws-ebs-csi-driver": "v1.63.0-eksbuild.1",
    "aws-efs-csi-driver": "v3.4.1-eksbuild.1",
}
EKS_ADDONS: dict[str, dict[str, str]] = {
    "1.33": {**_ADDONS_COMMON, "kube-proxy": "v1.33.10-eksbuild.13"},
    "1.34": {**_ADDONS_COMMON, "kube-proxy": "v1.34.6-eksbuild.13"},
    "1.35": {**_ADDONS_COMMON, "kube-proxy": "v1.35.3-eksbuild.13"},
}

SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(sorted(EKS_ADDONS))

# EKS version support policy of the control plane: standard support only. With STANDARD, EKS upgrades a
# cluster whose version leaves standard support instead of moving it to extended support, which bills six
# times the hourly price (components/llm_tiers/cost/bill.py prices the control plane by this value).
EKS_SUPPORT_TYPE = "STANDARD"


@dataclass(frozen=True)
class Chart:
    """A pinned Helm chart: where it comes from and which version."""

    chart: str
    repository: str
    version: str


# Helm charts (chart version, and the app version it installs in the comment). The CRD schemas
# (components/llm_tiers/cli/crd-sums.json) are pinned to the app versions named here; move both together.
CHARTS: dict[str, Chart] = {
    # Karpenter v1.14.1 (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1 EC2NodeClass).
    "karpenter": Chart("karpenter", "oci://public.ecr.aws/karpenter", "1.14.1"),
    # Karpenter's CRDs as their own release, so CRD upgrades ride along with chart upgrades (Helm never
    # upgrades a chart's crds/ folder).
    "karpenter-crd": Chart("karpenter-crd", "oci://public.ecr.aws/karpenter", "1.14.1"),
    # External Secrets Operator v2.9.0.
    "external-secrets": Chart("external-secrets", "https://charts.external-secrets.io", "2.9.0"),
    # KEDA v2.20.2.
    "keda": Chart("keda", "https://kedacore.github.io/charts", "2.20.2"),
    # Envoy Gateway v1.9.0, installed with crds.enabled=false: its CRDs come from the next chart.
    "envoy-gateway": Chart("gateway-helm", "oci://docker.io/envoyproxy", "v1.9.0"),
    # Envoy Gateway's CRDs (Gateway API v1.6.1 experimental channel + Envoy Gateway's own) from templates/,
    # so a version bump upgrades them (Helm never upgrades a chart's crds/ folder). Move with envoy-gateway.
    "envoy-gateway-crds": Chart("gateway-crds-helm", "oci://docker.io/envoyproxy", "v1.9.0"),
    # Envoy AI Gateway v1.1.0 (controller + the extProc it injects into Envoy pods) and its CRDs as their own
    # release. Its compatibility matrix (site/versioned_docs/version-1.1/compatibility.md) lists Envoy Gateway
    # v1.8.1+; v1.1.0 is built and tested on v1.8.1 (go.mod, release-notes/v1.1.0.md). Envoy Gateway v1.9.0
    # above is in range but NOT a tested upstream pairing (the bump, envoyproxy/ai-gateway PR #2507, landed
    # after v1.1.0). Move these two and envoy-gateway together.
    "ai-gateway": Chart("ai-gateway-helm", "oci://docker.io/envoyproxy", "v1.1.0"),
    "ai-gateway-crds": Chart("ai-gateway-crds-helm", "oci://docker.io/envoyproxy", "v1.1.0"),
    # cert-manager v1.21.2 (only with gateway.tls.mode: cert-manager; its Gateway API support issues the
    # listener's certificate; the program creates no cert-manager custom resource itself).
    "cert-manager": Chart("cert-manager", "https://charts.jetstack.io", "v1.21.2"),
    # kube-prometheus-stack 88.3.0 = prometheus-operator v0.93.0, installed with crds.enabled=false.
    "kube-prometheus-stack": Chart("kube-prometheus-stack",
                                   "https://prometheus-community.github.io/helm-charts", "88.3.0"),
    # prometheus-operator's CRDs v0.93.0 (chart 31.0.0) from templates/, upgraded with the chart.
    # Move together with kube-prometheus-stack.
    "prometheus-operator-crds": Chart("prometheus-operator-crds",
                                      "https://prometheus-community.github.io/helm-charts", "31.0.0"),
    # OpenTelemetry Collector chart 0.170.0 (appVersion 0.158.0), only with observability.tracing.enabled. Its
    # values were read from open-telemetry/opentelemetry-helm-charts at tag
    # opentelemetry-collector-0.170.0, charts/opentelemetry-collector/values.yaml and templates/
    # (components/llm_tiers/tracing/manifests.py cites each key).
    "opentelemetry-collector": Chart("opentelemetry-collector",
                                     "https://open-telemetry.github.io/opentelemetry-helm-charts",
                                     "0.170.0"),
    # ExternalDNS chart 1.21.1 = ExternalDNS v0.21.0 (the image tag defaults to the chart's appVersion), only with
    # gateway.dns. Its values were read from kubernetes-sigs/external-dns at tag
    # external-dns-helm-chart-1.21.1, charts/external-dns/values.yaml (components/llm_tiers/gateway/dns.py cites each
    # key).
    "external-dns": Chart("external-dns", "https://kubernetes-sigs.github.io/external-dns/", "1.21.1"),
    # AWS Load Balancer Controller v3.5.0 (chart 3.5.0, image public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0):
    # provisions the gateway's NLB (components/llm_tiers/gateway/load_balancer_controller.py says why). Its
    # values were read from kubernetes-sigs/aws-load-balancer-controller at tag v3.5.0,
    # helm/aws-load-balancer-controller/values.yaml (the chart is published from there to eks-charts).
    "aws-load-balancer-controller": Chart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0"),
    # NVIDIA device plugin v0.20.0.
    "nvidia-device-plugin": Chart("nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.20.0"),
    # DCGM exporter chart 4.8.2 (image 4.5.3-4.8.2).
    "dcgm-exporter": Chart("dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.8.2"),
}

# The app version kube-prometheus-stack 88.3.0 and prometheus-operator-crds 31.0.0 install (their CRDs are
# published with the operator's release). Move together with those two charts.
PROMETHEUS_OPERATOR_VERSION = "v0.93.0"

# Karpenter EC2NodeClass AMI alias: the AL2023 EKS-optimized (NVIDIA variant picked by instance type)
# release, pinned; never ``@latest``.
AL2023_AMI_ALIAS = "al2023@v20260903"


# EleutherAI's lm-evaluation-harness, the quality harness of the eval Jobs (components/llm_tiers/evaluation/):
# pip-installed (its `api` extra: requests, aiohttp, tenacity, tqdm, tiktoken) into IMAGES['python'] at this
# version. v0.4.12 is the newest tag whose source (CLI lm_eval/_cli/run.py, chat client
# lm_eval/models/openai_completions.py) could be read here; PyPI also has 0.4.13.
LM_EVAL_VERSION = "0.4.12"


# Container images, always by explicit tag (digests are added when a registry is reachable to resolve
# them; the policy pack rejects ``latest`` and untagged images).
IMAGES: dict[str, str] = {
    # Hugging Face Text Generation Inference, the default engine (docs/components/model-tier.md).
    "tgi": "ghcr.io/huggingface/text-generation-inference:3.3.6",
    # vLLM 0.33.0, the second engine (components/llm_tiers/tiers/vllm.py). Built on
    # nvidia/cuda:13.0.3-base-ubuntu24.04 (vllm-project/vllm v0.33.0 docker/Dockerfile ``ARG CUDA_VERSION=13.0.3``,
    # docker/versions.json); "CUDA 13 requires an R580 or newer driver" (docs/getting_started/installation/
    # gpu.cuda.inc.md). The AL2023 NVIDIA AMIs ship the 580 driver (awslabs/amazon-eks-ami v20260724
    # templates/al2023/variables-default.json ``"nvidia_driver_major_version": "580"``; CHANGELOG of v20260714:
    # kmod-nvidia-latest-dkms 580.159.03 for k8s 1.30-1.36), >= CUDA 13.0's minimum 580.65.06, so the image runs
    # natively and VLLM_ENABLE_CUDA_COMPATIBILITY stays at the image's 0. Its TORCH_CUDA_ARCH_LIST covers every
    # GPU of gpu/catalog.py from 7.5 (T4) to 9.0 (H100/H200). Move it only with the AMI alias below in mind.
    "vllm": "docker.io/vllm/vllm-openai:v0.33.0",
    "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless",
    # Python for the eval Jobs (lm-evaluation-harness pip-installed at LM_EVAL_VERSION, and the eval-set scorer) and
    # the promotion gate (standard-library scripts from a ConfigMap: llm_tiers.evaluation.scripts).
    "python": "docker.io/library/python:3.13.7-slim-bookworm",
    # The gateway's request guard: OPA with its Envoy ext_authz plugin, the static (no libc) variant. Release
    # v1.19.1-envoy of open-policy-agent/opa-envoy-plugin (OPA v1.19.1, go.mod); its Makefile tags the image
    # openpolicyagent/opa:<OPA version>-envoy[-<plugin rev>] and the static build "<that>-static"; the image runs
    # as 1000:1000 (Dockerfile), the Deployment sets its own non-root user.
    "opa-envoy": "docker.io/openpolicyagent/opa:1.19.1-envoy-static",
    # Valkey (Redis protocol) backing Envoy Gateway's global rate limits; counters only, no persistence.
    # 8.1.10, the newest 8.1 patch (2026-09-01; Docker Hub tags listed in valkey-io/valkey-io.github.io
    # content/download/releases/v8-1-10.md). 8.1.1 had the Lua use-after-free CVE-2025-49844 (RCE) and
    # CVE-2025-46817/46818/46819, fixed in 8.1.4 (github.com/valkey-io/valkey/releases/tag/8.1.4; valkey-io/valkey
    # issue #3473), and later ones fixed in 8.1.6 (CVE-2026-21863) and 8.1.7 (CVE-2026-23479, -25243, -23631;
    # valkey-io/valkey PR #3633). Patch releases of a minor line are cumulative. The store also refuses scripts
    # to every client (gateway/rate_limit_store.py), so a future Lua bug needs more than network access.
    "valkey": "docker.io/valkey/valkey:8.1.10-alpine",
    # GuideLLM, the benchmark harness (components/llm_tiers/benchmark/). vllm-project/guidellm v0.7.3: its
    # .github/workflows/release.yml runs on tags `v*.*.*` and pushes ghcr.io/vllm-project/guidellm:<tag>
    # (build-multiarch-container.yml; per-arch <tag>-amd64/-arm64 plus the manifest). Containerfile at the tag:
    # USER 1001:0, ENTRYPOINT guidellm, CMD run, any UID with GID 0 (OpenShift-style g=u permissions).
    # PyPI has 0.8.x, but no 0.8 git tag or workflow could be read here, so the pin stays on a verified tag.
    "guidellm": "ghcr.io/vllm-project/guidellm:v0.7.3",
    # The OpenTelemetry Collector's Kubernetes distribution (otelcol-k8s, which carries the k8sattributes processor:
    # open-telemetry/opentelemetry-collector-releases distributions/otelcol-k8s/manifest.yaml) at the
    # opentelemetry-collector chart's appVersion (0.158.0), set explicitly: the chart requires image.repository.
    "otel-collector": "docker.io/otel/opentelemetry-collector-k8s:0.158.0",
    # The AWS CLI v2 for the S3 weight mirror's transfers (tiers/mirror_manifests.py): the sync Job's upload and the
    # `weightsFrom: nvme` pods' copy onto local NVMe. Release 2.36.7 (aws/aws-cli tag 2.36.7, 2026-07-23; the CLI
    # publishes its image per release to ECR Public, public.ecr.aws/aws-cli/aws-cli). It needs >= 2.23.0 (checksums
    # validated on download by default, CHANGELOG) and the CRT transfer client (awscli/topics/s3-config.rst).
    "aws-cli": "public.ecr.aws/aws-cli/aws-cli:2.36.7",
}


def eks_addon_versions(kubernetes_version: str) -> dict[str, str]:
    """The pinned EKS add-on versions for a Kubernetes minor version.

    Raises KeyError with the supported versions when there is no pin set for it.
    """
    try:
        return dict(EKS_ADDONS[kubernetes_version])
    except KeyError:
        raise KeyError(
            f"no EKS add-on pins for Kubernetes {kubernetes_version}; "
            f"supported: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}"
        ) from None
