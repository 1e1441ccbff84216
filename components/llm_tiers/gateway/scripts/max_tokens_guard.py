"""The gateway's ``max_tokens`` guardrail: an Envoy ext_authz HTTP service (standard library only).

Envoy (SecurityPolicy ``extAuth`` with ``bodyToExtAuth``) sends it each request's method, path, headers and
buffered body before the request reaches the model. It answers 200 (go on) or a 400 with an OpenAI error
body, which Envoy returns to the client as it is:

* ``max_tokens`` / ``max_completion_tokens`` above the cap of the model (tier) named in the body: refused
  (not clamped: a clamp would silently return shorter answers than the client asked for);
* neither field, for a tenant that must send one: refused;
* a streamed request (``"stream": true``) without ``"stream_options": {"include_usage": true}``, for a tenant
  with a token budget: refused (the budget charges a stream the tokens of its final usage chunk; without
  one it would be charged nothing).

Anything it does not judge (not a completion, no JSON, a model it does not know, no body) passes: AI Gateway
and the engine answer those. The tenant is found from the API key (``Authorization: Bearer <key>``) against
the tenant-keys Secret mounted at ``--keys-dir`` (one file per client id, as Envoy Gateway's API-key auth
reads it); the key is compared by SHA-256 digest and never logged. A key the guard does not know yet (a
rotation, before the mounted Secret refreshes) gets the cap check only.

    python max_tokens_guard.py --config /etc/guard/config.json --keys-dir /etc/guard/keys --port 8080

``config.json``: ``{"caps": {"<model name>": <largest max_tokens>}, "requireMaxTokens": ["<tenant>", ...],
"streamUsageRequired": ["<tenant>", ...], "previousSuffix": "-previous"}``, and with ``gateway.features``
``"features": ["<name>", ...]``: then every 200 carries ``x-llm-feature``, the client's value when listed
(compared case-insensitively after trimming), ``other`` when not, ``none`` when absent. Envoy puts it on the
request in place of the client's (``headersToBackend``), so spans and usage metrics see a bounded label.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

COMPLETION_PATHS = ("/v1/chat/completions", "/v1/completions")
FIELDS = ("max_tokens", "max_completion_tokens")
MAX_BODY = 8 * 2**20
RELOAD_SECONDS = 10.0


def error(message: str, code: str, param: Optional[str] = "max_tokens") -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                 "code": code}}, separators=(",", ":")).encode()


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class Keys:
    """API-key digest -> tenant, from the mounted Secret (re-read when it changes)."""

    def __init__(self, folder: Optional[Path], previous_suffix: str):
        self.folder, self.suffix = folder, previous_suffix
        self.by_digest: dict[bytes, str] = {}
        self.stamp: Any = None
        self.checked = 0.0
        self.lock = threading.Lock()
        self.reload(force=True)

    def _stamp(self) -> Any:
        if not self.folder or not self.folder.is_dir():
            return None
        return sorted((p.name, p.stat().st_mtime_ns) for p in self.folder.iterdir() if not p.name.startswith("."))

    def reload(self, force: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            if not force and now - self.checked < RELOAD_SECONDS:
                return
            self.checked = now
            stamp = self._stamp()
            if not force and stamp == self.stamp:
                return
            table = {}
            for name, _ in stamp or []:
                client = name[:-len(self.suffix)] if self.suffix and name.endswith(self.suffix) else name
                table[digest((self.folder / name).read_text().strip())] = client
            self.by_digest, self.stamp = table, stamp

    def tenant(self, authorization: Optional[str]) -> Optional[str]:
        if not authorization:
            return None
        key = authorization.strip()
        if key[:7].lower() == "bearer ":
            key = key[7:].strip()
        self.reload()
        wanted = digest(key)
        for known, tenant in self.by_digest.items():
            if hmac.compare_digest(known, wanted):
                return tenant
        return None


def judge(config: dict[str, Any], keys: Keys, method: str, path: str, headers: dict[str, str],
          body: bytes) -> tuple[int, bytes]:
    """(status, body): 200 and an empty body to let the request through, or 400 and an OpenAI error."""
    path = path.split("?", 1)[0]
    if method != "POST" or not any(path.endswith(p) for p in COMPLETION_PATHS) or not body:
        return 200, b""
    try:
        request = json.loads(body)
    except ValueError:
        return 200, b""
    if not isinstance(request, dict):
        return 200, b""
    cap = config.get("caps", {}).get(request.get("model"))
    if cap is None:
        return 200, b""
    sent = {f: request[f] for f in FIELDS if request.get(f) is not None}
    for field, value in sent.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return 400, error(f"'{field}' must be a positive integer.", "invalid_max_tokens", field)
        if value > cap:
            return 400, error(f"'{field}' is {value}, above this model's limit of {cap} output tokens; send "
                              f"{cap} or less.", "max_tokens_too_large", field)
    tenant: Optional[str] = None
    if not sent:
        tenant = keys.tenant(headers.get("authorization"))
        if tenant in set(config.get("requireMaxTokens", [])):
            return 400, error(f"This API key must set 'max_tokens' (at most {cap} for this model).",
                              "max_tokens_required")
    options = request.get("stream_options")
    if request.get("stream") is True and not (isinstance(options, dict) and options.get("include_usage") is True):
        tenant = tenant or keys.tenant(headers.get("authorization"))
        if tenant in set(config.get("streamUsageRequired", [])):
            return 400, error("This API key has a token budget: a streamed request must set "
                              "'stream_options': {'include_usage': true}, so its tokens can be counted.",
                              "stream_usage_required", "stream_options")
    return 200, b""


FEATURE_HEADER = "x-llm-feature"


def feature(config: dict[str, Any], headers: dict[str, str]) -> Optional[str]:
    """The feature to put on the request (None: feature attribution is off)."""
    allowed = config.get("features")
    if allowed is None:
        return None
    sent = headers.get(FEATURE_HEADER)
    if sent is None or not sent.strip():
        return "none"
    value = sent.strip().lower()
    return value if value in set(allowed) else "other"


def handler(config: dict[str, Any], keys: Keys) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            named: Optional[str] = None
            if self.path == "/healthz":
                status, out = 200, b"ok"
            else:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(min(length, MAX_BODY)) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out = judge(config, keys, self.command, self.path, headers, body)
                named = feature(config, headers) if status == 200 else None
            self.send_response(status)
            if self.path != "/healthz" and named is not None:
                self.send_header(FEATURE_HEADER, named)
            if out and status != 200:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer  # noqa: N815

        def log_message(self, *args: Any) -> None:  # no request lines: they carry paths only, but stay quiet
            pass

    return Handler


def serve(config: dict[str, Any], keys: Keys, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler(config, keys))
    server.daemon_threads = True
    return server


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--keys-dir", type=Path)
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (a pod; the NetworkPolicy admits Envoy only)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text())
    keys = Keys(args.keys_dir, config.get("previousSuffix", ""))
    print(f"max-tokens guard on :{args.port}: {len(config.get('caps', {}))} models, "
          f"{len(keys.by_digest)} keys", file=sys.stderr, flush=True)
    serve(config, keys, args.host, args.port).serve_forever()
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
