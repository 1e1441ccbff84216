"""The request guard's policy run offline (tests and benchmarks/guard_bench.py): OPA's own Rego engine (the Go
``rego`` package of open-policy-agent/opa, through the ``opa-golib-python-bindings`` c-shared library) loaded
with the policy and data of the rendered ConfigMap, and inputs shaped as OPA-Envoy builds them from Envoy's
CheckRequest (open-policy-agent/opa-envoy-plugin envoyauth/request.go at v1.19.1-envoy: the v3 request as
JSON, ``input.attributes.request.http`` with ``method``, ``path``, lower-case ``headers`` and the UTF-8
``body``; ``skip-request-body-parse`` leaves the body to the policy).

Differences from the pod: the bindings embed OPA v1.20.2, the image OPA v1.19.1 (same Rego v1 language and
builtins used here); Envoy's side (API-key check, body buffering, 413 above ``maxRequestBytes``, gRPC) is not
run: the inputs are what it would send.

``CORPUS``: abusive and malformed requests, each with the verdict the gateway must give (status and error
code, or ``None`` for "let through").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional, Union

from llm_tiers.gateway import guard

DECISION = guard.DECISION_PATH.replace("/", ".")


def load_engine(configmap_data: dict[str, str]) -> Any:
    """An OPA engine with the ConfigMap's policy and data, as ``opa run`` loads its policy directory."""
    from opa_bindings import OpaEngine  # opa-golib-python-bindings (requirements-opa.txt)

    engine = OpaEngine()
    engine.add_policy(guard.POLICY_KEY, configmap_data[guard.POLICY_KEY])
    engine.add_data(json.loads(configmap_data[guard.DATA_KEY]))
    return engine


