"""Operator access to a private EKS API endpoint (pure): the ``cluster.operatorAccess`` relay's policies,
security-group rules, the operator's commands and plan.md's "Operator access" section.

``mode: ssm`` creates one small instance in a private subnet that AWS Systems Manager manages: no inbound rule,
no SSH key, no public address, IMDSv2 only, an encrypted root volume. An operator forwards a local port through
it to the private endpoint with the Session Manager document ``AWS-StartPortForwardingSessionToRemoteHost``
("Port forwarding to remote hosts", AWS Systems Manager User Guide, session-manager-working-with-sessions-start.md;
SSM Agent 3.1.1374.0 or later, which the AL2023 AMI ships), then authenticates to EKS with their own role
(one of ``cluster.adminRoleArns``) as usual. Least privilege:

- the instance role has only ``AmazonSSMManagedInstanceCore`` (what the agent needs to register and relay) and
  no EKS access entry: it relays TCP and never calls the Kubernetes API itself;
- its security group allows no inbound traffic and outbound HTTPS only (the SSM endpoints through NAT, the
  API endpoint in the VPC); the cluster security group admits HTTPS from that group alone;
- who may open a session is decided by the operators' own IAM policies: ``session_policy`` is the policy to
  grant (``ssm:StartSession`` on this instance with this one document, and ending their own sessions).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from llm_tiers import aws_prices
from llm_tiers import iam

PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
LOCAL_PORT = 8443
# AL2023 standard AMI, pinned by name (owner "amazon"); the architecture follows the instance type. Move it
# with the AL2023 release notes (docs.aws.amazon.com/linux/al2023/release-notes).
AMI_NAME = "al2023-ami-2023.9.20251208.0-kernel-6.1-{arch}"
AMI_OWNER = "amazon"
# EC2 on-demand Linux, us-east-1 (AWS public price list, 2026-01; the same list as cost/prices.py): the relay
# types a port forward needs. Another type is refused at preview (its price would be unknown to plan.md).
HOURLY_USD = {"t4g.nano": 0.0042, "t4g.micro": 0.0084, "t4g.small": 0.0168, "t3.nano": 0.0052, "t3.micro": 0.0104,
              "t3a.nano": 0.0047, "t3a.micro": 0.0094}
ROOT_VOLUME_GIB = 8


def architecture(instance_type: str) -> str:
    """``arm64`` for Graviton types (a ``g`` after the generation: t4g, c7g, m7gd), else ``x86_64``."""
    return "arm64" if re.match(r"^[a-z]+\d+g[a-z]*\.", instance_type) else "x86_64"


def ami_name(instance_type: str) -> str:
    return AMI_NAME.format(arch=architecture(instance_type))


def instance_trust_policy() -> str:
    return iam.ec2_node_trust_policy()


def session_policy(instance_arn: str, partition: str = "aws", region: str = "*") -> str:
    """The IAM policy an operator needs to reach the API through the relay: start a port-forwarding session
    on this one instance with this one document, and end or resume only their own sessions."""
    return iam.policy_document([
        {"Sid": "StartPortForwardOnTheRelay", "Effect": "Allow", "Action": ["ssm:StartSession"],
         "Resource": [instance_arn, f"arn:{partition}:ssm:{region}::document/{PORT_FORWARD_DOCUMENT}"],
         "Condition": {"BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"}}},
        {"Sid": "EndOwnSessions", "Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
         "Resource": f"arn:{partition}:ssm:*:*:session/${{aws:userid}}-*"},
    ])


def endpoint_host(endpoint: str) -> str:
    return endpoint.removeprefix("https://").split("/", 1)[0]


def commands(instance_id: str, endpoint: str, region: str, cluster: str) -> dict[str, str]:
    """What an operator runs: the port forward, then kubectl against the forwarded port (the API server's
    certificate names the endpoint host, so kubectl sends that name: ``--tls-server-name``)."""
    host = endpoint_host(endpoint)
    return {
        "portForward": (f"aws ssm start-session --region {region} --target {instance_id} --document-name "
                        f"{PORT_FORWARD_DOCUMENT} --parameters host={host},portNumber=443,"
                        f"localPortNumber={LOCAL_PORT}"),
        "kubectl": (f"aws eks update-kubeconfig --region {region} --name {cluster} --role-arn <one of "
                    f"cluster.adminRoleArns> && kubectl --server https://127.0.0.1:{LOCAL_PORT} "
                    f"--tls-server-name {host} get nodes"),
    }


def monthly_usd(instance_type: str) -> float:
    """The relay and its root volume per month (the bill's "Operator access relay" line)."""
    return round(HOURLY_USD[instance_type] * aws_prices.HOURS_PER_MONTH + aws_prices.gp3_monthly(ROOT_VOLUME_GIB), 2)


def summary(mode: str, endpoint_public: bool, public_cidrs: list[str], instance_type: str,
            instance_id: Optional[str] = None) -> dict[str, Any]:
    """The ``operatorAccess`` stack output: which access path applies, and how to use it."""
    out: dict[str, Any] = {"mode": mode, "endpointPublic": endpoint_public, "publicAccessCidrs": list(public_cidrs)}
    if mode == "ssm":
        out.update(instanceType=instance_type, instanceId=instance_id, usdPerMonth=monthly_usd(instance_type))
    return out


def markdown(access: Optional[dict[str, Any]]) -> list[str]:
    """plan.md's "Operator access" section, from the ``operatorAccess`` output."""
    if not access:
        return []
    lines = ["## Operator access", ""]
    public = access.get("endpointPublic")
    if public:
        cidrs = ", ".join(access.get("publicAccessCidrs") or []) or "(none)"
        lines.append(f"- **Public API endpoint, allow-listed**: `kubectl` works from {cidrs} "
                     "(`cluster.publicAccessCidrs`) with a role from `cluster.adminRoleArns`.")
    else:
        lines.append("- **Private API endpoint**: only networks connected to the VPC reach it (the stack's "
                     "self-hosted CI runner, docs/delivery.md).")
    if access.get("mode") == "ssm":
        lines.append(f"- **SSM relay** (`cluster.operatorAccess.mode: ssm`): one {access['instanceType']} in a "
                     "private subnet, no inbound rule, IAM role with AmazonSSMManagedInstanceCore only, no EKS "
                     "access entry; about "
                     f"${access['usdPerMonth']:,.2f}/month with its {ROOT_VOLUME_GIB} GiB root volume "
                     f"(on-demand, us-east-1; "
                     "in the cost summary's fixed costs). Forward a port with the `operatorAccess` output's "
                     "`portForward` command, then "
                     "use `kubectl` on `https://127.0.0.1:8443` (docs/components/cluster.md, \"Operator access\").")
    elif not public:
        lines.append("- **No operator path**: set `cluster.operatorAccess.mode: ssm` for a Session Manager relay, "
                     "or reach the VPC through a network you already connect to it.")
    return lines + [""]
