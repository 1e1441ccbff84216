"""Kubelet semantics as render checks (components/llm_tiers/preview/kubelet.py): what a real node refuses that
the API server accepts, checked on every pod template the render produces, and the render refusing it."""

from __future__ import annotations

import copy

import pytest

from llm_tiers.gateway import manifests as gm
from llm_tiers.preview import kubelet
from llm_tiers.preview import render as render_tool


STORE = "ratelimit-redis"


def _deployment(container, pod_security=None, volumes=(), labels=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "ns", "labels": labels or {}},
            "spec": {"template": {"spec": {"securityContext": pod_security or {}, "containers": [container],
                                           "volumes": list(volumes)}}}}


def _pod(dep):
    return dep["spec"]["template"]["spec"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_rendered_pod_passes(rendered, stack):
    objects = rendered(stack).kubernetes_objects()
    assert sum(1 for o in objects if kubelet.pod_template(o)) >= 4
    assert kubelet.problems(objects) == []


def test_store_without_fs_group_cannot_read_its_acl(rendered):
    """The rate-limit store (Valkey, non-root) reads its ACL file from a 0440 Secret: readable only through
    fsGroup. (The request guard that first crash-looped this way mounts no Secret any more.)"""
    dep = copy.deepcopy(rendered("prod").objects_named("Deployment")[STORE])
    assert kubelet.problems([dep]) == []
    uid = _pod(dep)["securityContext"]["runAsUser"]
    del _pod(dep)["securityContext"]["fsGroup"]
    found = kubelet.problems([dep])
    assert len(found) == 1 and "volume acl (secret)" in found[0].where
    assert f"uid {uid}" in found[0].message and "0o440" in found[0].message and "fsGroup" in found[0].message


def test_the_render_refuses_the_store_without_fs_group(monkeypatch):
    real = gm.redis

    def without_fs_group(*a, **kw):
        out = real(*a, **kw)
        for o in out:
            if o["kind"] == "Deployment":
                del o["spec"]["template"]["spec"]["securityContext"]["fsGroup"]
        return out

    monkeypatch.setattr(gm, "redis", without_fs_group)
    with pytest.raises(render_tool.RenderError, match=rf"Deployment llm-gateway/{STORE}, container valkey, "
                                                     r"volume acl \(secret\) file \*: uid \d+"):
        render_tool.render("dev")


@pytest.mark.parametrize("mode, pod_security, readable", [
    (0o440, {"runAsUser": 1000, "runAsGroup": 1000}, False),                     # root:root 0440
    (0o440, {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 2000}, True),    # root:2000, group in fsGroup
    (0o400, {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}, True),    # 0400 | 0440 with fsGroup
    (0o444, {"runAsUser": 1000}, True),                                          # world-readable
    (0o440, {"runAsUser": 1000, "supplementalGroups": [0]}, True),               # group root, as a supplementary group
    (0o400, {"runAsUser": 0}, True),                                             # root owns it
])
def test_secret_file_modes(mode, pod_security, readable):
    c = {"name": "c", "image": "i", "securityContext": {"capabilities": {"drop": ["ALL"]}},
         "volumeMounts": [{"name": "s", "mountPath": "/s", "readOnly": True}]}
    dep = _deployment(c, pod_security, [{"name": "s", "secret": {"secretName": "x", "defaultMode": mode}}])
    assert (kubelet.problems([dep]) == []) is readable


def test_item_modes_and_projected_volumes_are_read_per_file():
    c = {"name": "c", "image": "i",
         "volumeMounts": [{"name": "p", "mountPath": "/p"}, {"name": "m", "mountPath": "/m"}]}
    volumes = [{"name": "p", "projected": {"defaultMode": 0o444, "sources": [
                   {"secret": {"name": "a", "items": [{"key": "k", "path": "token", "mode": 0o400}]}}]}},
               {"name": "m", "configMap": {"name": "b", "items": [{"key": "x", "path": "ok"}]}}]
    found = kubelet.problems([_deployment(c, {"runAsUser": 7}, volumes)])
    assert [p.where for p in found] == ["container c, volume p (projected) file token"]


def test_read_only_root_needs_writable_mounts_where_the_process_writes():
    c = {"name": "c", "image": "i", "securityContext": {"readOnlyRootFilesystem": True},
         "args": ["--cache-dir", "/data/hub", "--download-dir=/models"],
         "env": [{"name": "HOME", "value": "/home/app"}, {"name": "TMPDIR", "value": "/tmp"},
                 {"name": "TRITON_CACHE_DIR", "value": "/tmp/triton"}, {"name": "CONFIG", "value": "/etc/x"}],
         "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"},
                          {"name": "cfg", "mountPath": "/models", "readOnly": True}]}
    volumes = [{"name": "scratch", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "w"}},
               {"name": "cfg", "configMap": {"name": "c", "defaultMode": 0o444}}]
    found = {p.where: p.message for p in kubelet.problems([_deployment(c, {"runAsUser": 10001}, volumes)])}
    assert set(found) == {"container c, env HOME=/home/app", "container c, arg --cache-dir=/data/hub",
                          "container c, arg --download-dir=/models"}
    assert "read-only root filesystem" in found["container c, env HOME=/home/app"]
    assert "fsGroup" in found["container c, arg --cache-dir=/data/hub"]
    assert "read-only" in found["container c, arg --download-dir=/models"]
    # with fsGroup the PVC is the pod's group's; HOME on the scratch volume: only the config map path is left
    c["env"][0]["value"] = "/tmp"
    found = kubelet.problems([_deployment(c, {"runAsUser": 10001, "fsGroup": 10001}, volumes)])
    assert [p.where for p in found] == ["container c, arg --download-dir=/models"]


