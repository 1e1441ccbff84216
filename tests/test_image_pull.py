"""Images without the pull: ``gpuClasses.<class>.imagePull: soci-parallel`` (gpu/karpenter.py, "image pull").

The EC2NodeClass's userData is read back the way Karpenter v1.14.1 and nodeadm read it (a MIME multi-part document,
its ``application/node.eks.aws`` parts decoded as NodeConfig YAML and merged with the NodeConfig Karpenter writes), the
rendered object validates against the pinned CRD, a bad value is refused at its key, and the rollout's image-pull
step is the one the figure gives.
"""

from __future__ import annotations

import email
import json
import math
from email import policy

import pytest
import yaml

from conftest import overrides, stack_values
from llm_tiers import timing
from llm_tiers.config.schema import ConfigError, GpuClassConfig
from llm_tiers.cost import bill
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu import karpenter
from llm_tiers.stack.parse import parse
from llm_tiers.testing import render as render_tool
from llm_tiers.testing import validate
from llm_tiers.tiers.manifests import WEIGHTS_BYTES_ANNOTATION, WEIGHTS_FROM_ANNOTATION

# nodeadm's NodeConfig at the AMI release the alias pins (awslabs/amazon-eks-ami v20260724 nodeadm/api/v1alpha1/
# nodeconfig_types.go): the group/version, and the feature gates its enum allows (``+kubebuilder:validation:Enum=
# {InstanceIdNodeName,FastImagePull}``; featureGates is ``map[Feature]bool``).
NODEADM_API = "node.eks.aws/v1alpha1"
NODEADM_FEATURE_GATES = {"InstanceIdNodeName", "FastImagePull"}
# The NodeConfig Karpenter v1.14.1 appends after the custom parts (pkg/providers/amifamily/bootstrap/nodeadm.go
# getNodeConfigYAML): cluster details, kubelet config and flags; no feature gates.
KARPENTER_NODE_CONFIG = ("# Karpenter Generated NodeConfig\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\n"
                         "spec:\n  cluster:\n    apiServerEndpoint: https://example.eks.amazonaws.com\n"
                         "    certificateAuthority: Y2E=\n    cidr: 172.20.0.0/16\n    name: llm-dev\n"
                         "  kubelet:\n    config:\n      maxPods: 58\n    flags:\n    - --node-labels=a=b\n")


def _parts(user_data: str) -> list[tuple[str, str]]:
    """(media type, body) of every part, as Go's net/mail + mime/multipart read them (Karpenter mime.NewArchive and
    nodeadm configprovider.ParseMaybeMultipart do the same): the top-level Content-Type must be multipart."""
    message = email.message_from_string(user_data, policy=policy.compat32)
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_maintype() == "multipart" and message.get_param("boundary")
    return [(p.get_content_type(), p.get_payload()) for p in message.get_payload()]


def _node_configs(user_data: str) -> list[dict]:
    """Every NodeConfig nodeadm would decode from the document (its media type ``application/node.eks.aws``)."""
    docs = []
    for media, body in _parts(user_data):
        if media == "application/node.eks.aws":
            docs += [d for d in yaml.safe_load_all(body) if d is not None]
    return docs


def _merge(dst: dict, src: dict) -> dict:
    """nodeadm's MergeNodeConfigs for maps (mergo.WithOverride: later values win, maps merge key by key)."""
    out = dict(dst)
    for k, v in src.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _karpenter_archive(custom: str) -> str:
    """What Karpenter puts in the launch template (before base64): the custom parts, then its own NodeConfig, in one
    MIME archive with boundary ``//`` (mime.Archive.Serialize)."""
    parts = [*_parts(custom), ("application/node.eks.aws", KARPENTER_NODE_CONFIG)]
    body = "".join(f"--//\nContent-Type: {media}\n\n{text}\n" for media, text in parts)
    return f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"\n\n{body}--//--\n'


def _soci_class(**extra) -> GpuClassConfig:
    return GpuClassConfig.model_validate({"instanceTypes": ["g6.xlarge", "g6.2xlarge"], "maxGpus": 4,
                                          "imagePull": "soci-parallel", **extra})


# ---------------------------------------------------------------------------------------------- pure


