"""The ``gateway`` and ``tenants`` sections."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union  # noqa: F401

from pydantic import Field, StringConstraints, field_validator, model_validator  # noqa: F401

# The shared types and patterns (and the modules the validators use), by name.
from llm_tiers.config.base import *  # noqa: F401,F403
from llm_tiers.config.base import _cidr, _Model  # noqa: F401


class LimitsConfig(_Model):
    requests_per_minute: PositiveInt = Field(
        ...,
        description="Sustained requests per minute per tenant and tier: one counter for the "
        "tier's name and all its aliases. At most 128 tenants per tier "
        "(a policy holds 256 rate-limit rules, two per tenant and tier).",
    )
    burst_per_second: PositiveInt = Field(
        ...,
        description="Requests per second allowed in a burst, per tenant "
        "and tier (one counter for the tier's name and all its aliases).",
    )
    max_request_body_bytes: int = Field(
        1_048_576,
        gt=0,
        le=2_000_000,
        description="Largest request body accepted for a tier. The gateway buffers the body before it checks "
        "grants (chunked bodies are measured too): a body over the largest limit of any tenant of the "
        "tier gets HTTP 413, whoever sends it (even a tenant without the tier); a body under that but "
        "over this tenant's own limit gets 403. At most 2,000,000: TGI's own payload limit "
        "(`--payload-limit`).",
    )
    tokens_per_minute: Optional[PositiveInt] = Field(
        None,
        description="Token budget per tenant per minute over all its tiers (prompt + generated tokens, as "
        "the engine reports them). Charged when a response completes, so a request is admitted "
        "before its tokens are known: a tenant can overshoot by the requests in flight when the "
        "budget runs out; the next request then gets 429 until the minute resets. A streamed request "
        "must then set `stream_options.include_usage` (else 400 `stream_usage_required`): a "
        "stream is charged its usage chunk. One counter per tenant whatever model name it calls and "
        'whichever route serves it (docs/components/gateway.md, "Each budget is one counter"); '
        "at most 256 tenants with a budget when the stack needs more than one route. Unset: no "
        "token budget.",
    )


class TlsConfig(_Model):
    mode: Literal["acm", "cert-manager"] = Field(
        "acm",
        description="`acm`: TLS terminated at the NLB with an ACM certificate; `cert-manager`: the NLB "
        "passes TCP through and Envoy terminates TLS with a certificate cert-manager (installed "
        "by the platform, Gateway API support on) issues for `hostname` from `issuer`.",
    )
    certificate_arn: Optional[Annotated[str, StringConstraints(pattern=ACM_ARN)]] = Field(
        None, description="ACM certificate ARN (required with `mode: acm`)."
    )
    issuer: Optional[Annotated[str, StringConstraints(pattern=DNS_NAME_OR_LABEL)]] = Field(
        None,
        description="cert-manager issuer that signs the listener's certificate (required with "
        "`mode: cert-manager`; it must exist, the platform does not create it). With an "
        "internal NLB, use a DNS-01 solver: an ACME server cannot reach the HTTP-01 challenge.",
    )
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = Field(
        "ClusterIssuer", description="Kind of `issuer` (an `Issuer` must live in the gateway's namespace)."
    )


class DnsConfig(_Model):
    """ExternalDNS keeps `gateway.hostname` pointing at the gateway's NLB in one Route 53 hosted zone."""

    hosted_zone_id: Annotated[str, StringConstraints(pattern=HOSTED_ZONE_ID)] = Field(
        ...,
        description="Route 53 hosted zone that holds `gateway.hostname` (e.g. `Z0123456789ABCDEFGHIJ`). "
        "ExternalDNS's role may change records in this zone only, and only the hostname's. An "
        "internal NLB resolves to private addresses: use a private zone associated with the VPC "
        "unless clients outside it may learn them.",
    )
    zone_name: Annotated[str, StringConstraints(pattern=DNS_NAME)] = Field(
        ...,
        description="DNS name of that zone (e.g. `example.com`); `gateway.hostname` must be in it. Also "
        "ExternalDNS's domain filter.",
    )
    txt_owner_id: Optional[Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)]] = Field(
        None,
        description="Owner id ExternalDNS writes into its TXT ownership records, so stacks sharing a zone "
        "never touch each other's records. Default: the cluster name.",
    )


class RateLimitingConfig(_Model):
    """What Envoy does when it cannot get an answer from the rate limiter (Envoy Gateway's `rateLimit.failClosed`
    and `rateLimit.timeout`, one setting for the whole Envoy Gateway installation)."""

    fail_closed: bool = Field(
        False,
        description="`false` (default): while the rate limiter or its store (one Valkey pod) is down or "
        "slower than `timeoutMilliseconds`, requests pass without per-tenant limits (TGI's own "
        "`--max-concurrent-requests` still answers 429 when a tier is full). `true`: they are "
        "answered 500 instead, so an outage of the store is an outage of every tier.",
    )
    timeout_milliseconds: int = Field(
        20,
        ge=5,
        le=1000,
        description="How long Envoy waits for the rate limiter's answer before it applies "
        "`failClosed` (Envoy Gateway's default: 20).",
    )