def test_tgi_launcher_needs_its_shard_socket_directory():
    c = {"name": "tgi", "image": "ghcr.io/huggingface/text-generation-inference:3.3.6",
         "securityContext": {"readOnlyRootFilesystem": True}, "args": ["--port", "8080"]}
    assert [p.where for p in kubelet.problems([_deployment(c)])] == [
        "container tgi, TGI's default --shard-uds-path=/tmp/text-generation-server"]
    c["command"] = ["python", "/scripts/sync_weights.py"]   # the image, but not the launcher
    assert kubelet.problems([_deployment(c)]) == []


@pytest.mark.parametrize("probe_port, ports, args, expect", [
    ("http", [{"name": "http", "containerPort": 8080}], ["--port", "8080"], None),
    ("metrics", [{"name": "http", "containerPort": 8080}], [], "names no port"),
    (9090, [{"name": "http", "containerPort": 8080}], [], "not a declared containerPort"),
    ("http", [{"name": "http", "containerPort": 8080}], ["--port=8000"], "serves on --port 8000"),
])
def test_probes_hit_a_port_the_container_serves(probe_port, ports, args, expect):
    c = {"name": "c", "image": "i", "ports": ports, "args": args,
         "readinessProbe": {"httpGet": {"path": "/health", "port": probe_port}}}
    found = kubelet.problems([_deployment(c)])
    if expect is None:
        assert found == []
    else:
        assert len(found) == 1 and expect in found[0].message and "readinessProbe.httpGet.port" in found[0].where


def test_tgi_env_setting_a_guarded_flag_is_refused_with_the_tier_key(rendered):
    r = rendered("prod")  # dev's one tier runs vLLM
    dep = next(o for o in r.kubernetes_objects() if o["kind"] == "Deployment" and "tgi" in
               o["spec"]["template"]["spec"]["containers"][0]["name"])
    dep = copy.deepcopy(dep)
    _pod(dep)["containers"][0]["env"].append({"name": "MAX_TOTAL_TOKENS", "value": "999999"})
    tiers = [t for t in kubelet.tier_names({"llm-tiers:tiers": '[{"name": "other"}, {"name": "%s"}]'
                                            % dep["metadata"]["labels"]["llm-tiers.io/tier"]})]
    found = kubelet.problems([dep], tiers)
    assert len(found) == 1 and found[0].key == "tiers[1]" and "--max-total-tokens" in found[0].message
    assert str(found[0]).startswith("tiers[1]: Deployment ")
