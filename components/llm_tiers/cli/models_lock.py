"""Refresh the models lock from the Hugging Face Hub (``make models-lock``).

For every model a stack deploys (tiers and candidates, all stacks), resolve the requested revision (the
tier's ``revision``, else the locked one, else ``main``) to a commit with huggingface_hub, list the files
the engine needs with their sizes, read config.json at that commit for the architecture numbers, and
record license and gating. Writes ``models.lock.json`` (sorted, stable) so the change shows in a PR.

    # lock the models this project's stacks deploy that are not locked yet:
    .venv/bin/python -m llm_tiers.cli.models_lock
    .venv/bin/python -m llm_tiers.cli.models_lock --update        # re-resolve every model (moves unpinned ones)
    .venv/bin/python -m llm_tiers.cli.models_lock --check         # exit 1 if a deployed model is missing
    # a composer's models, or their stack's tiers:
    .venv/bin/python -m llm_tiers.cli.models_lock --model org/name[@rev] --lock-file my.lock.json
    .venv/bin/python -m llm_tiers.cli.models_lock --stack-file ../my-program/Pulumi.prod.yaml
    .venv/bin/python -m llm_tiers.cli.models_lock --replace-manual  # replace hand-written entries by the Hub's answer

Only what is asked is resolved: models already locked stay as they are (a hand-written entry of a gated model
does not need that model's token to lock another one), unless --update, --replace-manual or --model names them.

The Hub token comes from HF_TOKEN (gated models need one whose account accepted the license); HF_ENDPOINT
points at a mirror. Previews and renders never call this: they read the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from llm_tiers.project import root as project_root
from typing import Optional

import yaml
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError,
                                    RepositoryNotFoundError, RevisionNotFoundError)

from llm_tiers.stack.parse import parse
from llm_tiers.tiers import models_lock
from llm_tiers.tiers.models_lock import LockError, ModelLockEntry, ModelsLock

PROJECT_DIR = project_root()  # the Pulumi project the command works on (llm_tiers.project)


def requested_models(project_dir: Path = PROJECT_DIR) -> dict[str, Optional[str]]:
    """model id -> pinned revision (or None) across every stack. Conflicting pins are an error."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    wanted: dict[str, Optional[str]] = {}
    for stack_file in sorted((project_dir / "stacks").glob("Pulumi.*.yaml")):
        raw = yaml.safe_load(stack_file.read_text())["config"]
        values = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith(f"{project}:")}
        cfg = parse(values, str(stack_file.relative_to(project_dir)))
        pins = [(t.model_id, t.revision) for t in cfg.tiers]
        pins += [(t.candidate.model_id, t.candidate.revision)
                 for t in cfg.tiers if t.candidate and t.candidate.model_id]
        for model_id, revision in pins:
            if revision and wanted.get(model_id) not in (None, revision):
                raise LockError(f"{model_id} is pinned to both {wanted[model_id]} and {revision} in different stacks")
            wanted[model_id] = revision or wanted.get(model_id)
    return wanted


def stack_file_models(path: Path) -> dict[str, Optional[str]]:
    """model id -> pinned revision from any Pulumi stack file whose ``<project>:tiers`` follow the tier shape
    (``modelId``, ``revision``, ``candidate.modelId``/``revision``): a composer's program, not only this one."""
    try:
        raw = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LockError(f"cannot read {path}: {exc}") from None
    wanted: dict[str, Optional[str]] = {}
    for key, tiers in raw.items():
        if not key.endswith(":tiers") or not isinstance(tiers, list):
            continue
        for tier in tiers:
            if not isinstance(tier, dict) or "modelId" not in tier:
                continue
            wanted.setdefault(tier["modelId"], tier.get("revision"))
            cand = tier.get("candidate") or {}
            if cand.get("modelId"):
                wanted.setdefault(cand["modelId"], cand.get("revision"))
    if not wanted:
        raise LockError(f"{path} has no `<project>:tiers` with a modelId")
    return wanted


def parse_model(arg: str) -> tuple[str, Optional[str]]:
    model, _, revision = arg.partition("@")
    if model.count("/") != 1:
        raise LockError(f"--model {arg!r}: write it as org/name or org/name@revision")
    return model, revision or None


def resolve(api: HfApi, model_id: str, revision: str, token: Optional[str]) -> ModelLockEntry:
    """Ask the Hub about one model at one revision."""
    try:
        return _resolve(api, model_id, revision, token)
    except GatedRepoError:
        raise LockError(f"{model_id} is gated: set HF_TOKEN to a token whose account accepted its license") from None
    except RevisionNotFoundError:
        raise LockError(f"{model_id} has no revision {revision!r} on the Hub") from None
    except RepositoryNotFoundError:
        raise LockError(f"{model_id} does not exist on the Hub (or is private to another account)") from None
    except HfHubHTTPError as exc:
        raise LockError(f"{model_id}: the Hub answered {exc}") from None
    except Exception as exc:  # noqa: BLE001 - only transport errors are translated, the rest re-raised
        # No route to the Hub (offline, a firewall, a wrong HF_ENDPOINT): say so, without a traceback. The HTTP
        # client is huggingface_hub's choice (httpx2 in 2.x), so its errors are recognised by module.
        transport = type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "requests", "urllib3")
        if not (transport or isinstance(exc, (OSError, LocalEntryNotFoundError))):
            raise
        raise LockError(f"cannot reach the Hub at {api.endpoint} to resolve {model_id} ({type(exc).__name__}: "
                        f"{exc}); run this where the Hub is reachable, or set HF_ENDPOINT to a mirror") from None


