"""Start a rendered container's command the way the kubelet and the container runtime would, on this machine.

``start(obj, container, files=...)`` takes a rendered pod-bearing object (Deployment, Job, ...) and:

* builds a private mount namespace (``unshare --mount --propagation private``, and ``--net`` with only loopback
  up unless ``host_network``), whose root is an overlay of this machine's ``/`` (so mount points can be made
  without touching the host) remounted **read-only** when the container sets ``readOnlyRootFilesystem``;
* mounts every ``volumeMount`` at its ``mountPath`` as the kubelet prepares it: Secret, ConfigMap, projected
  and downwardAPI files written **root-owned** with ``items[].mode`` / ``defaultMode`` (default 0644) and, only
  when the pod has ``fsGroup``, chowned to group fsGroup with 0440 added (kubernetes/kubernetes
  ``pkg/volume/volume_linux.go`` SetVolumeOwnership; see components/llm_tiers/preview/kubelet.py), bind-mounted
  read-only; ``emptyDir`` a 0777 directory; a PersistentVolumeClaim a root-owned 0755 directory (a fresh
  filesystem), given to fsGroup with 0660 + setgid when the pod has one;
* drops to the rendered identity with ``setpriv --reuid/--regid/--groups`` (runAsUser, runAsGroup, and
  supplementalGroups + fsGroup as supplementary groups, as the kubelet adds fsGroup), no capabilities
  (``--bounding-set -all``, when the container drops ALL) and ``no_new_privs`` when
  ``allowPrivilegeEscalation: false``;
* runs the rendered ``command`` + ``args`` with exactly the rendered ``env`` (plus ``extra_env``, which the
  caller must justify) in ``workingDir`` (``/`` when unset, as for an image without WORKDIR);
* applies ``resources.limits.memory`` as a memory cgroup (cgroup v1 ``memory.limit_in_bytes`` or v2
  ``memory.max``, where this machine lets root create one), else as RLIMIT_AS (``prlimit --as``).

What differs from the real pod, by necessity: the image's interpreter is replaced by this machine's
``/usr/bin/python3`` (Debian's 3.11; ``INTERPRETERS``), and packages the image would carry (huggingface_hub)
come from the test virtualenv's site-packages, bind-mounted read-only at ``SITE_PACKAGES`` and put on PYTHONPATH
(uid 65534 or 10001 may not reach the venv's own folder, e.g. under /root or a CI runner's home). The root filesystem is
this machine's, not the image's.

Needs root, ``unshare``, ``setpriv`` and overlayfs: ``require()`` skips the test otherwise, and fails it when
``CI`` is set (CI runs as root on a machine that has them).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import pytest

from llm_tiers.preview import kubelet

INTERPRETERS = {"python": "/usr/bin/python3", "python3": "/usr/bin/python3"}
TOOLS = ("unshare", "setpriv", "chroot", "mount", "prlimit", "nsenter", "ip")
SITE_PACKAGES = "/opt/podrun/site-packages"


def missing() -> Optional[str]:
    """Why pods cannot be run here, or None."""
    if os.geteuid() != 0:
        return "not root (a private mount namespace and setpriv need root)"
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"missing {', '.join(absent)} (util-linux / coreutils)"
    if not Path(INTERPRETERS["python3"]).exists():
        return f"no {INTERPRETERS['python3']} to stand in for the image's interpreter"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare --mount fails here: {probe.stderr.decode().strip()}"
    return None


def require() -> None:
    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"cannot run pods as the kubelet would: {why}")
        pytest.skip(f"cannot run pods as the kubelet would: {why}; run the tests as root on Linux with util-linux")


def memory_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    for suffix, mult in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * mult)
    return int(quantity)


@dataclass
class Pod:
    proc: subprocess.Popen
    root: Path                       # the temporary folder holding the volumes
    volumes: dict[str, Path]         # volume name -> host folder
    memory: str                      # how the memory limit was applied
    cgroup: Optional[Path] = None
    notes: list[str] = field(default_factory=list)

    def wait(self, timeout: float = 60) -> tuple[int, str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err

    def in_netns(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess:
        """Run ``argv`` (as root, on the host filesystem) in the pod's network namespace."""
        return subprocess.run(["nsenter", "-t", str(self.proc.pid), "-n", *argv], capture_output=True, text=True, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()

    def cleanup(self) -> None:
        self.stop()
        if self.cgroup is not None:
            try:
                self.cgroup.rmdir()
            except OSError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _identity(pod: Mapping[str, Any], c: Mapping[str, Any]) -> tuple[int, int, list[int]]:
    psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser", 0))
    # An unset runAsGroup is the image's user's group; for a uid without a passwd entry, the runtime uses 0.
    gid = csc.get("runAsGroup", psc.get("runAsGroup", 0))
    groups = [*(psc.get("supplementalGroups") or [])]
    if psc.get("fsGroup") is not None:
        groups.append(psc["fsGroup"])
    return uid, gid, sorted(set(groups))


def _write_files(folder: Path, volume: Mapping[str, Any], data: Mapping[str, bytes], fs_group: Optional[int]) -> None:
    modes = dict(kubelet._file_modes(volume))
    default = modes.pop("*", None)
    names = list(modes) or list(data)
    for name in names:
        key = name
        src = next(iter(v for k, v in volume.items() if k in kubelet.FILE_VOLUMES))
        for item in src.get("items") or []:
            if item.get("path") == name:
                key = item.get("key", name)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[key] if key in data else data[name])
        mode = modes.get(name, default if default is not None else kubelet.DEFAULT_MODE)
        os.chown(path, 0, 0)
        os.chmod(path, mode)
        if fs_group is not None:  # SetVolumeOwnership: chown :fsGroup, mode | roMask (these volumes are read-only)
            os.chown(path, 0, fs_group)
            os.chmod(path, mode | kubelet.RO_MASK)
    for d in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        os.chown(d, 0, 0 if fs_group is None else fs_group)
        os.chmod(d, 0o755 if fs_group is None else 0o2755)


