"""The `demo` command group: `flask --app wsgi demo load` builds idempotent demo data."""
from __future__ import annotations

from dataclasses import dataclass, field

import click
from flask.cli import with_appcontext

from crm.core import audit, clock
from crm.demo import accounts, evidence, ladder, portal, registry, service
from crm.demo.ladder import LadderTallies
from crm.demo.registry import RegistryTallies, Tally
from crm.extensions import db


@click.group("demo", help="Demo data for trying Miaopu out.")
def demo_cli():
    """The `demo` command group."""


class DemoData:
    """What the load's audit event is about: the demo data set as a whole (no row of its own)."""

    __tablename__ = "demo_data"
    id = None


@dataclass
class LoadReport:
    """Counts of one `demo load`, in the order they are printed."""

    regions: Tally = field(default_factory=Tally)
    users: Tally = field(default_factory=Tally)
    registry: RegistryTallies = field(default_factory=RegistryTallies)
    ladder: LadderTallies = field(default_factory=LadderTallies)
    assignments: Tally = field(default_factory=Tally)
    service: service.ServiceTallies = field(default_factory=service.ServiceTallies)
    portal: portal.PortalTallies = field(default_factory=portal.PortalTallies)
    evidence: evidence.EvidenceTallies = field(default_factory=evidence.EvidenceTallies)

    def lines(self) -> list[tuple[str, Tally]]:
        """(label, tally) per table."""
        r, lad, s, p = self.registry, self.ladder, self.service, self.portal
        return [("regions", self.regions), ("users", self.users), ("enterprises", r.enterprises),
                ("contacts", r.contacts), ("annual figures", r.figures), ("IP items", r.ip),
                ("certifications", lad.certifications), ("tier events", lad.events),
                ("readiness inputs", lad.inputs), ("assignments", self.assignments), ("departments", s.departments),
                ("policies", s.policies), ("visits", s.visits), ("needs", s.needs), ("follow-ups", s.follow_ups),
                ("submissions", p.submissions), ("need comments", p.comments),
                ("visit plans", self.evidence.plans), ("joint visits", self.evidence.joint),
                ("check-ins", self.evidence.check_ins), ("attachments", self.evidence.attachments)]

    @property
    def created(self) -> int:
        """Rows created in all tables together."""
        return sum(t.created for _, t in self.lines())

    @property
    def changed(self) -> int:
        """Rows created or completed in all tables together."""
        return sum(t.created + t.updated for _, t in self.lines())


def load_demo(count: int) -> LoadReport:
    """Write whatever of the demo data is missing (flushes, never commits)."""
    session, report, password_hash = db.session, LoadReport(), accounts.PasswordHash()
    regions = registry.load_regions(session, report.regions)
    staff = accounts.load_staff(session, regions, password_hash, report.users)
    specs = registry.build_enterprises(count)
    ids = registry.load_enterprises(session, specs, regions, accounts.verifier_lookup(staff), report.registry)
    showcase = registry.showcase_of(specs)
    enterprise_user = accounts.load_enterprise_user(session, showcase, ids[showcase.uscc], password_hash,
                                                    report.users)
    ladder.load_ladder(session, ladder.build_ladder(specs, showcase), ids, clock.today(), report.ladder)
    service.load_assignments(session, staff, list(ids.values()), clock.today(), report.assignments)
    departments = service.load_departments(session, report.service.departments)
    policies = service.load_policies(session, clock.today(), report.service.policies)
    service.load_service_work(session, list(ids.values()), policies, departments, clock.today(), report.service)
    portal.load_portal(session, enterprise_user, password_hash, report.users, report.portal)
    evidence.load_evidence(session, list(ids.values()), clock.today(), report.evidence)
    if report.changed:  # a run that finds everything in place leaves no trace
        summary = "demo data loaded: " + ", ".join(f"{label} {t.created}" for label, t in report.lines())
        changes = {label: [None, t.created] for label, t in report.lines() if t.created}
        changes.update({f"{label} completed": [None, t.updated] for label, t in report.lines() if t.updated})
        audit.record(session, "demo_load", DemoData(), actor="demo", summary=summary, changes=changes)
    session.flush()
    return report


def _binding(user) -> str:
    if user.enterprise is not None:
        return f"{user.enterprise.name}（{user.enterprise.region.name}）"
    if user.region is not None:
        return f"{user.region.name} {user.region.code}"
    return "全部区划"


@demo_cli.command("load")
@click.option("--count", default=300, show_default=True, type=click.IntRange(1, 3000),
              help="How many demo enterprises (the first N of a fixed list).")
@with_appcontext
def load(count: int):
    """Load the demo data; rows already there are left as they are, so running it again is safe."""
    try:
        report = load_demo(count)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    for label, tally in report.lines():
        completed = f", {tally.updated} completed" if tally.updated else ""
        click.echo(f"{label}: {tally.created} created, {tally.existing} existing{completed}")
    from crm.demo.notify import load_notifications
    from crm.demo.pipeline import load_targets
    from crm.demo.referrals import load_referrals

    for label, n in load_referrals(clock.today()).items():  # before the jobs run: overdue referrals escalate
        click.echo(f"{label}: {n} created")
    db.session.commit()

    for label, n in load_notifications(clock.today()).items():
        click.echo(f"{label}: {n} created")
    for label, n in load_targets(clock.today()).items():
        click.echo(f"{label}: {n} created")
    from crm.demo.cycle import load_cycle

    for label, n in load_cycle(clock.today()).items():
        click.echo(f"{label}: {n} created")
    from crm.demo.outreach import load_outreach

    for label, n in load_outreach(clock.today()).items():
        click.echo(f"{label}: {n} created")

    from crm.demo.surveys import load_surveys

    for label, n in load_surveys(clock.today()).items():
        click.echo(f"{label}: {n} created")
    db.session.commit()

    from crm.demo.policies import load_policy_push

    for label, n in load_policy_push(clock.today()).items():
        click.echo(f"{label}: {n}")
    db.session.commit()
    from crm.demo.credit import load_credit

    for label, n in load_credit(clock.today()).items():  # late: its enterprises are refused proposals from now on
        click.echo(f"{label}: {n} created")
    from crm.demo.provenance import load_provenance

    # last: the years' reports then hold every value the steps above wrote on the figures (the grading's)
    for label, n in load_provenance(clock.today()).items():
        click.echo(f"{label}: {n} created")
    db.session.commit()
    click.echo("")
    click.echo(f"Demo accounts (password: {accounts.DEMO_PASSWORD}):")
    for user in accounts.featured_accounts(db.session):
        click.echo(f"  {user.username:<11} {user.role:<10} {user.name}  {_binding(user)}")
    from crm.demo.referrals import DEPARTMENT_ACCOUNTS

    click.echo("Department accounts: " + ", ".join(f"{u} ({d})" for u, _n, _p, d in DEPARTMENT_ACCOUNTS)
               + ". Same password.")
    click.echo("More officers: " + ", ".join(s.username for s in accounts.STAFF if s.username.startswith("officer_"))
               + "; manager_szs (石嘴山市). Same password. Demo data only: change it on a shared server.")
