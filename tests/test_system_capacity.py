"""System node group capacity: the allocatable formula, the packing, the config check, and that the requests
the check counts are exactly the ones the rendered Helm values and Kubernetes objects carry."""

from __future__ import annotations

import copy

import functools
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from llm_tiers.stack import system_capacity as sc
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.preview.plan_markdown import plan_markdown
from conftest import STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool

# --------------------------------------------------------------------------------------------------
# Allocatable (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go, see the module docstring)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vcpus, reserved_m", [
    (1, 60), (2, 60 + 10), (4, 60 + 10 + 10), (8, 80 + 10), (16, 80 + 30), (32, 80 + 70)])
def test_kube_reserved_cpu_follows_nodeadm(vcpus, reserved_m):
    # 6% of the first core, 1% of the second, 0.5% of cores 3-4, 0.25% above.
    assert sc.kube_reserved_cpu_m(vcpus) == reserved_m


def test_allocatable_of_m7i_large_and_xlarge_pinned_against_the_formula():
    large, xlarge = sc.CATALOG["m7i.large"], sc.CATALOG["m7i.xlarge"]
    # maxPods = ENIs x (IPv4 per ENI - 1) + 2
    assert (large.max_pods, xlarge.max_pods) == (3 * 9 + 2, 4 * 14 + 2) == (29, 58)
    # CPU: capacity - kubeReserved
    assert large.allocatable_cpu_m == 2000 - 70 == 1930
    assert xlarge.allocatable_cpu_m == 4000 - 80 == 3920
    # memory: nominal less 7.5% VM overhead, - (255 + 11 x maxPods) Mi kubeReserved, - 100Mi evictionHard
    assert large.allocatable_memory_mi == int(8 * 1024 * 0.925) - (255 + 11 * 29) - 100 == 6903
    assert xlarge.allocatable_memory_mi == int(16 * 1024 * 0.925) - (255 + 11 * 58) - 100 == 14162


def test_catalog_has_the_general_purpose_families():
    for family in ("m5", "m6i", "m7i", "m6a", "m7a", "c6i", "c7i", "r6i", "r7i"):
        for size, vcpus in (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16)):
            assert sc.CATALOG[f"{family}.{size}"].vcpus == vcpus
    assert (sc.CATALOG["c7i.xlarge"].memory_gib, sc.CATALOG["r7i.xlarge"].memory_gib) == (8, 32)
    assert sc.CATALOG["m6i.4xlarge"].max_pods == 8 * 29 + 2


@pytest.mark.parametrize("quantity, millicores", [("250m", 250), ("1", 1000), (2, 2000), ("0.5", 500)])
def test_cpu_quantities(quantity, millicores):
    assert sc.parse_cpu_m(quantity) == millicores
    assert sc.parse_cpu_m(sc.cpu_quantity(millicores)) == millicores


@pytest.mark.parametrize("quantity, mebibytes", [("256Mi", 256), ("2Gi", 2048), ("1024Ki", 1), ("100M", 96)])
def test_memory_quantities(quantity, mebibytes):
    assert sc.parse_memory_mi(quantity) == mebibytes


# --------------------------------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------------------------------


def _w(name, cpu, mem, replicas=1, placement="any", kind="Deployment"):
    return sc.Workload(name, "manifest", (sc.Container(cpu, mem),), replicas, placement, kind)


def test_daemonsets_land_on_every_node_and_required_spread_never_doubles_up():
    it = sc.CATALOG["m7i.xlarge"]
    fit = sc.pack([_w("agent", 100, 100, placement="daemonset", kind="DaemonSet"), _w("ctl", 500, 500, 2, "required")],
                  it, 3)
    assert fit.fits and fit.pod_count == 3 + 2
    assert all("agent" in n.pods for n in fit.node_use)
    assert [n.groups.get("ctl", 0) for n in fit.node_use] == [1, 1, 0]
    one_node = sc.pack([_w("ctl", 500, 500, 2, "required")], it, 1)
    assert not one_node.fits and one_node.unplaced == ("ctl-1",)