def test_soci_parallel_user_data_is_a_node_config_that_sets_fast_image_pull():
    nc = karpenter.ec2_node_class("l4", _soci_class(), "llm-dev", "llm-dev-karpenter-node", {})
    (config,) = _node_configs(nc["spec"]["userData"])
    assert config["apiVersion"] == NODEADM_API and config["kind"] == "NodeConfig"
    assert config["spec"] == {"featureGates": {"FastImagePull": True}}
    assert set(config["spec"]["featureGates"]) <= NODEADM_FEATURE_GATES
    # Nothing but the NodeConfig: no script part that Karpenter would run before nodeadm.
    assert [m for m, _ in _parts(nc["spec"]["userData"])] == ["application/node.eks.aws"]
    # Karpenter adds the cluster; nodeadm merges both parts into one NodeConfig with the gate set.
    merged: dict = {}
    for doc in _node_configs(_karpenter_archive(nc["spec"]["userData"])):
        merged = _merge(merged, doc)
    assert merged["spec"]["featureGates"] == {"FastImagePull": True}
    assert merged["spec"]["cluster"]["name"] == "llm-dev" and merged["spec"]["kubelet"]["config"]["maxPods"] == 58
    # The root volume at what the figure was measured on (gp3's maximum).
    (disk,) = nc["spec"]["blockDeviceMappings"]
    assert (disk["ebs"]["iops"], disk["ebs"]["throughput"]) == (16000, 1000)
    assert karpenter.image_pull_of(nc) == "soci-parallel"


def test_the_default_class_pulls_with_containerd_as_before():
    cls = GpuClassConfig.model_validate({"instanceTypes": ["g6.xlarge"], "maxGpus": 1})
    assert cls.image_pull == "containerd"
    nc = karpenter.ec2_node_class("l4", cls, "llm-dev", "role", {})
    assert "userData" not in nc["spec"] and karpenter.image_pull_of(nc) == "containerd"
    (disk,) = nc["spec"]["blockDeviceMappings"]
    assert (disk["ebs"]["iops"], disk["ebs"]["throughput"]) == (karpenter.ROOT_VOLUME_IOPS, karpenter.ROOT_VOLUME_MIBPS)
    # A NodeConfig without the gate, or one that sets it false, is no opt-in.
    off = yaml.safe_dump({"apiVersion": NODEADM_API, "kind": "NodeConfig",
                          "spec": {"featureGates": {"FastImagePull": False}}})
    assert karpenter.image_pull_of({"spec": {"userData": off}}) == "containerd"


def test_soci_parallel_root_volume_is_billed():
    # 200 GiB x $0.08 + (16,000 - 3,000) IOPS x $0.005 + (1,000 - 125) MiB/s x $0.04 a month.
    assert bill.gpu_root_volume_hourly(200, "soci-parallel") * 730 == pytest.approx(16 + 65 + 35)
    assert (bill.gpu_root_volume_hourly(200, "soci-parallel") - bill.gpu_root_volume_hourly(200)) * 730 == \
        pytest.approx(70)


# ---------------------------------------------------------------------------------------------- config


def test_a_bad_image_pull_value_is_refused_at_its_key():
    values = stack_values("dev")
    values["gpuClasses"]["l4"]["imagePull"] = "soci"
    with pytest.raises(ConfigError) as info:
        parse(values)
    issues = {i.path: i.message for i in info.value.issues}
    assert "gpuClasses.l4.imagePull" in issues, info.value
    assert "containerd" in issues["gpuClasses.l4.imagePull"] and "soci-parallel" in issues["gpuClasses.l4.imagePull"]


def test_soci_parallel_on_a_type_nodeadm_would_ignore_it_on_is_refused(monkeypatch):
    # nodeadm ignores the gate below 4 vCPUs or 7 GiB (nodeadm/internal/containerd/config.go UseSOCISnapshotter).
    small = gpu_catalog.InstanceType("g6.large", gpu_catalog.L4, 1, 2, 8, 0.5)
    monkeypatch.setitem(gpu_catalog.CATALOG, "g6.large", small)
    values = stack_values("dev")
    values["gpuClasses"]["l4"]["instanceTypes"] = ["g6.large", "g6.xlarge"]
    with pytest.raises(ConfigError) as info:
        parse(values)
    issues = {i.path: i.message for i in info.value.issues}
    assert "g6.large" in issues["gpuClasses.l4.imagePull"] and "4 vCPUs" in issues["gpuClasses.l4.imagePull"]
    values["gpuClasses"]["l4"]["imagePull"] = "containerd"
    assert parse(values).gpu_classes["l4"].image_pull == "containerd"


