"""The pinned CRD schemas, fetched from their upstream releases and verified by SHA-256.

    python -m llm_tiers.cli.crds fetch --dest .crds       # download every schema the tests validate against
    python -m llm_tiers.cli.crds sums --from $CRD_SCHEMA_DIR [--write]   # the sums of the same files, for components/llm_tiers/cli/crd-sums.json

CI here has ``$CRD_SCHEMA_DIR``; GitHub's runners do not, so the workflows fetch the same files from the
projects' own repositories at the versions pinned in ``components/llm_tiers/versions.py`` and check each against the
SHA-256 committed in ``components/llm_tiers/cli/crd-sums.json`` (computed from ``$CRD_SCHEMA_DIR``). A pin that moves without new
sums fails loudly instead of validating against unverified (or no) schemas.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from pathlib import Path
from typing import Optional

from llm_tiers import versions

SUMS = Path(__file__).with_name("crd-sums.json")
RAW = "https://raw.githubusercontent.com"


def sources() -> dict[str, str]:
    """Schema file name (as in $CRD_SCHEMA_DIR) -> its upstream URL at the pinned version."""
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CrdError(Exception):
    pass


def check_pins(sums: dict[str, str]) -> None:
    """Every URL of the current pins has a committed sum (else a pin moved without new sums)."""
    missing = sorted(url for url in sources().values() if url not in sums)
    if missing:
        raise CrdError("no committed SHA-256 for " + ", ".join(missing) + ": a version pin moved. Get the new "
                       "schemas into $CRD_SCHEMA_DIR, then run `python -m llm_tiers.cli.crds sums --from $CRD_SCHEMA_DIR "
                       "--write` and commit components/llm_tiers/cli/crd-sums.json")


def fetch(dest: Path, opener=urllib.request.urlopen) -> list[Path]:
    sums = load_sums()
    check_pins(sums)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, url in sorted(sources().items()):
        with opener(url, timeout=60) as response:
            data = response.read()
        if sha256(data) != sums[url]:
            raise CrdError(f"{url}: SHA-256 {sha256(data)} is not the committed {sums[url]}; refusing it")
        (dest / name).write_bytes(data)
        written.append(dest / name)
    return written


def local_sums(folder: Path) -> dict[str, str]:
    out = {}
    for name, url in sources().items():
        path = folder / name
        if not path.exists():
            raise CrdError(f"{path} is missing; it is the schema for {url}")
        out[url] = sha256(path.read_bytes())
    return dict(sorted(out.items()))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download and verify every pinned schema")
    f.add_argument("--dest", type=Path, required=True)
    s = sub.add_parser("sums", help="SHA-256 of the schemas in a folder, keyed by their upstream URL")
    s.add_argument("--from", dest="folder", type=Path, required=True)
    s.add_argument("--write", action="store_true", help=f"write {SUMS.name}")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            for path in fetch(args.dest):
                print(f"verified {path}")
            return 0
        text = json.dumps(local_sums(args.folder), indent=2) + "\n"
        if args.write:
            SUMS.write_text(text)
            print(f"wrote {SUMS}")
        else:
            sys.stdout.write(text)
        return 0
    except CrdError as exc:
        print(f"crds: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
