"""ModelTier: one model tier on a GPU class — weights PVC + sync Job per release, engine Deployment(s) (TGI or
vLLM, per release),
Service (the blue/green switch), PodDisruptionBudget, NetworkPolicy and ServiceAccounts.

A thin ComponentResource over ``tier_manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. The Deployment of a release waits for its sync Job (Pulumi awaits Job completion), so
pods start only on a complete, verified cache.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers.tiers import manifests as tm
from llm_tiers.tiers import autoscaling as tier_autoscaling
from llm_tiers.tiers import mirror_manifests as mm
from llm_tiers.tiers import storage
from llm_tiers.tiers import weights as tier_weights
from llm_tiers import iam
from llm_tiers.pod_identity import pod_identity_role
from llm_tiers.tiers import rules
from llm_tiers import timing
from llm_tiers.config.schema import release_engine
from llm_tiers.config.specs import TierSpec
from llm_tiers.tiers import engines
from llm_tiers.tiers.lock_spec import ModelLockSpec


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


class TolerationSpec(TypedDict, total=False):
    """A Kubernetes toleration (core/v1 ``Toleration``)."""

    key: str
    """Taint key to tolerate. Default: any key (with ``operator: Exists``)."""
    operator: str
    """``Equal`` or ``Exists``. Default: ``Equal``."""
    value: str
    """Taint value (with ``Equal``). Default: empty."""
    effect: str
    """``NoSchedule``, ``PreferNoSchedule`` or ``NoExecute``. Default: every effect."""
    toleration_seconds: int
    """How long a ``NoExecute`` taint is tolerated. Default: forever."""


def _mirror_policy(prefixes: list[str], write: bool) -> Callable[[str], str]:
    """The tier's mirror policy once the bucket's ARN is known."""
    return lambda arn: iam.weight_mirror_policy(arn, prefixes, write)


def _role_name(prefix: str, tier: str, role: str) -> str:
    """``<prefix>-<tier>-mirror-<role>``, within IAM's 64 characters (a hash keeps long names unique)."""
    import hashlib

    name = f"{prefix}-{tier}-mirror-{role}"
    return name if len(name) <= 64 else f"{name[:55]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _toleration(t: Mapping[str, Any]) -> dict[str, Any]:
    # Kubernetes spells it tolerationSeconds; the other keys are the same in both spellings.
    return {("tolerationSeconds" if k == "toleration_seconds" else k): v for k, v in t.items()}


class WeightMirrorRefSpec(TypedDict, total=False):
    """The S3 weight mirror a tier with ``weights_from`` ``nvme`` or ``s3`` fills and reads (a ``WeightMirror``)."""

    bucket_name: Required[pulumi.Input[str]]
    """The mirror's bucket (``WeightMirror.bucket_name``). Required."""
    bucket_arn: Required[pulumi.Input[str]]
    """Its ARN (``WeightMirror.bucket_arn``): the tier's IAM policies name it. Required."""
    region: Required[str]
    """The bucket's region. Required."""
    cluster_name: Required[pulumi.Input[str]]
    """The EKS cluster the tier's pods run in (their Pod Identity associations). Required."""
    name_prefix: str
    """Start of the tier's IAM role names. Default: ``llm``."""


