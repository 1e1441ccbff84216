"""The secret store's names and documents (pure): Secrets Manager and Kubernetes Secret names, the External Secrets
Operator's IAM policy, ClusterSecretStore and ExternalSecrets, and the tenants' key slots. The SecretStore component
(secrets/component.py) registers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_tiers import iam
from llm_tiers import naming

ESO_API = "external-secrets.io/v1"
ESO_SERVICE_ACCOUNT = "external-secrets"
CLUSTER_STORE_NAME = "aws-secrets-manager"
HF_TOKEN_SECRET = "hf-token"            # Kubernetes Secret in the tiers namespace
HF_TOKEN_KEY = "HF_TOKEN"               # its data key (the env var name huggingface_hub reads)
TENANT_KEYS_SECRET = "tenant-api-keys"  # Kubernetes Secret in the gateway namespace: data = {tenant: key}
FALLBACK_KEY = "apiKey"                 # the data key AI Gateway's BackendSecurityPolicy APIKey reads
#                                         (api/v1beta1/backendsecurity_policy.go at envoyproxy/ai-gateway v1.1.0)
API_KEY_PREFIX = "sk-"
API_KEY_RANDOM_LENGTH = 48              # [A-Za-z0-9]{48}: ~285 bits, accepted by every OpenAI client


def hf_token_secret_name(cluster_name: str) -> str:
    return f"{cluster_name}/hf-token"


def tenant_secret_name(cluster_name: str, tenant: str) -> str:
    return f"{cluster_name}/tenants/{tenant}/api-key"


def fallback_secret_name(cluster_name: str, key_name: str) -> str:
    return f"{cluster_name}/fallback/{key_name}/api-key"


def fallback_k8s_secret(key_name: str) -> str:
    """The Kubernetes Secret (gateway namespace) holding a fallback provider's key under ``apiKey``."""
    return f"fallback-{key_name}"


def eso_policy(secret_arns: Sequence[str], key_arn: str, region: str) -> str:
    """Read exactly these secrets, decrypt with exactly this key (and only through Secrets Manager)."""
    return iam.policy_document([
        {"Sid": "ReadPlatformSecrets", "Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": sorted(secret_arns)},
        {"Sid": "DecryptWithPlatformKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}},
    ])


def cluster_secret_store(region: str, namespaces: Sequence[str]) -> dict[str, Any]:
    """ClusterSecretStore for Secrets Manager, usable only from the listed namespaces. The controller
    authenticates with its EKS Pod Identity credentials (no keys, no auth block)."""
    return {
        "apiVersion": ESO_API,
        "kind": "ClusterSecretStore",
        # Ready once the controller has validated its credentials against Secrets Manager.
        "metadata": {"name": CLUSTER_STORE_NAME, "labels": naming.k8s_labels("secret-store", CLUSTER_STORE_NAME),
                     "annotations": {naming.WAIT_FOR: "condition=Ready"}},
        "spec": {
            "provider": {"aws": {"service": "SecretsManager", "region": region}},
            "conditions": [{"namespaces": sorted(namespaces)}],
        },
    }


def external_secret(name: str, namespace: str, refresh_interval: str,
                    data: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """An ExternalSecret that owns Kubernetes Secret ``name``: ``data`` maps secret keys to Secrets Manager
    secret names (the secrets' ``name`` Outputs, so the ExternalSecret waits for them). The engine waits for
    it to be Ready (synced), so what reads the Kubernetes Secret starts after it exists."""
    return {
        "apiVersion": ESO_API,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace, "labels": naming.k8s_labels("secret-store", name),
                     "annotations": {naming.WAIT_FOR: "condition=Ready"}},
        "spec": {
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": CLUSTER_STORE_NAME},
            "target": {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Delete"},
            "data": [{"secretKey": key, "remoteRef": {"key": remote}} for key, remote in data],
        },
    }


PREVIOUS_SUFFIX = "-previous"


def key_slots(rotate: int, keep_previous: bool) -> list[tuple[str, int, bool]]:
    """(slot, generation, current) of the key generators a tenant needs: two slots that take turns, so a
    rotation replaces only the slot holding the key before the previous one and the previous key's generator
    stays as it is (a random value survives only in its own resource's state). Slot ``a`` holds the even
    generations (it is the generator of the stacks before rotation overlap, so rotate 0 changes nothing),
    slot ``b`` the odd ones."""
    current = ("a" if rotate % 2 == 0 else "b", rotate, True)
    slots = [current]
    if keep_previous and rotate >= 1:
        slots.append(("b" if rotate % 2 == 0 else "a", rotate - 1, False))
    return sorted(slots)
