"""The max_tokens guardrail: the ext_authz script run for real on loopback with the config the render ships,
and its wiring (SecurityPolicy extAuth, Service, NetworkPolicies)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from conftest import stack_values
from llm_tiers.config.schema import ConfigError, parse
from llm_tiers.gateway import aigw, guard
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway.scripts import max_tokens_guard as script


def objs(result, kind):
    return result.objects_named(kind)


@pytest.fixture(scope="module")
def served(tmp_path_factory, rendered):
    """The guard with prod's rendered config and a keys folder shaped like the tenant-keys Secret."""
    r = rendered("prod")
    cm = objs(r, "ConfigMap")[guard.NAME]
    folder = tmp_path_factory.mktemp("guard")
    (folder / guard.CONFIG_KEY).write_text(cm["data"][guard.CONFIG_KEY])
    keys = folder / "keys"
    keys.mkdir()
    for client, key in {"search": "sk-search", "support-bot": "sk-support", "support-bot-previous": "sk-old",
                        "analytics": "sk-analytics"}.items():
        (keys / client).write_text(key)
    config = json.loads(cm["data"][guard.CONFIG_KEY])
    server = script.serve(config, script.Keys(keys, config["previousSuffix"]), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def call(base: str, key: str, body, path: str = "/check/v1/chat/completions", method: str = "POST"):
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def chat(model: str, **extra):
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize("key,body,status,code", [
    ("sk-support", chat("chat-small"), 400, "max_tokens_required"),          # required for support-bot
    ("sk-old", chat("chat-small"), 400, "max_tokens_required"),              # its previous key too
    ("sk-support", chat("chat-small", max_tokens=256), 200, None),
    ("sk-support", chat("llama-3.1-8b-instruct", max_completion_tokens=2048), 200, None),
    ("sk-search", chat("chat-small"), 200, None),                            # not required for search
    ("sk-search", chat("chat-small", max_tokens=2049), 400, "max_tokens_too_large"),   # above maxOutputTokens
    ("sk-search", chat("llama-3.1-8b-instruct", max_completion_tokens=4000), 400, "max_tokens_too_large"),
    ("sk-search", chat("chat-small", max_tokens=0), 400, "invalid_max_tokens"),
    ("sk-search", chat("chat-small", max_tokens="10"), 400, "invalid_max_tokens"),
    ("sk-analytics", chat("chat-large", max_tokens="CAP"), 200, None),       # chat-large: maxTotal - maxInput
    ("sk-analytics", chat("chat-large", max_tokens="CAP+1"), 400, "max_tokens_too_large"),
    ("sk-support", chat("gpt-4o"), 200, None),                               # unknown model: the route's 404
    ("sk-support", b"not json", 200, None),
    ("sk-unknown", chat("chat-small", max_tokens=99999), 400, "max_tokens_too_large"),  # cap needs no tenant
    # search has a token budget: a stream must ask for its usage chunk, or the budget would count nothing
    ("sk-search", chat("chat-small", stream=True), 400, "stream_usage_required"),
    ("sk-search", chat("chat-small", stream=True, stream_options={"include_usage": False}), 400,
     "stream_usage_required"),
    ("sk-search", chat("chat-small", stream=True, stream_options={"include_usage": True}), 200, None),
    ("sk-search", chat("chat-small", stream=False), 200, None),
    ("sk-analytics", chat("chat-large", stream=True), 200, None),            # analytics: no token budget
])
def test_guard_answers(served, key, body, status, code):
    large = parse(stack_values("prod")).tiers[1]
    cap = large.max_total_tokens - large.max_input_tokens
    if isinstance(body, dict) and body.get("max_tokens") in ("CAP", "CAP+1"):
        body = {**body, "max_tokens": cap + (body["max_tokens"] == "CAP+1")}
    got, out = call(served, key, body)
    assert got == status, out
    if code:
        err = json.loads(out)["error"]
        assert err["code"] == code and err["message"] and err["type"] == "invalid_request_error"


def test_guard_lets_other_requests_through(served):
    assert call(served, "sk-support", None, path="/check/v1/models", method="GET")[0] == 200
    assert call(served, "sk-support", chat("chat-small"), path="/check/v1/embeddings")[0] == 200
    assert call(served, "sk-support", None, path="/healthz", method="GET") == (200, b"ok")


def test_the_route_calls_the_guard_with_the_body(rendered):
    r = rendered("prod")
    sp = objs(r, "SecurityPolicy")[aigw.ROUTE_NAME]["spec"]
    ext = sp["extAuth"]
    assert ext["http"]["backendRefs"] == [{"name": guard.NAME, "port": guard.PORT}]
    svc = objs(r, "Service")[guard.NAME]
    assert svc["spec"]["ports"][0]["port"] == guard.PORT and svc["metadata"]["namespace"] == "llm-gateway"
    assert ext["failOpen"] is False and ext["statusOnError"] == 503
    assert "authorization" in ext["headersToExtAuth"]
    buffer = objs(r, "BackendTrafficPolicy")[aigw.ROUTE_NAME]["spec"]["requestBuffer"]["limit"]
    assert ext["bodyToExtAuth"]["maxRequestBytes"] == buffer
    cfg = parse(stack_values("prod"))
    config = json.loads(objs(r, "ConfigMap")[guard.NAME]["data"][guard.CONFIG_KEY])
    assert config["caps"] == {"chat-small": 2048, "llama-3.1-8b-instruct": 2048,
                              "chat-large": cfg.tiers[1].max_total_tokens - cfg.tiers[1].max_input_tokens}
    assert config["requireMaxTokens"] == ["support-bot"]
    assert config["streamUsageRequired"] == sorted(
        t.name for t in cfg.tenants if (t.limits or cfg.gateway.default_limits).tokens_per_minute)
    assert config["streamUsageRequired"] == ["search", "support-bot"]
    dep = objs(r, "Deployment")[guard.NAME]["spec"]["template"]["spec"]
    (vol,) = [v for v in dep["volumes"] if "secret" in v]
    assert vol["secret"]["secretName"] == "tenant-api-keys"
    assert dep["securityContext"]["runAsNonRoot"] is True


def test_only_the_proxies_reach_the_guard(rendered):
    r = rendered("prod")
    nps = {o["metadata"]["name"]: o for o in r.kubernetes_objects()
           if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] in ("llm-gateway", "envoy-gateway-system")
           and o["metadata"]["name"] in (guard.NAME, "envoy-proxies")}
    (src,) = [rule for rule in nps[guard.NAME]["spec"]["ingress"]
              if any("podSelector" in p for p in rule["from"])]
    assert src["from"][0]["podSelector"]["matchLabels"] == gm.EG_PROXY
    assert "envoy-gateway-system" in json.dumps(src["from"][0]["namespaceSelector"])
    egress = nps["envoy-proxies"]["spec"]["egress"]
    assert any(e["to"][0].get("podSelector", {}).get("matchLabels") == guard.LABELS and
               e["ports"] == [{"port": guard.PORT, "protocol": "TCP"}] for e in egress)


