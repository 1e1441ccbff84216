"""Weight sync: download exactly one locked model revision into the shared Hugging Face cache, verify it,
and exit. Runs as a Kubernetes Job before a tier's Deployment (python3 + huggingface_hub from the TGI image).

    python sync_weights.py --model-id org/name --revision <40-hex> --files '[{"path": "...", "size": N}, ...]' \
        --cache-dir /data/hub

* Idempotent: when every locked file is already in the snapshot with its locked size, it exits without
  calling the Hub at all.
* Downloads only the locked files (``allow_patterns``), with retries and exponential backoff.
* Verifies every file after downloading, against the Hub's own listing at the pinned commit: its size (the lock's,
  or the Hub's for a file the lock has none for: ``"size": null``, hand-written entries only) and its content —
  the SHA-256 the Hub lists for a Git LFS file (the weights), the Git blob SHA-1 for the others. A mismatch
  deletes the bad file (so the Job's next attempt downloads it again) and fails the Job, and the deploy, loudly.
  What was verified is recorded next to the snapshot (``verified-<revision>.json``), so the next run needs no Hub
  call and no hashing.
* The token is read from the file ``HF_TOKEN_PATH`` names (the hf-token Secret, synced by External Secrets,
  mounted read-only; the Job sets no token in its environment), or from ``HF_TOKEN`` when that is set; it is
  passed to huggingface_hub explicitly, whatever that version reads by itself, and never printed.

Exit codes: 0 complete, 1 download or verification failed, 2 bad arguments.

``--flat-dir DIR`` (the S3 mirror's sync Job) also links the verified snapshot's files into DIR with their plain
names, which the next container uploads as they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

#: Read size of the hashing loop, and how many files are hashed at once.
CHUNK = 1 << 20
HASH_THREADS = 4


def snapshot_dir(cache_dir: Path, model_id: str, revision: str) -> Path:
    """Where huggingface_hub keeps a repository revision in a cache (``models--org--name/snapshots/<sha>``)."""
    return cache_dir / f"models--{model_id.replace('/', '--')}" / "snapshots" / revision


def marker_path(cache_dir: Path, model_id: str, revision: str) -> Path:
    """Sizes this script checked against the Hub for files the lock has no size for."""
    return snapshot_dir(cache_dir, model_id, revision).parent.parent / f"verified-{revision}.json"


def read_marker(path: Path) -> dict[str, Any]:
    """What an earlier run verified: ``{"sizes": {path: bytes}, "digests": {path: "sha256:<hex>" | "git-sha1:<hex>"}}``
    (a marker from before digests were checked holds sizes only)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {"sizes": {}, "digests": {}}
    if not isinstance(data, dict):
        return {"sizes": {}, "digests": {}}
    if "sizes" not in data:  # the sizes-only marker
        return {"sizes": {k: v for k, v in data.items() if isinstance(v, int)}, "digests": {}}
    return {"sizes": {k: v for k, v in (data.get("sizes") or {}).items() if isinstance(v, int)},
            "digests": {k: v for k, v in (data.get("digests") or {}).items() if isinstance(v, str)}}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)  # hashlib releases the GIL on large updates: threads hash files in parallel
    return h.hexdigest()


