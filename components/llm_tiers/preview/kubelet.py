"""What the kubelet and the container runtime enforce and the API server does not, checked on every pod template
the program renders (pure). ``preview/render.py`` calls ``problems`` once per render and refuses the stack.

Checked on the pod templates of the Deployments, Jobs, StatefulSets, DaemonSets, CronJobs and Pods this program
renders itself; the pods of Helm charts are rendered by Helm inside the cluster and are out of reach here.

1. **Mounted files are readable by the process.** The kubelet writes Secret, ConfigMap, projected and
   downwardAPI volumes itself (as root): every file is root-owned, with ``items[].mode``, else the volume's
   ``defaultMode``, else 0644 (k8s.io/api core/v1 ``SecretVolumeSource.DefaultMode``: "Defaults to 0644").
   Then ``SetVolumeOwnership`` (kubernetes/kubernetes ``pkg/volume/volume_linux.go``) returns at once when the
   pod has no ``fsGroup``; with one, it chowns every file to group fsGroup and ORs the mode with 0440 for a
   read-only volume (``roMask``; these volume types report ``ReadOnly: true``, pkg/volume/secret/secret.go
   ``GetAttributes``) or 0660 otherwise. The process runs as ``runAsUser`` with primary group ``runAsGroup``
   and supplementary groups ``supplementalGroups`` plus ``fsGroup`` (the kubelet adds it). With every
   capability dropped, uid 0 reads by the owner bits like anyone else. (Read in the stored revisions of
   volume_linux.go, older than the pinned 1.34: the kubernetes/kubernetes snapshot at v1.34 was too large to
   fetch here; "If fsGroup is nil nothing is done" and the 0440/0660 masks are the same in each revision read.)
   A ``runAsGroup`` left unset is the image's choice, which the render cannot see: no group is assumed.
2. **A read-only root filesystem has a writable mount wherever the process writes**: the directories named by
   the environment variables programs write under (``HOME``, ``TMPDIR``, ``HF_HOME``, ``XDG_CACHE_HOME``,
   ``*_CACHE*``...), the paths given to writing flags (``--cache-dir``, ``--huggingface-hub-cache``,
   ``--download-dir``, ``--shard-uds-path``), and TGI's default shard socket directory
   (``--shard-uds-path`` default ``/tmp/text-generation-server``, launcher/src/main.rs at v3.3.6). Writable:
   an ``emptyDir`` (created 0777), or a PersistentVolumeClaim mounted read-write that the uid owns (root) or
   whose group is the pod's ``fsGroup``.
3. **Probes hit a port the container serves**: a named port is one of the container's ``ports[].name``, a
   number one of its ``containerPort``s, and when the command line sets ``--port`` it is that port.
4. **Environment variables the TGI launcher reads as flags** (every ``struct Args`` field is
   ``#[clap(long, env)]``): none may set a flag the platform owns (tiers/tgi.py ``guarded_env``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers.tiers import tgi
from llm_tiers.tiers.engine_settings import flag_values

POD_KINDS = {"Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template"),
             "ReplicaSet": ("spec", "template"), "Job": ("spec", "template"),
             "CronJob": ("spec", "jobTemplate", "spec", "template"), "Pod": ()}
FILE_VOLUMES = ("secret", "configMap", "projected", "downwardAPI")
DEFAULT_MODE = 0o644
RO_MASK = 0o440
# Environment variables whose value is a directory the process (or a library it loads) writes under.
WRITE_ENV = {"HOME", "TMPDIR", "TMP", "TEMP", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
             "TRANSFORMERS_CACHE", "HF_DATASETS_CACHE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
             "XDG_RUNTIME_DIR", "TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "VLLM_CACHE_ROOT", "NUMBA_CACHE_DIR",
             "MPLCONFIGDIR", "OUTLINES_CACHE_DIR", "PYTHONPYCACHEPREFIX", "CUDA_CACHE_PATH"}
WRITE_ENV_PATTERN = re.compile(r"(^|_)CACHE(_DIR|_ROOT|_PATH|_HOME)?$")
# Flags whose value is a path the process writes.
WRITE_FLAGS = {"--cache-dir", "--huggingface-hub-cache", "--download-dir", "--shard-uds-path", "--output-dir",
               "--local-dir"}
TGI_IMAGE = "text-generation-inference"
TGI_DEFAULT_UDS = "/tmp/text-generation-server"


@dataclass(frozen=True)
class Problem:
    obj: str        # "Deployment llm-gateway/ratelimit-redis"
    where: str      # "container guard, volume keys"
    message: str
    key: Optional[str] = None  # the config key that produced the object, where one did

    def __str__(self) -> str:
        return f"{self.key + ': ' if self.key else ''}{self.obj}, {self.where}: {self.message}"


def pod_template(obj: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    path = POD_KINDS.get(obj.get("kind", ""))
    if path is None:
        return None
    node: Any = obj
    for part in path:
        node = (node or {}).get(part)
    return node if isinstance(node, dict) else None


def _file_modes(volume: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(file, mode) of every file a Secret/ConfigMap/projected/downwardAPI volume holds, as the kubelet writes
    them (files not listed by ``items`` are shown as ``*``)."""
    for kind in FILE_VOLUMES:
        src = volume.get(kind)
        if src is None:
            continue
        default = src.get("defaultMode", DEFAULT_MODE)
        if kind == "projected":
            out = []
            for source in src.get("sources") or []:
                for sub in source.values():
                    items = (sub or {}).get("items") or []
                    out += [(i.get("path", "*"), i.get("mode", default)) for i in items] or [("*", default)]
            return out or [("*", default)]
        items = src.get("items") or []
        return [(i.get("path", i.get("key", "*")), i.get("mode", default)) for i in items] or [("*", default)]
    return []


