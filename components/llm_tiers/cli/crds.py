"""The pinned CRD schemas, fetched from their upstream releases and verified by SHA-256.

    python -m llm_tiers.cli.crds fetch --dest .crds       # download every schema the tests validate against
    # the sums of the same files, for components/llm_tiers/cli/crd-sums.json:
    python -m llm_tiers.cli.crds sums --from <folder> [--write]

The tests read the schemas from ``CRD_SCHEMA_DIR`` or, once fetched, from ``.crds`` (``make test-inputs``, which
``make test`` tries first); the files come from the projects' own repositories at the versions pinned in
``components/llm_tiers/versions.py``, each checked against the SHA-256 committed in
``components/llm_tiers/cli/crd-sums.json``. A pin that moves without new sums fails loudly instead of validating
against unverified (or no) schemas.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Optional

from llm_tiers import versions
from llm_tiers.cli import pinned_files
from llm_tiers.cli.pinned_files import sha256

SUMS = Path(__file__).with_name("crd-sums.json")
RAW = "https://raw.githubusercontent.com"


def sources() -> dict[str, str]:
    """Schema file name (as in CRD_SCHEMA_DIR) -> its upstream URL at the pinned version."""
    karpenter = f"v{versions.CHARTS['karpenter'].version}"
    eso = f"v{versions.CHARTS['external-secrets'].version}"
    keda = f"v{versions.CHARTS['keda'].version}"
    eg = versions.CHARTS["envoy-gateway"].version
    op = versions.PROMETHEUS_OPERATOR_VERSION
    out = {f: f"{RAW}/aws/karpenter-provider-aws/{karpenter}/pkg/apis/crds/{f}"
           for f in ("karpenter.sh_nodepools.yaml", "karpenter.k8s.aws_ec2nodeclasses.yaml")}
    out |= {f"external-secrets.io_{k}.yaml": f"{RAW}/external-secrets/external-secrets/{eso}/config/crds/bases/"
            f"external-secrets.io_{k}.yaml" for k in ("clusterexternalsecrets", "clustersecretstores",
                                                      "externalsecrets", "secretstores")}
    out |= {f"keda.sh_{k}.yaml": f"{RAW}/kedacore/keda/{keda}/config/crd/bases/keda.sh_{k}.yaml"
            for k in ("clustertriggerauthentications", "scaledobjects", "triggerauthentications")}
    out |= {f"monitoring.coreos.com_{k}.yaml": f"{RAW}/prometheus-operator/prometheus-operator/{op}/example/"
            f"prometheus-operator-crd/monitoring.coreos.com_{k}.yaml" for k in ("podmonitors", "prometheusrules",
                                                                            "servicemonitors")}
    out |= {f"gateway.envoyproxy.io_{k}.yaml": f"{RAW}/envoyproxy/gateway/{eg}/charts/gateway-helm/charts/crds/crds/"
            f"generated/gateway.envoyproxy.io_{k}.yaml" for k in ("backends", "backendtrafficpolicies",
                                                              "clienttrafficpolicies", "envoyproxies",
                                                              "securitypolicies")}
    aigw = versions.CHARTS["ai-gateway-crds"].version
    out |= {f"aigateway.envoyproxy.io_{k}.yaml": f"{RAW}/envoyproxy/ai-gateway/{aigw}/manifests/charts/"
            f"ai-gateway-crds-helm/templates/aigateway.envoyproxy.io_{k}.yaml"
            for k in ("aigatewayroutes", "aiservicebackends", "backendsecuritypolicies", "gatewayconfigs",
                      "quotapolicies")}
    # Gateway API as Envoy Gateway bundles it (its release asset minus two admission-policy documents).
    out["gatewayapi-crds-experimental-v1.6.1.yaml"] = (
        f"{RAW}/envoyproxy/gateway/{eg}/charts/gateway-helm/charts/crds/crds/gatewayapi-crds.yaml")
    return out


def load_sums() -> dict[str, str]:
    return json.loads(SUMS.read_text())


class CrdError(Exception):
    pass


def check_pins(sums: dict[str, str]) -> None:
    """Every URL of the current pins has a committed sum (else a pin moved without new sums)."""
    missing = sorted(url for url in sources().values() if url not in sums)
    if missing:
        raise CrdError("no committed SHA-256 for " + ", ".join(missing) + ": a version pin moved. Get the new "
                       "schemas into a folder, then run `python -m llm_tiers.cli.crds sums --from <that folder> "
                       "--write` and commit components/llm_tiers/cli/crd-sums.json")


def fetch(dest: Path, opener=urllib.request.urlopen, timeout: float = 60) -> list[Path]:
    """Download and verify every schema, then write them all to ``dest`` (none when one fails)."""
    sums = load_sums()
    check_pins(sums)
    files = pinned_files.download_verified(((name, url, sums[url]) for name, url in sorted(sources().items())),
                                           CrdError, opener, timeout)
    return pinned_files.write_set(dest, files)


def local_sums(folder: Path) -> dict[str, str]:
    out = {}
    for name, url in sources().items():
        path = folder / name
        if not path.exists():
            raise CrdError(f"{path} is missing; it is the schema for {url}")
        out[url] = sha256(path.read_bytes())
    return dict(sorted(out.items()))


def main(argv: Optional[list[str]] = None) -> int:
    return pinned_files.main(argv, description=__doc__.split("\n\n")[0], label="crds", what="CRD schema",
                             sums_path=SUMS, fetch=fetch, local_sums=local_sums, error=CrdError,
                             sums_help="SHA-256 of the schemas in a folder, keyed by their upstream URL")


if __name__ == "__main__":
    sys.exit(main())
