"""The policy pack's rules as plain functions over what a provider receives (type token + camelCase
props), so they are unit-tested with hand-built arguments and run on every rendered stack.

``pulumi preview --policy-pack policy`` applies them (``__main__.py`` wraps them); every rule is
mandatory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Optional

Report = Callable[[str, Optional[str]], None]

TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference"
VLLM_IMAGE = "docker.io/vllm/vllm-openai"
ENGINE_IMAGES = (TGI_IMAGE, VLLM_IMAGE)
MAX_CONTEXT_ANNOTATION = "llm-tiers.io/max-context"
# On a warm-capacity placeholder Deployment (components/llm_tiers/gpu/warm.py): it runs an engine image only to
# have it pulled, serves nothing and is preempted, not drained, so it needs no PodDisruptionBudget.
WARM_CAPACITY_LABEL = "llm-tiers.io/warm-capacity"
SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL)", re.I)
SECRET_VALUE = re.compile(r"(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})")
POD_SPEC_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


class Resource(NamedTuple):
    type: str
    props: Mapping[str, Any]
    name: str = ""


def _kind(r: Resource) -> str:
    return r.type.rsplit(":", 1)[-1]


def _pod_spec(props: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    spec = props.get("spec") or {}
    template = spec.get("template") or {}
    return template.get("spec") if template else None


def _containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    pod = _pod_spec(props) or {}
    return list(pod.get("containers") or []) + list(pod.get("initContainers") or [])


def _flag(args: list[str], name: str) -> Optional[str]:
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


# ---------------------------------------------------------------------------------------------- resource rules


def tgi_output_caps(r: Resource, report: Report) -> None:
    """Every TGI container sets --max-total-tokens and --max-input-tokens, input below total, total within the
    model's context when the Deployment states it."""
    if not r.type.startswith("kubernetes:") or _kind(r) not in POD_SPEC_KINDS:
        return
    max_context = ((r.props.get("metadata") or {}).get("annotations") or {}).get(MAX_CONTEXT_ANNOTATION)
    for c in _containers(r.props):
        if not str(c.get("image", "")).startswith(TGI_IMAGE) or c.get("command"):
            continue  # the weight-sync Job runs a script with the TGI image; it serves nothing
        args = [str(a) for a in c.get("args") or []]
        total, inp = _flag(args, "--max-total-tokens"), _flag(args, "--max-input-tokens")
        if total is None or inp is None:
            report(f"container {c.get('name')}: TGI must run with --max-total-tokens and --max-input-tokens", None)
            continue
        if int(inp) >= int(total):
            report(f"container {c.get('name')}: --max-input-tokens {inp} must be below --max-total-tokens {total}",
                   None)
        if max_context and int(total) > int(max_context):
            report(f"container {c.get('name')}: --max-total-tokens {total} exceeds the model's context {max_context}",
                   None)


def vllm_output_caps(r: Resource, report: Report) -> None:
    """Every vLLM server sets --max-model-len within the model's context and an output cap below it
    (--override-generation-config with max_new_tokens): vLLM has no prompt cap, so without them a request
    could run to the model's whole context."""
    if not r.type.startswith("kubernetes:") or _kind(r) not in POD_SPEC_KINDS:
        return
    max_context = ((r.props.get("metadata") or {}).get("annotations") or {}).get(MAX_CONTEXT_ANNOTATION)
    for c in _containers(r.props):
        if not str(c.get("image", "")).startswith(VLLM_IMAGE) or c.get("command"):
            continue  # the weight-sync Job runs a script with the engine's image; it serves nothing
        args = [str(a) for a in c.get("args") or []]
        total, override = _flag(args, "--max-model-len"), _flag(args, "--override-generation-config")
        try:
            cap = json.loads(override).get("max_new_tokens") if override else None
        except (ValueError, AttributeError):
            cap = None
        if total is None or cap is None:
            report(f"container {c.get('name')}: vLLM must run with --max-model-len and --override-generation-config "
                   "'{\"max_new_tokens\": N}'", None)
            continue
        if int(cap) >= int(total):
            report(f"container {c.get('name')}: max_new_tokens {cap} must be below --max-model-len {total}", None)
        if max_context and int(total) > int(max_context):
            report(f"container {c.get('name')}: --max-model-len {total} exceeds the model's context {max_context}",
                   None)