def _resolve(api: HfApi, model_id: str, revision: str, token: Optional[str]) -> ModelLockEntry:
    info = api.model_info(model_id, revision=revision, files_metadata=True, token=token)
    siblings = [(s.rfilename, s.size) for s in (info.siblings or [])]
    card = info.card_data.to_dict() if info.card_data is not None else {}
    license_id = card.get("license") or next((t.split(":", 1)[1] for t in (info.tags or [])
                                              if t.startswith("license:")),
                                             None)
    if info.sha is None:
        raise LockError(f"the Hub answered no commit for {model_id} at {revision}")
    with tempfile.TemporaryDirectory() as cache:
        path = hf_hub_download(model_id, "config.json", revision=info.sha, cache_dir=cache, token=token,
                               endpoint=api.endpoint)
        model_config = json.loads(Path(path).read_text())
    return models_lock.entry_from_hub(info.sha, siblings, license_id, info.gated, model_config)


def refresh(lock: Optional[ModelsLock], wanted: dict[str, Optional[str]], api: HfApi, token: Optional[str],
            update: bool = False, replace_manual: bool = False, asked: Optional[set[str]] = None,
            drop_unused: bool = True) -> ModelsLock:
    """The new lock: entries already locked at the wanted revision are kept (hand-written ones too, unless
    ``replace_manual``); models not locked yet, models in ``asked``, and with ``update`` every model, are
    resolved. With ``drop_unused``, models no stack deploys any more are dropped."""
    current = dict(lock.models) if lock else {}
    models: dict[str, ModelLockEntry] = {} if drop_unused else dict(current)
    for model_id, pinned in sorted(wanted.items()):
        existing = current.get(model_id)
        fresh = update or model_id in (asked or set()) or (replace_manual and existing and existing.source == "manual")
        if existing and not fresh and (pinned is None or existing.revision.startswith(pinned)):
            models[model_id] = existing
            continue
        # A manual entry keeps its revision (only --update moves an unpinned model to main).
        keep = existing.revision if existing and existing.source == "manual" and not update else None
        models[model_id] = resolve(api, model_id, pinned or keep or "main", token)
        if pinned and models[model_id].revision != pinned and len(pinned) == 40:
            raise LockError(f"{model_id}: the Hub resolved {pinned} to {models[model_id].revision}")
    return ModelsLock(version=models_lock.LOCK_VERSION, models=models)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock-file", type=Path, default=PROJECT_DIR / "models.lock.json")
    parser.add_argument("--update", action="store_true", help="re-resolve every model, not only new ones")
    parser.add_argument("--check", action="store_true", help="only check that every deployed model is locked")
    parser.add_argument("--endpoint", default=None, help="Hub endpoint (default: HF_ENDPOINT or the public Hub)")
    parser.add_argument("--model", action="append", default=[], metavar="ORG/NAME[@REV]",
                        help="lock (or re-resolve) this model; repeatable. Other entries are kept as they are")
    parser.add_argument("--stack-file", action="append", default=[], type=Path, metavar="PATH",
                        help="lock the models of this stack file's tiers (any project); repeatable")
    parser.add_argument("--replace-manual", action="store_true",
                        help="re-resolve hand-written entries (needs the Hub, and a token for gated ones)")
    args = parser.parse_args(argv)
    try:
        lock = models_lock.load(args.lock_file) if args.lock_file.exists() else None
        explicit = dict(parse_model(m) for m in args.model)
        for path in args.stack_file:
            explicit.update(stack_file_models(path))
        wanted = {**({m: None for m in lock.models} if lock else {}), **explicit} if explicit else requested_models()
        if args.check:
            missing = sorted(m for m in wanted if not lock or m not in lock.models)
            for m in missing:
                print(f"not locked: {m}", file=sys.stderr)
            return 1 if missing else 0
        api = HfApi(endpoint=args.endpoint)
        new = refresh(lock, wanted, api, token=None, update=args.update, replace_manual=args.replace_manual,
                      asked={parse_model(m)[0] for m in args.model}, drop_unused=not explicit)
    except LockError as exc:
        print(f"models lock: {exc}", file=sys.stderr)
        return 1
    args.lock_file.write_text(models_lock.dump(new))
    print(f"locked {len(new.models)} model(s) in {args.lock_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
