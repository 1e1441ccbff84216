"""Which input changes make the engine replace a resource (delete and create anew) instead of updating it.

Kubernetes: pulumi-kubernetes' own table (provider/pkg/provider/diff.go, ``forceNewProperties``, and
provider.go: a changed ``metadata.name`` or ``metadata.namespace`` always replaces). AWS: the Terraform AWS
provider's ``ForceNew`` schema fields that pulumi-aws bridges (``AWS_REPLACE_ON``, each with its source).
Used by the PR diff (components/llm_tiers/preview/render_diff.py) to flag replacements, and by the mock engine
(components/llm_tiers/preview/mocks.py) so an identity input change gives the resource a new ID in the render, as AWS
would.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Optional

# ------------------------------------------------------------------------------------------------ Kubernetes
# (group, kind) -> replacing paths; "[*]" matches any list element. From provider/pkg/provider/diff.go.
_SELECTOR = ["spec.selector"]
K8S_REPLACE_ON: dict[tuple[str, str], list[str]] = {
    ("apps", "Deployment"): _SELECTOR,
    ("apps", "DaemonSet"): _SELECTOR,
    ("apps", "StatefulSet"): ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector",
                              "spec.serviceName", "spec.volumeClaimTemplates"],
    ("batch", "Job"): ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
    ("", "PersistentVolumeClaim"): ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
    ("", "Service"): ["spec.clusterIP"],
    # ConfigMaps and Secrets are replaced when their data changes unless the provider sets
    # enableConfigMapMutable / enableSecretMutable (off by default, and not set here): pulumi/pulumi-kubernetes
    # PR #1926 "Add option to treat configmaps as mutable" ("If the flag is not enabled (default), existing
    # replacement behavior would be retained") and issue #1567.
    ("", "ConfigMap"): ["data", "binaryData", "immutable"],
    ("", "Secret"): ["type", "data", "stringData", "immutable"],
    ("storage.k8s.io", "StorageClass"): ["parameters", "provisioner"],
    ("rbac.authorization.k8s.io", "RoleBinding"): ["roleRef"],
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ["roleRef"],
}
K8S_IDENTITY = ["metadata.name", "metadata.namespace"]
K8S_SOURCE = "pulumi-kubernetes provider/pkg/provider/diff.go (forceNewProperties) and provider.go (name, namespace)"

# What a replacement loses, by Kubernetes kind (the object is deleted, then created again).
K8S_LOSES = {
    "PersistentVolumeClaim": "the volume's data (a new claim, a new volume)",
    "Job": "nothing but time: the Job runs again from the start",
    "StorageClass": "nothing stored, but claims keep the class they were created with",
    "Deployment": "every pod at once (delete before create): an outage until the new pods are ready",
    "StatefulSet": "every pod; volumes follow the claim templates",
    "Service": "its cluster IP",
    "Secret": "nothing stored (it is re-created with the new data under the same name)",
    "ConfigMap": "nothing stored (it is re-created with the new data under the same name)",
}

# ------------------------------------------------------------------------------------------------ AWS
# type -> (input paths that force a new resource, what the replacement loses). Sources: the Terraform AWS
# provider's resource schemas (internal/service/<service>/<resource>.go, ``ForceNew: true``), as bridged by
# pulumi-aws 7.x; see AWS_SOURCE.
AWS_SOURCE = ("hashicorp/terraform-provider-aws v6.x internal/service/*/<resource>.go (ForceNew schema fields and "
              "CustomizeDiff ForceNewIf), bridged by pulumi-aws 7.x; read file by file from the provider's source, "
              "not from one tag: recheck against the provider version pulumi-aws pins when it moves")
AWS_REPLACE_ON: dict[str, tuple[list[str], str]] = {
    "aws:ec2/vpc:Vpc": (["cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"],
                        "the VPC and everything in it: subnets, NAT gateways, the EKS cluster, EFS mount targets"),
    "aws:ec2/subnet:Subnet": (["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "ipv4IpamPoolId",
                               "ipv4NetmaskLength", "ipv6Native", "outpostArn"],
                              "the subnet: its nodes, ENIs, mount targets and the cluster placed in it"),
    "aws:ec2/internetGateway:InternetGateway": ([], "public egress while it is re-created"),
    "aws:ec2/eip:Eip": (["domain", "address", "publicIpv4Pool", "networkBorderGroup", "ipamPoolId"],
                        "the public IP address (allow-lists break)"),
    "aws:ec2/natGateway:NatGateway": (["subnetId", "allocationId", "connectivityType", "privateIp", "vpcId"],
                                      "private egress of its zone while it is re-created"),
    "aws:ec2/routeTable:RouteTable": (["vpcId"], "the routes of its subnets"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (["subnetId", "gatewayId"], "the subnet's routing briefly"),
    "aws:ec2/securityGroup:SecurityGroup": (["name", "namePrefix", "description", "vpcId"],
                                            "the group ID every rule and ENI refers to"),
    # The operator access relay (cluster.operatorAccess): internal/service/ec2/ec2_instance.go.
    "aws:ec2/instance:Instance": (["ami", "availabilityZone", "subnetId", "associatePublicIpAddress", "privateIp",
                                   "keyName", "placementGroup", "tenancy", "hostId", "networkInterfaces"],
                                  "the relay's open sessions (it holds nothing; operators reconnect)"),
    "aws:ec2/securityGroupRule:SecurityGroupRule": (["securityGroupId", "sourceSecurityGroupId", "type", "protocol",
                                                     "fromPort", "toPort", "cidrBlocks", "self"],
                                                    "the traffic it admits, between delete and create"),
    "aws:iam/instanceProfile:InstanceProfile": (["name", "namePrefix", "path"], "the instance's role meanwhile"),
    "aws:ec2/launchTemplate:LaunchTemplate": (["name", "namePrefix"], "the template (node groups roll their nodes)"),
    "aws:ec2/tag:Tag": (["resourceId", "key"], "nothing"),
    # vpcConfig.subnetIds and securityGroupIds update in place (within the cluster's VPC); encryptionConfig can
    # be added in place but not removed or changed; the Cluster component adds replaceOnChanges on its
    # subnets, because EKS cannot move a cluster to another VPC (a new VPC means a new cluster).
    "aws:eks/cluster:Cluster": (["name", "roleArn", "bootstrapSelfManagedAddons",
                                 "accessConfig.bootstrapClusterCreatorAdminPermissions",
                                 "kubernetesNetworkConfig.ipFamily", "kubernetesNetworkConfig.serviceIpv4Cidr",
                                 "outpostConfig"],
                                "the control plane: every Kubernetes object, node group, add-on and access entry"),
    "aws:eks/nodeGroup:NodeGroup": (["clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "subnetIds",
                                     "amiType", "capacityType", "diskSize", "instanceTypes", "remoteAccess",
                                     "launchTemplate.id", "launchTemplate.name"],
                                    "every system node (pods are rescheduled as new nodes come up)"),
    "aws:eks/addon:Addon": (["clusterName", "addonName"], "the add-on's pods while it is re-installed"),
    "aws:eks/accessEntry:AccessEntry": (["clusterName", "principalArn", "type"], "the principal's access meanwhile"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (["clusterName", "principalArn", "policyArn",
                                                                "accessScope"],
                                                               "the principal's access meanwhile"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (["clusterName", "namespace", "serviceAccount"],
                                                             "the pods' AWS credentials meanwhile"),
    "aws:efs/fileSystem:FileSystem": (["creationToken", "encrypted", "kmsKeyId", "performanceMode",
                                       "availabilityZoneName"],
                                      "every cached model weight (they are downloaded again)"),
    "aws:efs/mountTarget:MountTarget": (["fileSystemId", "subnetId", "ipAddress", "ipAddressType"],
                                        "NFS access in its zone meanwhile"),
    "aws:efs/backupPolicy:BackupPolicy": (["fileSystemId"], "nothing"),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": (["fileSystemId"], "nothing"),
    "aws:iam/role:Role": (["name", "namePrefix", "path"], "the role ARN that trust policies and identities refer to"),
    "aws:iam/rolePolicy:RolePolicy": (["name", "namePrefix", "role"], "nothing"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (["role", "policyArn"], "the permission meanwhile"),
    "aws:kms/key:Key": (["customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId", "customKeyStoreId"],
                        "the key: what it encrypted is unreadable once the old key is deleted"),
    "aws:kms/alias:Alias": (["name", "namePrefix"], "nothing"),
    "aws:cloudwatch/logGroup:LogGroup": (["name", "namePrefix", "logGroupClass"], "the logs it holds"),
    "aws:cloudwatch/eventRule:EventRule": (["name", "namePrefix", "eventBusName"], "events meanwhile"),
    "aws:cloudwatch/eventTarget:EventTarget": (["rule", "targetId", "eventBusName"], "events meanwhile"),
    "aws:secretsmanager/secret:Secret": (["name", "namePrefix"], "the secret's value history and its ARN"),
    "aws:secretsmanager/secretVersion:SecretVersion": (["secretId", "secretString", "secretBinary"],
                                                       "nothing (a new version of the value)"),
    "aws:sqs/queue:Queue": (["name", "namePrefix", "fifoQueue"], "queued messages"),
    "aws:sqs/queuePolicy:QueuePolicy": (["queueUrl"], "nothing"),
}

# The SDK's marker of a secret value (pulumi/sdk/python/lib/pulumi/runtime/rpc.py ``_special_secret_sig``).
SECRET_SIG = "4dabf18193072939515e22adb298388d"

# Random resources (pulumi-random): every input, keepers included, forces a new value.
RANDOM_LOSES = "the generated value (a new one is generated)"


def _matches(path: str, pattern: str) -> bool:
    """``path`` (dotted, with ``[i]`` or ``[name]``) is ``pattern`` or below it."""
    norm = path.replace("[", ".[")
    pat = pattern.replace("[*]", ".[*]")
    parts, pparts = norm.split("."), pat.split(".")
    if len(parts) < len(pparts):
        return False
    return all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pparts))


def replace_paths(resource_type: str, inputs: dict[str, Any]) -> list[str]:
    """The input paths whose change replaces a resource of this type (and these inputs: the Kubernetes
    group and kind come from them)."""
    if resource_type.startswith("random:"):
        return ["*"]
    if resource_type in AWS_REPLACE_ON:
        return list(AWS_REPLACE_ON[resource_type][0])
    if resource_type.startswith("kubernetes:") and "kind" in inputs:
        api = str(inputs.get("apiVersion", "v1"))
        group = api.split("/")[0] if "/" in api else ""
        return K8S_IDENTITY + K8S_REPLACE_ON.get((group, str(inputs["kind"])), [])
    if resource_type == "kubernetes:helm.sh/v3:Release":
        return ["name", "namespace"]  # provider/pkg/provider/helm_release.go: forceNewFields
    return []


def replaced_by(resource_type: str, inputs: dict[str, Any], changed_paths: list[str],
                replace_on_changes: Optional[list[str]] = None) -> list[str]:
    """Which of ``changed_paths`` force a replacement: the provider's rules, plus the resource's own
    ``replaceOnChanges`` option."""
    patterns = replace_paths(resource_type, inputs) + list(replace_on_changes or [])
    if patterns == ["*"]:
        return list(changed_paths)
    return [p for p in changed_paths if any(_matches(p, pat) for pat in patterns)]


def loses(resource_type: str, inputs: dict[str, Any]) -> str:
    if resource_type.startswith("random:"):
        return RANDOM_LOSES
    if resource_type in AWS_REPLACE_ON:
        return AWS_REPLACE_ON[resource_type][1]
    return K8S_LOSES.get(str(inputs.get("kind")), "the object is deleted and created again")


def identity_values(resource_type: str, inputs: dict[str, Any]) -> list[str]:
    """The values of the inputs that define an AWS resource's identity (for the mock engine's IDs)."""
    import json

    fields = AWS_REPLACE_ON.get(resource_type, ([], ""))[0]
    out = []
    for f in fields:
        value: Optional[Any] = inputs
        for part in f.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        # Never a secret: an ID derived from a secret value would put a function of it into the render.
        if value is not None and not (isinstance(value, dict) and SECRET_SIG in value):
            out.append(f"{f}={json.dumps(value, sort_keys=True, default=str)}")
    return out