def test_balanced_spread_keeps_skew_at_one_and_first_fit_fills_in_order():
    it = sc.CATALOG["m7i.xlarge"]
    fit = sc.pack([_w("proxy", 100, 100, 5, "balanced")], it, 2)
    assert sorted(n.groups["proxy"] for n in fit.node_use) == [2, 3]
    # A pod larger than any node's free room is unplaced; smaller ones still pack.
    big = sc.pack([_w("big", 3000, 100), _w("big2", 3000, 100), _w("small", 900, 100)], it, 1)
    assert big.unplaced == ("big2-0",) and big.node_use[0].cpu_m == 3900
    # Max pods per node is a limit too.
    many = sc.pack([_w("tiny", 1, 1, it.max_pods + 1)], it, 1)
    assert many.unplaced == (f"tiny-{it.max_pods}",)


# --------------------------------------------------------------------------------------------------
# The config check
# --------------------------------------------------------------------------------------------------


def _values(stack: str, **node_group: Any) -> dict[str, Any]:
    values = stack_values(stack)
    values["cluster"]["systemNodeGroup"].update(node_group)
    return values


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_fits_with_real_headroom(stack):
    cfg = parse(stack_values(stack))
    fits = sc.fits_for(cfg)
    assert len(fits) == len(set(cfg.cluster.system_node_group.instance_types))
    for fit in fits:
        assert fit.fits, fit.unplaced
        assert fit.headroom_cpu_percent >= 20 and fit.headroom_memory_percent >= 20, fit.summary()
    assert sc.warnings(cfg) == []


def test_devs_old_m7i_large_pair_is_refused_with_the_numbers():
    values = _values("dev", instanceTypes=["m7i.large"], desiredSize=2)
    with pytest.raises(ConfigError) as info:
        parse(values)
    (issue,) = info.value.issues
    assert issue.path == "cluster.systemNodeGroup.instanceTypes"
    fit = sc.fits_for(parse(stack_values("dev")))[0]  # same pods, on m7i.xlarge
    large = sc.pack(sc.system_workloads(parse(stack_values("dev"))), sc.CATALOG["m7i.large"], 2)
    assert large.requested_cpu_m == fit.requested_cpu_m > large.allocatable_cpu_m
    for words in (f"request {sc.fmt_cpu(large.requested_cpu_m)} and {sc.fmt_memory(large.requested_memory_mi)}",
                  f"2 x m7i.large allocate {sc.fmt_cpu(large.allocatable_cpu_m)}",
                  "(1.93 vCPU, 6.7 GiB, 29 pods each", "use m7i.xlarge instead of m7i.large",
                  "raise desiredSize to"):
        assert words in issue.message, (words, issue.message)


def test_a_misfit_stops_the_render_before_anything_is_registered():
    values = _values("dev", instanceTypes=["m7i.large"])
    with pytest.raises(render_tool.RenderError, match=r"cluster\.systemNodeGroup\.instanceTypes: the system pods "
                                                        r"do not fit on m7i\.large") as info:
        render_tool.render("dev", overrides=overrides(values))
    assert info.value.recording.resources == []


def test_every_listed_type_must_fit_not_only_the_first():
    values = _values("prod", instanceTypes=["m7i.xlarge", "c7i.large"])
    with pytest.raises(ConfigError, match=r"instanceTypes: the system pods do not fit on c7i\.large"):
        parse(values)


def test_one_node_cannot_hold_karpenters_two_replicas():
    values = _values("dev", minSize=1, desiredSize=1, instanceTypes=["m7i.4xlarge"])
    with pytest.raises(ConfigError) as info:
        parse(values)
    assert [i.path for i in info.value.issues] == ["cluster.systemNodeGroup.desiredSize"]
    assert "karpenter runs 2 replicas that must be on different nodes" in info.value.issues[0].message


def test_an_instance_type_outside_the_catalog_is_named():
    values = _values("dev", instanceTypes=["m7i.xlarge", "t3.medium"])
    with pytest.raises(ConfigError, match=r"instanceTypes\[1\]: 't3\.medium' is not in the system instance catalog"):
        parse(values)