class GatewayConfig(_Model):
    """Envoy Gateway: the OpenAI-compatible entry point with per-tenant keys and limits."""

    hostname: Annotated[str, StringConstraints(pattern=DNS_NAME)] = Field(
        ..., description="Public DNS name of the API (clients use `base_url=https://<hostname>/v1` and `model=<tier>`)."
    )
    load_balancer_scheme: Literal["internal", "internet-facing"] = Field(
        "internal",
        description="NLB scheme: `internal` (private addresses in the private subnets) or "
        "`internet-facing` (the public subnets). The AWS Load Balancer Controller, which the "
        "platform installs, creates the NLB.",
    )
    source_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Client CIDRs allowed through the NLB. Required when the scheme is `internet-facing`.",
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS termination.")
    replicas: int = Field(2, ge=2, le=20, description="Envoy proxy replicas, spread across zones (at least 2).")
    default_limits: LimitsConfig = Field(
        default_factory=lambda: LimitsConfig(requests_per_minute=60, burst_per_second=5),
        description="Limits for tenants that set none.",
    )
    request_timeout_seconds: int = Field(
        600, ge=30, le=3600, description="Whole-request timeout for a route (long enough for streaming)."
    )
    stream_idle_timeout_seconds: int = Field(
        120,
        ge=10,
        le=3600,
        description="A stream with no bytes for this long is closed. Envoy also counts the wait for the response "
        "headers as idle (a non-streaming completion sends nothing until it is done), so the gateway "
        "never applies less than `requestTimeoutSeconds`: a lower value is raised to it.",
    )
    features: list[Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=40)]] = Field(
        default_factory=list,
        max_length=50,
        description="Feature names clients may send in the `x-llm-feature` header to attribute usage and cost "
        "(e.g. `search`, `summarize`). The gateway keeps a listed value, replaces any other with `other` and a "
        "missing header with `none`, so the label stays bounded; it tags the request's spans and usage metrics "
        "with it (`llm:tenant_tokens_rate{feature=...}`, `llm:tenant_hourly_usd`). Empty: no feature attribution "
        "(the header is ignored). At most 50; `other` and `none` are reserved.",
    )
    per_tier_urls: bool = Field(
        True,
        description="Deprecated, kept for one release: also serve each tier at `https://<hostname>/<tier>/v1` "
        "(the `model` field is then ignored). Set false once clients use the single base URL "
        '(`https://<hostname>/v1` with `model=<tier>`); README "Calling a tier" has the '
        "migration note.",
    )
    rate_limiting: RateLimitingConfig = Field(
        default_factory=RateLimitingConfig,
        description="Behaviour of the per-tenant rate limits when their store cannot answer.",
    )
    dns: Optional[DnsConfig] = Field(
        None,
        description="Create the DNS record of `hostname` with ExternalDNS. Unset: nothing does; the stack "
        'outputs `gatewayAddress` (the NLB\'s name) and README "First day" has the one manual step.',
    )


PREVIOUS_KEY_SUFFIX = "-previous"  # client id of a tenant's previous API key during a rotation


class TenantConfig(_Model):
    name: TenantName = Field(..., description="Tenant id (a Kubernetes label value).")
    tiers: list[TierName] = Field(..., min_length=1, description="Tiers this tenant may call.")
    limits: Optional[LimitsConfig] = Field(None, description="This tenant's limits; default: `gateway.defaultLimits`.")
    require_max_tokens: bool = Field(
        False,
        description="Refuse this tenant's requests that set no output limit: `max_tokens` or "
        "`max_completion_tokens` on `/v1/chat/completions`, `max_tokens` on `/v1/completions`, "
        "`max_output_tokens` on `/v1/responses` (HTTP 400, OpenAI error `max_tokens_required`; "
        "the gateway's request guard, OPA), so no request runs to the tier's whole context. "
        "Either way, a value above the tier's `maxOutputTokens` is refused (400 "
        "`max_tokens_too_large`), never clamped.",
    )
    rotate: int = Field(
        0,
        ge=0,
        description="Increment to issue the tenant a new API key. The previous key stays "
        "valid beside it (no outage while clients move) until `dropPreviousKey: true`.",
    )
    drop_previous_key: bool = Field(
        False,
        description="After a rotation, stop accepting the previous key: set it once the tenant's clients use "
        "the new one (previews warn while a previous key is valid), and back to false before the "
        "next `rotate` for another overlap (while true, a rotation cuts the old key at once). The "
        "grace period ends with this reviewed change, not a clock: previews have none, and the "
        "same commit must render the same everywhere.",
    )

    @property
    def previous_key_valid(self) -> bool:
        """Whether the key before the last rotation is still accepted (client id ``<name>-previous``)."""
        return self.rotate >= 1 and not self.drop_previous_key
