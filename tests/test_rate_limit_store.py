"""The rate-limit store as rendered: a patched Valkey, clients authenticated, scripts refused, the password only
in Secrets, and the failure mode of the limits stated and configurable (issue #16, defect 6)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import overrides, stack_values
from llm_tiers import versions
from llm_tiers.gateway import rate_limit_store as rls
from llm_tiers.preview import render as render_tool

# What envoyproxy/ratelimit sends to its store (src/redis/driver_impl.go, src/redis/fixed_cache_impl.go at
# f2fb157): written out here, not imported, so a change to the allowed set has to change this list too.
RATELIMIT_COMMANDS = {"ping", "get", "incrby", "expire"}


def _valkey(r):
    (dep,) = [o for o in r.kubernetes_objects() if o["kind"] == "Deployment"
              and o["metadata"]["name"] == "ratelimit-redis"]
    return dep["spec"]["template"]["spec"]


def _secret(r, namespace, name):
    (s,) = [o for o in r.kubernetes_objects() if o["kind"] == "Secret"
            and (o["metadata"]["namespace"], o["metadata"]["name"]) == (namespace, name)]
    return s


def _eg(r):
    (eg,) = [x for x in r.helm_releases() if x["name"] == "envoy-gateway"]
    return eg["values"]["config"]["envoyGateway"]


def test_valkey_is_on_a_release_with_the_lua_fixes():
    repo, tag = versions.IMAGES["valkey"].rsplit(":", 1)
    assert repo == "docker.io/valkey/valkey"
    major, minor, patch = (int(x) for x in re.match(r"^(\d+)\.(\d+)\.(\d+)(-alpine)?$", tag).groups()[:3])
    # CVE-2025-49844 (and 46817/46818/46819) are fixed from 8.1.4 on the 8.1 line; 8.0 and 7.2 have their own.
    assert (major, minor) >= (8, 1) and (major, minor, patch) >= (8, 1, 4), tag
    # The later 8.1 fixes (CVE-2026-21863 in 8.1.6; CVE-2026-23479/-25243/-23631 in 8.1.7).
    assert (major, minor) > (8, 1) or patch >= 7, tag


def test_store_reads_its_acl_from_a_secret_and_the_password_never_leaves_secrets(rendered):
    r = rendered("prod")
    pod = _valkey(r)
    (c,) = pod["containers"]
    acl_path = c["args"][c["args"].index("--aclfile") + 1]
    (mount,) = [m for m in c["volumeMounts"] if acl_path.startswith(m["mountPath"] + "/")]
    assert mount["readOnly"] is True
    (vol,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    acl = _secret(r, "llm-gateway", vol["secret"]["secretName"])
    assert set(acl["stringData"]) == {acl_path.rsplit("/", 1)[1]}
    # Redacted by the secret marker: the value reached Kubernetes as a secret Output.
    assert acl["stringData"][acl_path.rsplit("/", 1)[1]] == "[secret]"

    limiter = _eg(r)["provider"]["kubernetes"]["rateLimitDeployment"]["container"]
    (auth,) = [e for e in limiter["env"] if e["name"] == "REDIS_AUTH"]
    assert set(auth) == {"name", "valueFrom"}, "the password is referenced, never written into the EG ConfigMap"
    ref = auth["valueFrom"]["secretKeyRef"]
    # The rate limiter runs in Envoy Gateway's namespace: the Secret must be there.
    held = _secret(r, "envoy-gateway-system", ref["name"])
    assert held["stringData"] == {ref["key"]: "[secret]"}
    # Nothing else carries a password-looking REDIS_AUTH or an ACL rule.
    text = json.dumps([r.kubernetes_objects(), r.helm_releases(), r.aws_resources()])
    assert not re.search(r"ratelimit:[A-Za-z0-9]{%d}" % rls.PASSWORD_LENGTH, text)
    assert "user ratelimit" not in text


def test_acl_allows_the_rate_limiter_its_commands_and_nobody_scripts():
    text = rls.acl_file(rls.password_sha256("example"))
    users = {line.split()[1]: line.split()[2:] for line in text.splitlines()}
    assert set(users) == {"default", rls.USER}
    assert "off" in users["default"] and "-@all" in users["default"]
    rules = users[rls.USER]
    assert "on" in rules and f"#{rls.password_sha256('example')}" in rules
    assert not any(r.startswith(">") for r in rules), "only the hash is in the file"
    assert rules.index("-@all") < min(rules.index(f"+{c}") for c in RATELIMIT_COMMANDS)
    allowed = {r[1:] for r in rules if r.startswith("+")}
    assert allowed == RATELIMIT_COMMANDS
    with pytest.raises(ValueError):
        rls.acl_file("not-a-hash")
    assert rls.redis_auth("abc") == f"{rls.USER}:abc"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not (shutil.which("valkey-server") or shutil.which("redis-server")),
                    reason="no valkey-server/redis-server binary to try the ACL file on")
def test_the_acl_file_on_a_real_server(tmp_path):
    """The ACL as a real server applies it: the rate limiter's commands work, scripts, CONFIG and anonymous
    clients are refused."""
    server = shutil.which("valkey-server") or shutil.which("redis-server")
    cli = shutil.which("valkey-cli") or shutil.which("redis-cli")
    acl = tmp_path / "users.acl"
    acl.write_text(rls.acl_file(rls.password_sha256("s3cret")))
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--save", "", "--appendonly", "no", "--aclfile", str(acl),
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        def run(*args: str, user: str = rls.USER, password: str = "s3cret") -> str:
            auth = ["--user", user, "--pass", password, "--no-auth-warning"] if user else []
            return subprocess.run([cli, "-p", str(port), *auth, *args], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        for _ in range(50):
            if run("ping", user="") != "":
                break
            time.sleep(0.1)
        assert run("ping") == "PONG"
        assert run("incrby", "tenant_a_1", "3") == "3" and run("expire", "tenant_a_1", "60") == "1"
        assert run("get", "tenant_a_1") == "3"
        assert "NOPERM" in run("eval", "return 1", "0")
        assert "NOPERM" in run("function", "list")
        assert "NOPERM" in run("config", "get", "*")
        assert "NOPERM" in run("flushall")
        assert "NOAUTH" in run("get", "tenant_a_1", user="") or "NOPERM" in run("get", "tenant_a_1", user="")
        assert "NOAUTH" in run("ping", password="wrong")  # the AUTH fails, the connection stays anonymous
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("setting,expected", [
    (None, (False, "20ms")),
    ({"failClosed": True, "timeoutMilliseconds": 50}, (True, "50ms")),
])
def test_failure_mode_is_a_config_choice_defaulting_to_open(rendered, setting, expected):
    if setting is None:
        r = rendered("dev")
    else:
        values = stack_values("dev")
        values["gateway"]["rateLimiting"] = setting
        r = render_tool.render("dev", overrides=overrides(values))
    rl = _eg(r)["rateLimit"]
    assert (rl["failClosed"], rl["timeout"]) == expected
    assert rl["backend"] == {"type": "Redis", "redis": {"url": "ratelimit-redis.llm-gateway.svc.cluster.local:6379"}}