# ---------------------------------------------------------------------------------------------- timing


def test_fast_pull_time_is_the_figure_applied_to_containerds():
    f = timing.SOCI_PARALLEL_PULL_TIME
    # The figure is the measurement it cites: 1m7.272s / 2m18.049s, and 14% less time at the slow end.
    assert f.typical == round(67.272 / 138.049, 2) and f.slow == 1 - 0.14
    for engine, size in timing.ENGINE_IMAGE_BYTES.items():
        plain, fast = timing.image_pull(engine), timing.image_pull(engine, fast_pull=True)
        assert fast.typical_seconds == math.ceil(size.typical / timing.IMAGE_PULL_BYTES_PER_SECOND.typical * f.typical)
        assert fast.upper_seconds == math.ceil(size.slow / timing.IMAGE_PULL_BYTES_PER_SECOND.slow * f.slow)
        assert fast.upper_seconds < plain.upper_seconds and fast.typical_seconds < plain.typical_seconds
        # The budget is unchanged and still above the slow end.
        assert fast.budget_seconds == plain.budget_seconds >= fast.upper_seconds
        assert "karpenter-blueprints" in fast.source and "soci-snapshotter" in fast.source
    assert "sociParallelPullTimeFactor" in timing.figures()


def _rollout(result, tmp_path):
    target = render_tool.write_build(result, tmp_path)
    return json.loads((target / "rollout.json").read_text()), (target / "rollout.md").read_text(), \
        (target / "plan.md").read_text()


def test_dev_renders_the_fast_pull_and_shows_it_in_the_rollout(rendered, crd_schemas, tmp_path):
    r = rendered("dev")
    classes = r.objects_named("EC2NodeClass")
    assert karpenter.image_pull_of(classes["l4"]) == "soci-parallel"
    assert karpenter.image_pull_of(classes["weight-sync"]) == "containerd"
    problems, skipped = validate.validate_objects([classes["l4"]], "1.34", crd_schemas)
    assert not problems and not skipped, problems
    doc, md, plan_md = _rollout(r, tmp_path)
    (z,) = doc["scaleFromZero"]
    steps = {s["step"]: s for s in z["coldNode"]["steps"]}
    expected = timing.image_pull(z["engine"], fast_pull=True)
    assert steps["image pull (SOCI parallel pull)"]["upper_seconds"] == expected.upper_seconds
    assert steps["image pull (SOCI parallel pull)"]["typical_seconds"] == expected.typical_seconds
    assert "image pull" not in steps
    assert "| image pull (SOCI parallel pull) |" in md
    # plan.md's time to first token from zero is the rollout's, fast pull included.
    (line,) = [x for x in plan_md.splitlines() if x.startswith("- llm-tiers/chat-small-live")]
    assert f"≤ {round(z['coldNode']['upperSeconds'] / 60)} min" in line and "SOCI parallel pull" in line
    # The Deployment's create await estimates a replica on a fresh node with the fast pull too.
    (deploy,) = [x for x in doc["resources"] if x["label"] == "Deployment llm-tiers/chat-small-live"]
    annotations = r.objects_named("Deployment")["chat-small-live"]["metadata"]["annotations"]
    weights = int(annotations[WEIGHTS_BYTES_ANNOTATION])
    assert deploy["await"]["estimate_seconds"] == sum(
        s.upper_seconds for s in timing.replica_steps(weights, z["engine"], z["instanceTypes"], fast_pull=True,
                                                      weights_from=annotations[WEIGHTS_FROM_ANNOTATION]))


def test_a_class_without_the_opt_in_keeps_containerds_pull(rendered, tmp_path):
    for name, nc in rendered("prod").objects_named("EC2NodeClass").items():
        assert "userData" not in nc["spec"], name
    values = stack_values("dev")
    del values["gpuClasses"]["l4"]["imagePull"]
    result = render_tool.render("dev", overrides=overrides(values))
    assert "userData" not in result.objects_named("EC2NodeClass")["l4"]["spec"]
    doc, md, _ = _rollout(result, tmp_path)
    (z,) = doc["scaleFromZero"]
    assert "image pull" in {s["step"] for s in z["coldNode"]["steps"]}
    assert "SOCI parallel" not in md
