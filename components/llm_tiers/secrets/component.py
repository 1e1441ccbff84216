"""SecretStore: a customer-managed KMS key, Secrets Manager secrets (Hugging Face token, one API key per
tenant), External Secrets Operator with an EKS Pod Identity role that can read only these secrets, a
ClusterSecretStore, and the ExternalSecrets that sync them where they are needed.

Secret values stay ``pulumi.Output`` secrets end to end: the token comes from secret config, tenant keys
from pulumi-random; neither is exported nor written into any manifest (Kubernetes Secrets are created by
External Secrets in the cluster, not by Pulumi).
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Sequence
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from llm_tiers.pod_identity import pod_identity_role
from llm_tiers import arguments
from llm_tiers import helm
from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers import timing
from llm_tiers.secrets import rules
from llm_tiers.secrets.manifests import (  # noqa: F401  (the names and documents, re-exported)
    ESO_API,
    ESO_SERVICE_ACCOUNT,
    CLUSTER_STORE_NAME,
    HF_TOKEN_SECRET,
    HF_TOKEN_KEY,
    TENANT_KEYS_SECRET,
    FALLBACK_KEY,
    API_KEY_PREFIX,
    API_KEY_RANDOM_LENGTH,
    PREVIOUS_SUFFIX,
    hf_token_secret_name,
    tenant_secret_name,
    fallback_secret_name,
    fallback_k8s_secret,
    eso_policy,
    cluster_secret_store,
    external_secret,
    key_slots)

_READY_TIMEOUTS = pulumi.CustomTimeouts(create=timing.duration(timing.CUSTOM_RESOURCE_READY_SECONDS),
                                        update=timing.duration(timing.CUSTOM_RESOURCE_READY_SECONDS))


# ---------------------------------------------------------------------------------------------- component


class TenantKeyArgs(TypedDict, total=False):
    """A tenant that gets an API key (an item of ``SecretStoreArgs.tenants``)."""

    name: Required[str]
    """Tenant id (a Kubernetes label value); the gateway's client id."""
    rotate: int
    """Increment to replace the tenant's key. Default: ``0``."""
    keep_previous: bool
    """After a rotation, keep the key it replaced valid (client id ``<name>-previous``) beside the new one.
    Default: ``True``."""


class SecretStoreArgs(TypedDict, total=False):
    """Inputs of :class:`SecretStore`."""

    cluster_name: Required[pulumi.Input[str]]
    """EKS cluster name: the cluster of the Pod Identity association (pass the Cluster's ``cluster_name``
    Output, so the association waits for the cluster) and, as a plain string, the prefix of secret names."""
    region: Required[str]
    """AWS region of the secrets."""
    hf_token: pulumi.Input[str]
    """Hugging Face token, a secret (``pulumi.Config().get_secret("hfToken")``; from another language a secret
    input). Default: none (no token, no hf-token Secret)."""
    tenants: list[TenantKeyArgs]
    """Tenants that get an API key. Default: none."""
    refresh_interval: str
    """How often External Secrets re-reads Secrets Manager (``<n>s``, ``<n>m`` or ``<n>h``). Default: ``1h``."""
    recovery_window_days: int
    """Secrets Manager recovery window for deleted secrets: 7 to 30 days, or 0 to delete at once. Secret names
    are generated from a prefix, so a secret re-created within the window gets a new name instead of failing.
    Default: ``30``."""
    fallback_keys: dict[str, pulumi.Input[str]]
    """Fallback provider API key name -> the key (secrets, from the secret config ``fallbackApiKeys``): each goes
    into Secrets Manager and is synced into ``gateway_namespace`` as Secret ``fallback-<name>`` (key ``apiKey``).
    Default: none."""
    tiers_namespace: str
    """Where the HF token is synced (the weight-sync Jobs' namespace) — and nowhere else. Default: ``llm-tiers``."""
    gateway_namespace: str
    """Where tenant keys are synced, in the format Envoy Gateway's API-key auth reads. Default: ``llm-gateway``."""
    system_node_selector: dict[str, str]
    """Where the operator's pods run. Default: any node."""
    environment: Optional[str]
    """Environment name for tags. Default: none."""
    tags: dict[str, str]
    """Extra AWS tags. Default: none."""
    name_prefix: Optional[str]
    """Prefix of AWS names (the cluster name as a plain string). Default: ``cluster_name`` if it is a plain
    string (required when it is an Output)."""
    protect: bool
    """Protect the KMS key and the secrets (``pulumi destroy`` stops until the protection is lifted).
    Default: ``False``."""