class ModelTierArgs(TypedDict, total=False):
    """Inputs of :class:`ModelTier`."""

    tier: Required[TierSpec]
    """The tier: one entry of the ``tiers`` config section (the stack file's keys, snake_case in Python). Required."""
    lock: Required[ModelLockSpec]
    """Models-lock entry of the tier's live model: ``models.lock.json``'s ``models[<modelId>]`` as it stands
    (revision, files, sizes, architecture numbers). Required."""
    instance_types: Required[list[str]]
    """Instance types of the tier's GPU class (sizes the pod's CPU and memory requests). Required."""
    candidate_lock: Optional[ModelLockSpec]
    """Models-lock entry of the candidate's model; required when the tier has a candidate. Default: none."""
    namespace: str
    """Where every object of the tier is created. Default: ``llm-tiers``."""
    storage_class: str
    """ReadWriteMany StorageClass for the weights cache (``cluster.weights_storage_class``). Default:
    ``efs-weights``."""
    hf_token_secret: Optional[str]
    """Kubernetes Secret (key HF_TOKEN) in ``namespace`` for the sync Job. Default: none (public models only)."""
    sync_node_selector: dict[str, str]
    """Where the (CPU-only) sync Job runs: the weight-sync NodePool (``GpuCapacity.sync_scheduling``), or the
    system node group. Default: any node."""
    sync_tolerations: list[TolerationSpec]
    """Tolerations of the sync Job's pod (the weight-sync NodePool's taint). Default: none."""
    gateway_namespace: str
    """Where the gateway's proxy pods run: only they (and the monitoring namespace) may open HTTP connections
    to the tier. Default: ``envoy-gateway-system``."""
    gateway_pod_labels: dict[str, str]
    """Labels of the gateway's proxy pods in ``gateway_namespace`` (only they are admitted); empty: every pod
    of that namespace. Default: Envoy Gateway's proxy labels (``app.kubernetes.io/component: proxy``,
    ``app.kubernetes.io/managed-by: envoy-gateway``)."""
    monitoring_namespace: str
    """Where Prometheus runs (admitted by the NetworkPolicy for /metrics). Default: ``monitoring``."""
    otlp_endpoint: Optional[str]
    """OTLP endpoint when tracing is on (``Tracing.otlp_endpoint``). Default: none (tracing off)."""
    image: Optional[str]
    """Engine image of the live release (and of a candidate on the same engine without its own ``image``).
    Default: the pinned image of the release's engine (``versions.IMAGES['tgi']`` or ``['vllm']``)."""
    run_as_user: Optional[int]
    """UID (and GID) to run the engine and sync containers as, for an image that can run as non-root (a derived
    TGI image with its Python outside /root). Default: UID 0 for TGI, because the pinned TGI image cannot run as
    any other user (docs/components/model-tier.md, "Security"), and UID 10001 for vLLM, whose image can; every
    other hardening applies either way."""
    autoscaling: bool
    """Create a KEDA ScaledObject per release and a PodMonitor (needs KEDA and the Prometheus operator, e.g.
    the Observability component); false: fixed ``replicas.min`` and no monitoring objects. Default: true."""
    prometheus_url: str
    """Prometheus that KEDA queries for the recorded tier signals. Default:
    ``http://kube-prometheus-stack-prometheus.monitoring.svc:9090``."""
    gateway_proxy_namespace_label: str
    """Namespace of the gateway's routes (Envoy cluster names carry it), for the scale-from-zero trigger.
    Default: ``llm-gateway``."""
    gateway_clusters: list[str]
    """Envoy clusters that carry this tier's traffic (``Gateway.tier_clusters[<tier>]``), read by the
    scale-from-zero trigger. Default: the per-tier route's cluster in ``gateway_proxy_namespace_label``."""
    allowed_licenses: Optional[list[str]]
    """Hub licenses the tier's models may carry (the stack's ``modelPolicy.allowedLicenses``). Default: any."""
    weight_mirror: Optional[WeightMirrorRefSpec]
    """The S3 weight mirror, required when ``tier.weights_from`` is ``nvme`` or ``s3``: the sync Job uploads the
    verified revision there and the serving pods read it (each through its own Pod Identity role, limited to the
    tier's revisions). Default: none."""
    admit_benchmark: bool
    """Let the tier's benchmark pods (the ``Benchmark`` component, same namespace) call the API directly, past
    the gateway's tenant limits. The stack sets it for the tiers listed in ``benchmark.tiers``. Default: false."""


