"""WeightMirror: the in-region S3 copy of the locked model revisions that tiers with ``weightsFrom: nvme`` or ``s3``
load from, and the S3 gateway endpoint that keeps that traffic off the NAT gateways. A thin ComponentResource over
iam.py's documents and mirror/rules.py. See docs/components/weight-mirror.md.

The tiers' sync Jobs fill it (ModelTier: each tier's writer and reader roles reach only its own revisions'
prefixes); nothing else writes there. It is a cache of what the Hub serves: ``force_destroy`` (the default) lets
``pulumi destroy`` remove it with its objects, which the next ``pulumi up`` downloads again.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from typing import Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from llm_tiers import arguments
from llm_tiers import iam
from llm_tiers import naming
from llm_tiers.mirror import rules

#: Incomplete multipart uploads (a sync Job killed mid-upload) are removed after this many days.
ABORT_INCOMPLETE_UPLOAD_DAYS = 1


class WeightMirrorArgs(TypedDict, total=False):
    """Inputs of :class:`WeightMirror`."""

    region: Required[str]
    """AWS region of the bucket and the endpoint (the cluster's: the point is in-region reads)."""
    name_prefix: str
    """Start of the bucket's name (``<name_prefix>-weights-<suffix>``): the cluster's name. Default: ``llm``."""
    bucket_name: Optional[str]
    """The bucket's full name instead of a generated one (globally unique). Default: generated from
    ``name_prefix``."""
    vpc_id: pulumi.Input[str]
    """VPC of the S3 gateway endpoint (the cluster's). Required with ``route_table_ids``."""
    route_table_ids: list[pulumi.Input[str]]
    """Route tables of the subnets the nodes run in (``Cluster.private_route_table_ids``): S3 traffic from them
    takes the gateway endpoint (no NAT processing charge, no NAT bandwidth limit). Empty: no endpoint (the VPC has
    one already). Default: none."""
    force_destroy: bool
    """Let ``pulumi destroy`` delete the bucket with its objects (a cache the sync Jobs refill). Default: true."""
    protect: bool
    """Pulumi ``protect`` on the bucket. Default: false."""
    environment: Optional[str]
    """Environment name for the tags. Default: none."""
    tags: dict[str, str]
    """Extra AWS tags. Default: none."""


class WeightMirror(pulumi.ComponentResource):
    """An S3 bucket (private, TLS only, owner-enforced, SSE-S3) and an S3 gateway endpoint. See
    docs/components/weight-mirror.md."""

    bucket_name: pulumi.Output[str]
    """The bucket's name (ModelTier's ``weight_mirror.bucket_name``)."""
    bucket_arn: pulumi.Output[str]
    """The bucket's ARN (the tiers' IAM policies)."""

    def __init__(self, resource_name: str, args: WeightMirrorArgs, opts: Optional[pulumi.ResourceOptions] = None):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("WeightMirror", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("WeightMirror"), resource_name, None, opts)
        prefix = arguments.get(args, "name_prefix", "llm")
        tags = naming.aws_tags(args.get("environment"), prefix, arguments.get(args, "tags", {}))
        child = pulumi.ResourceOptions(parent=self)
        name = args.get("bucket_name")
        bucket = aws.s3.Bucket(
            f"{resource_name}-bucket", bucket=name, bucket_prefix=None if name else f"{prefix}-weights-",
            force_destroy=arguments.get(args, "force_destroy", True), tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=arguments.get(args, "protect", False)))
        aws.s3.BucketPublicAccessBlock(f"{resource_name}-public-access", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(f"{resource_name}-ownership", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{resource_name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{resource_name}-lifecycle", bucket=bucket.id,
            rules=[{"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOAD_DAYS}}],
            opts=child)
        policy = aws.s3.BucketPolicy(f"{resource_name}-policy", bucket=bucket.id,
                                     policy=bucket.arn.apply(iam.weight_mirror_bucket_policy), opts=child)
        ready: list[pulumi.Resource] = [bucket, policy]
        route_tables = arguments.get(args, "route_table_ids", [])
        if route_tables:
            ready.append(aws.ec2.VpcEndpoint(
                f"{resource_name}-s3-endpoint", vpc_id=args["vpc_id"],
                service_name=f"com.amazonaws.{args['region']}.s3",
                vpc_endpoint_type="Gateway", route_table_ids=list(route_tables),
                tags={**tags, "Name": f"{prefix}-s3"}, opts=child))
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self._ready = ready
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a tier's sync Job waits for: the bucket, its policy and the endpoint."""
        return self._ready
