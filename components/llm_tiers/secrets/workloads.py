"""SecretStore's system pods (pure): the External Secrets Operator, as the system capacity check counts them."""

from __future__ import annotations

from llm_tiers.cluster.system_capacity import (ESO_CERT_CONTROLLER, ESO_CERT_CONTROLLER_REPLICAS, ESO_CONTROLLER,
                                               ESO_REPLICAS, ESO_WEBHOOK, ESO_WEBHOOK_REPLICAS, Workload)


def workloads() -> list[Workload]:
    return [
        Workload("external-secrets", "helm:external-secrets", (ESO_CONTROLLER,), ESO_REPLICAS),
        Workload("external-secrets-webhook", "helm:external-secrets", (ESO_WEBHOOK,), ESO_WEBHOOK_REPLICAS),
        Workload("external-secrets-cert-controller", "helm:external-secrets", (ESO_CERT_CONTROLLER,),
                 ESO_CERT_CONTROLLER_REPLICAS),
    ]