class ModelTier(pulumi.ComponentResource):
    """A tier of TGI or vLLM (per release) on a GPU class. See docs/components/model-tier.md.

    Python callers may also pass these keyword arguments (other languages: the resource option ``dependsOn``,
    which every object of the tier waits for, as for ``depends_on``):

    - ``depends_on``: every object of the tier is created after these (its namespace). Pass what only some
      objects use in the four lists below, so a step waits only for what it uses (the 70B weight sync does not
      wait for Prometheus).
    - ``storage_depends_on``: the weights PVCs (and all that follows) wait for these: the StorageClass.
    - ``sync_depends_on``: the sync Jobs wait for these: the hf-token Secret's ExternalSecret.
    - ``serve_depends_on``: the engine Deployments wait for these: the GPU class's NodePool, the device plugin,
      the OTLP collector.
    - ``monitoring_depends_on``: the ScaledObjects and the PodMonitor wait for these: KEDA and the Prometheus
      operator.
    - ``before_switch``: called with the Deployment per release once they are declared, before the Service;
      returns what the Service must also wait for. The stack creates the tier's Benchmark and Evaluation there
      and returns the promotion gate (``Evaluation.switch_after``) when ``serve`` is ``candidate``: a failed
      gate fails ``pulumi up`` before the Service moves. Other languages have no such hook (a callback cannot
      cross the provider): they create Benchmark and Evaluation after the tier, so its Service does not wait
      for the gate (docs/components/model-tier.md, "From other languages").
    """

    service_name: str
    """Name of the tier's Service (its stable in-cluster address)."""
    service_url: str
    """In-cluster URL of the tier's OpenAI-compatible API (``http://<tier>.<namespace>.svc/v1``)."""
    serving: dict[str, str]
    """The release the Service sends traffic to: ``release``, ``model``, ``revision``, ``engine``, ``image``."""

    def __init__(self, resource_name: str, args: ModelTierArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = (), storage_depends_on: Sequence[pulumi.Resource] = (),
                 sync_depends_on: Sequence[pulumi.Resource] = (), serve_depends_on: Sequence[pulumi.Resource] = (),
                 monitoring_depends_on: Sequence[pulumi.Resource] = (),
                 before_switch: Optional[Callable[[Mapping[str, pulumi.Resource]],
                                                  Sequence[pulumi.Resource]]] = None):
        # The stack loader's checks on these args, every problem at its args path, before anything (this
        # component included) is registered: a composed tier does not go through the loader.
        arguments.refuse("ModelTier", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("ModelTier"), resource_name, None, opts)
        a = rules.resolved(args)
        t, lock, candidate_lock, _ = rules.parsed(a)
        assert t is not None and lock is not None  # checked above
        ns, instance_types = a["namespace"], list(a["instance_types"])
        sync_tolerations = [_toleration(x) for x in a["sync_tolerations"]]
        after = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]
        live_image = a["image"] or engines.image(t.engine)
        releases = [tm.Release("live", t.model_id, lock, live_image, tuple(t.extra_args), t.engine)]
        if t.candidate is not None:
            c = t.candidate
            engine = release_engine(t, "candidate")
            # Another engine means its pinned image, unless the candidate names one (args.image is the live one's).
            image = c.image or (live_image if engine == t.engine else engines.image(engine))
            releases.append(tm.Release("candidate", c.model_id or t.model_id, candidate_lock, image,  # type: ignore[arg-type]
                                       tuple(c.extra_args if c.extra_args is not None else t.extra_args), engine))

        def create(kind_cls: Any, res: str, manifest: dict, depends_on: Sequence[pulumi.Resource] = (),
                   await_seconds: Optional[tuple[int, int]] = None, ignore_changes: Optional[list[str]] = None) -> Any:
            # Top-level fields become the SDK's keyword arguments; nested dicts go through as Kubernetes spells them.
            body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            timeouts = (pulumi.CustomTimeouts(create=timing.duration(await_seconds[0]),
                                              update=timing.duration(await_seconds[1]))
                        if await_seconds else None)
            return kind_cls(f"{resource_name}-{res}", **body,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *depends_on],
                                                        custom_timeouts=timeouts, ignore_changes=ignore_changes))

        script = resources.files("llm_tiers.tiers.scripts").joinpath(tm.SYNC_SCRIPT_KEY).read_text()
        script_cm = f"{t.name}-weights-sync"
        cm = k8s.core.v1.ConfigMap(
            f"{resource_name}-sync-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=script_cm, namespace=ns, labels=tm.labels(t, None, "weights-sync")
            ),
            data={tm.SYNC_SCRIPT_KEY: script},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )
        sync_sa = create(
            k8s.core.v1.ServiceAccount,
            "sync-sa",
            tm.service_account(tm.object_name(t.name, "", "weights-sync"), ns, t, "weights-sync"),
        )
        server_sa = create(
            k8s.core.v1.ServiceAccount,
            "server-sa",
            tm.service_account(tm.object_name(t.name, "", "server"), ns, t, "server"),
        )

        # weightsFrom nvme / s3: the AWS CLI's config, and a Pod Identity role each for the sync Job (upload) and the
        # serving pods (read), limited to this tier's revisions in the mirror.
        mirror = None
        sync_identity: list[pulumi.Resource] = []
        serve_identity: list[pulumi.Resource] = []
        if t.weights_from != "efs":
            wm = a["weight_mirror"]
            role_prefix = wm.get("name_prefix") or "llm"
            mirror = mm.MirrorRef(wm["bucket_name"], wm["region"], f"{t.name}-aws-cli")
            aws_config = create(k8s.core.v1.ConfigMap, "aws-cli-config",
                                mm.config_map(mirror.config_map, ns, tm.labels(t, None, "weights-mirror")))
            sync_identity.append(aws_config)
            if t.weights_from == "nvme":
                serve_identity.append(aws_config)
            prefixes = sorted({storage.mirror_prefix(r.model_id, r.lock.revision) for r in releases})
            for role, sa, write, ready in (("writer", "weights-sync", True, sync_identity),
                                           ("reader", "server", False, serve_identity)):
                identity = pod_identity_role(
                    f"{resource_name}-mirror-{role}", _role_name(role_prefix, t.name, role),
                    cluster_name=wm["cluster_name"], namespace=ns, service_account=tm.object_name(t.name, "", sa),
                    policy=pulumi.Output.from_input(wm["bucket_arn"]).apply(_mirror_policy(prefixes, write)),
                    tags=naming.aws_tags(None, role_prefix, {f"{naming.LABEL_DOMAIN}/tier": t.name}),
                    opts=pulumi.ResourceOptions(parent=self))
                ready.extend(identity.ready)

        self._deployments: dict[str, k8s.apps.v1.Deployment] = {}
        syncs: dict[str, pulumi.Resource] = {}
        claims: dict[str, list[pulumi.Resource]] = {}
        budgets: dict[str, timing.DeploymentBudget] = {}
        for rel in releases:
            key, weights = tm.cache_key(rel), rel.lock.weights_bytes
            if key not in syncs:
                # One cache and one sync Job per revision, named by it: releases of the same revision share
                # them, and promoting a candidate re-creates neither. The claim's size is never updated in
                # place (a PVC cannot shrink; the EFS driver cannot expand one). With the mirror the Job needs no
                # claim, and a vLLM release keeps only its compile cache on one.
                claims[key] = [create(
                    k8s.core.v1.PersistentVolumeClaim,
                    f"weights-{key}",
                    tier_weights.weights_pvc(t, rel, ns, a["storage_class"]),
                    depends_on=list(storage_depends_on),
                    ignore_changes=["spec.resources.requests.storage"],
                )] if tm.needs_claim(t, rel) else []
                sync = timing.sync_await_seconds(weights, rel.engine, new_node=bool(sync_tolerations),
                                                 mirror=mirror is not None)
                syncs[key] = create(
                    k8s.batch.v1.Job,
                    f"sync-{key}",
                    tier_weights.sync_job(t, rel, ns, script_cm, a["hf_token_secret"], a["sync_node_selector"],
                                          a["run_as_user"], tolerations=sync_tolerations, mirror=mirror),
                    depends_on=[*(claims[key] if mirror is None else []), cm, sync_sa, *sync_identity,
                                *sync_depends_on],
                    await_seconds=(sync, sync),
                )
            budgets[rel.name] = timing.deployment_await(
                weights, t.replicas.max, engine=rel.engine, instance_types=instance_types,
                weights_from=t.weights_from, shards=t.gpus_per_replica)
            self._deployments[rel.name] = create(
                k8s.apps.v1.Deployment,
                rel.name,
                tm.deployment(t, rel, ns, instance_types, a["otlp_endpoint"], a["autoscaling"], a["run_as_user"],
                              mirror),
                depends_on=[syncs[key], server_sa, *(claims[key] if mirror is not None else []), *serve_identity,
                            *serve_depends_on],
                await_seconds=(budgets[rel.name].create_seconds, budgets[rel.name].update_seconds),
            )
            create(k8s.policy.v1.PodDisruptionBudget, f"{rel.name}-pdb", tm.pdb(t, rel, ns))
            if a["autoscaling"]:
                so = tier_autoscaling.scaled_object(
                    t, rel, ns, a["prometheus_url"], a["gateway_proxy_namespace_label"], a["gateway_clusters"]
                )
                k8s.apiextensions.CustomResource(
                    f"{resource_name}-{rel.name}-scaler",
                    api_version=so["apiVersion"],
                    kind=so["kind"],
                    metadata=so["metadata"],
                    spec=so["spec"],
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=[self._deployments[rel.name], *monitoring_depends_on]
                    ),
                )

        # The switch moves only once the release it points at is available (its Deployment is awaited first);
        # the Service's own await then sees ready endpoints, or waits for a replica that is still starting.
        serving = budgets[t.serve].create_seconds
        switch_after = list(before_switch(dict(self._deployments))) if before_switch else []
        self._service = create(
            k8s.core.v1.Service,
            "service",
            tm.service(t, ns),
            depends_on=[self._deployments[t.serve], *switch_after],
            await_seconds=(serving, serving),
        )
        if a["autoscaling"]:
            pm = tier_autoscaling.pod_monitor(t, ns)
            k8s.apiextensions.CustomResource(
                f"{resource_name}-pod-monitor",
                api_version=pm["apiVersion"],
                kind=pm["kind"],
                metadata=pm["metadata"],
                spec=pm["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *monitoring_depends_on]),
            )
        create(
            k8s.networking.v1.NetworkPolicy,
            "network-policy",
            tm.network_policy(
                t,
                ns,
                a["gateway_namespace"],
                a["monitoring_namespace"],
                bool(a["otlp_endpoint"]),
                a["gateway_pod_labels"],
                a["admit_benchmark"],
            ),
        )
        create(k8s.networking.v1.NetworkPolicy, "sync-network-policy", tm.sync_network_policy(t, ns))

        self.service_name = t.name
        self.service_url = f"http://{t.name}.{ns}.svc/v1"
        serving = next(r for r in releases if r.name == t.serve)  # type: ignore[assignment]
        self.serving = {
            "release": serving.name,  # type: ignore[attr-defined]
            "model": serving.model_id,  # type: ignore[attr-defined]
            "revision": serving.lock.revision,  # type: ignore[attr-defined]
            "engine": serving.engine,  # type: ignore[attr-defined]
            "image": serving.image,  # type: ignore[attr-defined]
        }
        self.register_outputs(
            {
                "serviceName": self.service_name,
                "serviceUrl": self.service_url,
                "serving": self.serving,
                "releases": {
                    r.name: {"model": r.model_id, "revision": r.lock.revision, "engine": r.engine} for r in releases
                },
            }
        )

    @property
    def deployments(self) -> dict[str, k8s.apps.v1.Deployment]:
        """Deployment per release (``live``, and ``candidate`` when configured)."""
        return self._deployments

    @property
    def service(self) -> k8s.core.v1.Service:
        """The tier's Service (routes to the tier should depend on it)."""
        return self._service
