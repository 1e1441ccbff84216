"""ModelTier under mocks, composed in a program of its own: what Kubernetes would receive for one tier
(the stacks' tiers are checked in test_stack_tiers.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from llm_tiers.gpu import karpenter
from llm_tiers.tiers import models_lock
from llm_tiers.tiers import manifests as tier_manifests
from llm_tiers.tiers import weights
from llm_tiers import versions
from llm_tiers.config.schema import GpuClassConfig
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import validate

ROOT = Path(__file__).resolve().parents[1]
QWEN = "Qwen/Qwen2.5-7B-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"

PROGRAM = """
import json, pulumi
from llm_tiers import ModelTier, ModelTierArgs
from llm_tiers.arguments import spec_of
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.tiers.models_lock import load
from pathlib import Path
lock = load(Path({lock!r}))
tier = TierConfig.model_validate(json.loads({tier!r}))
candidate = lock_spec(lock.models[tier.candidate.model_id or tier.model_id]) if tier.candidate else None
t = ModelTier("chat", ModelTierArgs(tier=spec_of(tier), lock=lock_spec(lock.models[tier.model_id]),
              candidate_lock=candidate,
              instance_types=["g6.xlarge", "g6.2xlarge"], hf_token_secret={token!r},
              sync_node_selector={{"llm-tiers.io/node-role": "system"}}, otlp_endpoint={otlp!r},
              autoscaling={autoscaling!r}))