def test_thin_headroom_and_a_misfit_at_min_size_are_warnings():
    # 2 x m7i.xlarge for prod's pods with 9 Envoy proxies: fits, but thinly; 2 nodes desired, 1 minimum: no fit at 1.
    values = _values("prod", minSize=2, desiredSize=2)
    values["gateway"]["replicas"] = 9
    thin = parse(values)
    assert any("with only" in w for w in sc.warnings(thin))
    values = _values("prod", minSize=1, desiredSize=2)
    cfg = parse(values)
    assert any(w.startswith("cluster.systemNodeGroup.minSize: the system pods do not fit on 1 x") for w in
               sc.warnings(cfg))


def test_capacity_warnings_reach_the_preview_and_plan_md(tmp_path):
    values = _values("prod", minSize=2, desiredSize=2)
    values["gateway"]["replicas"] = 9
    r = render_tool.render("prod", overrides=overrides(values))
    assert any(w.startswith("cluster.systemNodeGroup: the system pods fit on 2 x") for w in r.recording.warnings)
    plan = (render_tool.write_build(r, tmp_path) / "plan.md").read_text()
    assert "## Warnings" in plan and "with only" in plan


def test_weight_sync_jobs_do_not_grow_the_system_nodes():
    """Issue 24 item 6: every tier's weight-sync Job was counted on the system nodes at once, so prod's
    3 x m7i.xlarge held at most 5 prod-shaped tiers. The Jobs run on their own NodePool now: 30 tiers fit the
    same 3 nodes, and the report says where the Jobs run and that the pool may run all of them at once."""
    values = stack_values("prod")
    base = values["tiers"][0]
    values["tiers"] = [{**copy.deepcopy(base), "name": f"tier-{i:02d}", "aliases": [], "replicas": {"min": 1, "max": 2}}
                       for i in range(30)]
    values["gpuClasses"]["l4"]["maxGpus"] = 180
    values["tenants"] = [{"name": "search", "tiers": [t["name"] for t in values["tiers"]]}]
    values["cost"] = {}
    cfg = parse(values)  # refused on main: "no room for weight-sync-7, ..."
    assert cfg.cluster.system_node_group.desired_size == 3
    assert "weight-sync" not in {w.name for w in sc.system_workloads(cfg)}
    report = sc.report(cfg)
    assert report["fits"] and report["weightSync"]["jobs"] == 30 and report["weightSync"]["nodePool"] == "weight-sync"
    assert report["weightSync"]["cpuLimit"] * 1000 >= report["weightSync"]["requested"]["cpuM"]


def test_workloads_follow_the_config():
    prod = parse(stack_values("prod"))
    by_name = {w.name: w for w in sc.system_workloads(prod)}
    assert by_name["prometheus"].replicas == prod.observability.prometheus.replicas == 2
    assert by_name["envoy-proxy"].replicas == prod.gateway.replicas == 3
    assert "weight-sync" not in by_name  # on the weight-sync NodePool (weight_sync_report)
    assert sc.weight_sync_report(prod)["jobs"] == len(prod.tiers)
    assert "cert-manager" not in by_name
    values = stack_values("prod")
    values["gateway"]["tls"] = {"mode": "cert-manager", "issuer": "letsencrypt-dns"}
    values["observability"]["grafanaEnabled"] = False
    other = {w.name for w in sc.system_workloads(parse(values))}
    assert {"cert-manager", "cert-manager-webhook", "cert-manager-cainjector"} <= other and "grafana" not in other


# --------------------------------------------------------------------------------------------------
# The check cannot drift from the manifests
# --------------------------------------------------------------------------------------------------


