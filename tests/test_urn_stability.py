"""Stateful resources keep their URNs: renaming a component's child would make Pulumi replace it (a new
EKS cluster, an empty EFS, a new KMS key, lost secrets). Change this list only together with aliases."""

from __future__ import annotations

STATEFUL_TYPES = {"aws:eks/cluster:Cluster", "aws:efs/fileSystem:FileSystem", "aws:kms/key:Key",
                  "aws:secretsmanager/secret:Secret", "aws:ec2/vpc:Vpc", "aws:sqs/queue:Queue",
                  "kubernetes:core/v1:PersistentVolumeClaim", "aws:s3/bucket:Bucket"}

PINNED_PROD = {
    "urn:pulumi:prod::llm-tiers::llmtiers:index:Cluster$aws:ec2/vpc:Vpc::cluster-vpc",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:Cluster$aws:efs/fileSystem:FileSystem::cluster-weights",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:Cluster$aws:eks/cluster:Cluster::cluster-eks",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:Cluster$aws:kms/key:Key::cluster-secrets",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:GpuCapacity$aws:sqs/queue:Queue::gpu-interruption",
    # chat-large's weights moved from EFS to the S3 weight mirror (weightsFrom: nvme, issue 28): its EFS claim went
    # on purpose; the mirror's bucket holds them now.
    "urn:pulumi:prod::llm-tiers::llmtiers:index:WeightMirror$aws:s3/bucket:Bucket::weight-mirror-bucket",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:ModelTier$kubernetes:core/v1:PersistentVolumeClaim::tier-chat-small-weights-0e9e39f249",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:SecretStore$aws:kms/key:Key::secrets-key",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:SecretStore$aws:secretsmanager/secret:Secret::secrets-hf-token",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:SecretStore$aws:secretsmanager/secret:Secret::secrets-tenant-analytics",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:SecretStore$aws:secretsmanager/secret:Secret::secrets-tenant-search",
    "urn:pulumi:prod::llm-tiers::llmtiers:index:SecretStore$aws:secretsmanager/secret:Secret::secrets-tenant-support-bot",
}


def engine_urn(urn: str) -> str:
    """The mock monitor puts the root stack's type in child URNs; the Pulumi engine does not."""
    return urn.replace("pulumi:pulumi:Stack$", "")


def test_stateful_urns_are_pinned(rendered):
    urns = {engine_urn(r.urn) for r in rendered("prod").custom_resources if r.type in STATEFUL_TYPES}
    assert urns == PINNED_PROD, (
        f"added: {sorted(urns - PINNED_PROD)}\nremoved: {sorted(PINNED_PROD - urns)}\n"
        "A stateful resource's URN changed: add an alias (pulumi.Alias) or update this list deliberately.")


def test_component_type_tokens(rendered):
    components = {r.type for r in rendered("prod").recording.resources if not r.custom}
    assert {"llmtiers:index:Cluster", "llmtiers:index:GpuCapacity", "llmtiers:index:SecretStore",
            "llmtiers:index:Namespaces", "llmtiers:index:Observability", "llmtiers:index:Gateway",
            "llmtiers:index:ModelTier"} <= components