pulumi.export("url", t.service_url)
"""


def render_tier(
    tmp_path: Path, tier: dict, token: str | None = "hf-token", otlp: str | None = None, autoscaling: bool = True
):
    project = tmp_path / f"p{abs(hash(json.dumps([tier, token, otlp, autoscaling], sort_keys=True))) % 10**8}"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: tier\nruntime: python\n")
    (project / "__main__.py").write_text(
        textwrap.dedent(
            PROGRAM.format(
                lock=str(ROOT / "models.lock.json"),
                tier=json.dumps(tier),
                token=token,
                otlp=otlp,
                autoscaling=autoscaling,
            )
        )
    )
    result = render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=project)
    return result, {(o["kind"], o["metadata"]["name"]): o for o in result.kubernetes_objects()}


TIER = {
    "name": "chat",
    "modelId": QWEN,
    "gpuClass": "l4",
    "maxInputTokens": 4096,
    "maxTotalTokens": 8192,
    "replicas": {"min": 2, "max": 4},
}


@pytest.fixture(scope="module")
def tier_objects(tmp_path_factory):
    return render_tier(tmp_path_factory.mktemp("tier"), TIER)


def test_every_object_of_a_tier(tier_objects):
    _, objs = tier_objects
    assert set(objs) == {
        ("ConfigMap", "chat-weights-sync"),
        ("ServiceAccount", "chat-weights-sync"),
        ("ServiceAccount", "chat-server"),
        ("PersistentVolumeClaim", "chat-weights-a09a35458c"),
        ("Job", "chat-sync-a09a35458c"),
        ("Deployment", "chat-live"),
        ("PodDisruptionBudget", "chat-live"),
        ("Service", "chat"),
        ("NetworkPolicy", "chat"),
        ("NetworkPolicy", "chat-weights-sync"),
        ("ScaledObject", "chat-live"),
        ("PodMonitor", "chat"),
    }
    assert all(o["metadata"]["namespace"] == "llm-tiers" for o in objs.values())


def test_objects_validate_strictly(tier_objects):
    _, objs = tier_objects
    problems = [
        f"{k}: {m}" for k, o in objs.items() if validate.is_builtin(o) for m in validate.validate_core(o, "1.34")
    ]
    assert not problems, problems


def test_custom_resources_validate_against_the_crds(tier_objects, crd_schemas):
    _, objs = tier_objects
    custom = [o for o in objs.values() if not validate.is_builtin(o)]
    assert {o["kind"] for o in custom} == {"ScaledObject", "PodMonitor"}
    problems, skipped = validate.validate_objects(custom, "1.34", crd_schemas)
    assert not problems and not skipped, problems


def test_weights_cache_and_sync_job(tier_objects):
    _, objs = tier_objects
    lock = models_lock.load(ROOT / "models.lock.json").models[QWEN]
    pvc = objs[("PersistentVolumeClaim", "chat-weights-a09a35458c")]["spec"]
    assert pvc["accessModes"] == ["ReadWriteMany"] and pvc["storageClassName"] == "efs-weights"
    assert pvc["resources"]["requests"]["storage"] == f"{weights.pvc_size_gib(lock)}Gi"
    assert weights.pvc_size_gib(lock) * 2**30 >= sum(f.size for f in lock.files) * 1.25 - 2**30
    job = objs[("Job", "chat-sync-a09a35458c")]["spec"]
    assert job["backoffLimit"] >= 3 and job["activeDeadlineSeconds"] >= 900
    pod = job["template"]["spec"]
    (c,) = pod["containers"]
    args = c["args"]
    assert args[args.index("--revision") + 1] == lock.revision and args[args.index("--model-id") + 1] == QWEN
    assert json.loads(args[args.index("--files") + 1]) == [{"path": f.path, "size": f.size} for f in lock.files]
    assert c["image"] == versions.IMAGES["tgi"] and c["command"] == ["python", "/scripts/sync_weights.py"]
    # The token is a mounted file (HF_TOKEN_PATH), never an environment variable.
    assert "HF_TOKEN" not in {e["name"] for e in c["env"]}
    assert {"name": "HF_TOKEN_PATH", "value": "/var/run/secrets/huggingface/token"} in c["env"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["hf-token"]["secret"] == {
        "secretName": "hf-token",
        "defaultMode": 0o400,
        "items": [{"key": "HF_TOKEN", "path": "token"}],
    }
    assert {"name": "hf-token", "mountPath": "/var/run/secrets/huggingface", "readOnly": True} in c["volumeMounts"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and volumes["scratch"]["emptyDir"]
    assert c["resources"]["limits"]["cpu"] == "2", "the sync Job cannot starve the system nodes"
    assert pod["nodeSelector"] == {"llm-tiers.io/node-role": "system"} and "tolerations" not in pod
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}, "the sync Job binds no port"
    script = objs[("ConfigMap", "chat-weights-sync")]["data"]["sync_weights.py"]
    assert script == (ROOT / "components" / "llm_tiers" / "tiers" / "scripts" / "sync_weights.py").read_text()


def test_deployment(tier_objects):
    _, objs = tier_objects
    lock = models_lock.load(ROOT / "models.lock.json").models[QWEN]
    d = objs[("Deployment", "chat-live")]["spec"]
    pod = d["template"]["spec"]
    (c,) = pod["containers"]
    a = c["args"]
    flag = lambda name: a[a.index(name) + 1]  # noqa: E731
    assert c["image"] == versions.IMAGES["tgi"]
    assert (flag("--model-id"), flag("--revision")) == (QWEN, lock.revision)
    assert (flag("--max-input-tokens"), flag("--max-total-tokens"), flag("--num-shard")) == ("4096", "8192", "1")
    assert (flag("--hostname"), flag("--port"), flag("--usage-stats")) == ("0.0.0.0", "8080", "off")
    assert c["resources"]["requests"]["nvidia.com/gpu"] == c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert c["resources"]["requests"]["cpu"] == "3" and c["resources"]["requests"]["memory"] == "12Gi"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["HF_HUB_OFFLINE"] == "1" and "HF_TOKEN" not in env, "serving pods hold no Hub credential"
    assert "secretKeyRef" not in json.dumps(pod)
    sched = karpenter.tier_scheduling("l4")
    assert pod["nodeSelector"] == sched["nodeSelector"] and pod["tolerations"] == sched["tolerations"]
    pool = karpenter.node_pool("l4", GpuClassConfig(instance_types=["g6.xlarge"], max_gpus=4))
    assert pool["spec"]["template"]["metadata"]["labels"].items() >= pod["nodeSelector"].items()
    assert pod["enableServiceLinks"] is False and pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] > 180
    assert c["lifecycle"]["preStop"] == {"sleep": {"seconds": 15}}
    assert {v["name"]: v for v in pod["volumes"]}["shm"]["emptyDir"]["medium"] == "Memory"
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    # An unprivileged port: every capability dropped, none added back; a read-only root with scratch on /tmp.
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"name": "scratch", "mountPath": "/tmp"} in c["volumeMounts"] and env["HOME"] == "/tmp"
    assert {v["name"]: v for v in pod["volumes"]}["scratch"]["emptyDir"] == {"sizeLimit": "4Gi"}
    # The pinned image runs only as root: the exception is on the object, with its reason.
    notes = objs[("Deployment", "chat-live")]["metadata"]["annotations"]
    assert any(v.startswith("CKV_K8S_23=") and "issue 3082" in v for v in notes.values())
    assert "runAsNonRoot" not in pod["securityContext"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
        assert "initialDelaySeconds" not in c[probe]
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 300 + lock.weights_bytes / 2e8
    assert {s["topologyKey"] for s in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert d["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert "replicas" not in d, "KEDA's HPA owns the replica count; a value here would reset it every deploy"


def test_service_pdb_and_network_policy(tier_objects):
    result, objs = tier_objects
    svc = objs[("Service", "chat")]["spec"]
    assert svc["selector"]["llm-tiers.io/release"] == "live" and svc["ports"][0]["targetPort"] == "http"
    pdb = objs[("PodDisruptionBudget", "chat-live")]["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"] == svc["selector"]
    np = objs[("NetworkPolicy", "chat")]["spec"]
    sources = [
        rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in np["ingress"]
    ]
    assert sources == ["envoy-gateway-system", "monitoring"] and np["policyTypes"] == ["Ingress", "Egress"]
    assert np["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/component": "proxy",
        "app.kubernetes.io/managed-by": "envoy-gateway",
    }, "proxies only"
    assert [e["ports"][0]["port"] for e in np["egress"]] == [53], "no egress but DNS without tracing"
    sync = objs[("NetworkPolicy", "chat-weights-sync")]["spec"]
    job_labels = objs[("Job", "chat-sync-a09a35458c")]["spec"]["template"]["metadata"]["labels"]
    assert sync["podSelector"]["matchLabels"].items() <= job_labels.items(), "the policy selects the sync pods"
    assert sync["ingress"] == [] and sync["policyTypes"] == ["Ingress", "Egress"]
    assert sorted(p["port"] for e in sync["egress"] for p in e["ports"]) == [53, 53, 443]
    assert result.outputs()["url"] == "http://chat.llm-tiers.svc/v1"


def test_public_model_job_gets_no_token_reference(tmp_path):
    _, objs = render_tier(tmp_path, TIER, token=None)
    assert "HF_TOKEN" not in json.dumps(objs[("Job", "chat-sync-a09a35458c")])


def test_tracing_adds_otlp_flags_attributes_and_egress(tmp_path):
    _, objs = render_tier(tmp_path, TIER, otlp="http://otel-collector.observability:4317")
    (c,) = objs[("Deployment", "chat-live")]["spec"]["template"]["spec"]["containers"]
    assert c["args"][c["args"].index("--otlp-endpoint") + 1] == "http://otel-collector.observability:4317"
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"inference.backend=tgi,model_id={QWEN},tier=chat"
    assert len(objs[("NetworkPolicy", "chat")]["spec"]["egress"]) == 2


def test_blue_green_switch_is_a_one_line_diff(tmp_path):
    candidate = {**TIER, "candidate": {"modelId": LLAMA}}
    before, objs_before = render_tier(tmp_path, candidate)
    after, objs_after = render_tier(tmp_path, {**candidate, "serve": "candidate"})
    assert {
        ("Deployment", "chat-live"),
        ("Deployment", "chat-candidate"),
        ("Job", "chat-sync-0e9e39f249"),
        ("PersistentVolumeClaim", "chat-weights-0e9e39f249"),
    } <= set(objs_before)
    changed = [k for k in objs_before if objs_before[k] != objs_after[k]]
    assert changed == [("Service", "chat")]
    assert objs_after[("Service", "chat")]["spec"]["selector"]["llm-tiers.io/release"] == "candidate"
    diff = [
        (a, b)
        for a, b in zip(
            json.dumps(objs_before[("Service", "chat")], indent=1).splitlines(),
            json.dumps(objs_after[("Service", "chat")], indent=1).splitlines(),
        )
        if a != b
    ]
    assert len(diff) == 1


def test_autoscaling(tier_objects):
    _, objs = tier_objects
    so = objs[("ScaledObject", "chat-live")]["spec"]
    assert so["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-live"}
    assert (so["minReplicaCount"], so["maxReplicaCount"]) == (2, 4)
    assert so["fallback"] == {"failureThreshold": 3, "replicas": 2}
    triggers = {t["name"]: t for t in so["triggers"]}
    assert set(triggers) == {"queue-depth", "gpu-utilization"}
    q = triggers["queue-depth"]
    assert q["metricType"] == "AverageValue" and q["metadata"]["threshold"] == "8"
    assert q["metadata"]["query"] == 'sum(llm:tier_queue_depth{tier="chat",release="live"})'
    g = triggers["gpu-utilization"]
    assert g["metadata"]["threshold"] == "85" and "llm:tier_gpu_utilization_percent" in g["metadata"]["query"]
    behavior = so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert behavior["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]
    assert so["advanced"]["horizontalPodAutoscalerConfig"]["name"] == "keda-hpa-chat-live"
    pm = objs[("PodMonitor", "chat")]["spec"]
    (ep,) = pm["podMetricsEndpoints"]
    assert (ep["port"], ep["path"]) == ("http", "/metrics")
    targets = {r["targetLabel"] for r in ep["relabelings"]}
    assert targets == {"tier", "release", "model_id", "engine"}


def test_sporadic_tier_scales_to_zero_and_wakes_on_gateway_traffic(tmp_path):
    sporadic = {
        **TIER,
        "sporadic": True,
        "replicas": {"min": 0, "max": 2},
        "autoscaling": {"idleMinutesBeforeZero": 20},
    }
    _, objs = render_tier(tmp_path, sporadic)
    so = objs[("ScaledObject", "chat-live")]["spec"]
    assert so["minReplicaCount"] == 0 and so["cooldownPeriod"] == 1200
    wake = {t["name"]: t for t in so["triggers"]}["gateway-requests"]
    # Composed without a gateway's cluster list: the per-tier route's cluster (escaped for the regex match).
    assert 'envoy_cluster_name=~"httproute/llm-gateway/chat/rule/0"' in wake["metadata"]["query"]
    assert "envoy_cluster_upstream_cx_connect_fail" in wake["metadata"]["query"]
    assert wake["metadata"]["activationThreshold"] == "0.01"


def test_without_autoscaling_replicas_are_fixed_and_no_monitoring_objects(tmp_path):
    _, objs = render_tier(tmp_path, TIER, autoscaling=False)
    assert objs[("Deployment", "chat-live")]["spec"]["replicas"] == 2
    assert not {k for k in objs if k[0] in ("ScaledObject", "PodMonitor")}


def test_an_image_that_can_run_as_non_root_drops_the_root_exception():
    lock = models_lock.load(ROOT / "models.lock.json").models[QWEN]
    from llm_tiers.config.schema import TierConfig

    tier = TierConfig.model_validate(TIER)
    rel = tier_manifests.Release("live", QWEN, lock, "registry.example/tgi-nonroot:3.3.6", ())
    dep = tier_manifests.deployment(tier, rel, "llm-tiers", ["g6.xlarge"], run_as_user=10001)
    job = weights.sync_job(tier, rel, "llm-tiers", "cm", "hf-token", {}, run_as_user=10001)
    for obj in (dep, job):
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"] == {
            "seccompProfile": {"type": "RuntimeDefault"},
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
        }
        skipped = {v.split("=", 1)[0] for k, v in obj["metadata"]["annotations"].items() if k.startswith("checkov.io/")}
        assert not skipped & {"CKV_K8S_23", "CKV_K8S_40"}
