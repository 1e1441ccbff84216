"""Pulumi mocks whose outputs look like the real ones (IDs, ARNs, endpoints, zones).

Used by the offline render and by the tests: the program is the same as under ``pulumi up``; only the
engine differs. Every value is derived from the resource's type and name, so renders are reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _ensure_event_loop

from llm_tiers.preview.replacements import identity_values

ACCOUNT_ID = "111122223333"  # the AWS documentation example account
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARKER = "[secret]"


def _hex(*parts: str, n: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def _uuid(*parts: str) -> str:
    return str(uuid.UUID(_hex(*parts, n=32)))


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    id: Optional[str] = None
    outputs: dict[str, Any] = field(default_factory=dict)
    """The state the mock engine answered with (what later resources can read from this one)."""
    # What the SDK sent the engine besides the inputs (RegisterResourceRequest): the real engine orders,
    # awaits, replaces and deletes by these, so the rollout plan (components/llm_tiers/preview/rollout.py) reads them.
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    deleted_with: str = ""
    remote: bool = False
    """A component the provider constructs (helm.sh/v4 Chart): the engine creates it as one step."""

    @property
    def provider_urn(self) -> str:
        """The provider resource's URN (the request names it as ``<urn>::<id>``)."""
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class Recording:
    resources: list[RecordedResource] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the program logged with ``pulumi.log.warn`` (shown in a preview's diagnostics)."""


class RecordingLogHandler(logging.Handler):
    """Keeps the program's warnings (the mock engine logs them through a Python logger)."""

    def __init__(self, recording: Recording):
        super().__init__(logging.WARNING)
        self.recording = recording

    def emit(self, record: logging.LogRecord) -> None:
        self.recording.warnings.append(record.getMessage())


class PlatformMocks(pulumi.runtime.Mocks):
    """Realistic AWS/Kubernetes outputs for the resources and invokes the program uses."""

    def __init__(self, region: str):
        self.region = region

    # ------------------------------------------------------------------ invokes
    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = "abcdef"
            return {
                "names": [f"{self.region}{c}" for c in letters],
                "zoneIds": [f"use1-az{i + 1}" for i in range(len(letters))],
                "id": self.region,
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/deployer",
                    "userId": "AROAEXAMPLE", "id": ACCOUNT_ID}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com"}, []
        if token == "aws:ec2/getAmi:getAmi":
            names = [v for f in args.args.get("filters") or [] if f.get("name") == "name"
                     for v in f.get("values") or []]
            return {"id": f"ami-{_hex(token, *names)[:17]}", "name": names[0] if names else "",
                    "architecture": "arm64" if names and names[0].endswith("arm64") else "x86_64"}, []
        raise NotImplementedError(f"the render mocks do not know the invoke {token}; add it to "
                                  f"components/llm_tiers/preview/mocks.py")

    # ------------------------------------------------------------------ resources
    def _arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        t, name, inputs = args.typ, args.name, dict(args.inputs)
        # The inputs that force a new resource are part of its identity: change one, and the render shows a
        # new ID where AWS would create a new resource (components/llm_tiers/preview/replacements.py).
        h = _hex(t, name, *identity_values(t, inputs))
        state: dict[str, Any] = dict(inputs)

        if t.startswith("kubernetes:"):
            meta = inputs.get("metadata") or {}
            ns = meta.get("namespace")
            rid = f"{ns}/{meta.get('name', name)}" if ns else meta.get("name", name)
            if isinstance(meta, dict) and "uid" not in meta:
                # The API server gives every object a UID (what an owner reference names).
                state["metadata"] = {**meta, "uid": _uuid(t, rid)}
            if t.startswith("kubernetes:gateway.networking.k8s.io/") and t.endswith(":Gateway"):
                # What the gateway controller writes once the load balancer exists (the engine returns the live
                # object after awaiting Programmed): an NLB's DNS name.
                state["status"] = {"addresses": [{"type": "Hostname", "value": (
                    f"a{_hex(t, rid, n=32)}-{_hex(rid, n=16)}.elb.{self.region}.amazonaws.com")}],
                    "conditions": [{"type": "Programmed", "status": "True"}]}
            return rid, state
        if t.startswith("pulumi:providers:"):
            return f"{name}-provider", state

        def named(key: str = "name") -> str:
            return inputs.get(key) or name

        if t == "aws:ec2/vpc:Vpc":
            rid = f"vpc-{h}"
            state.update(arn=self._arn("ec2", f"vpc/{rid}"), defaultSecurityGroupId=f"sg-{_hex(h, 'sg')}",
                         mainRouteTableId=f"rtb-{_hex(h, 'rtb')}", ownerId=ACCOUNT_ID)
        elif t == "aws:ec2/subnet:Subnet":
            rid = f"subnet-{h}"
            state.update(arn=self._arn("ec2", f"subnet/{rid}"), ownerId=ACCOUNT_ID)
        elif t == "aws:ec2/internetGateway:InternetGateway":
            rid = f"igw-{h}"
            state.update(arn=self._arn("ec2", f"internet-gateway/{rid}"))
        elif t == "aws:ec2/eip:Eip":
            rid = f"eipalloc-{h}"
            n = int(h[:4], 16)
            state.update(allocationId=rid, publicIp=f"198.51.100.{n % 254 + 1}")
        elif t == "aws:ec2/natGateway:NatGateway":
            rid = f"nat-{h}"
        elif t == "aws:ec2/routeTable:RouteTable":
            rid = f"rtb-{h}"
            state.update(arn=self._arn("ec2", f"route-table/{rid}"))
        elif t == "aws:ec2/routeTableAssociation:RouteTableAssociation":
            rid = f"rtbassoc-{h}"
        elif t == "aws:ec2/securityGroup:SecurityGroup":
            rid = f"sg-{h}"
            state.update(arn=self._arn("ec2", f"security-group/{rid}"))
        elif t == "aws:ec2/launchTemplate:LaunchTemplate":
            rid = f"lt-{h}"
            state.update(arn=self._arn("ec2", f"launch-template/{rid}"), latestVersion=1, defaultVersion=1)
        elif t == "aws:ec2/tag:Tag":
            rid = f"{inputs.get('resourceId')},{inputs.get('key')}"
        elif t == "aws:iam/role:Role":
            rid = named()
            state.update(name=rid, arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{rid}", uniqueId=f"AROA{h.upper()}")
        elif t == "aws:iam/policy:Policy":
            rid = f"arn:aws:iam::{ACCOUNT_ID}:policy/{named()}"
            state.update(name=named(), arn=rid, policyId=f"ANPA{h.upper()}")
        elif t == "aws:kms/key:Key":
            rid = _uuid(t, name)
            state.update(keyId=rid, arn=self._arn("kms", f"key/{rid}"))
        elif t == "aws:kms/alias:Alias":
            rid = named()
            state.update(arn=self._arn("kms", rid))
        elif t == "aws:cloudwatch/logGroup:LogGroup":
            rid = named()
            state.update(arn=self._arn("logs", f"log-group:{rid}"))
        elif t == "aws:eks/cluster:Cluster":
            rid = named()
            endpoint_id = _hex(t, name, n=32).upper()
            state.update(
                name=rid, arn=self._arn("eks", f"cluster/{rid}"), status="ACTIVE", platformVersion="eks.1",
                endpoint=f"https://{endpoint_id}.gr7.{self.region}.eks.amazonaws.com",
                certificateAuthority={"data": base64.b64encode(f"mock-ca-{rid}".encode()).decode()},
                identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{endpoint_id}"}]}],
                clusterId=_uuid(t, name, "id"),
            )
            vpc_config = dict(inputs.get("vpcConfig") or {})
            vpc_config.update(clusterSecurityGroupId=f"sg-{_hex(h, 'cluster')}", vpcId=f"vpc-{_hex(h, 'vpc')}")
            state["vpcConfig"] = vpc_config
        elif t == "aws:eks/nodeGroup:NodeGroup":
            rid = f"{inputs.get('clusterName')}:{named('nodeGroupName')}"
            state.update(arn=self._arn("eks", f"nodegroup/{inputs.get('clusterName')}/{named('nodeGroupName')}/{h}"),
                         status="ACTIVE")
        elif t == "aws:eks/addon:Addon":
            rid = f"{inputs.get('clusterName')}:{inputs.get('addonName')}"
            state.update(arn=self._arn("eks", f"addon/{inputs.get('clusterName')}/{inputs.get('addonName')}/{h}"))
        elif t == "aws:eks/accessEntry:AccessEntry":
            rid = f"{inputs.get('clusterName')}:{inputs.get('principalArn')}"
            state.update(accessEntryArn=self._arn("eks", f"access-entry/{inputs.get('clusterName')}/{h}"))
        elif t == "aws:efs/fileSystem:FileSystem":
            rid = f"fs-{h}"
            state.update(arn=self._arn("elasticfilesystem", f"file-system/{rid}"),
                         dnsName=f"{rid}.efs.{self.region}.amazonaws.com")
        elif t == "aws:efs/mountTarget:MountTarget":
            rid = f"fsmt-{h}"
        elif t.startswith("aws:sqs/queue:Queue"):
            rid = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{named()}"
            state.update(arn=self._arn("sqs", named()), url=rid)
        elif t == "random:index/randomPassword:RandomPassword":
            # Deterministic per name and keepers, so a changed keeper (rotation) changes the value.
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            seed = hashlib.sha256(f"{t}/{name}/{sorted((inputs.get('keepers') or {}).items())}".encode()).digest()
            length = int(inputs.get("length", 16))
            state["result"] = "".join(alphabet[seed[i % len(seed)] % len(alphabet)] for i in range(length))
            rid = "none"
        elif t == "aws:s3/bucket:Bucket":
            # bucket_prefix: the provider appends a 26-character unique suffix, as for secrets; S3 names have no
            # region or account in their ARN.
            bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{int(h, 16):026d}"[:63]
            rid = bucket
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", region=self.region)
        elif t == "aws:secretsmanager/secret:Secret":
            # name_prefix: the provider appends a 26-character unique suffix (terraform id.PrefixedUniqueId).
            secret_name = inputs.get("name") or f"{inputs.get('namePrefix', name)}{int(h, 16):026d}"[:256]
            rid = self._arn("secretsmanager", f"secret:{secret_name}-{h[:6]}")
            state.update(arn=rid, name=secret_name)
        else:
            rid = f"{name}-{h[:8]}"
            if "arn" not in state:
                service = t.split(":")[1].split("/")[0]
                state["arn"] = self._arn(service, f"{name}")
        return rid, state


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration (with URN and parent) and every invoke."""

    def __init__(self, mocks: PlatformMocks, recording: Recording):
        super().__init__(mocks)
        self.recording = recording
        self._lock = threading.Lock()

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        outputs = rpc.deserialize_properties(response.object, keep_unknowns=True) if response.object else {}
        timeouts = request.customTimeouts
        with self._lock:
            self.recording.resources.append(RecordedResource(
                urn=response.urn, type=request.type, name=request.name, custom=bool(request.custom),
                parent=request.parent, provider=request.provider, inputs=inputs, id=response.id or None,
                outputs=outputs,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                custom_timeouts={k: getattr(timeouts, k) for k in ("create", "update", "delete")
                                 if timeouts is not None and getattr(timeouts, k)},
                protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=list(request.replaceOnChanges), ignore_changes=list(request.ignoreChanges),
                deleted_with=request.deletedWith, remote=bool(request.remote)))
        return response

    def Invoke(self, request):
        with self._lock:
            self.recording.invokes.append(request.tok)
        return super().Invoke(request)