def test_max_output_tokens_must_leave_room_for_a_prompt():
    values = stack_values("prod")
    values["tiers"][0]["maxOutputTokens"] = values["tiers"][0]["maxTotalTokens"]
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.maxOutputTokens"):
        parse(values)


def test_guard_pod_can_read_its_key_files(rendered):
    """As the kubelet writes a Secret volume: files root-owned with ``defaultMode``; their group becomes the pod's
    ``fsGroup`` only when one is set (kubernetes/kubernetes pkg/volume/volume_linux.go, SetVolumeOwnership). The
    guard's user must be able to read them, or it crash-loops and every request on the route gets 503."""
    dep = objs(rendered("prod"), "Deployment")[guard.NAME]
    pod = dep["spec"]["template"]["spec"]
    sc = pod["securityContext"]
    # the process's groups: runAsGroup, supplementalGroups and fsGroup (the kubelet adds it as a supplementary group)
    uid = sc["runAsUser"]
    gids = {sc.get("runAsGroup", 0), *sc.get("supplementalGroups", ()), *([sc["fsGroup"]] if "fsGroup" in sc else [])}
    for vol in pod["volumes"]:
        if "secret" not in vol:
            continue
        mode = vol["secret"].get("defaultMode", 0o644)
        group = sc.get("fsGroup")
        if group is not None:
            mode |= 0o440
        readable = uid == 0 or mode & 0o004 or (group is not None and group in gids and mode & 0o040)
        assert readable, f"{vol['name']}: uid {uid} cannot read root-owned mode {oct(mode)} files (fsGroup {group})"