def in_root(root: Path, path: str) -> Path:
    """``path`` inside ``root`` with every symlink resolved inside ``root`` (as runc resolves a mount target in
    the container's root filesystem): ``/var/run`` -> ``/run`` must not lead out to the host's /run."""
    parts = [p for p in path.split("/") if p]
    cur = root
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            cur = cur.parent if cur != root else root
            continue
        nxt = cur / part
        if nxt.is_symlink():
            hops += 1
            assert hops < 40, f"symlink loop at {path}"
            link = os.readlink(nxt)
            parts = [p for p in link.split("/") if p] + parts
            if link.startswith("/"):
                cur = root
            continue
        cur = nxt
    return cur


def expand(text: str, env: Mapping[str, str]) -> str:
    """``$(NAME)`` replaced by ``env[NAME]`` when defined, ``$$`` by ``$``, as the kubelet does for command and args."""
    import re

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def start(obj: Mapping[str, Any], container: Optional[str] = None, *, files: Mapping[str, Mapping[str, bytes]] = (),
          extra_env: Mapping[str, str] = (), pythonpath_venv: bool = False, host_network: bool = False,
          stdin: Any = subprocess.DEVNULL, claims: Mapping[str, Path] = (), hosts: Mapping[str, str] = ()) -> Pod:
    """Start ``container`` (default: the first) of ``obj``'s pod template as the kubelet would.

    ``files``: volume name -> {key: content} for Secret/ConfigMap volumes (a ConfigMap's ``data`` as rendered).
    ``pythonpath_venv``: put this interpreter's site-packages on PYTHONPATH (the packages the image carries).
    ``claims``: volume name -> a host folder that stands for that PersistentVolumeClaim across pods (one Job
    writes, the next reads); an empty folder is prepared as a fresh filesystem, as an unnamed claim is.
    ``hosts``: host name -> address, written into the pod's ``/etc/hosts`` (the kubelet manages that file for
    every pod; here it stands in for cluster DNS, e.g. a Service's name -> 127.0.0.1 where a test serves it
    inside the pod's network namespace).
    """
    require()
    template = kubelet.pod_template(obj)
    assert template is not None, f"{obj.get('kind')} has no pod template"
    pod = template["spec"]
    c = next(x for x in [*pod["containers"], *(pod.get("initContainers") or [])] if container in (None, x["name"]))
    csc = c.get("securityContext") or {}
    fs_group = (pod.get("securityContext") or {}).get("fsGroup")
    root = Path(tempfile.mkdtemp(prefix="podrun-"))
    os.chmod(root, 0o755)
    volumes: dict[str, Path] = {}
    by_name = {v["name"]: v for v in pod.get("volumes") or []}
    for m in c.get("volumeMounts") or []:
        vol = by_name[m["name"]]
        folder = root / "volumes" / vol["name"]
        if vol["name"] not in volumes:
            folder.mkdir(parents=True)
            if any(k in vol for k in kubelet.FILE_VOLUMES):
                _write_files(folder, vol, dict(files).get(vol["name"], {}), fs_group)
            elif "emptyDir" in vol:
                # An emptyDir lives as long as its pod: ``claims`` names the folder an init container left it in.
                if vol["name"] in dict(claims):
                    folder = Path(dict(claims)[vol["name"]])
                    folder.mkdir(parents=True, exist_ok=True)
                    if not any(folder.iterdir()):
                        os.chmod(folder, 0o777)
                else:
                    os.chmod(folder, 0o777)
            else:  # a PersistentVolumeClaim: a fresh filesystem's root directory
                if vol["name"] in dict(claims):
                    folder = Path(dict(claims)[vol["name"]])
                if not any(folder.iterdir()):
                    os.chown(folder, 0, 0 if fs_group is None else fs_group)
                    os.chmod(folder, 0o755 if fs_group is None else 0o2775)
            volumes[vol["name"]] = folder
    uid, gid, groups = _identity(pod, c)
    env = {e["name"]: e["value"] for e in c.get("env") or [] if "value" in e}
    # The kubelet expands $(VAR) in command and args from the container's env ($$ escapes; an unknown name stays):
    # kubernetes third_party/forked/golang/expansion, used by kubelet's makeRunOptions.
    argv = [expand(str(a), env) for a in (c.get("command") or []) + (c.get("args") or [])]
    assert argv, "the container must name its command (the image's entrypoint is not here)"
    argv[0] = INTERPRETERS.get(argv[0], argv[0])
    if pythonpath_venv:
        env["PYTHONPATH"] = SITE_PACKAGES
    env.update(dict(extra_env))
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
    new_root = root / "root"
    upper, work = root / "upper", root / "work"
    for d in (new_root, upper, work):
        d.mkdir()
    if hosts:
        # the overlay's upper layer holds the pod's own /etc/hosts (the kubelet-managed file)
        (upper / "etc").mkdir()
        (upper / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n" +
                                             "".join(f"{a}\t{h}\n" for h, a in dict(hosts).items()))
        os.chmod(upper / "etc" / "hosts", 0o644)
    q = shlex.quote
    lines = ["set -e", f"mount -t overlay overlay -o lowerdir=/,upperdir={q(str(upper))},workdir={q(str(work))} "
             f"{q(str(new_root))}"]
    for special in ("/proc", "/dev", "/sys"):
        lines.append(f"mount --rbind {special} {q(str(new_root) + special)}")
    for m in c.get("volumeMounts") or []:
        # The overlay's lower layer is this machine's /, so its symlinks are the host's: resolve the mount path
        # through them, then make the mount point inside the overlay (its upper layer, not the host).
        target = str(new_root) + str(in_root(Path("/"), m["mountPath"]))
        lines.append(f"mkdir -p {q(target)}")
        lines += [f"mount --bind {q(str(volumes[m['name']]))} {q(target)}"]
        if m.get("readOnly") or any(k in by_name[m["name"]] for k in kubelet.FILE_VOLUMES):
            lines.append(f"mount -o remount,bind,ro {q(target)}")
    if pythonpath_venv:
        # The image carries its packages; here the test virtualenv's are bind-mounted read-only at a path any uid
        # can reach (the venv's own parents may be closed to it).
        target = str(new_root) + SITE_PACKAGES
        lines += [f"mkdir -p {q(target)}", f"mount --bind {q(sysconfig.get_paths()['purelib'])} {q(target)}",
                  f"mount -o remount,bind,ro {q(target)}"]
    if not host_network:
        lines.append("ip link set lo up")
    if csc.get("readOnlyRootFilesystem"):
        lines.append(f"mount -o remount,ro {q(str(new_root))}")
    cgroup, memory = None, "none (no limits.memory)"
    wrapper: list[str] = []
    if limit:
        nbytes = memory_bytes(limit)
        for base, knob in ((Path("/sys/fs/cgroup/memory"), "memory.limit_in_bytes"),
                           (Path("/sys/fs/cgroup/unified"), "memory.max"), (Path("/sys/fs/cgroup"), "memory.max")):
            try:
                candidate = base / f"podrun-{uuid.uuid4().hex[:8]}"
                candidate.mkdir()
                (candidate / knob).write_text(str(nbytes))
                cgroup, memory = candidate, f"memory cgroup {candidate} {knob}={nbytes}"
                break
            except OSError:
                if candidate.exists():
                    try:
                        candidate.rmdir()
                    except OSError:
                        pass
        if cgroup is not None:
            lines.append(f"echo $$ > {q(str(cgroup / 'cgroup.procs'))}")
        else:
            wrapper = ["prlimit", f"--as={nbytes}", "--"]
            memory = f"RLIMIT_AS={nbytes}"
    priv = ["setpriv", f"--reuid={uid}", f"--regid={gid}"]
    priv += [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    if "ALL" in ((csc.get("capabilities") or {}).get("drop") or []):
        priv += ["--inh-caps=-all", "--bounding-set=-all"]
    if csc.get("allowPrivilegeEscalation") is False:
        priv.append("--no-new-privs")
    run = [*wrapper, *priv, "--", "env", "-i", "-C", c.get("workingDir") or "/",
           *(f"{k}={v}" for k, v in env.items()), *argv]
    lines.append(f"exec chroot {q(str(new_root))} " + " ".join(q(a) for a in run))
    unshare = ["unshare", "--mount", "--propagation", "private", *([] if host_network else ["--net"])]
    proc = subprocess.Popen([*unshare, "sh", "-c", "\n".join(lines)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=stdin, text=True, start_new_session=True)
    return Pod(proc, root, volumes, memory, cgroup)
