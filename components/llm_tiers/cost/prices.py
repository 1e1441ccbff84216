"""AWS unit prices the bill uses (pure): everything except the GPU instances, which are in ``gpu_catalog``.

Region and date: the same as the GPU catalog (``gpu_catalog.PRICE_REGION``, ``PRICE_DATE``): US East (N.
Virginia), the public on-demand price pages as of 2026-01, transcribed by hand. Other regions differ (often
by 5-30%); plan.md names the region and date next to every figure and says so when a stack deploys
elsewhere. No discount (Savings Plans, reserved capacity, spot) is applied.

Sources (each constant names its page):

* EC2 on-demand, Linux: https://aws.amazon.com/ec2/pricing/on-demand/
* EKS: https://aws.amazon.com/eks/pricing/ (per cluster-hour; extended support costs more)
* VPC (NAT gateways, public IPv4 addresses): https://aws.amazon.com/vpc/pricing/
* Elastic Load Balancing (NLB): https://aws.amazon.com/elasticloadbalancing/pricing/
* EFS: https://aws.amazon.com/efs/pricing/ (Standard storage class; Elastic throughput billed per GB)
* EBS gp3: https://aws.amazon.com/ebs/pricing/
* S3: https://aws.amazon.com/s3/pricing/ (S3 Standard storage, requests; same-region transfer to EC2 is free)
* Secrets Manager: https://aws.amazon.com/secrets-manager/pricing/
* KMS: https://aws.amazon.com/kms/pricing/
* CloudWatch Logs: https://aws.amazon.com/cloudwatch/pricing/
* Route 53: https://aws.amazon.com/route53/pricing/

Storage is billed per GB-month, where AWS's "GB" is 2^30 bytes for EBS and EFS: sizes are converted with GiB.
"""

from __future__ import annotations

from llm_tiers.gpu.catalog import PRICE_DATE, PRICE_REGION
from llm_tiers.cluster.system_capacity import CATALOG as SYSTEM_CATALOG
# The figures every layer may need (the cluster prices its operator-access relay with them), re-exported.
from llm_tiers.aws_prices import (GP3_BASELINE_IOPS, GP3_BASELINE_MIBPS, GP3_GB_MONTH, GP3_IOPS_MONTH,  # noqa: F401
                                  GP3_MIBPS_MONTH, HOURS_PER_MONTH, gp3_monthly)


PRICE_LIST = (f"AWS public on-demand prices, {PRICE_REGION}, as of {PRICE_DATE} (components/llm_tiers/cost/prices.py, "
              "components/llm_tiers/gpu/catalog.py)")

# EKS: per cluster and hour, by version support policy (``versions.EKS_SUPPORT_TYPE``).
EKS_CLUSTER_HOURLY = {"STANDARD": 0.10, "EXTENDED": 0.60}

# VPC.
NAT_GATEWAY_HOURLY = 0.045
NAT_GATEWAY_PER_GB = 0.045          # data processed, either direction
PUBLIC_IPV4_HOURLY = 0.005          # every in-use public IPv4 address (NAT gateways' EIPs, an internet-facing NLB)

# Network Load Balancer.
NLB_HOURLY = 0.0225
NLB_LCU_HOURLY = 0.006              # per NLB capacity unit-hour (new flows, active flows, bytes)

# EFS (Standard storage class; Elastic throughput charges per GB transferred, Bursting includes throughput).
EFS_STANDARD_GB_MONTH = 0.30
EFS_ELASTIC_READ_PER_GB = 0.03
EFS_ELASTIC_WRITE_PER_GB = 0.06

# S3 Standard (the weight mirror): storage per GB-month (first 50 TB), requests per 1,000. Transfer from S3 to EC2 in
# the same region is free, and a gateway VPC endpoint has no charge (no NAT processing either).
S3_STANDARD_GB_MONTH = 0.023
S3_PUT_PER_1K = 0.005
S3_GET_PER_1K = 0.0004


# Secrets Manager and KMS.
SECRET_MONTH = 0.40
SECRETS_MANAGER_PER_10K_CALLS = 0.05
KMS_KEY_MONTH = 1.00
KMS_PER_10K_REQUESTS = 0.03

# CloudWatch Logs (the control-plane log group).
LOGS_INGEST_PER_GB = 0.50
LOGS_STORED_GB_MONTH = 0.03

# Route 53 (the hosted zone exists already; the stack creates records only). Queries of an alias record that
# points at an AWS load balancer are free.
ROUTE53_ZONE_MONTH = 0.50

# EC2 on-demand Linux prices of the system node group's catalog (``system_capacity.CATALOG``), per xlarge;
# these families are priced linearly in size (large = half an xlarge, 8xlarge = eight).
_SYSTEM_XLARGE_HOURLY = {"m5": 0.192, "m6i": 0.192, "m7i": 0.2016, "m6a": 0.1728, "m7a": 0.23184,
                         "c6i": 0.17, "c7i": 0.1785, "r6i": 0.252, "r7i": 0.2646}
SYSTEM_INSTANCE_HOURLY: dict[str, float] = {
    name: round(_SYSTEM_XLARGE_HOURLY[name.split(".")[0]] * it.vcpus / 4, 5) for name, it in SYSTEM_CATALOG.items()
}
