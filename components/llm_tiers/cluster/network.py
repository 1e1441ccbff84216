"""VPC address planning (pure)."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

# Zones a cluster uses when ``cluster.availabilityZones`` is not set: the region's first three available ones.
DEFAULT_ZONE_COUNT = 3
# Smallest public subnet: an NLB needs a /27 or larger (at least 8 free addresses per zone).
_MAX_PUBLIC_PREFIX = 27


class SubnetPlan(NamedTuple):
    zone_index: int
    private_cidr: str
    public_cidr: str


def plan_subnets(vpc_cidr: str, zones: int) -> list[SubnetPlan]:
    """Split a VPC into one large private and one small public subnet per zone.

    Private subnets (nodes and pods: the VPC CNI gives every pod a VPC address) take the lower half of the
    VPC in eighths, one eighth per zone (a /19 each in a /16). Public subnets (load balancers only) come
    from the start of the upper half, a /24 each in a /16 (never smaller than a /27). Up to 4 zones.
    """
    if not 1 <= zones <= 4:
        raise ValueError(f"zones must be between 1 and 4, got {zones}")
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    private = list(vpc.subnets(new_prefix=vpc.prefixlen + 3))[:zones]
    upper_half = list(vpc.subnets(new_prefix=vpc.prefixlen + 1))[1]
    public_prefix = min(vpc.prefixlen + 8, _MAX_PUBLIC_PREFIX)
    public = list(upper_half.subnets(new_prefix=public_prefix))[:zones]
    return [SubnetPlan(i, str(private[i]), str(public[i])) for i in range(zones)]


def nat_gateway_zone(zone_index: int, mode: str) -> int:
    """Which zone's NAT gateway a private subnet routes through: its own (perAz) or zone 0 (single)."""
    if mode == "perAz":
        return zone_index
    if mode == "single":
        return 0
    raise ValueError(f"unknown NAT gateway mode {mode!r}")


def zone_count(availability_zones: "list[str] | None") -> int:
    """How many zones the VPC spans: the configured zones, else ``DEFAULT_ZONE_COUNT``."""
    return len(availability_zones) if availability_zones else DEFAULT_ZONE_COUNT


def nat_gateway_count(zones: int, mode: str) -> int:
    """How many NAT gateways the VPC gets (one per zone the private subnets route through)."""
    return len({nat_gateway_zone(i, mode) for i in range(zones)})