def pinned_images_and_charts(r: Resource, report: Report) -> None:
    """Images carry an explicit tag or digest (never latest); Helm releases name a version."""
    if r.type == "kubernetes:helm.sh/v3:Release":
        if not r.props.get("version"):
            report(f"Helm release {r.props.get('name', r.name)} has no chart version", None)
        return
    for c in _containers(r.props):
        image = str(c.get("image", ""))
        name, _, tag = image.rpartition(":")
        if "@sha256:" in image:
            continue
        if not name or "/" in tag or tag in ("", "latest"):
            report(f"container {c.get('name')}: image {image!r} is not pinned to a tag or digest", None)


def gpu_requests_equal_limits(r: Resource, report: Report) -> None:
    for c in _containers(r.props):
        res = c.get("resources") or {}
        req = (res.get("requests") or {}).get("nvidia.com/gpu")
        lim = (res.get("limits") or {}).get("nvidia.com/gpu")
        if (req is not None or lim is not None) and str(req) != str(lim):
            report(f"container {c.get('name')}: nvidia.com/gpu requests ({req}) must equal limits ({lim})", None)


# Environment variables that name where a secret is, not the secret (a path is not a credential).
SECRET_PATH_ENV = frozenset({"HF_TOKEN_PATH"})
HF_TOKEN_SECRET = "hf-token"


def no_plaintext_secrets(r: Resource, report: Report) -> None:
    """No secret-looking env values, no credentials in ConfigMaps, and the HF token only in a Job: as a
    mounted file from the hf-token Secret (or, at most, an env secretKeyRef), never in a serving pod."""
    kind = _kind(r)
    if kind == "ConfigMap":
        for key, value in (r.props.get("data") or {}).items():
            if SECRET_VALUE.search(str(value)):
                report(f"ConfigMap key {key} holds what looks like a credential", None)
        return
    for c in _containers(r.props):
        for env in c.get("env") or []:
            name = str(env.get("name", ""))
            if "value" in env and SECRET_ENV.search(name) and env.get("value") and name not in SECRET_PATH_ENV:
                report(f"container {c.get('name')}: env {name} has a plaintext value; use a secretKeyRef", None)
            if "value" in env and SECRET_VALUE.search(str(env.get("value"))):
                report(f"container {c.get('name')}: env {name} holds what looks like a credential", None)
            if name == "HF_TOKEN" and (kind != "Job" or "secretKeyRef" not in json.dumps(env.get("valueFrom") or {})):
                report(f"container {c.get('name')}: HF_TOKEN may only reach weight-sync Jobs, via a secretKeyRef", None)
    for volume in (_pod_spec(r.props) or {}).get("volumes") or []:
        if (volume.get("secret") or {}).get("secretName") == HF_TOKEN_SECRET and kind != "Job":
            report(f"volume {volume.get('name')}: the {HF_TOKEN_SECRET} Secret may only be mounted by weight-sync Jobs",
                   None)


def iam_no_star_on_star(r: Resource, report: Report) -> None:
    if r.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy"):
        return
    raw = r.props.get("policy")
    doc = json.loads(raw) if isinstance(raw, str) else raw or {}
    statements = doc.get("Statement") or []
    for s in statements if isinstance(statements, list) else [statements]:
        actions = s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")]
        resources = s.get("Resource") if isinstance(s.get("Resource"), list) else [s.get("Resource")]
        if s.get("Effect") == "Allow" and "*" in actions and "*" in resources:
            report(f"statement {s.get('Sid', '')!r} allows every action on every resource", None)


def eks_secrets_encryption(r: Resource, report: Report) -> None:
    if r.type != "aws:eks/cluster:Cluster":
        return
    enc = r.props.get("encryptionConfig") or {}
    if "secrets" not in (enc.get("resources") or []) or not (enc.get("provider") or {}).get("keyArn"):
        report("EKS cluster must envelope-encrypt Kubernetes secrets with a KMS key", None)


def imdsv2_required(r: Resource, report: Report) -> None:
    """Every node launch path requires IMDSv2: launch templates, managed node groups, Karpenter node classes."""
    if r.type == "aws:ec2/launchTemplate:LaunchTemplate":
        if (r.props.get("metadataOptions") or {}).get("httpTokens") != "required":
            report("launch template must set metadataOptions.httpTokens = required (IMDSv2)", None)
    elif r.type == "aws:eks/nodeGroup:NodeGroup":
        if not r.props.get("launchTemplate"):
            report("managed node group must use a launch template that requires IMDSv2", None)
    elif r.type.endswith(":EC2NodeClass"):
        if ((r.props.get("spec") or {}).get("metadataOptions") or {}).get("httpTokens") != "required":
            report("EC2NodeClass must set metadataOptions.httpTokens = required (IMDSv2)", None)


