# Unit tests of guard.rego (`opa test components/llm_tiers/gateway/policy/`; tests/test_request_guard.py runs
# every test_ rule with OPA's engine). Data here is made up; the rendered data is tested in Python.
package llm_tiers.guard_test

import data.llm_tiers.guard

cfg := {
	"caps": {"small": 2048, "small-alias": 2048, "large": 4096},
	"tenants": {
		"budget": {"requireMaxTokens": false, "tokenBudget": true},
		"strict": {"requireMaxTokens": true, "tokenBudget": true},
		"strict-previous": {"requireMaxTokens": true, "tokenBudget": true},
		"free": {"requireMaxTokens": false, "tokenBudget": false},
	},
	"maxJsonValues": 1000,
}

chat := "/v1/chat/completions"

completions := "/v1/completions"

responses := "/v1/responses"

req(tenant, path, raw) := {"attributes": {"request": {"http": {
	"method": "POST", "path": path,
	"headers": {"x-tenant-id": tenant, "content-type": "application/json"}, "body": raw,
}}}}

decide_raw(tenant, path, raw) := d if {
	d := guard.result with input as req(tenant, path, raw) with data.llm_tiers_guard as cfg
}

decide(tenant, path, body) := decide_raw(tenant, path, json.marshal(body))

allowed(tenant, path, body) if decide(tenant, path, body).allowed == true

refused(tenant, path, body, status, code) if {
	d := decide(tenant, path, body)
	d.allowed == false
	d.http_status == status
	d.headers["content-type"] == "application/json"
	err := json.unmarshal(d.body).error
	err.code == code
	err.type == "invalid_request_error"
	count(err.message) > 0
}

msgs := [{"role": "user", "content": "hi"}]

# output caps, per field and endpoint
test_cap_at_the_limit_allowed if allowed("budget", chat, {"model": "small", "messages": msgs, "max_tokens": 2048})

test_cap_above_refused if refused("budget", chat, {"model": "small", "messages": msgs, "max_tokens": 2049}, 400, "max_tokens_too_large")

test_alias_has_the_tiers_cap if refused("budget", chat, {"model": "small-alias", "max_completion_tokens": 4000}, 400, "max_tokens_too_large")

test_large_tier_cap_allowed if allowed("free", chat, {"model": "large", "max_tokens": 4096})

test_large_tier_cap_refused if refused("free", chat, {"model": "large", "max_tokens": 4097}, 400, "max_tokens_too_large")

test_completions_cap_refused if refused("budget", completions, {"model": "small", "prompt": "hi", "max_tokens": 2049}, 400, "max_tokens_too_large")

test_responses_cap_allowed if allowed("budget", responses, {"model": "small", "input": "hi", "max_output_tokens": 2048})

test_responses_cap_refused if refused("budget", responses, {"model": "small", "input": "hi", "max_output_tokens": 2049}, 400, "max_tokens_too_large")

test_zero_refused if refused("budget", chat, {"model": "small", "max_tokens": 0}, 400, "invalid_max_tokens")

test_string_refused if refused("budget", chat, {"model": "small", "max_tokens": "10"}, 400, "invalid_max_tokens")

test_fraction_refused if refused("budget", chat, {"model": "small", "max_tokens": 2.5}, 400, "invalid_max_tokens")

test_null_is_absent if allowed("budget", chat, {"model": "small", "max_tokens": null})

test_huge_integer_refused if {
	d := decide_raw("budget", chat, `{"model":"small","max_tokens":99999999999999999999999999999999999999999999}`)
	d.allowed == false
	json.unmarshal(d.body).error.code == "max_tokens_too_large"
}

# requireMaxTokens, per endpoint's own field
test_required_refused if refused("strict", chat, {"model": "small", "messages": msgs}, 400, "max_tokens_required")

test_required_previous_key_refused if refused("strict-previous", chat, {"model": "small"}, 400, "max_tokens_required")

test_required_max_tokens_allowed if allowed("strict", chat, {"model": "small", "max_tokens": 256})

test_required_max_completion_tokens_allowed if allowed("strict", chat, {"model": "small-alias", "max_completion_tokens": 2048})

test_required_completions_refused if refused("strict", completions, {"model": "small", "prompt": "hi"}, 400, "max_tokens_required")

test_required_responses_refused if refused("strict", responses, {"model": "small", "input": "hi"}, 400, "max_tokens_required")

test_required_responses_wrong_field_refused if refused("strict", responses, {"model": "small", "input": "hi", "max_tokens": 5}, 400, "max_tokens_required")

test_required_responses_allowed if allowed("strict", responses, {"model": "small", "input": "hi", "max_output_tokens": 5})

test_not_required_allowed if allowed("budget", chat, {"model": "small"})

# the stream rule per endpoint
test_chat_stream_without_usage_allowed if allowed("budget", chat, {"model": "small", "stream": true})

test_completions_stream_without_usage_refused if refused("budget", completions, {"model": "small", "prompt": "hi", "stream": true}, 400, "stream_usage_required")

test_completions_stream_usage_false_refused if refused("budget", completions, {"model": "small", "prompt": "hi", "stream": true, "stream_options": {"include_usage": false}}, 400, "stream_usage_required")