def check_input(tenant: Optional[str], body: Union[str, bytes], path: str = "/v1/chat/completions",
                method: str = "POST", content_type: Optional[str] = "application/json",
                headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """What OPA-Envoy gives the policy. A ``bytes`` body that is not UTF-8 is decoded with U+FFFD replacements
    (a protobuf string carries only UTF-8; where Envoy does not replace, the plugin cannot decode the request
    and Envoy answers the authorizer's error status: a refusal either way)."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    headers = {":method": method, ":path": path, ":authority": "llm.example.com", **(headers or {})}
    if tenant is not None:
        headers["x-tenant-id"] = tenant
    if content_type is not None:
        headers["content-type"] = content_type
    return {"attributes": {"request": {"http": {"id": "1", "method": method, "path": path, "host": "llm.example.com",
                                                "scheme": "https", "protocol": "HTTP/1.1", "headers": headers,
                                                "body": text, "size": str(len(text.encode()))}}},
            "version": {"ext_authz": "v3", "encoding": "protojson"}}


def decide(engine: Any, tenant: Optional[str], body: Union[str, bytes],
           **kw: Any) -> tuple[Optional[int], Optional[str], dict[str, Any]]:
    """(status or None when allowed, error code, the decision object)."""
    result = engine.eval_document(DECISION, check_input(tenant, body, **kw))
    if result["allowed"] is True:
        return None, None, result
    err = json.loads(result["body"])["error"]
    return result["http_status"], err["code"], result


@dataclass(frozen=True)
class Case:
    name: str
    tenant: Optional[str]
    body: Union[str, bytes]
    status: Optional[int]          # None: allowed
    code: Optional[str] = None
    path: str = "/v1/chat/completions"
    content_type: Optional[str] = "application/json"
    headers: Optional[dict[str, str]] = None   # more request headers (the policy must not trust them)


def _j(**fields: Any) -> str:
    return json.dumps(fields)


def _chat(model: Any = "chat-small", **extra: Any) -> str:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


MSG = [{"role": "user", "content": "hi"}]
S, SB, A = "search", "support-bot", "analytics"   # prod: budget; budget + requireMaxTokens; neither
TOO_LARGE, INVALID = "max_tokens_too_large", "invalid_max_tokens"
REQUIRED, USAGE = "max_tokens_required", "stream_usage_required"

CORPUS: list[Case] = [
    # model not a string
    Case("model list", S, _chat(["chat-small"]), 400, "invalid_model"),
    Case("model object", S, _chat({"name": "chat-small"}), 400, "invalid_model"),
    Case("model number", S, _chat(7), 400, "invalid_model"),
    Case("model null", S, _chat(None), 400, "invalid_model"),
    Case("model missing", S, _j(messages=MSG, max_tokens=10), 400, "invalid_model"),
    Case("model bool", S, _chat(True), 400, "invalid_model"),
    # not a JSON object
    Case("empty body", S, "", 400, "invalid_json"),
    Case("not json", S, "not json", 400, "invalid_json"),
    Case("truncated json", S, '{"model":"chat-small","max_tokens":99999', 400, "invalid_json"),
    Case("json array", S, "[" + _chat() + "]", 400, "invalid_request"),
    Case("json string", S, '"chat-small"', 400, "invalid_request"),
    Case("json number", S, "42", 400, "invalid_request"),
    Case("json null", S, "null", 400, "invalid_request"),
    Case("trailing garbage", S, _chat(max_tokens=10) + "x", 400, "invalid_json"),
    Case("two objects", S, _chat(max_tokens=10) + _chat(max_tokens=99999), 400, "invalid_json"),
    Case("single quotes", S, "{'model': 'chat-small'}", 400, "invalid_json"),
    Case("NaN cap", S, '{"model":"chat-small","max_tokens":NaN}', 400, "invalid_json"),
    Case("Infinity cap", S, '{"model":"chat-small","max_tokens":Infinity}', 400, "invalid_json"),
    # deep nesting and value floods
    Case("nesting 20000 deep", S, "[" * 20000 + "]" * 20000, 400, "invalid_json"),
    Case("nesting 20000 deep in a field", S, '{"model":"chat-small","x":' + "[" * 20000 + "]" * 20000 + "}", 400,
         "invalid_json"),
    Case("nesting 5000 deep, cap exceeded", S,
         '{"model":"chat-small","max_tokens":99999,"x":' + "[" * 5000 + "]" * 5000 + "}",
         400, TOO_LARGE),
    Case("350k empty objects", S, '{"model":"chat-small","x":[' + ",".join(["{}"] * 350_000) + "]}", 400,
         "request_too_complex"),
    Case("500k numbers", S, '{"model":"chat-small","x":[' + ",".join(["1"] * 500_000) + "]}", 400,
         "request_too_complex"),
    # non-UTF-8
    Case("latin-1 in a string, cap exceeded", S,
         b'{"model":"chat-small","max_tokens":99999,"messages":[{"role":"user","content":"caf\xe9"}]}',
         400, TOO_LARGE),
    Case("latin-1 outside strings", S, b'{"model":"chat-small",\xff"max_tokens":10}', 400, "invalid_json"),
    Case("utf-16 body", S, _chat(max_tokens=10).encode("utf-16"), 400, "invalid_json"),
    Case("lone surrogate escape, required", SB,
         '{"model":"chat-small","messages":[{"role":"user","content":"\\ud800"}]}',
         400, REQUIRED),
    # huge and odd numbers
    Case("5000-digit max_tokens", S, '{"model":"chat-small","max_tokens":' + "9" * 5000 + "}", 400, TOO_LARGE),
    Case("5000-digit max_completion_tokens", S, '{"model":"chat-small","max_completion_tokens":' + "9" * 5000 + "}",
         400, TOO_LARGE),
    Case("1e400", S, '{"model":"chat-small","max_tokens":1e400}', 400, TOO_LARGE),
    Case("2049.0", S, '{"model":"chat-small","max_tokens":2049.0}', 400, TOO_LARGE),
    Case("2048.5", S, '{"model":"chat-small","max_tokens":2048.5}', 400, TOO_LARGE),
    Case("negative", S, _chat(max_tokens=-1), 400, INVALID),
    Case("zero", S, _chat(max_tokens=0), 400, INVALID),
    Case("huge negative", S, '{"model":"chat-small","max_tokens":-' + "9" * 5000 + "}", 400, INVALID),
    Case("fraction", S, _chat(max_tokens=2.5), 400, INVALID),
    Case("1e-7", S, '{"model":"chat-small","max_tokens":1e-7}', 400, INVALID),
    Case("max_tokens string", S, _chat(max_tokens="10"), 400, INVALID),
    Case("max_tokens string above cap", S, _chat(max_tokens="99999"), 400, INVALID),
    Case("max_tokens list", S, _chat(max_tokens=[10]), 400, INVALID),
    Case("max_tokens object", S, _chat(max_tokens={"value": 10}), 400, INVALID),
    Case("max_tokens bool", S, _chat(max_tokens=True), 400, INVALID),
    Case("good max_tokens, bad max_completion_tokens", S, _chat(max_tokens=10, max_completion_tokens=99999), 400,
         TOO_LARGE),
    Case("max_output_tokens on chat", S, _chat(max_output_tokens=99999), 400, TOO_LARGE),
    Case("alias above cap", S, _chat("llama-3.1-8b-instruct", max_completion_tokens=4000), 400, TOO_LARGE),
    # duplicate keys: OPA (Go) keeps the last; AI Gateway (Go) and vLLM (Python json) too, TGI (serde) refuses
    Case("duplicate max_tokens, last big", S, '{"model":"chat-small","max_tokens":10,"max_tokens":99999}', 400,
         TOO_LARGE),
    Case("duplicate model, last known", S, '{"model":"gpt-4o","model":"chat-small","max_tokens":99999}', 400,
         TOO_LARGE),
    # stream and stream_options types
    Case('"stream": "true"', S, _chat(max_tokens=10, stream="true"), 400, "invalid_stream"),
    Case('"stream": 1', S, _chat(max_tokens=10, stream=1), 400, "invalid_stream"),
    Case('"stream": {}', S, _chat(max_tokens=10, stream={}), 400, "invalid_stream"),
    Case("stream_options list", S, _chat(max_tokens=10, stream=True, stream_options=[]), 400, "invalid_stream_options"),
    Case("stream_options string", S, _chat(max_tokens=10, stream=True, stream_options="x"), 400,
         "invalid_stream_options"),
    Case('include_usage "true"', S, _chat(max_tokens=10, stream=True, stream_options={"include_usage": "true"}), 400,
         "invalid_stream_options"),
    Case("completions stream without usage", S, _j(model="chat-small", prompt="hi", stream=True, max_tokens=10), 400,
         USAGE,
         path="/v1/completions"),
    Case("completions stream include_usage false", S,
         _j(model="chat-small", prompt="hi", stream=True, max_tokens=10, stream_options={"include_usage": False}), 400,
         USAGE,
         path="/v1/completions"),
    Case("completions stream, options null", S,
         _j(model="chat-small", prompt="hi", stream=True, max_tokens=10, stream_options=None), 400, USAGE,
         path="/v1/completions"),
    # requireMaxTokens
    Case("support-bot without max_tokens", SB, _chat(), 400, REQUIRED),
    Case("support-bot max_tokens null", SB, _chat(max_tokens=None), 400, REQUIRED),
    Case("support-bot only max_output_tokens on chat", SB, _chat(max_output_tokens=10), 400, REQUIRED),
    Case("support-bot responses without max_output_tokens", SB, _j(model="chat-small", input="hi"), 400, REQUIRED,
         path="/v1/responses"),
    Case("support-bot responses with max_tokens only", SB, _j(model="chat-small", input="hi", max_tokens=10), 400,
         REQUIRED,
         path="/v1/responses"),
    # path variants judged like the endpoint
    Case("path with query", S, _chat(max_tokens=99999), 400, TOO_LARGE, path="/v1/chat/completions?x=1"),
    Case("path trailing slash", S, _chat(max_tokens=99999), 400, TOO_LARGE, path="/v1/chat/completions/"),
    Case("path double slash", S, _chat(max_tokens=99999), 400, TOO_LARGE, path="//v1//chat//completions"),
    Case("path upper case", S, _chat(max_tokens=99999), 400, TOO_LARGE, path="/V1/Chat/Completions"),
    Case("responses above cap", S, _j(model="chat-small", input="hi", max_output_tokens=99999), 400, TOO_LARGE,
         path="/v1/responses"),
    Case("completions above cap", S, _j(model="chat-small", prompt="hi", max_tokens=99999), 400, TOO_LARGE,
         path="/v1/completions"),
    # content types the plugin would not parse: judged all the same
    Case("text/plain", S, _chat(max_tokens=99999), 400, TOO_LARGE, content_type="text/plain"),
    Case("no content-type", S, _chat(max_tokens=99999), 400, TOO_LARGE, content_type=None),
    Case("form content-type", S, _chat(max_tokens=99999), 400, TOO_LARGE,
         content_type="application/x-www-form-urlencoded"),
    # headers a client controls: the policy reads neither (Envoy does not even send them: headersToExtAuth;
    # the key is checked by api_key_auth, which takes the first Authorization value, and removed)
    Case("bad content-length", S, _chat(max_tokens=99999), 400, TOO_LARGE, headers={"content-length": "abc"}),
    Case("huge content-length", S, _chat(max_tokens=99999), 400, TOO_LARGE,
         headers={"content-length": "9" * 40}),
    Case("second authorization", SB, _chat(), 400, REQUIRED, headers={"authorization": "Bearer sk-other"}),
    # the tenant header: set by Envoy's API-key check (a client's own value is overwritten); anything else
    # would mean that check did not run, so the guard refuses
    Case("no tenant header", None, _chat(max_tokens=10), 409, "tenant_not_ready"),
    Case("unknown tenant", "mallory", _chat(max_tokens=10), 409, "tenant_not_ready"),
    Case("two tenants joined", "search,support-bot", _chat(max_tokens=10), 409, "tenant_not_ready"),
    Case("empty tenant", "", _chat(max_tokens=10), 409, "tenant_not_ready"),
    # let through (the route's 404 answers unknown models; GET /v1/models has no body)
    Case("unknown model", S, _chat("gpt-4o", max_tokens="x"), None),
    Case("models list", S, "", None, path="/v1/models"),
    Case("embeddings", S, _j(model="chat-small", input="hi"), None, path="/v1/embeddings"),
    Case("chat stream without usage (gateway adds it)", S, _chat(max_tokens=10, stream=True), None),
    Case("analytics completions stream without usage", A, _j(model="chat-large", prompt="hi", stream=True), None,
         path="/v1/completions"),
]
