"""The shape of an organization: its departments, and the job ladders and pay in each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dept:
    code: str
    name: str
    parent: str | None
    share: float  # of the staff
    min_headcount: int  # smaller organizations do without this department
    family: str  # job family: which ladder its people climb


DEPARTMENTS = tuple(
    Dept(*d)
    for d in (
        ("EXEC", "Executive Office", None, 0.02, 0, "exec"),
        ("SALES", "Sales", "EXEC", 0.12, 0, "sales"),
        ("SALES-NA", "Sales North America", "SALES", 0.12, 40, "sales"),
        ("SALES-INT", "International Sales", "SALES", 0.08, 150, "sales"),
        ("ENG", "Engineering", "EXEC", 0.08, 0, "eng"),
        ("ENG-PLAT", "Platform Engineering", "ENG", 0.12, 40, "eng"),
        ("ENG-PROD", "Product Engineering", "ENG", 0.10, 150, "eng"),
        ("FIN", "Finance", "EXEC", 0.05, 0, "fin"),
        ("FIN-AR", "Accounts Receivable", "FIN", 0.04, 150, "fin"),
        ("HR", "People & Culture", "EXEC", 0.05, 0, "hr"),
        ("OPS", "Operations", "EXEC", 0.05, 0, "ops"),
        ("OPS-WH", "Warehouse & Logistics", "OPS", 0.09, 40, "ops"),
        ("OPS-CS", "Customer Support", "OPS", 0.08, 40, "support"),
        ("MKT", "Marketing", "EXEC", 0.05, 0, "mkt"),
    )
)
# Four individual levels, then the team lead.
LADDERS = {
    "exec": ("Executive Assistant", "Senior Executive Assistant", "Chief of Staff", "Chief of Staff", "Chief of Staff"),
    "sales": (
        "Sales Development Representative",
        "Account Executive",
        "Senior Account Executive",
        "Principal Account Executive",
        "Sales Manager",
    ),
    "eng": (
        "Junior Software Engineer",
        "Software Engineer",
        "Senior Software Engineer",
        "Staff Engineer",
        "Engineering Manager",
    ),
    "fin": ("Accounting Clerk", "Accountant", "Senior Accountant", "Finance Specialist", "Finance Team Lead"),
    "hr": ("HR Assistant", "HR Generalist", "HR Business Partner", "Senior HR Business Partner", "HR Manager"),
    "ops": (
        "Warehouse Associate",
        "Logistics Coordinator",
        "Senior Logistics Coordinator",
        "Operations Specialist",
        "Operations Supervisor",
    ),
    "support": (
        "Support Agent",
        "Support Specialist",
        "Senior Support Specialist",
        "Support Engineer",
        "Support Team Lead",
    ),
    "mkt": (
        "Marketing Assistant",
        "Marketing Specialist",
        "Senior Marketing Specialist",
        "Principal Marketing Manager",
        "Marketing Lead",
    ),
}
LEAD_LEVEL = 4
LADDER_PAY = (42_000, 62_000, 85_000, 115_000, 125_000)  # USD a year; other currencies scale it
FAMILY_PAY = {"exec": 1.1, "sales": 1.0, "eng": 1.3, "fin": 1.1, "hr": 0.95, "ops": 0.8, "support": 0.75, "mkt": 1.0}
C_LEVEL = {
    "EXEC": ("Chief Executive Officer", 380_000),
    "FIN": ("Chief Financial Officer", 260_000),
    "ENG": ("Chief Technology Officer", 270_000),
}
STAFF_PER_LEAD = 9


def departments_for(headcount: int) -> list[Dept]:
    return [d for d in DEPARTMENTS if headcount >= d.min_headcount]


def positions(depts: list[Dept], headcount: int) -> list[tuple[str, Dept]]:
    """(role, department) for everyone, in creation order: the heads (parents first),
    then each department's team leads and staff. Everyone's manager comes earlier."""
    per_dept = _allocate(max(0, headcount - len(depts)), [d.share for d in depts])
    plan = [("head", d) for d in depts]
    for d, count in zip(depts, per_dept, strict=True):
        leads = count // STAFF_PER_LEAD if count >= 12 and d.family != "exec" else 0
        plan += [("lead", d)] * leads + [("member", d)] * (count - leads)
    return plan


def ladder(role: str, dept: Dept) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The titles someone in this role climbs, and the USD pay of each step."""
    if role != "head":
        return LADDERS[dept.family], tuple(p * FAMILY_PAY[dept.family] for p in LADDER_PAY)
    if dept.code in C_LEVEL:
        title, pay = C_LEVEL[dept.code]
    elif dept.parent == "EXEC":
        title, pay = f"VP, {dept.name}", 190_000
    else:
        title, pay = f"Director, {dept.name}", 150_000
    return (title,), (pay,)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by weight, largest remainders first (no randomness: the shape of the org is fixed)."""
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(weights[i] * scale - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts
