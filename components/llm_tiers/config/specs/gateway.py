"""The ``gateway`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Optional, Required, TypedDict


class TlsSpec(TypedDict, total=False):
    """``TlsConfig`` as plain data."""
    mode: str
    """`acm`: TLS terminated at the NLB with an ACM certificate; `cert-manager`: the NLB passes TCP through and Envoy terminates TLS with a certificate cert-manager (installed by the platform, Gateway API support on) issues for `hostname` from `issuer`. One of: ``acm``, ``cert-manager``. Default: ``'acm'``. (stack file key ``mode``)"""
    certificate_arn: Optional[str]
    """ACM certificate ARN (required with `mode: acm`). Default: ``None``. (stack file key ``certificateArn``)"""
    issuer: Optional[str]
    """cert-manager issuer that signs the listener's certificate (required with `mode: cert-manager`; it must exist, the platform does not create it). With an internal NLB, use a DNS-01 solver: an ACME server cannot reach the HTTP-01 challenge. Default: ``None``. (stack file key ``issuer``)"""
    issuer_kind: str
    """Kind of `issuer` (an `Issuer` must live in the gateway's namespace). One of: ``ClusterIssuer``, ``Issuer``. Default: ``'ClusterIssuer'``. (stack file key ``issuerKind``)"""


class LimitsSpec(TypedDict, total=False):
    """``LimitsConfig`` as plain data."""
    requests_per_minute: Required[int]
    """Sustained requests per minute per tenant and tier: one counter for the tier's name and all its aliases. At most 128 tenants per tier (a policy holds 256 rate-limit rules, two per tenant and tier). (stack file key ``requestsPerMinute``)"""
    burst_per_second: Required[int]
    """Requests per second allowed in a burst, per tenant and tier (one counter for the tier's name and all its aliases). (stack file key ``burstPerSecond``)"""
    max_request_body_bytes: int
    """Largest request body accepted for a tier. The gateway buffers the body before it checks grants (chunked bodies are measured too): a body over the largest limit of any tenant of the tier gets HTTP 413, whoever sends it (even a tenant without the tier); a body under that but over this tenant's own limit gets 403. At most 2,000,000: TGI's own payload limit (`--payload-limit`). Default: ``1048576``. (stack file key ``maxRequestBodyBytes``)"""
    tokens_per_minute: Optional[int]
    """Token budget per tenant per minute over all its tiers (prompt + generated tokens, as the engine reports them). Charged when a response completes, so a request is admitted before its tokens are known: a tenant can overshoot by the requests in flight when the budget runs out; the next request then gets 429 until the minute resets. A streamed request must then set `stream_options.include_usage` (else 400 `stream_usage_required`): a stream is charged its usage chunk. One counter per tenant whatever model name it calls and whichever route serves it (docs/components/gateway.md, "Each budget is one counter"); at most 256 tenants with a budget when the stack needs more than one route. Unset: no token budget. Default: ``None``. (stack file key ``tokensPerMinute``)"""


class RateLimitingSpec(TypedDict, total=False):
    """``RateLimitingConfig`` as plain data. What Envoy does when it cannot get an answer from the rate limiter (Envoy Gateway's `rateLimit.failClosed`
    and `rateLimit.timeout`, one setting for the whole Envoy Gateway installation)."""
    fail_closed: bool
    """`false` (default): while the rate limiter or its store (one Valkey pod) is down or slower than `timeoutMilliseconds`, requests pass without per-tenant limits (TGI's own `--max-concurrent-requests` still answers 429 when a tier is full). `true`: they are answered 500 instead, so an outage of the store is an outage of every tier. Default: ``False``. (stack file key ``failClosed``)"""
    timeout_milliseconds: int
    """How long Envoy waits for the rate limiter's answer before it applies `failClosed` (Envoy Gateway's default: 20). Default: ``20``. (stack file key ``timeoutMilliseconds``)"""


class DnsSpec(TypedDict, total=False):
    """``DnsConfig`` as plain data. ExternalDNS keeps `gateway.hostname` pointing at the gateway's NLB in one Route 53 hosted zone."""
    hosted_zone_id: Required[str]
    """Route 53 hosted zone that holds `gateway.hostname` (e.g. `Z0123456789ABCDEFGHIJ`). ExternalDNS's role may change records in this zone only, and only the hostname's. An internal NLB resolves to private addresses: use a private zone associated with the VPC unless clients outside it may learn them. (stack file key ``hostedZoneId``)"""
    zone_name: Required[str]
    """DNS name of that zone (e.g. `example.com`); `gateway.hostname` must be in it. Also ExternalDNS's domain filter. (stack file key ``zoneName``)"""
    txt_owner_id: Optional[str]
    """Owner id ExternalDNS writes into its TXT ownership records, so stacks sharing a zone never touch each other's records. Default: the cluster name. (stack file key ``txtOwnerId``)"""


