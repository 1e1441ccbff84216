"""The rate-limit store's access control and how Envoy Gateway's rate limiter reaches it (pure).

Envoy Gateway (v1.9.0) runs envoyproxy/ratelimit and points it at a Redis-protocol store; the platform's store
is one Valkey pod (``gateway_manifests.redis``). What the pieces do, read from their source:

* **Auth.** Envoy Gateway's ``rateLimit.backend.redis`` has ``url``/``urlRef`` and ``tls`` only, no password
  (envoyproxy/gateway v1.9.0 api/v1alpha1/envoygateway_types.go, RateLimitRedisSettings), but it merges
  ``provider.kubernetes.rateLimitDeployment.container.env`` into the rate limiter's container
  (internal/infrastructure/kubernetes/resource/resource.go ExpectedContainerEnv, called from
  internal/infrastructure/kubernetes/ratelimit/resource.go). envoyproxy/ratelimit reads ``REDIS_AUTH`` and,
  when it holds ``user:password``, sends ``AUTH user password`` on every new connection
  (src/settings/settings.go RedisAuth; src/redis/driver_impl.go createDialer; mediocregopher/radix v4.1.4
  conn.go, no HELLO or SELECT unless asked). So the password is a Secret in Envoy Gateway's namespace
  referenced by ``valueFrom.secretKeyRef``: the EnvoyGateway ConfigMap the chart renders holds only the Secret's
  name. Valkey gets an ACL file (a Secret too) with the password's SHA-256 only.
* **Commands.** The rate limiter sends ``PING`` at startup, then pipelines of ``INCRBY``/``EXPIRE`` and ``GET``
  (src/redis/driver_impl.go, src/redis/fixed_cache_impl.go; no script, no other command). The ACL allows
  exactly those to its user and disables the ``default`` user, so nobody can run ``EVAL``/``FUNCTION`` (the
  Lua engine of CVE-2025-49844), ``CONFIG``, ``MODULE``, ``DEBUG``, ``FLUSHALL`` or ``KEYS`` on the store.
  (envoyproxy/ratelimit read at commit f2fb157, 2026-07-05, the newest in the mirror; Envoy Gateway v1.9.0
  pins the image ``ratelimit:17b1956c`` from 2026-08, api/v1alpha1/shared_types.go DefaultRateLimitImage:
  recheck the command list when either moves.)
* **When the store or the rate limiter is down.** A Redis error makes the rate limiter answer the gRPC call
  with an error (src/service/ratelimit.go ShouldRateLimit recovers the RedisError); a dead rate limiter
  fails the call itself; either way Envoy's ``ratelimit`` filter then applies ``failure_mode_deny``, which
  Envoy Gateway sets from ``rateLimit.failClosed`` (internal/xds/translator/ratelimit.go). Default false:
  requests pass unlimited (fail open); true: every request on a rate-limited route is answered 500. The
  filter waits ``rateLimit.timeout`` for an answer (Envoy Gateway default 20 ms, envoygateway_types.go
  RateLimit.Timeout); a slower answer counts as a failure. Counters live in memory only: a store restart
  starts every window afresh. A rate limiter that starts while the store is away retries the connection
  (src/redis/driver_impl.go newClientImpl) and serves nothing meanwhile.
"""

from __future__ import annotations

import hashlib
from typing import Any

from llm_tiers import naming

ACL_SECRET = "ratelimit-redis-acl"        # in the store's namespace: users.acl (hash only)
ACL_KEY = "users.acl"
ACL_DIR = "/etc/valkey"
AUTH_SECRET = "ratelimit-redis-auth"      # in Envoy Gateway's namespace: REDIS_AUTH for the rate limiter
AUTH_KEY = "auth"
USER = "ratelimit"
# What envoyproxy/ratelimit sends (see the module docstring); AUTH needs no permission.
COMMANDS = ("ping", "get", "incrby", "expire")
PASSWORD_LENGTH = 40


def password_sha256(password: str) -> str:
    """The hex SHA-256 Valkey's ACL ``#<hash>`` rule takes instead of the password."""
    return hashlib.sha256(password.encode()).hexdigest()


def acl_file(password_hash: str) -> str:
    """Valkey ACL file: the rate limiter's user may run its four commands on any key and nothing else
    (``-@all`` first, ``resetchannels``: no Pub/Sub); the ``default`` user, which every connection starts as, is
    off, so an unauthenticated client can run nothing."""
    if len(password_hash) != 64 or any(c not in "0123456789abcdef" for c in password_hash):
        raise ValueError("password_hash must be a lowercase hex SHA-256")
    allowed = " ".join(f"+{c}" for c in COMMANDS)
    return (f"user default off resetkeys resetchannels -@all\n"
            f"user {USER} on #{password_hash} ~* resetchannels -@all {allowed}\n")


def redis_auth(password: str) -> str:
    """``REDIS_AUTH`` as envoyproxy/ratelimit parses it: ``user:password`` (the password has no colon)."""
    if ":" in password:
        raise ValueError("the password must not contain ':'")
    return f"{USER}:{password}"


def secret(name: str, namespace: str, key: str, value: Any) -> dict[str, Any]:
    """An Opaque Secret holding one key (``value`` stays a secret Output in the component)."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": naming.k8s_labels("ratelimit-redis", name)},
            "type": "Opaque", "stringData": {key: value}}


def envoy_gateway_rate_limit(redis_url: str, *, fail_closed: bool, timeout_ms: int) -> dict[str, Any]:
    """The EnvoyGateway config's ``rateLimit`` (envoygateway_types.go RateLimit at v1.9.0)."""
    return {"backend": {"type": "Redis", "redis": {"url": redis_url}},
            "failClosed": fail_closed, "timeout": f"{timeout_ms}ms"}


def rate_limiter_env(auth_secret: str = AUTH_SECRET) -> list[dict[str, Any]]:
    """The rate limiter's extra environment: its store password, from the Secret in Envoy Gateway's namespace."""
    return [{"name": "REDIS_AUTH", "valueFrom": {"secretKeyRef": {"name": auth_secret, "key": AUTH_KEY}}}]
