"""An EKS Pod Identity role for one service account: the IAM role the Pod Identity agent may assume, its inline
policy and the association. A helper, not a component: the resources are children of the caller's component
(``opts``), so their URNs are the caller's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from llm_tiers import iam


@dataclass(frozen=True)
class PodIdentityRole:
    role: aws.iam.Role
    association: aws.eks.PodIdentityAssociation
    policy: Optional[aws.iam.RolePolicy]

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a workload using the role waits for: the association, then the policy (if any)."""
        return [self.association, *([self.policy] if self.policy is not None else [])]


def pod_identity_role(resource_name: str, role_name: str, *, cluster_name: pulumi.Input[str], namespace: str,
                      service_account: str, policy: Optional[pulumi.Input[str]], tags: Mapping[str, str],
                      opts: pulumi.ResourceOptions, policy_resource_name: Optional[str] = None,
                      association_resource_name: Optional[str] = None) -> PodIdentityRole:
    """Role ``role_name`` for ``namespace/service_account`` on ``cluster_name`` with the inline ``policy`` (None:
    no policy yet). The three resources are named ``resource_name`` unless the other names are given."""
    role = aws.iam.Role(resource_name, name=role_name, assume_role_policy=iam.pod_identity_trust_policy(),
                        tags=dict(tags), opts=opts)
    role_policy = None
    if policy is not None:
        role_policy = aws.iam.RolePolicy(policy_resource_name or resource_name, role=role.id, policy=policy,
                                         opts=opts)
    association = aws.eks.PodIdentityAssociation(
        association_resource_name or resource_name, cluster_name=cluster_name, namespace=namespace,
        service_account=service_account, role_arn=role.arn, tags=dict(tags), opts=opts)
    return PodIdentityRole(role, association, role_policy)