class SecretStore(pulumi.ComponentResource):
    """Secrets in one place, synced into the cluster. See docs/components/secret-store.md.

    Python callers may also pass ``depends_on`` (keyword): resources the operator and the secret store are created
    after (nodes ready, namespaces). Other languages use the resource option ``dependsOn``, which the component
    passes on to the same children. ``ready``, ``hf_token_ready`` and ``tenant_keys`` are Python-only properties;
    other languages wait on the component itself and read a tenant's key from Secrets Manager
    (``tenant_secret_arns``)."""

    kms_key_arn: pulumi.Output[str]
    """The platform secrets' KMS key."""
    hf_token_secret_arn: Optional[pulumi.Output[str]]
    """ARN of the HF token secret (None without a token)."""
    tenant_secret_arns: dict[str, pulumi.Output[str]]
    """Secrets Manager ARN of each tenant's API key (the ARN, never the key)."""
    hf_token_k8s_secret: Optional[str]
    """Name of the Kubernetes Secret (in tiers_namespace) holding HF_TOKEN, or None without a token."""
    tenant_keys_k8s_secret: Optional[str]
    """Name of the Kubernetes Secret (in gateway_namespace) with one data key per tenant."""
    fallback_key_k8s_secrets: dict[str, str]
    """Fallback provider API key name -> its Kubernetes Secret in gateway_namespace (data key ``apiKey``)."""

    def __init__(self, resource_name: str, args: SecretStoreArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("SecretStore", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("SecretStore"), resource_name, None, opts)
        a = rules.resolved(args)
        after = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]
        name = naming.name_prefix(a["cluster_name"], a["name_prefix"])
        tags = naming.aws_tags(a["environment"], name, dict(a["tags"]))
        child = pulumi.ResourceOptions(parent=self)
        protect = pulumi.ResourceOptions(parent=self, protect=a["protect"])

        key = aws.kms.Key(f"{resource_name}-key", description=f"Platform secrets of {name}",
                          enable_key_rotation=True, deletion_window_in_days=30, tags=tags, opts=protect)
        aws.kms.Alias(f"{resource_name}-key", name=f"alias/{name}-platform-secrets", target_key_id=key.key_id,
                      opts=child)

        versions: list[pulumi.Resource] = []

        def secret(res: str, secret_name: str, description: str,
                   value: pulumi.Output[str]) -> aws.secretsmanager.Secret:
            # A name from a prefix: Secrets Manager keeps a deleted secret's name for its recovery window, and a
            # fixed name would make a re-created secret fail ("already scheduled for deletion").
            sm = aws.secretsmanager.Secret(
                res,
                name_prefix=f"{secret_name}-",
                description=description,
                kms_key_id=key.arn,
                recovery_window_in_days=a["recovery_window_days"],
                tags=tags,
                opts=protect,
            )
            versions.append(
                aws.secretsmanager.SecretVersion(
                    res, secret_id=sm.id, secret_string=pulumi.Output.secret(value), opts=child  # type: ignore[arg-type]
                )
            )
            return sm

        secrets: list[aws.secretsmanager.Secret] = []
        self.hf_token_secret_arn = None
        hf = None
        if a["hf_token"] is not None:
            hf = secret(
                f"{resource_name}-hf-token",
                hf_token_secret_name(name),
                "Hugging Face token for weight-sync Jobs",
                a["hf_token"],
            )
            secrets.append(hf)
            self.hf_token_secret_arn = hf.arn

        self.tenant_secret_arns = {}
        self._tenant_keys: dict[str, pulumi.Output[str]] = {}
        tenant_secret_names: dict[str, pulumi.Output[str]] = {}
        for tenant in sorted(a["tenants"], key=lambda t: t["name"]):
            tenant_name = tenant["name"]
            keys: dict[bool, pulumi.Output[str]] = {}
            for slot, generation, current in key_slots(tenant["rotate"], tenant["keep_previous"]):
                # Slot a keeps the generator's original name (and URN); its keeper is the generation it holds.
                res = f"{resource_name}-tenant-{tenant_name}" + ("" if slot == "a" else "-b")
                password = random.RandomPassword(
                    res,
                    length=API_KEY_RANDOM_LENGTH,
                    special=False,
                    upper=True,
                    lower=True,
                    numeric=True,
                    keepers={"rotate": str(generation)},
                    opts=child,
                )
                keys[current] = pulumi.Output.concat(API_KEY_PREFIX, password.result)
            api_key = keys[True]
            sm = secret(
                f"{resource_name}-tenant-{tenant_name}",
                tenant_secret_name(name, tenant_name),
                f"API key of tenant {tenant_name}",
                api_key,
            )
            secrets.append(sm)
            self.tenant_secret_arns[tenant_name] = sm.arn
            tenant_secret_names[tenant_name] = sm.name
            self._tenant_keys[tenant_name] = pulumi.Output.secret(api_key)
            if False in keys:
                # The key before the last rotation, accepted as client <tenant>-previous until dropped.
                prev_id = tenant_name + PREVIOUS_SUFFIX
                prev = secret(
                    f"{resource_name}-tenant-{tenant_name}-previous",
                    tenant_secret_name(name, tenant_name) + "-previous",
                    f"Previous API key of tenant {tenant_name} (valid until dropPreviousKey)",
                    keys[False],
                )
                secrets.append(prev)
                tenant_secret_names[prev_id] = prev.name

        fallback_secret_names: dict[str, pulumi.Output[str]] = {}
        for key_name in sorted(a["fallback_keys"]):
            sm = secret(
                f"{resource_name}-fallback-{key_name}",
                fallback_secret_name(name, key_name),
                f"API key of fallback provider {key_name}",
                a["fallback_keys"][key_name],
            )
            secrets.append(sm)
            fallback_secret_names[key_name] = sm.name

        # ------------------------------------------------------------ External Secrets Operator
        identity = pod_identity_role(
            f"{resource_name}-eso",
            f"{name}-external-secrets",
            cluster_name=a["cluster_name"],
            namespace=naming.EXTERNAL_SECRETS_NAMESPACE,
            service_account=ESO_SERVICE_ACCOUNT,
            tags=tags,
            opts=child,
            policy=pulumi.Output.all(key.arn, *[s.arn for s in secrets]).apply(
                lambda v: eso_policy(v[1:], v[0], a["region"])
            )
            if secrets
            else None,
        )
        placement = {"nodeSelector": dict(a["system_node_selector"])}
        operator = helm.release(
            f"{resource_name}-external-secrets",
            "external-secrets",
            name="external-secrets",
            namespace=naming.EXTERNAL_SECRETS_NAMESPACE,
            create_namespace=True,
            values={
                "installCRDs": True,
                "replicaCount": sc.ESO_REPLICAS,
                # Only the leader replica reconciles: the chart passes --enable-leader-election to the
                # controller and the cert controller and grants the Lease RBAC (external-secrets
                # helm-chart-2.9.0, deploy/charts/external-secrets/templates/deployment.yaml, rbac.yaml). The
                # chart's default (false) lets every replica reconcile every ExternalSecret, racing on the same
                # Secrets and multiplying Secrets Manager calls.
                "leaderElect": True,
                "serviceAccount": {"create": True, "name": ESO_SERVICE_ACCOUNT},
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                **placement,
                # Requests counted by the system capacity check (components/llm_tiers/cluster/system_capacity.py).
                "resources": sc.ESO_CONTROLLER.resources(),
                "webhook": {
                    "replicaCount": sc.ESO_WEBHOOK_REPLICAS,
                    "resources": sc.ESO_WEBHOOK.resources(),
                    **placement,
                },
                "certController": {
                    "replicaCount": sc.ESO_CERT_CONTROLLER_REPLICAS,
                    "resources": sc.ESO_CERT_CONTROLLER.resources(),
                    **placement,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *identity.ready]),
        )

        after_operator = pulumi.ResourceOptions(parent=self, depends_on=[operator, *after])
        store = cluster_secret_store(a["region"], [a["tiers_namespace"], a["gateway_namespace"]])
        store_cr = k8s.apiextensions.CustomResource(
            f"{resource_name}-cluster-store",
            api_version=ESO_API,
            kind="ClusterSecretStore",
            metadata=store["metadata"],
            spec=store["spec"],
            opts=pulumi.ResourceOptions.merge(after_operator, pulumi.ResourceOptions(custom_timeouts=_READY_TIMEOUTS)),
        )
        # After the values exist: an ExternalSecret is Ready only once it has read them.
        after_store = pulumi.ResourceOptions(
            parent=self, depends_on=[store_cr, *versions], custom_timeouts=_READY_TIMEOUTS
        )
        self._ready: list[pulumi.Resource] = [store_cr]

        def sync(res: str, es: dict[str, Any]) -> pulumi.Resource:
            """An ExternalSecret, created once the ClusterSecretStore is Ready."""
            return k8s.apiextensions.CustomResource(f"{resource_name}-{res}", api_version=ESO_API,
                                                    kind="ExternalSecret", metadata=es["metadata"], spec=es["spec"],
                                                    opts=after_store)

        self.hf_token_k8s_secret = None
        self._hf_token_ready: list[pulumi.Resource] = []
        if hf is not None:
            es = external_secret(
                HF_TOKEN_SECRET, a["tiers_namespace"], a["refresh_interval"], [(HF_TOKEN_KEY, hf.name)]
            )
            self._ready.append(sync("hf-token-sync", es))
            self._hf_token_ready = [self._ready[-1]]
            self.hf_token_k8s_secret = HF_TOKEN_SECRET

        self.tenant_keys_k8s_secret = None
        if a["tenants"]:
            es = external_secret(
                TENANT_KEYS_SECRET,
                a["gateway_namespace"],
                a["refresh_interval"],
                [(client, tenant_secret_names[client]) for client in sorted(tenant_secret_names)],
            )
            self._ready.append(sync("tenant-keys-sync", es))
            self.tenant_keys_k8s_secret = TENANT_KEYS_SECRET

        self.fallback_key_k8s_secrets = {}
        for key_name in sorted(fallback_secret_names):
            k8s_name = fallback_k8s_secret(key_name)
            es = external_secret(
                k8s_name,
                a["gateway_namespace"],
                a["refresh_interval"],
                [(FALLBACK_KEY, fallback_secret_names[key_name])],
            )
            self._ready.append(sync(f"fallback-{key_name}-sync", es))
            self.fallback_key_k8s_secrets[key_name] = k8s_name

        self.kms_key_arn = key.arn
        self.register_outputs(
            {
                "kmsKeyArn": self.kms_key_arn,
                "hfTokenSecretArn": self.hf_token_secret_arn,
                "tenantSecretArns": self.tenant_secret_arns,
            }
        )

    @property
    def ready(self) -> list[pulumi.Resource]:
        """The ClusterSecretStore and ExternalSecrets, to depend on."""
        return self._ready

    @property
    def hf_token_ready(self) -> list[pulumi.Resource]:
        """Only what the hf-token Secret needs (its ExternalSecret; empty without a token): what a sync Job uses."""
        return self._hf_token_ready

    @property
    def tenant_keys(self) -> dict[str, pulumi.Output[str]]:
        """Each tenant's API key, a secret Output, for composition in Python (never export it; not a component
        output, so it is in no other language's SDK: read a key from Secrets Manager by ``tenant_secret_arns``)."""
        return self._tenant_keys