RESOURCE_RULES: dict[str, tuple[str, Callable[[Resource, Report], None]]] = {
    "tgi-output-caps": ("TGI serves with explicit token limits within the model's context", tgi_output_caps),
    "vllm-output-caps": ("vLLM serves with an explicit context and output cap within the model's context",
                         vllm_output_caps),
    "pinned-images-and-charts": ("Images and charts are pinned (no latest, no missing version)",
                                 pinned_images_and_charts),
    "gpu-requests-equal-limits": ("GPU containers request nvidia.com/gpu equal to their limit",
                                  gpu_requests_equal_limits),
    "no-plaintext-secrets": ("No plaintext secrets in env or ConfigMaps; the HF token only in Jobs (a "
                             "mounted Secret file)",
                             no_plaintext_secrets),
    "iam-no-star-on-star": ("IAM policies never allow * actions on * resources", iam_no_star_on_star),
    "eks-secrets-encryption": ("EKS envelope-encrypts secrets with KMS", eks_secrets_encryption),
    "imdsv2-required": ("IMDSv2 is required on every node launch path", imdsv2_required),
}


# ---------------------------------------------------------------------------------------------- stack rule


def tier_hygiene(resources: Iterable[Resource], report: Report) -> None:
    """Every serving Deployment has a PodDisruptionBudget and a NetworkPolicy selecting it, and an
    autoscaler (KEDA ScaledObject or HPA) with a maximum — unless it runs fixed replicas."""
    resources = list(resources)
    by_kind: dict[str, list[Resource]] = {}
    for r in resources:
        by_kind.setdefault(_kind(r), []).append(r)

    def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    for d in by_kind.get("Deployment", []):
        if not any(str(c.get("image", "")).startswith(ENGINE_IMAGES) for c in _containers(d.props)):
            continue
        meta = d.props.get("metadata") or {}
        name, ns = meta.get("name"), meta.get("namespace")
        labels = ((d.props.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        same_ns = lambda r: (r.props.get("metadata") or {}).get("namespace") == ns  # noqa: E731
        placeholder = WARM_CAPACITY_LABEL in (meta.get("labels") or {})
        spec_labels = lambda p, key: ((p.props.get("spec") or {}).get(key, {}).get("matchLabels") or {})  # noqa: E731
        if not placeholder and not any(same_ns(p) and selects(spec_labels(p, "selector"), labels)
                                       for p in by_kind.get("PodDisruptionBudget", [])):
            report(f"Deployment {ns}/{name} has no PodDisruptionBudget", None)
        if not any(same_ns(p) and selects(spec_labels(p, "podSelector"), labels)
                   for p in by_kind.get("NetworkPolicy", [])):
            report(f"Deployment {ns}/{name} has no NetworkPolicy", None)
        fixed = "replicas" in (d.props.get("spec") or {})
        scaled = any(same_ns(s) and (s.props.get("spec") or {}).get("scaleTargetRef", {}).get("name") == name
                     and (s.props.get("spec") or {}).get("maxReplicaCount")
                     for s in by_kind.get("ScaledObject", []))
        hpa = any(same_ns(h) and (h.props.get("spec") or {}).get("scaleTargetRef", {}).get("name") == name
                  and (h.props.get("spec") or {}).get("maxReplicas")
                  for h in by_kind.get("HorizontalPodAutoscaler", []))
        if not (fixed or scaled or hpa):
            report(f"Deployment {ns}/{name} leaves replicas to an autoscaler but none with a maximum targets it", None)


# ---------------------------------------------------------------------------------------------- pack


def policies() -> list:
    """The pack's policies (all mandatory), wrapping the rules above."""
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

    def resource_policy(name: str, description: str, rule: Callable[[Resource, Report], None]):
        def validate(args, report_violation):
            rule(Resource(args.resource_type, args.props, args.name), report_violation)
        return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                        enforcement_level=EnforcementLevel.MANDATORY)

    def stack(args, report_violation):
        tier_hygiene([Resource(r.resource_type, r.props, r.name) for r in args.resources], report_violation)

    return [resource_policy(n, d, f) for n, (d, f) in RESOURCE_RULES.items()] + [
        StackValidationPolicy(name="tier-hygiene", validate=stack, enforcement_level=EnforcementLevel.MANDATORY,
                              description="Every tier has a PDB, a NetworkPolicy and a bounded autoscaler")]
