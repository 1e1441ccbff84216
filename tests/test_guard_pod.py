"""The max-tokens guard run as its pod runs it (tests/podrun.py): the rendered Deployment's command, env, uid/gid,
fsGroup, read-only root and memory limit, its script and config from the rendered ConfigMap, the tenant keys
written by "the kubelet" root-owned with the Secret volume's defaultMode. In-process tests (as root) cannot see
a permission problem; this one fails with PermissionError when the pod has no fsGroup (issue 24, item 1).

Self-contained on purpose: the guard may be replaced (OPA), and this file goes with it."""

from __future__ import annotations

import copy
import json
import time

import pytest

import podrun
from llm_tiers.gateway import guard

KEYS = {"search": b"sk-search", "support-bot": b"sk-support", "support-bot-previous": b"sk-old"}
CLIENT = r"""
import json, sys, urllib.request, urllib.error
base, key, body = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(base + ("/healthz" if body == "-" else "/check/v1/chat/completions"),
                             data=None if body == "-" else body.encode(), method="GET" if body == "-" else "POST",
                             headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=3) as r:
        print(json.dumps([r.status, r.read().decode()]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, e.read().decode()]))
"""


def _objects(rendered):
    r = rendered("prod")
    return copy.deepcopy(r.objects_named("Deployment")[guard.NAME]), r.objects_named("ConfigMap")[guard.NAME]


def _start(dep, cm):
    files = {"guard": {k: v.encode() for k, v in cm["data"].items()}, "keys": KEYS}
    return podrun.start(dep, "guard", files=files)


def _call(pod, body="-", key="sk-search"):
    got = pod.in_netns(["/usr/bin/python3", "-c", CLIENT, f"http://127.0.0.1:{guard.PORT}", key, body], timeout=10)
    return json.loads(got.stdout) if got.returncode == 0 and got.stdout.strip() else None


def test_the_guard_pod_serves_as_uid_65534_with_its_fs_group(rendered):
    dep, cm = _objects(rendered)
    pod_sc = dep["spec"]["template"]["spec"]["securityContext"]
    assert pod_sc["runAsUser"] == 65534
    pod = _start(dep, cm)
    try:
        answer = None
        for _ in range(50):
            if pod.proc.poll() is not None:
                break
            answer = _call(pod)
            if answer:
                break
            time.sleep(0.1)
        code, out, err = (pod.proc.returncode, "", "") if pod.proc.poll() is None else pod.wait()
        assert answer == [200, "ok"], f"the guard did not serve /healthz (exit {code}): {err[-2000:]}"
        caps = json.loads(cm["data"][guard.CONFIG_KEY])["caps"]
        model, cap = next(iter(caps.items()))
        too_many = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": cap + 1})
        status, body = _call(pod, too_many)
        assert status == 400 and json.loads(body)["error"]["code"] == "max_tokens_too_large"
        # support-bot must send max_tokens: the guard knows the tenant, so it read the key files
        status, body = _call(pod, json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
                             key="sk-support")
        assert status == 400 and json.loads(body)["error"]["code"] == "max_tokens_required", body
        # what ran: the rendered identity and the rendered memory limit
        proc_status = open(f"/proc/{pod.proc.pid}/status").read()  # unshare, sh, chroot, setpriv, env exec python
        assert "\nUid:\t65534\t65534\t65534\t65534" in proc_status
        assert "65534" in proc_status.split("\nGroups:\t", 1)[1].split("\n", 1)[0]
        assert pod.memory.startswith(("memory cgroup", "RLIMIT_AS")), pod.memory
    finally:
        pod.cleanup()


def test_without_fs_group_the_guard_cannot_read_its_keys_and_exits(rendered):
    dep, cm = _objects(rendered)
    del dep["spec"]["template"]["spec"]["securityContext"]["fsGroup"]
    pod = _start(dep, cm)
    try:
        code, out, err = pod.wait(timeout=30)
        assert code != 0 and "PermissionError" in err, (code, err[-2000:])
        assert "tenant-keys/search" in err or "tenant-keys" in err
    finally:
        pod.cleanup()
