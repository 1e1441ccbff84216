"""IAM and resource policy documents (pure; JSON strings as AWS receives them)."""

from __future__ import annotations

import json
from collections.abc import Sequence


def policy_document(statements: list[dict]) -> str:
    """An IAM policy document as the JSON string AWS receives."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


_doc = policy_document


def service_trust_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    """A role trust policy letting one AWS service principal assume the role."""
    return _doc([{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}])


def eks_cluster_trust_policy() -> str:
    return service_trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))


def ec2_node_trust_policy() -> str:
    return service_trust_policy("ec2.amazonaws.com")


def pod_identity_trust_policy() -> str:
    """Trust policy for EKS Pod Identity roles (the agent assumes them with session tags)."""
    return service_trust_policy("pods.eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def cluster_kms_policy(key_arn: str) -> str:
    """What the EKS cluster role needs on its envelope-encryption key, and only on that key."""
    return _doc([{
        "Effect": "Allow",
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
        "Resource": key_arn,
    }])


def efs_file_system_policy(file_system_arn: str) -> str:
    """EFS resource policy: clients mount only through a mount target, and only over TLS."""
    return _doc([
        {
            "Sid": "MountThroughMountTargets",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite",
                       "elasticfilesystem:ClientRootAccess"],
            "Resource": file_system_arn,
            "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
        },
        {
            "Sid": "DenyUnencryptedTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": file_system_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ])


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str,
               role_arn: str | None = None) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (no credential inside it)."""
    args = ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]
    if role_arn:
        args += ["--role-arn", role_arn]
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": args,
            "interactiveMode": "Never",
        }}}],
    }, sort_keys=True)


def weight_mirror_bucket_policy(bucket_arn: str) -> str:
    """The weight mirror's bucket policy: TLS only (every request over plain HTTP is denied)."""
    return _doc([{
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }])


def weight_mirror_policy(bucket_arn: str, prefixes: Sequence[str], write: bool) -> str:
    """What a tier's pods may do in the weight mirror, and only under the prefixes of its own locked revisions:
    list and read (serving pods); with ``write`` also put (and, for multipart uploads, abort) objects (the sync Job).
    ``aws s3 sync`` lists the destination to compare, so the writer lists too."""
    objects = [f"{bucket_arn}/{p}*" for p in prefixes]
    actions = ["s3:GetObject"] + (["s3:PutObject", "s3:AbortMultipartUpload"] if write else [])
    return _doc([
        {"Sid": "ListOwnPrefixes", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}},
        {"Sid": "ObjectsUnderOwnPrefixes", "Effect": "Allow", "Action": actions, "Resource": objects},
    ])
