"""The AWS list prices every layer may need (pure data, a leaf module): the billing month and EBS gp3. The cluster
prices its operator-access relay with them; ``cost.prices`` holds every other unit price and re-exports these.

US East (N. Virginia), the public price pages as of 2026-01 (the same list as ``cost.prices``):
EBS gp3: https://aws.amazon.com/ebs/pricing/
"""

from __future__ import annotations

#: Hours in the billing month AWS's calculators use.
HOURS_PER_MONTH = 730

# EBS gp3: storage, plus IOPS and throughput above the baseline every volume includes.
GP3_GB_MONTH = 0.08
GP3_IOPS_MONTH = 0.005
GP3_MIBPS_MONTH = 0.04
GP3_BASELINE_IOPS = 3000
GP3_BASELINE_MIBPS = 125


def gp3_monthly(size_gib: float, iops: int = GP3_BASELINE_IOPS, mibps: int = GP3_BASELINE_MIBPS) -> float:
    """Monthly price of one gp3 volume: storage plus IOPS and throughput provisioned above the baseline."""
    return (size_gib * GP3_GB_MONTH + max(0, iops - GP3_BASELINE_IOPS) * GP3_IOPS_MONTH
            + max(0, mibps - GP3_BASELINE_MIBPS) * GP3_MIBPS_MONTH)
