# The gateway's request guard: OPA's Envoy ext_authz plugin evaluates `result` for every request on the
# OpenAI route, after Envoy Gateway's API-key check (the tenant is the header it forwards) and before AI
# Gateway. Data: data.llm_tiers_guard (data.json beside this file, rendered by llm_tiers.gateway.guard from
# the stack config). Decision shape: open-policy-agent/opa-envoy-plugin envoyauth/response.go at
# v1.19.1-envoy (`allowed`, `http_status`, `headers`, `body`).
#
# Fail closed by construction: a request on a judged endpoint is allowed only when every check holds
# positively (`ok`); anything else - an undefined value, an unexpected type, a builtin error - is refused,
# and `refusal` only picks the message.
package llm_tiers.guard

cfg := data.llm_tiers_guard

http := input.attributes.request.http

# The authenticated tenant (client id): Envoy's api_key_auth sets it, overwriting any client value.
tenant := http.headers["x-tenant-id"]

raw := object.get(http, "body", "")

# The endpoint, from the path without its query, case and repeated or trailing slashes: judging more paths
# than AI Gateway serves is harmless, fewer would be a bypass.
norm_path := trim_right(regex.replace(lower(split(http.path, "?")[0]), "/+", "/"), "/")

endpoint := "chat" if endswith(norm_path, "/chat/completions")
else := "completions" if endswith(norm_path, "/completions")
else := "responses" if endswith(norm_path, "/responses")

judged if endpoint

# The fields that bound a completion's output, per endpoint (the OpenAI API): any of them is capped
# wherever it appears; a tenant with requireMaxTokens must send one of its endpoint's.
endpoint_fields := {
	"chat": ["max_tokens", "max_completion_tokens"],
	"completions": ["max_tokens"],
	"responses": ["max_output_tokens"],
}

output_fields := ["max_tokens", "max_completion_tokens", "max_output_tokens"]

# Streams whose usage chunk the client must ask for (tenants with a token budget). Not chat completions:
# Envoy AI Gateway v1.1.0 sets stream_options.include_usage itself there when request costs are configured
# (envoyproxy/ai-gateway internal/endpointspec/endpointspec.go, ChatCompletionsEndpointSpec.ParseBody).
# Its completions endpoint does not (same file, CompletionsEndpointSpec.ParseBody). A Responses stream
# always ends with `response.completed`, which carries `usage` (OpenAI Responses API).
usage_needed := {"completions"}

# Parsing cost is per JSON value: bound it before parsing (a 1 MiB body of `{}` or `1,` items is ~350k
# values). Separators and openers count every value but one; prose commas count too (conservative).
json_tokens := (strings.count(raw, ",") + strings.count(raw, "{")) + strings.count(raw, "[")

small_enough if json_tokens <= cfg.maxJsonValues

body := json.unmarshal(raw) if {
	small_enough
	json.is_valid(raw)
}

tenant_cfg := cfg.tenants[tenant] if is_string(tenant)

model := body.model if is_object(body)

cap := cfg.caps[model] if is_string(model)

# Helpers for `not`: OPA evaluates `not f(x)` as false, not true, when x is undefined.
body_object if is_object(body)

tenant_known if is_object(tenant_cfg)

model_string if is_string(model)

# Output fields sent with a value (null counts as absent, as in the OpenAI API).
sent[f] := body[f] if {
	is_object(body)
	some f in output_fields
	body[f] != null
}

integer(v) if {
	is_number(v)
	v >= 1
	floor(v) == v
}

has(o, k) if {
	is_object(o)
	_ = o[k]
}

stream_typed if not has(body, "stream")

stream_typed if body.stream == null

stream_typed if is_boolean(body.stream)

options_typed if not has(body, "stream_options")

options_typed if body.stream_options == null

options_typed if {
	is_object(body.stream_options)
	not has(body.stream_options, "include_usage")
}

options_typed if {
	is_object(body.stream_options)
	body.stream_options.include_usage == null
}

options_typed if is_boolean(body.stream_options.include_usage)

caps_ok if {
	every _, v in sent {
		integer(v)
		v <= cap
	}
}

required_ok if tenant_cfg.requireMaxTokens == false

required_ok if {
	some f in endpoint_fields[endpoint]
	sent[f]
}