test_completions_stream_with_usage_allowed if allowed("budget", completions, {"model": "small", "prompt": "hi", "stream": true, "stream_options": {"include_usage": true}})

test_completions_no_stream_allowed if allowed("budget", completions, {"model": "small", "prompt": "hi", "stream": false})

test_completions_stream_no_budget_allowed if allowed("free", completions, {"model": "small", "prompt": "hi", "stream": true})

test_responses_stream_allowed if allowed("budget", responses, {"model": "small", "input": "hi", "stream": true})

# malformed input: a definite answer
test_stream_string_refused if refused("budget", chat, {"model": "small", "stream": "true"}, 400, "invalid_stream")

test_model_list_refused if refused("budget", chat, {"model": ["small"]}, 400, "invalid_model")

test_model_object_refused if refused("budget", chat, {"model": {"name": "small"}}, 400, "invalid_model")

test_not_json_refused if decide_raw("budget", chat, "not json").http_status == 400

test_too_many_values_refused if {
	d := decide_raw("budget", chat, concat("", ["{\"model\":\"small\",\"x\":[", concat(",", [x | some i in numbers.range(1, 1000); x := "1"]), "]}"]))
	json.unmarshal(d.body).error.code == "request_too_complex"
}

test_unknown_tenant_refused if {
	d := decide("mallory", chat, {"model": "small", "max_tokens": 5})
	d.http_status == 409
	json.unmarshal(d.body).error.code == "tenant_not_ready"
}

test_unknown_model_allowed if allowed("budget", chat, {"model": "gpt-4o", "max_tokens": 999999})

test_other_paths_allowed if {
	d := guard.result with input as {"attributes": {"request": {"http": {"method": "GET", "path": "/v1/models", "headers": {}}}}}
		with data.llm_tiers_guard as cfg
	d.allowed == true
}

test_path_variants_judged if {
	every p in ["/v1/chat/completions?a=1", "/v1/chat/completions/", "//v1//chat/completions", "/V1/CHAT/COMPLETIONS"] {
		refused("budget", p, {"model": "small", "max_tokens": 99999}, 400, "max_tokens_too_large")
	}
}

# cost per feature (gateway.features): the allowed request's decision names the feature upstream
cfg_features := object.union(cfg, {"features": ["search", "summarize"]})

feature_req(headers, body) := {"attributes": {"request": {"http": {
	"method": "POST", "path": chat,
	"headers": object.union({"x-tenant-id": "budget", "content-type": "application/json"}, headers),
	"body": json.marshal(body),
}}}}

feature_decision(headers, body) := d if {
	d := guard.result with input as feature_req(headers, body) with data.llm_tiers_guard as cfg_features
}

feature_of(headers) := feature_decision(headers, {"model": "small", "max_tokens": 5}).headers["x-llm-feature"]

test_feature_listed_passes_through if feature_of({"x-llm-feature": "search"}) == "search"

test_feature_trimmed_and_lowercased if feature_of({"x-llm-feature": "  SUMMARIZE "}) == "summarize"

test_feature_unlisted_is_other if feature_of({"x-llm-feature": "checkout"}) == "other"

test_feature_missing_is_none if feature_of({}) == "none"

test_feature_blank_is_none if feature_of({"x-llm-feature": "  "}) == "none"

# a client cannot smuggle a value past the allow-list: repeated headers (Envoy joins them with ","), a
# listed name with more around it, the reserved words themselves, a huge value
test_feature_smuggling_is_other if {
	every v in ["search,checkout", "search, summarize", "search;x=1", "search\u0000", "searchx", "other", "none-of-it", concat("", ["search", concat("", [x | some i in numbers.range(1, 5000); x := "a"])])] {
		feature_of({"x-llm-feature": v}) == "other"
	}
}

# `none` means "no header": a client sending the word is not listed either
test_feature_client_sent_none_is_other if feature_of({"x-llm-feature": "none"}) == "other"

# the only header an allowed decision adds (every header of an OK answer reaches the upstream request)
test_feature_only_header_added if {
	d := feature_decision({"x-llm-feature": "search", "x-tenant-id": "budget"}, {"model": "small"})
	d.allowed == true
	d.headers == {"x-llm-feature": "search"}
}

test_feature_on_other_paths if {
	d := guard.result with input as {"attributes": {"request": {"http": {"method": "GET", "path": "/v1/models", "headers": {"x-llm-feature": "bogus"}}}}}
		with data.llm_tiers_guard as cfg_features
	d.allowed == true
	d.headers == {"x-llm-feature": "other"}
}

# a refused request keeps its error headers, with no feature
test_feature_not_on_refusals if {
	d := feature_decision({"x-llm-feature": "search"}, {"model": "small", "max_tokens": 99999})
	d.allowed == false
	not d.headers["x-llm-feature"]
}

# without gateway.features: no header at all (the client's passes untouched and is not a label anywhere)
test_no_features_no_header if {
	d := decide("budget", chat, {"model": "small", "max_tokens": 5})
	d.allowed == true
	d.headers == {}
}