def can_read(uid: int, groups: set[int], mode: int, owner: int, group: int) -> bool:
    if uid == owner:
        return bool(mode & 0o400)
    if group in groups:
        return bool(mode & 0o040)
    return bool(mode & 0o004)


def _identity(pod: Mapping[str, Any], container: Mapping[str, Any]) -> tuple[Optional[int], set[int], Optional[int]]:
    psc, csc = pod.get("securityContext") or {}, container.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    gid = csc.get("runAsGroup", psc.get("runAsGroup"))
    fs_group = psc.get("fsGroup")
    groups = {g for g in (gid, fs_group, *(psc.get("supplementalGroups") or ())) if g is not None}
    return uid, groups, fs_group


def _under(path: str, mount: str) -> bool:
    path, mount = posixpath.normpath(path), posixpath.normpath(mount)
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def _command(container: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]


def write_paths(container: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(why, path) of every place the container's process writes, from its rendered env and command line."""
    out = []
    for e in container.get("env") or []:
        name, value = e.get("name", ""), e.get("value")
        if isinstance(value, str) and value.startswith("/") and (name in WRITE_ENV or WRITE_ENV_PATTERN.search(name)):
            out.append((f"env {name}", value))
    argv = _command(container)
    out += [(f"arg {flag}", value) for flag, value in flag_values(argv, WRITE_FLAGS) if value.startswith("/")]
    if _runs_tgi_launcher(container) and not flag_values(argv, ["--shard-uds-path"]):
        out.append(("TGI's default --shard-uds-path", TGI_DEFAULT_UDS))
    return out


def _runs_tgi_launcher(container: Mapping[str, Any]) -> bool:
    """The TGI image's entrypoint (the launcher) runs: its image and no ``command`` replacing it."""
    return TGI_IMAGE in str(container.get("image", "")) and not container.get("command")


def _check_container(pod: Mapping[str, Any], c: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    name = c.get("name", "?")
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    uid, groups, fs_group = _identity(pod, c)
    csc = c.get("securityContext") or {}
    caps_dropped = "ALL" in ((csc.get("capabilities") or {}).get("drop") or [])
    mounts = c.get("volumeMounts") or []
    # 1. mounted files readable
    if uid is not None and not (uid == 0 and not caps_dropped):
        for m in mounts:
            vol = volumes.get(m.get("name"))
            if vol is None:
                found.append((f"container {name}, volumeMount {m.get('name')}",
                              "mounts a volume the pod does not have"))
                continue
            group = fs_group if fs_group is not None else 0
            for path, mode in _file_modes(vol):
                eff = mode | RO_MASK if fs_group is not None else mode
                if not can_read(uid, groups, eff, 0, group):
                    kind = next(k for k in FILE_VOLUMES if k in vol)
                    found.append((f"container {name}, volume {vol['name']} ({kind}) file {path}",
                                  f"uid {uid} (groups {sorted(groups) or 'none known'}) cannot read it: the kubelet "
                                  f"writes it owned by root:{group} with mode {oct(eff)}"
                                  f"{'' if fs_group is not None else ' (no fsGroup, so its group stays root)'}; set "
                                  f"the pod's securityContext.fsGroup (the kubelet then gives the files that group "
                                  f"and adds 0440) or make the mode readable by the uid"))
    # 2. read-only root: writable mounts where the process writes
    if csc.get("readOnlyRootFilesystem"):
        for why, path in write_paths(c):
            covering = [m for m in mounts if _under(path, m.get("mountPath", ""))]
            mount = max(covering, key=lambda m: len(m.get("mountPath", "")), default=None)
            problem = None
            if mount is None:
                problem = "is on the read-only root filesystem (no volume is mounted there)"
            else:
                vol = volumes.get(mount.get("name")) or {}
                if mount.get("readOnly") or any(k in vol for k in FILE_VOLUMES):
                    problem = f"is on volume {mount.get('name')}, mounted read-only"
                elif "persistentVolumeClaim" in vol and uid not in (None, 0) and fs_group is None:
                    problem = (f"is on volume {mount.get('name')} (a PersistentVolumeClaim, root-owned on a fresh "
                               f"filesystem), which uid {uid} cannot write without the pod's fsGroup")
            if problem:
                found.append((f"container {name}, {why}={path}",
                              f"the process writes there but it {problem}; mount an emptyDir (or a writable "
                              "volume) at that path or point the variable/flag at one"))
    # 3. probes
    ports = c.get("ports") or []
    by_name = {p.get("name"): p.get("containerPort") for p in ports if p.get("name")}
    numbers = {p.get("containerPort") for p in ports}
    served = {int(v) for _, v in flag_values(_command(c), ["--port"]) if str(v).isdigit()}
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = c.get(probe_name) or {}
        for handler in ("httpGet", "tcpSocket", "grpc"):
            if handler not in probe:
                continue
            port = probe[handler].get("port")
            where = f"container {name}, {probe_name}.{handler}.port {port}"
            if isinstance(port, str) and not port.isdigit():
                if port not in by_name:
                    found.append((where, f"names no port of the container (ports: {sorted(by_name) or 'none'}); "
                                         "the kubelet fails the probe and the pod never becomes ready"))
                    continue
                port = by_name[port]
            port = int(port)
            if port not in numbers:
                found.append((where, f"is not a declared containerPort ({sorted(numbers) or 'none'})"))
            elif served and port not in served:
                found.append((where, f"but the process serves on --port {sorted(served)[0]}"))
    # 4. TGI launcher env
    if _runs_tgi_launcher(c):
        env = c.get("env") or []
        for i, flag in tgi.guarded_env(env):
            found.append((f"container {name}, env {env[i].get('name')}",
                          f"the TGI launcher reads it as {flag}, a flag the platform sets from the tier's config"))
    return found


def _config_key(obj: Mapping[str, Any], tier_names: Sequence[str]) -> Optional[str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    tier = labels.get(f"{naming.LABEL_DOMAIN}/tier")
    if tier in tier_names:
        return f"tiers[{list(tier_names).index(tier)}]"  # type: ignore[arg-type]
    return None


def problems(objects: Iterable[Mapping[str, Any]], tier_names: Sequence[str] = ()) -> list[Problem]:
    """Every kubelet-level problem of the pod templates in ``objects`` (rendered Kubernetes objects)."""
    out = []
    for obj in objects:
        template = pod_template(obj)
        if template is None:
            continue
        pod = template.get("spec") or {}
        meta = obj.get("metadata") or {}
        what = f"{obj['kind']} {meta.get('namespace', 'default')}/{meta.get('name')}"
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            for where, message in _check_container(pod, c):
                out.append(Problem(what, where, message, _config_key(obj, tier_names)))
    return out


def tier_names(config: Mapping[str, str], project: str = "llm-tiers") -> list[str]:
    """The tier names of a render's config map (``{"<project>:tiers": json}``), for config keys in messages."""
    try:
        tiers = json.loads(config.get(f"{project}:tiers") or "[]")
        return [t.get("name") for t in tiers if isinstance(t, dict)]  # type: ignore[misc]
    except (TypeError, ValueError):
        return []


def message(found: Sequence[Problem]) -> str:
    return ("The rendered pods would fail on a real node (the kubelet / container runtime refuses what the API "
            "server accepts); nothing was created:\n" + "\n".join(f"  - {p}" for p in found))
