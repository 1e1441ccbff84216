"""Weight sync: download exactly one locked model revision into the shared Hugging Face cache, verify it,
and exit. Runs as a Kubernetes Job before a tier's Deployment (python3 + huggingface_hub from the TGI image).

    python sync_weights.py --model-id org/name --revision <40-hex> --files '[{"path": "...", "size": N}, ...]' \
        --cache-dir /data/hub

* Idempotent: when every locked file is already in the snapshot with its locked size, it exits without
  calling the Hub at all.
* Downloads only the locked files (``allow_patterns``), with retries and exponential backoff.
* Verifies sizes after downloading; a mismatch fails the Job (and the deploy) loudly. A file whose size the
  lock does not hold (``"size": null``, hand-written lock entries only) is checked against the size the Hub
  lists for it at the pinned commit; the sizes checked that way are recorded next to the snapshot
  (``verified-<revision>.json``) so the next run needs no Hub call either.
* The token is read from the file ``HF_TOKEN_PATH`` names (the hf-token Secret, synced by External Secrets,
  mounted read-only; the Job sets no token in its environment), or from ``HF_TOKEN`` when that is set; it is
  passed to huggingface_hub explicitly, whatever that version reads by itself, and never printed.

Exit codes: 0 complete, 1 download or verification failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional


def snapshot_dir(cache_dir: Path, model_id: str, revision: str) -> Path:
    """Where huggingface_hub keeps a repository revision in a cache (``models--org--name/snapshots/<sha>``)."""
    return cache_dir / f"models--{model_id.replace('/', '--')}" / "snapshots" / revision


def marker_path(cache_dir: Path, model_id: str, revision: str) -> Path:
    """Sizes this script checked against the Hub for files the lock has no size for."""
    return snapshot_dir(cache_dir, model_id, revision).parent.parent / f"verified-{revision}.json"


def read_marker(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
        return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


def missing_or_wrong(snapshot: Path, files: list[dict], known: Optional[dict[str, int]] = None) -> list[str]:
    """Locked files that are absent from the snapshot or have another size than the lock (or, for a file
    the lock has no size for, than ``known``) says."""
    known = known or {}
    problems = []
    for f in files:
        path = snapshot / f["path"]
        expected = f["size"] if f["size"] is not None else known.get(f["path"])
        if not path.exists():
            problems.append(f"{f['path']}: missing")
        elif expected is None:
            problems.append(f"{f['path']}: size not verified yet")
        elif path.stat().st_size != expected:
            problems.append(f"{f['path']}: {path.stat().st_size} bytes, expected {expected}")
    return problems


def hub_token() -> Optional[str]:
    """``HF_TOKEN`` if set, else the content of the file at ``HF_TOKEN_PATH``; None when neither has one."""
    token = os.environ.get("HF_TOKEN", "").strip()
    if token:
        return token
    path = os.environ.get("HF_TOKEN_PATH")
    if path:
        try:
            return Path(path).read_text().strip() or None
        except OSError:
            return None
    return None


def download(model_id: str, revision: str, files: list[dict], cache_dir: Path) -> None:
    from huggingface_hub import snapshot_download

    snapshot_download(repo_id=model_id, revision=revision, allow_patterns=[f["path"] for f in files],
                      cache_dir=str(cache_dir), max_workers=8, token=hub_token())


def hub_sizes(model_id: str, revision: str, paths: list[str]) -> dict[str, int]:
    """Sizes the Hub lists at ``revision`` (a commit, so the answer cannot change) for top-level files."""
    from huggingface_hub import HfApi

    listed = {e.path: e.size for e in HfApi(token=hub_token()).list_repo_tree(model_id, revision=revision)
              if getattr(e, "size", None) is not None}
    return {p: listed[p] for p in paths if p in listed}


def _with_retries(what: Callable[[], Any], attempts: int, backoff_seconds: float,
                  log: Callable[[str], None]) -> Optional[BaseException]:
    error: Optional[BaseException] = None
    for attempt in range(1, attempts + 1):
        try:
            what()
            return None
        except Exception as exc:  # noqa: BLE001 - every failure is retried, then reported
            error = exc
            name = type(exc).__name__
            if name in ("GatedRepoError", "RepositoryNotFoundError", "RevisionNotFoundError"):
                break  # retrying cannot help
            if attempt < attempts:
                wait = backoff_seconds * 2 ** (attempt - 1)
                log(f"attempt {attempt}/{attempts} failed ({name}); retrying in {wait:.0f}s")
                time.sleep(wait)
    return error


def sync(model_id: str, revision: str, files: list[dict], cache_dir: Path, attempts: int = 4,
         backoff_seconds: float = 5.0, fetch: Callable[..., None] = download,
         sizes: Callable[[str, str, list[str]], dict[str, int]] = hub_sizes,
         log: Callable[[str], None] = print) -> int:
    snapshot = snapshot_dir(cache_dir, model_id, revision)
    marker = marker_path(cache_dir, model_id, revision)
    if not missing_or_wrong(snapshot, files, read_marker(marker)):
        log(f"{model_id}@{revision}: cache complete ({len(files)} files), nothing to download")
        return 0
    error = _with_retries(lambda: fetch(model_id, revision, files, cache_dir), attempts, backoff_seconds, log)
    unknown = [f["path"] for f in files if f["size"] is None]
    known: dict[str, int] = {}
    if error is None and unknown:
        def ask() -> None:
            known.update(sizes(model_id, revision, unknown))
        error = _with_retries(ask, attempts, backoff_seconds, log)
        if error is None and set(unknown) - set(known):
            log(f"{model_id}@{revision}: the Hub lists no {', '.join(sorted(set(unknown) - set(known)))} "
                "at this revision; fix the models lock")
            return 1
    if error is not None:
        hint = " (is the HF token mounted (HF_TOKEN_PATH) and has its account accepted the model's license?)" \
            if type(error).__name__ == "GatedRepoError" else ""
        log(f"{model_id}@{revision}: download failed: {type(error).__name__}: {error}{hint}")
        return 1
    problems = missing_or_wrong(snapshot, files, known)
    if problems:
        log(f"{model_id}@{revision}: verification failed: " + "; ".join(problems))
        return 1
    if known:
        marker.write_text(json.dumps(known, indent=1, sort_keys=True))
    total = sum(f["size"] if f["size"] is not None else known[f["path"]] for f in files)
    from_hub = f" ({len(known)} sizes from the Hub's listing at this commit, not from the lock)" if known else ""
    log(f"{model_id}@{revision}: {len(files)} files, {total} bytes verified{from_hub}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Download and verify one locked model revision.")
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--files", required=True,
                        help="JSON list of {path, size} from the models lock (size null: check against the Hub)")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("HF_HUB_CACHE", "/data/hub")))
    parser.add_argument("--attempts", type=int, default=4)
    args = parser.parse_args(argv)
    try:
        files = json.loads(args.files)
        assert isinstance(files, list) and files and all(
            {"path", "size"} <= set(f) and (f["size"] is None or isinstance(f["size"], int)) for f in files)
    except (json.JSONDecodeError, AssertionError):
        print("--files must be a non-empty JSON list of {path, size}", file=sys.stderr)
        return 2
    if len(args.revision) != 40:
        print("--revision must be a full commit hash from the models lock", file=sys.stderr)
        return 2
    return sync(args.model_id, args.revision, files, args.cache_dir, attempts=args.attempts)


if __name__ == "__main__":
    sys.exit(main())
