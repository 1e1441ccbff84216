"""plan.md's opening section: the bill (bill.py's ``bill`` output) as Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional



def bill_markdown(bill: Optional[Mapping[str, Any]]) -> list[str]:
    """plan.md's opening section, from the ``bill`` output."""
    if not bill:
        return ["## Cost summary", "", "No cost summary: the program exports no `bill` output.", ""]
    total = bill["total"]
    money = lambda x: f"{x:,.2f}"  # noqa: E731
    hourly = lambda x: f"{x:,.4f}"  # noqa: E731
    tiers = bill["tiers"]
    tiers_min = sum(t["usdPerMonthMin"] for t in tiers)
    tiers_max = sum(t["usdPerMonthMax"] for t in tiers)
    lines = [
        "## Cost summary", "",
        f"**${money(total['usdPerMonthMin'])} a month at replicas.min, ${money(total['usdPerMonthMax'])} at "
        f"replicas.max** (${hourly(total['usdPerHourMin'])} to ${hourly(total['usdPerHourMax'])} an hour), of which "
        f"${money(total['fixedUsdPerMonth'])} is fixed. Region {bill['region']}; {bill['priceList']}; a month is "
        f"{bill['hoursPerMonth']} h; no discounts.", "",
        "| | $/hour at min | $/hour at max | $/month at min | $/month at max |",
        "|---|---|---|---|---|",
        f"| GPU nodes (tiers) | {hourly(sum(t['usdPerHourMin'] for t in tiers))} | "
        f"{hourly(sum(t['usdPerHourMax'] for t in tiers))} | {money(tiers_min)} | {money(tiers_max)} |",
        f"| fixed platform | {hourly(sum(f['usdPerHour'] for f in bill['fixed']))} | "
        f"{hourly(sum(f['usdPerHour'] for f in bill['fixed']))} | {money(total['fixedUsdPerMonth'])} | "
        f"{money(total['fixedUsdPerMonth'])} |",
        f"| **total** | **{hourly(total['usdPerHourMin'])}** | **{hourly(total['usdPerHourMax'])}** | "
        f"**{money(total['usdPerMonthMin'])}** | **{money(total['usdPerMonthMax'])}** |", "",
        "### Tiers", "",
        "Each replica is priced as the whole node Karpenter launches for it: the cheapest instance type of its GPU "
        "class that holds the pod's requests, plus its gp3 root volume. The tier spreads replicas over nodes "
        "(topology spread, `ScheduleAnyway`), Karpenter honours that preference when it launches nodes for pending "
        "replicas (`preferencePolicy: Respect`), and the NodePools only consolidate empty nodes, so a node each is "
        "what a scale-out produces. Exact where a replica fills its node; an upper bound where a node could hold "
        "more than one (the packed figure is the lower bound).", "",
        "| tier | release | node | GPUs used / node | requests (vCPU, GiB) | $/node-hour | replicas | "
        "$/hour min | $/hour max | $/month min | $/month max |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tiers:
        release = t["release"] + (" (while swapping)" if t["release"] == "candidate" else "")
        lines.append(
            f"| {t['tier']} | {release} | {t['instanceType']} ({', '.join(t['capacityTypes'])}) | "
            f"{t['gpusPerReplica']} / {t['gpusPerNode']} | {t['requests']['cpu']}, {t['requests']['memoryGiB']} | "
            f"{hourly(t['nodeUsdPerHour'])} | {t['replicasMin']}–{t['replicasMax']} | {hourly(t['usdPerHourMin'])} | "
            f"{hourly(t['usdPerHourMax'])} | {money(t['usdPerMonthMin'])} | {money(t['usdPerMonthMax'])} |")
    lines.append("")
    for t in tiers:
        if t["replicasPerNode"] > 1:
            lines.append(f"- {t['tier']} ({t['release']}): one {t['instanceType']} could hold {t['replicasPerNode']} "
                         f"replicas by their requests; packed that tightly (kube-scheduler may do so when a replica "
                         f"restarts next to another) the tier would cost ${money(t['packedUsdPerMonthMin'])} a month "
                         f"at min and ${money(t['packedUsdPerMonthMax'])} at max.")
    candidates = [t for t in tiers if t["release"] == "candidate"]
    for t in candidates:
        lines.append(f"- {t['tier']}: the candidate release adds ${money(t['usdPerMonthMin'])} to "
                     f"${money(t['usdPerMonthMax'])} a month while both releases run; promote it or remove "
                     "`candidate` to end that.")
    lines += [f"- {n}" for n in bill.get("notes", [])]
    if candidates or bill.get("notes") or any(t["replicasPerNode"] > 1 for t in tiers):
        lines.append("")
    lines += ["### Fixed platform costs", "", "| item | quantity | unit price | $/hour | $/month |",
              "|---|---|---|---|---|"]
    lines += [f"| {f['item']} | {f['quantity']} | {f['unitPrice']} | {hourly(f['usdPerHour'])} | "
              f"{money(f['usdPerMonth'])} |" for f in bill["fixed"]]
    lines += ["", "### Billed by use (not in the totals)", "", *(f"- {u}" for u in bill["usageBilled"]), ""]
    return lines