def sha256_files(paths: list[Path], threads: int = HASH_THREADS) -> list[str]:
    """SHA-256 hex digest of each file, ``threads`` files at a time."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(_sha256, paths))


def git_blob_sha1_of(data: bytes) -> str:
    """The Git object id of some content (what the Hub lists as a non-LFS file's ``oid``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def git_blob_sha1(path: Path) -> str:
    return git_blob_sha1_of(path.read_bytes())


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


def hub_listing(model_id: str, revision: str, paths: list[str]) -> dict[str, dict[str, Any]]:
    """What the Hub lists at ``revision`` (a commit, so the answer cannot change) for top-level files: per path its
    ``size`` and its digest (``sha256`` of an LFS file's content, else ``git_sha1``, the Git blob id)."""
    from huggingface_hub import HfApi

    out: dict[str, dict[str, Any]] = {}
    for e in HfApi(token=hub_token()).list_repo_tree(model_id, revision=revision):
        if e.path not in paths or getattr(e, "size", None) is None:
            continue
        lfs = getattr(e, "lfs", None)
        # huggingface_hub >= 0.20 gives BlobLfsInfo (sha256 attribute); older ones a dict.
        sha256 = getattr(lfs, "sha256", None) or (lfs.get("sha256") if isinstance(lfs, dict) else None)
        out[e.path] = {"size": e.size, "sha256": sha256, "git_sha1": None if lfs else getattr(e, "blob_id", None)}
    return out


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


def digest_problems(snapshot: Path, listing: dict[str, dict[str, Any]], files: list[dict],
                    threads: int = HASH_THREADS) -> tuple[list[str], dict[str, str]]:
    """Files whose content is not what the Hub lists (each deleted, so a retry downloads it again), and the
    digests of those that are."""
    problems, good = [], {}
    lfs = [f["path"] for f in files if (listing.get(f["path"]) or {}).get("sha256")]
    for path, digest in zip(lfs, sha256_files([snapshot / p for p in lfs], threads)):
        if digest == listing[path]["sha256"]:
            good[path] = f"sha256:{digest}"
        else:
            problems.append(f"{path}: SHA-256 {digest}, the Hub lists {listing[path]['sha256']}")
    for f in files:
        expected = (listing.get(f["path"]) or {}).get("git_sha1")
        if f["path"] in lfs:
            continue
        if not expected:
            problems.append(f"{f['path']}: the Hub's listing gives no digest to check it against")
            continue
        digest = git_blob_sha1(snapshot / f["path"])
        if digest == expected:
            good[f["path"]] = f"git-sha1:{digest}"
        else:
            problems.append(f"{f['path']}: Git blob {digest}, the Hub lists {expected}")
    for f in files:
        if f["path"] not in good:
            _remove(snapshot / f["path"])
    return problems, good


def _remove(link: Path) -> None:
    """A snapshot entry and the blob it points to (the cache keeps files as symlinks into blobs/)."""
    try:
        target = link.resolve()
        link.unlink()
        if target != link and target.exists():
            target.unlink()
    except OSError:
        pass


def ensure_ref(cache_dir: Path, model_id: str, revision: str) -> None:
    """``refs/<revision>`` holding the commit itself. huggingface_hub writes a ref only for a branch or tag, but the
    Rust hf-hub crate TGI's router and launcher read the cache with (``CacheRepo::get``, hf-hub src/lib.rs) resolves
    *every* revision through ``refs/<revision>`` first, and finds nothing offline without it."""
    ref = snapshot_dir(cache_dir, model_id, revision).parent.parent / "refs" / revision
    if not ref.exists() or ref.read_text() != revision:
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(revision)


def link_flat(snapshot: Path, files: list[dict], flat_dir: Path) -> None:
    """Hard-link (or copy) each verified file into ``flat_dir`` under its plain name."""
    import shutil

    flat_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        source, target = (snapshot / f["path"]).resolve(), flat_dir / f["path"]
        if target.exists():
            target.unlink()
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def sync(model_id: str, revision: str, files: list[dict], cache_dir: Path, attempts: int = 4,
         backoff_seconds: float = 5.0, fetch: Callable[..., None] = download,
         listing: Callable[[str, str, list[str]], dict[str, dict[str, Any]]] = hub_listing,
         log: Callable[[str], None] = print, flat_dir: Optional[Path] = None, threads: int = HASH_THREADS) -> int:
    snapshot = snapshot_dir(cache_dir, model_id, revision)
    marker = marker_path(cache_dir, model_id, revision)
    done = read_marker(marker)
    if not missing_or_wrong(snapshot, files, done["sizes"]) and all(f["path"] in done["digests"] for f in files):
        log(f"{model_id}@{revision}: cache complete and verified ({len(files)} files), nothing to download")
        ensure_ref(cache_dir, model_id, revision)
        if flat_dir is not None:
            link_flat(snapshot, files, flat_dir)
        return 0
    error = None
    # Present files of unknown size need the Hub's listing, not a download; a missing or wrong-sized one needs both.
    if any(not p.endswith("size not verified yet") for p in missing_or_wrong(snapshot, files, done["sizes"])):
        error = _with_retries(lambda: fetch(model_id, revision, files, cache_dir), attempts, backoff_seconds, log)
    listed: dict[str, dict[str, Any]] = {}
    if error is None:
        def ask() -> None:
            listed.update(listing(model_id, revision, [f["path"] for f in files]))
        error = _with_retries(ask, attempts, backoff_seconds, log)
        missing = sorted({f["path"] for f in files} - set(listed))
        if error is None and missing:
            log(f"{model_id}@{revision}: the Hub lists no {', '.join(missing)} at this revision; fix the models lock")
            return 1
    if error is not None:
        hint = " (is the HF token mounted (HF_TOKEN_PATH) and has its account accepted the model's license?)" \
            if type(error).__name__ == "GatedRepoError" else ""
        log(f"{model_id}@{revision}: download failed: {type(error).__name__}: {error}{hint}")
        return 1
    hub_sizes = {f["path"]: listed[f["path"]]["size"] for f in files if f["size"] is None}
    problems = missing_or_wrong(snapshot, files, hub_sizes)
    problems += [f"{f['path']}: the lock says {f['size']} bytes, the Hub lists {listed[f['path']]['size']}"
                 for f in files if f["size"] is not None and listed[f["path"]]["size"] != f["size"]]
    if problems:
        log(f"{model_id}@{revision}: verification failed: " + "; ".join(problems))
        return 1
    bad, digests = digest_problems(snapshot, listed, files, threads)
    if bad:
        log(f"{model_id}@{revision}: verification failed (the bad files were deleted; the next attempt downloads "
            "them again): " + "; ".join(bad))
        return 1
    marker.write_text(json.dumps({"sizes": hub_sizes, "digests": digests}, indent=1, sort_keys=True))
    ensure_ref(cache_dir, model_id, revision)
    if flat_dir is not None:
        link_flat(snapshot, files, flat_dir)
    total = sum(f["size"] if f["size"] is not None else hub_sizes[f["path"]] for f in files)
    from_hub = (f" ({len(hub_sizes)} sizes from the Hub's listing at this commit, not from the lock)"
                if hub_sizes else "")
    log(f"{model_id}@{revision}: {len(files)} files, {total} bytes verified (sizes and "
        f"{sum(d.startswith('sha256:') for d in digests.values())} SHA-256, "
        f"{sum(d.startswith('git-sha1:') for d in digests.values())} Git blob digests){from_hub}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Download and verify one locked model revision.")
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--files", required=True,
                        help="JSON list of {path, size} from the models lock (size null: check against the Hub)")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("HF_HUB_CACHE", "/data/hub")))
    parser.add_argument("--attempts", type=int, default=4)
    parser.add_argument("--flat-dir", type=Path, default=None,
                        help="also link the verified files here under their plain names (for the S3 mirror's upload)")
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
    return sync(args.model_id, args.revision, files, args.cache_dir, attempts=args.attempts, flat_dir=args.flat_dir)


if __name__ == "__main__":
    sys.exit(main())
