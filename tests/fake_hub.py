"""A local HTTP server that answers the Hugging Face Hub API calls huggingface_hub makes (model info,
file metadata and downloads), so the real client is tested without the network."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import unquote, urlparse


#: Files the fake Hub stores in Git LFS (as the Hub's .gitattributes does for weights).
LFS_SUFFIXES = (".safetensors", ".bin", ".pth")


def git_blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class FakeRepo:
    sha: str
    files: dict[str, bytes]
    license: str = "apache-2.0"
    gated: object = False            # False, "auto" or "manual", as the Hub reports it
    token: Optional[str] = None      # downloads need "Authorization: Bearer <token>" when set
    digests: dict[str, str] = field(default_factory=dict)  # a listed SHA-256 that differs from the content's


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def __enter__(self) -> "FakeHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: bytes = b"", headers: Optional[dict] = None, head: bool = False):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _error(self, status: int, code: str, head: bool = False):
                self._send(status, json.dumps({"error": code}).encode(),
                           {"X-Error-Code": code, "Content-Type": "application/json"}, head)

            def _repo(self, repo_id: str, revision: str, head: bool = False) -> Optional[FakeRepo]:
                """The repository at a revision, or None after answering the Hub's 404."""
                repo = hub.repos.get(repo_id)
                if repo is None:
                    self._error(404, "RepoNotFound", head)
                elif revision not in ("main", repo.sha):
                    self._error(404, "RevisionNotFound", head)
                    return None
                return repo

            def _json(self, body: object):
                self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

            def _handle(self, head: bool):
                path = unquote(urlparse(self.path).path)
                hub.requests.append((self.command, path))
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path)
                if m and not head:
                    repo = self._repo(m.group(1), m.group(2))
                    if repo is not None:
                        self._json({"id": m.group(1), "modelId": m.group(1), "sha": repo.sha, "private": False,
                                    "gated": repo.gated, "cardData": {"license": repo.license},
                                    "tags": [f"license:{repo.license}"],
                                    "siblings": [{"rfilename": n, "size": len(b)}
                                                 for n, b in sorted(repo.files.items())]})
                    return
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path)
                if m and not head:
                    repo = self._repo(m.group(1), m.group(2))
                    if repo is not None:
                        entries, folders = [], set()
                        for name, content in sorted(repo.files.items()):
                            parts = name.split("/")
                            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
                            # As the Hub lists them: a Git blob id (``oid``) for every file, and for an LFS file
                            # (the weights) the blob of its pointer plus ``lfs.oid``, the SHA-256 of its content.
                            entry = {"type": "file", "path": name, "size": len(content),
                                     "oid": git_blob_sha1(content)}
                            if name.endswith(LFS_SUFFIXES):
                                digest = repo.digests.get(name) or hashlib.sha256(content).hexdigest()
                                pointer = (f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\n"
                                           f"size {len(content)}\n").encode()
                                entry.update(oid=git_blob_sha1(pointer),
                                             lfs={"oid": digest, "size": len(content), "pointerSize": len(pointer)})
                            entries.append(entry)
                        self._json(entries
                                   + [{"type": "directory", "path": f, "oid": "0" * 40} for f in sorted(folders)])
                    return
                m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if m:
                    repo = self._repo(m.group(1), m.group(2), head)
                    if repo is None:
                        return
                    if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
                        return self._error(401, "GatedRepo", head)
                    content = repo.files.get(m.group(3))
                    if content is None:
                        return self._error(404, "EntryNotFound", head)
                    etag = hashlib.sha256(content).hexdigest()
                    return self._send(200, content, {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"',
                                                     "Content-Type": "application/octet-stream"}, head)
                return self._error(404, "NotFound", head)

            def do_GET(self):
                self._handle(head=False)

            def do_HEAD(self):
                self._handle(head=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def downloads(self) -> list[str]:
        return [p for method, p in self.requests if method == "GET" and "/resolve/" in p]