def _get(tree: Any, path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree


def _pods_in_render(r: render_tool.RenderResult) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """Workload name -> (pods, each container's resources) read back from the render."""
    values = {rel["name"]: rel["values"] for rel in r.helm_releases()}
    found: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    def helm(name: str, release: str, replicas: Any, *paths: str) -> None:
        if release in values:
            v = values[release]
            found[name] = (_get(v, replicas) if isinstance(replicas, str) else replicas,
                           [_get(v, p) for p in paths])

    kps = "kube-prometheus-stack"
    helm("karpenter", "karpenter", "replicas", "controller.resources")
    helm("external-secrets", "external-secrets", "replicaCount", "resources")
    helm("external-secrets-webhook", "external-secrets", "webhook.replicaCount", "webhook.resources")
    helm("external-secrets-cert-controller", "external-secrets", "certController.replicaCount",
         "certController.resources")
    helm("keda-operator", "keda", "operator.replicaCount", "resources.operator")
    helm("keda-metrics-apiserver", "keda", "metricsServer.replicaCount", "resources.metricServer")
    helm("keda-admission-webhooks", "keda", "webhooks.replicaCount", "resources.webhooks")
    reloader = "prometheusOperator.prometheusConfigReloader.resources"
    helm("prometheus", kps, "prometheus.prometheusSpec.replicas", "prometheus.prometheusSpec.resources", reloader)
    helm("alertmanager", kps, "alertmanager.alertmanagerSpec.replicas", "alertmanager.alertmanagerSpec.resources",
         reloader)
    helm("prometheus-operator", kps, 1, "prometheusOperator.resources")
    helm("prometheus-admission-jobs", kps, 2, "prometheusOperator.admissionWebhooks.patch.resources")
    helm("kube-state-metrics", kps, "kube-state-metrics.replicas", "kube-state-metrics.resources")
    helm("node-exporter", kps, 1, "prometheus-node-exporter.resources")
    if values[kps]["grafana"]["enabled"]:
        helm("grafana", kps, "grafana.replicas", "grafana.resources", "grafana.sidecar.resources",
             "grafana.sidecar.resources")
    helm("envoy-gateway", "envoy-gateway", "deployment.replicas", "deployment.envoyGateway.resources")
    helm("envoy-gateway-certgen", "envoy-gateway", 1, "certgen.job.resources")
    limiter = "config.envoyGateway.provider.kubernetes.rateLimitDeployment"
    helm("envoy-ratelimit", "envoy-gateway", f"{limiter}.replicas", f"{limiter}.container.resources")
    helm("cert-manager", "cert-manager", "replicaCount", "resources")
    helm("cert-manager-webhook", "cert-manager", "webhook.replicaCount", "webhook.resources")
    helm("cert-manager-cainjector", "cert-manager", "cainjector.replicaCount", "cainjector.resources")
    helm("cert-manager-startupapicheck", "cert-manager", 1, "startupapicheck.resources")
    helm("external-dns", "external-dns", 1, "resources")  # the chart's Deployment fixes replicas: 1
    helm("otel-collector", "otel-collector", "replicaCount", "resources")
    helm("aws-load-balancer-controller", "aws-load-balancer-controller", "replicaCount", "resources")
    helm("ai-gateway-controller", "ai-gateway", "controller.replicaCount", "controller.resources")

    proxy = r.objects_named("EnvoyProxy")["llm-gateway"]["spec"]["provider"]["kubernetes"]["envoyDeployment"]
    # AI Gateway's webhook injects its extProc into every proxy pod, with the GatewayConfig's resources.
    (ai_config,) = r.objects_named("GatewayConfig").values()
    found["envoy-proxy"] = (proxy["replicas"], [proxy["container"]["resources"], sc.ENVOY_SHUTDOWN_MANAGER.resources(),
                                                ai_config["spec"]["extProc"]["kubernetes"]["resources"]])
    system = {"llm-tiers.io/node-role": "system"}
    syncs, benches, evals, gates = [], [], [], []
    for o in r.kubernetes_objects():
        if o["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            continue
        spec = o["spec"]["template"]["spec"]
        if spec.get("nodeSelector") != system:
            continue
        containers = [c["resources"] for c in spec["containers"]]
        name = o["metadata"]["labels"].get("app.kubernetes.io/name")
        if o["kind"] == "Job" and name in ("llm-eval", "llm-eval-gate"):
            # An init container runs alone before the next: the pod requests the most of any of them, and here
            # every container of the eval Job has the same resources.
            inits = [c["resources"] for c in spec.get("initContainers", [])]
            assert all(i == containers[0] for i in inits)
            (evals if name == "llm-eval" else gates).append(containers)
        elif o["kind"] == "Job" and o["metadata"]["labels"].get("llm-tiers.io/component") == "weights-sync":
            syncs.append(containers)
        elif o["kind"] == "Job" and o["metadata"]["labels"].get("llm-tiers.io/component") == "benchmark":
            benches.append(containers)
        else:
            found[o["metadata"]["name"]] = (o["spec"].get("replicas", 1), containers)
    if syncs:
        assert all(s == syncs[0] for s in syncs)
        found["weight-sync"] = (len(syncs), syncs[0])
    if benches:
        assert all(b == benches[0] for b in benches)
        found["benchmark"] = (len(benches), benches[0])
    for key, jobs in (("eval", evals), ("eval-gate", gates)):
        if jobs:
            assert all(j == jobs[0] for j in jobs)
            found[key] = (len(jobs), jobs[0])
    return found


@functools.lru_cache(maxsize=1)
def _cert_manager_render() -> render_tool.RenderResult:
    return render_tool.render("prod", overrides=overrides(_cert_manager_values()))


def _cert_manager_values() -> dict[str, Any]:
    values = stack_values("prod")
    values["gateway"]["tls"] = {"mode": "cert-manager", "issuer": "letsencrypt-dns"}
    values["tiers"][0]["candidate"] = {"modelId": "Qwen/Qwen2.5-7B-Instruct"}  # its own cache and sync Job
    values["gpuClasses"]["l4"]["maxGpus"] = 18  # both releases of chat-small at replicas.max, with surges
    return values


RENDERS: dict[str, Callable[[Any], tuple[render_tool.RenderResult, Any]]] = {
    **{s: (lambda rendered, s=s: (rendered(s), parse(stack_values(s)))) for s in STACKS},
    "prod-cert-manager-candidate": lambda rendered: (
        _cert_manager_render(), parse(_cert_manager_values())),
}


@pytest.mark.parametrize("case", sorted(RENDERS))
def test_rendered_requests_are_what_the_check_counts(rendered, case):
    r, cfg = RENDERS[case](rendered)
    found = _pods_in_render(r)
    counted = {w.name: w for w in sc.system_workloads(cfg) if not w.source.startswith("eks-addon:")}
    # Every system pod the render carries is counted, and every counted pod is in the render.
    assert set(found) == set(counted)
    for name, w in counted.items():
        replicas, resources = found[name]
        assert replicas == w.replicas, name
        assert resources == [c.resources() for c in w.containers], name
        for res in resources:  # explicit requests everywhere (a memory limit wherever the program sets one)
            assert set(res["requests"]) == {"cpu", "memory"}, name
    # The weight-sync Jobs run on the weight-sync NodePool (tolerating its taint), as many as the report says.
    syncs = [o for o in r.kubernetes_objects() if o["kind"] == "Job"
             and o["metadata"]["labels"].get("llm-tiers.io/component") == "weights-sync"]
    assert len(syncs) == sc.weight_sync_report(cfg)["jobs"]
    for job in syncs:
        spec = job["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {"llm-tiers.io/node-role": "weight-sync"}
        assert [t["key"] for t in spec["tolerations"]] == ["llm-tiers.io/weight-sync"]
    if case == "prod-cert-manager-candidate":
        assert sc.weight_sync_report(cfg)["jobs"] == len(cfg.tiers) + 1


@pytest.mark.parametrize("stack", STACKS)
def test_plan_md_shows_the_capacity_table(rendered, stack, tmp_path):
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    fit = sc.tightest(sc.fits_for(cfg))
    report = r.outputs()["systemCapacity"]
    assert report == sc.report(cfg) and report["fits"] is True
    plan = (render_tool.write_build(r, tmp_path) / "plan.md").read_text()
    assert "## System node group" in plan and f"{fit.nodes} x {fit.instance_type.name}" in plan
    rows = [line for line in plan.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == fit.nodes
    it = fit.instance_type
    assert all(f"/ {it.allocatable_cpu_m / 1000:.2f} |" in row and f"/ {it.max_pods} |" in row for row in rows)


def test_plan_md_says_when_it_does_not_fit():
    report = {"instanceType": "m7i.large", "nodes": 1, "fits": False,
              "allocatablePerNode": {"cpuM": 1930, "memoryMi": 6903, "pods": 29},
              "requested": {"cpuM": 2500, "memoryMi": 1000, "pods": 3},
              "headroomPercent": {"cpu": -29.5, "memory": 85.5},
              "perNode": [{"node": 1, "cpuM": 1500, "memoryMi": 800, "pods": 2}], "unplaced": ["karpenter-0"]}
    text = plan_markdown("x", [], capacity=report)
    assert "DOES NOT FIT" in text and "No room for: karpenter-0" in text


# --------------------------------------------------------------------------------------------------
# Every chart key the program sets exists in the pinned chart's values
# --------------------------------------------------------------------------------------------------

# Keys whose parent the charts pass through verbatim to an API with its own schema.
PASSTHROUGH = {"envoy-gateway": ("config.envoyGateway.",),
               "kube-prometheus-stack": ("prometheus.prometheusSpec.storageSpec.",)}
CHECKED_KEYS = ("resources", "replicas", "replicaCount", "nodeSelector")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _chart_defaults(charts_dir: Path, release: str) -> dict[str, Any]:
    """The chart's values.yaml, with each saved subchart's defaults under its key (as Helm merges them)."""
    folder = charts_dir / release
    values = yaml.safe_load((folder / "values.yaml").read_text()) or {}
    sub = folder / "subcharts"
    for chart in sorted(p for p in sub.iterdir() if p.is_dir()) if sub.is_dir() else []:
        values[chart.name] = _merge(yaml.safe_load((chart / "values.yaml").read_text()) or {},
                                    values.get(chart.name) or {})
    return values


def _paths(tree: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            path = f"{prefix}{key}"
            if key in CHECKED_KEYS:
                out.append(path)
            else:
                out += _paths(value, f"{path}.")
    return out


CRD_ONLY_CHARTS = {"observability-prometheus-operator-crds", "gateway-envoy-gateway-crds", "gateway-ai-gateway-crds"}
# Charts the pinned chart values (CHART_VALUES_DIR) hold no copy of: their keys are checked against a list read from
# upstream at the
# pinned tag, in the named test.
NOT_IN_SHARED_CHARTS = {"external-dns": "tests/test_dns.py::test_every_chart_key_exists_in_the_pinned_chart",
                        "aws-load-balancer-controller":
                            "tests/test_load_balancer_controller.py::test_every_chart_key_exists_in_the_pinned_chart",
                        "ai-gateway":
                            "tests/test_ai_gateway.py::test_every_ai_gateway_chart_key_exists_in_the_pinned_chart"}


def test_every_resources_and_replicas_key_exists_in_the_pinned_chart(rendered, chart_values):
    CHARTS_DIR = chart_values
    renders = [rendered(s) for s in STACKS] + [_cert_manager_render()]
    missing, checked = [], 0
    for r in renders:
        for rel in r.helm_releases():
            if rel["name"] in CRD_ONLY_CHARTS:
                # CRD-only charts: the pinned chart values hold no copy of theirs; the keys set are checked
                # against the charts' templates in tests/test_rollout.py (test_charts_crds_are_upgraded_with_the_chart).
                continue
            if rel["name"] in NOT_IN_SHARED_CHARTS and not (CHARTS_DIR / rel["name"]).is_dir():
                continue  # checked by its own test (NOT_IN_SHARED_CHARTS) until its values are pinned here
            # a chart's values are pinned under the release's name, or its chart's (otel-collector's chart is
            # opentelemetry-collector)
            folder = next((n for n in (rel["name"], rel["chart"]) if n and (CHARTS_DIR / n).is_dir()), None)
            defaults = _chart_defaults(CHARTS_DIR, folder) if folder else None
            assert defaults is not None, f"no pinned values for release {rel['name']} in {CHARTS_DIR}"
            for path in _paths(rel["values"]):
                if path.startswith(PASSTHROUGH.get(rel["name"], ("\0",))):
                    continue
                checked += 1
                try:
                    _get(defaults, path)
                except (KeyError, TypeError):
                    missing.append(f"{rel['name']}: {path}")
    assert checked > 40 and not missing, missing


def test_charts_with_a_values_schema_accept_the_values(chart_values):
    CHARTS_DIR = chart_values
    import jsonschema

    r = _cert_manager_render()
    checked = 0
    for rel in r.helm_releases():
        schema_file = CHARTS_DIR / rel["name"] / "values.schema.json"
        if schema_file.is_file():
            schema = json.loads(schema_file.read_text())
            errors = [e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(rel["values"])]
            assert not errors, (rel["name"], errors)
            checked += 1
    # cert-manager (additionalProperties: false almost everywhere), external-secrets, and any chart that ships a schema
    assert checked >= 2