class GatewaySpec(TypedDict, total=False):
    """``GatewayConfig`` as plain data. Envoy Gateway: the OpenAI-compatible entry point with per-tenant keys and limits."""
    hostname: Required[str]
    """Public DNS name of the API (clients use `base_url=https://<hostname>/v1` and `model=<tier>`). (stack file key ``hostname``)"""
    load_balancer_scheme: str
    """NLB scheme: `internal` (private addresses in the private subnets) or `internet-facing` (the public subnets). The AWS Load Balancer Controller, which the platform installs, creates the NLB. One of: ``internal``, ``internet-facing``. Default: ``'internal'``. (stack file key ``loadBalancerScheme``)"""
    source_cidrs: list[str]
    """Client CIDRs allowed through the NLB. Required when the scheme is `internet-facing`. Default: empty. (stack file key ``sourceCidrs``)"""
    tls: TlsSpec
    """TLS termination. (stack file key ``tls``)"""
    replicas: int
    """Envoy proxy replicas, spread across zones (at least 2). Default: ``2``. (stack file key ``replicas``)"""
    default_limits: LimitsSpec
    """Limits for tenants that set none. (stack file key ``defaultLimits``)"""
    request_timeout_seconds: int
    """Whole-request timeout for a route (long enough for streaming). Default: ``600``. (stack file key ``requestTimeoutSeconds``)"""
    stream_idle_timeout_seconds: int
    """A stream with no bytes for this long is closed. Envoy also counts the wait for the response headers as idle (a non-streaming completion sends nothing until it is done), so the gateway never applies less than `requestTimeoutSeconds`: a lower value is raised to it. Default: ``120``. (stack file key ``streamIdleTimeoutSeconds``)"""
    features: list[str]
    """Feature names clients may send in the `x-llm-feature` header to attribute usage and cost (e.g. `search`, `summarize`). The gateway keeps a listed value, replaces any other with `other` and a missing header with `none`, so the label stays bounded; it tags the request's spans and usage metrics with it (`llm:tenant_tokens_rate{feature=...}`, `llm:tenant_hourly_usd`). Empty: no feature attribution (the header is ignored). At most 50; `other` and `none` are reserved. Default: empty. (stack file key ``features``)"""
    per_tier_urls: bool
    """Deprecated, kept for one release: also serve each tier at `https://<hostname>/<tier>/v1` (the `model` field is then ignored). Set false once clients use the single base URL (`https://<hostname>/v1` with `model=<tier>`); README "Calling a tier" has the migration note. Default: ``True``. (stack file key ``perTierUrls``)"""
    rate_limiting: RateLimitingSpec
    """Behaviour of the per-tenant rate limits when their store cannot answer. (stack file key ``rateLimiting``)"""
    dns: Optional[DnsSpec]
    """Create the DNS record of `hostname` with ExternalDNS. Unset: nothing does; the stack outputs `gatewayAddress` (the NLB's name) and README "First day" has the one manual step. Default: ``None``. (stack file key ``dns``)"""


class TenantSpec(TypedDict, total=False):
    """``TenantConfig`` as plain data."""
    name: Required[str]
    """Tenant id (a Kubernetes label value). (stack file key ``name``)"""
    tiers: Required[list[str]]
    """Tiers this tenant may call. (stack file key ``tiers``)"""
    limits: Optional[LimitsSpec]
    """This tenant's limits; default: `gateway.defaultLimits`. Default: ``None``. (stack file key ``limits``)"""
    require_max_tokens: bool
    """Refuse this tenant's requests that set no output limit: `max_tokens` or `max_completion_tokens` on `/v1/chat/completions`, `max_tokens` on `/v1/completions`, `max_output_tokens` on `/v1/responses` (HTTP 400, OpenAI error `max_tokens_required`; the gateway's request guard, OPA), so no request runs to the tier's whole context. Either way, a value above the tier's `maxOutputTokens` is refused (400 `max_tokens_too_large`), never clamped. Default: ``False``. (stack file key ``requireMaxTokens``)"""
    rotate: int
    """Increment to issue the tenant a new API key. The previous key stays valid beside it (no outage while clients move) until `dropPreviousKey: true`. Default: ``0``. (stack file key ``rotate``)"""
    drop_previous_key: bool
    """After a rotation, stop accepting the previous key: set it once the tenant's clients use the new one (previews warn while a previous key is valid), and back to false before the next `rotate` for another overlap (while true, a rotation cuts the old key at once). The grace period ends with this reviewed change, not a clock: previews have none, and the same commit must render the same everywhere. Default: ``False``. (stack file key ``dropPreviousKey``)"""