usage_ok if tenant_cfg.tokenBudget == false

usage_ok if not endpoint in usage_needed

usage_ok if body.stream == false

usage_ok if not has(body, "stream")

usage_ok if body.stream == null

usage_ok if body.stream_options.include_usage == true

# A model the gateway does not serve: let it through, the route's not-found rule answers 404.
model_ok if {
	is_string(model)
	not cfg.caps[model]
}

model_ok if {
	cap
	caps_ok
	required_ok
	usage_ok
}

ok if {
	is_object(body)
	is_object(tenant_cfg)
	stream_typed
	options_typed
	model_ok
}

allowed if not judged

allowed if {
	judged
	ok
}

# Why a judged request is refused: the first that applies (status, code, param, message).
refusal := r if {
	not small_enough
	r := [400, "request_too_complex", null, sprintf("The request body has more than %d JSON values; send a smaller request.", [cfg.maxJsonValues])]
} else := r if {
	not json.is_valid(raw)
	r := [400, "invalid_json", null, "The request body is not valid JSON (UTF-8, at most 10,000 levels deep)."]
} else := r if {
	not body_object
	r := [400, "invalid_request", null, "The request body must be a JSON object."]
} else := r if {
	not tenant_known
	r := [409, "tenant_not_ready", null, "This API key's tenant is not known to the gateway's request check yet (a tenant being added: it reloads within about two minutes). Retry later."]
} else := r if {
	not model_string
	r := [400, "invalid_model", "model", "'model' must be a string naming a model (GET /v1/models lists them)."]
} else := r if {
	not stream_typed
	r := [400, "invalid_stream", "stream", "'stream' must be true or false."]
} else := r if {
	not options_typed
	r := [400, "invalid_stream_options", "stream_options", "'stream_options' must be an object whose 'include_usage' is true or false."]
} else := r if {
	some f, v in sent
	is_number(v)
	v > cap
	r := [400, "max_tokens_too_large", f, sprintf("'%s' is above this model's limit of %d output tokens; send %d or less.", [f, cap, cap])]
} else := r if {
	some f, v in sent
	not integer(v)
	r := [400, "invalid_max_tokens", f, sprintf("'%s' must be a positive integer.", [f])]
} else := r if {
	not required_ok
	f := endpoint_fields[endpoint][0]
	r := [400, "max_tokens_required", f, sprintf("This API key must set '%s' (at most %d for this model).", [f, cap])]
} else := r if {
	not usage_ok
	r := [400, "stream_usage_required", "stream_options", "This API key has a token budget: a streamed request to this endpoint must set 'stream_options': {'include_usage': true}, so its tokens can be counted."]
} else := [400, "invalid_request", null, "The request was refused by the gateway's request check."]

# Cost per feature (gateway.features: data.llm_tiers_guard.features, absent without it). An allowed request's
# decision carries `x-llm-feature`: the client's value when the allow-list has it (compared after trimming
# blanks and lower-casing), `other` when it does not, `none` when the header is missing or blank. OPA-Envoy
# sends a decision's `headers` in the gRPC OkHttpResponse without `append` (envoyauth/response.go at
# v1.19.1-envoy), so Envoy replaces the client's header with this one before the request goes upstream
# (envoyproxy/envoy api/envoy/service/auth/v3/external_auth.proto, OkHttpResponse.headers): spans and usage
# metrics see a bounded label. Envoy joins repeated headers with "," (one value, never listed: `other`).
features := {f | some f in object.get(cfg, "features", [])}

feature_sent := lower(trim_space(http.headers["x-llm-feature"]))

feature := "none" if {
	not http.headers["x-llm-feature"]
} else := "none" if {
	feature_sent == ""
} else := feature_sent if {
	feature_sent in features
} else := "other"

# Only this header, and only with features on: every header of an OK answer reaches the upstream request.
allowed_headers := {"x-llm-feature": feature} if count(features) > 0
else := {}

result := {"allowed": true, "headers": allowed_headers} if allowed

result := {
	"allowed": false,
	"http_status": refusal[0],
	"headers": {"content-type": "application/json", "x-llm-guard": refusal[1]},
	"body": json.marshal({"error": {
		"message": refusal[3], "type": "invalid_request_error",
		"param": refusal[2], "code": refusal[1],
	}}),
} if not allowed
