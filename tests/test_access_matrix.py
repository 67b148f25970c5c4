"""Access matrix: every route of the app × every role, from one table.

A route missing from ROUTES fails the test, so a new route cannot be forgotten. Forbidden
writes must change nothing: every write records an audit event, so the trail must not grow.

Officers: "officer_x" serves ent_x (its current assignment); "officer_x_unassigned" is an officer of
the same county X who does not, so reads ent_x like officer_x but gets 403 on every edit; "officer_y"
is of another county, for whom ent_x does not exist (404).

Department users (the fifth role): "department" is a contact of the department ent_x's need is referred to,
"department_other" of another department. A role missing from a route's entry expects 403 (deny by default;
anonymous callers the sign-in redirect), so each route lists only the roles it lets in, still checked one by one.
"""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.enterprises.models import Contact
from crm.io.models import ImportJob
from tests import factories

ROLES = ["anon", "admin", "manager_city", "manager_other", "officer_x", "officer_x_unassigned", "officer_y",
         "enterprise_own", "enterprise_other", "department", "department_other"]
MANAGERS = ["manager_city", "manager_other"]
OFFICERS = ["officer_x", "officer_x_unassigned", "officer_y"]
ENTERPRISE_USERS = ["enterprise_own", "enterprise_other"]
OK, REDIRECT, FORBIDDEN, MISSING = 200, 302, 403, 404
DEPARTMENTS = ["department", "department_other"]


def expected_for(expected: dict, role: str):
    """The status a role expects: its entry, else the sign-in redirect (anonymous) or 403 (deny by default)."""
    return expected.get(role, REDIRECT if role == "anon" else FORBIDDEN)

# For GET routes: the status each role gets on a record of county X (ent_x and its children).
# "anon" gets 302 to the sign-in page unless the route is public.
_registry = {"admin": OK, **{r: OK for r in MANAGERS + OFFICERS}, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}
# Editing ent_x: an admin, or the officer who serves it; the unassigned officer of its county may read it (403).
_edit_x = {"admin": OK, "manager_city": FORBIDDEN, "manager_other": FORBIDDEN, "officer_x": OK,
           "officer_x_unassigned": FORBIDDEN, "officer_y": MISSING, "enterprise_own": FORBIDDEN,
           "enterprise_other": FORBIDDEN}
# Reading ent_x: like its page. Enterprise users read their own enterprise in the portal, never here (403).
_read_x = {"admin": OK, "manager_city": OK, "manager_other": MISSING, "officer_x": OK, "officer_x_unassigned": OK,
           "officer_y": MISSING, "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}
# The portal: enterprise users only, each on their own enterprise (loaded from the account, never the URL).
_portal = {"admin": FORBIDDEN, **{r: FORBIDDEN for r in MANAGERS + OFFICERS}, "enterprise_own": OK,
           "enterprise_other": OK}
# A record of ent_x in the portal: its own contact reads it; another enterprise's contact gets 404.
_portal_x = {**_portal, "enterprise_other": MISSING}
# Reviewing ent_x's submissions and managing its portal accounts: an admin, or the officer who serves it.
_review_x = {"admin": OK, "manager_city": FORBIDDEN, "manager_other": FORBIDDEN, "officer_x": OK,
             "officer_x_unassigned": FORBIDDEN, "officer_y": MISSING, "enterprise_own": FORBIDDEN,
             "enterprise_other": FORBIDDEN}
_reviewers = {"admin": OK, "officer_x": OK, "officer_x_unassigned": OK, "officer_y": OK,
              **{r: FORBIDDEN for r in MANAGERS + ENTERPRISE_USERS}}
_admin_only = {"admin": OK, **{r: FORBIDDEN for r in ROLES[2:]}}
_everyone = {r: OK for r in ROLES[1:]}
# A batch of readiness sheets: its creator ("someone", tested in tests/ladder/test_sheets.py) or an admin.
_batch_owner = {"admin": OK, **{r: MISSING for r in MANAGERS + OFFICERS}, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}

# Service work on county X's records: its officers and managers above it; other regions 404, enterprise users 403.
_service_x = {"admin": OK, "manager_city": OK, "manager_other": MISSING, "officer_x": OK, "officer_x_unassigned": OK,
              "officer_y": MISSING, "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}

# The pipeline of county X: admins, managers above it; another city's manager 404; officers, enterprises 403.
_pipeline_x = {"admin": OK, "manager_city": OK, "manager_other": MISSING,
               **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}

GET_ROUTES = {
    "main.healthz": ("/healthz", {"anon": OK, **_everyone}),
    "auth.login": ("/login", {"anon": OK, **{r: REDIRECT for r in ROLES[1:]}}),
    "auth.account": ("/account", _everyone),
    "main.home": ("/", {r: REDIRECT for r in ROLES[1:]}),
    "enterprises.index": ("/enterprises", _registry),
    "enterprises.new": ("/enterprises/new", {"admin": OK, **{r: FORBIDDEN for r in MANAGERS + ENTERPRISE_USERS},
                                             **{r: OK for r in OFFICERS}}),
    "enterprises.detail": ("/enterprises/{ent}", _read_x),
    "enterprises.edit": ("/enterprises/{ent}/edit", _edit_x),
    "enterprises.contact_form": ("/enterprises/{ent}/contacts/{contact}/edit", _edit_x),
    "enterprises.figures_form": ("/enterprises/{ent}/figures/{figures}/edit", _edit_x),
    "enterprises.ip_form": ("/enterprises/{ent}/ip/{ip}/edit", _edit_x),
    "enterprises.audit_trail": ("/enterprises/{ent}/audit", _admin_only),
    "ladder.certification_form": ("/enterprises/{ent}/certifications/{cert}/edit", _edit_x),
    "ladder.readiness_inputs": ("/enterprises/{ent}/readiness/inputs", _edit_x),
    # the readiness panel reads like the enterprise page (its what-if needs the edit rule: test_readiness_panel)
    "ladder.readiness": ("/enterprises/{ent}/readiness?tier=high_tech", _read_x),
    "candidates.index": ("/candidates?tier=high_tech", _registry),
    "candidates.export": ("/candidates/export.xlsx?tier=tech_sme", _registry),
    # readiness sheets: a sheet reads like the enterprise page; a batch is its creator's
    "ladder.readiness_sheet": ("/enterprises/{ent}/readiness/sheet.pdf?tier=tech_sme", _read_x),
    "candidates.sheet_batch": ("/candidates/sheets/{batch}", _batch_owner),
    "candidates.sheet_batch_download": ("/candidates/sheets/{batch}/download", _batch_owner),
    "admin.users": ("/admin/users", _admin_only),
    "admin.user_new": ("/admin/users/new", _admin_only),
    "admin.user_edit": ("/admin/users/{user}/edit", _admin_only),
    "admin.audit": ("/admin/audit", _admin_only),
    "admin.audit_export": ("/admin/audit.xlsx?entity=enterprises", _admin_only),
    "regions.regions": ("/admin/regions", _admin_only),
    "regions.region_form": ("/admin/regions/{region}/edit", _admin_only),
    "rules.index": ("/admin/rules", _admin_only),
    "rules.edit": ("/admin/rules/little_giant/edit", _admin_only),
    "rules.version": ("/admin/rules/little_giant/versions/1", _admin_only),
    "static": ("/static/css/app.css", {"anon": OK, **_everyone}),
    # assignments (包保关系): managers and admins; each manager sees the officers of their own scope
    "service.load": ("/assignments", {"admin": OK, **{r: OK for r in MANAGERS},
                                      **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    # service work: officers, managers and admins of the record's region; enterprise users none of it (403).
    "service.workbench": ("/workbench", _registry),
    "service.workbench_policies": ("/workbench/policies", _registry),
    "service.needs": ("/needs", _registry),
    "service.follow_ups": ("/follow-ups", _registry),
    "service.visit_enterprise_options": ("/visits/enterprises?q=兴庆", _registry),
    "service.visit_new": ("/visits/new?enterprise={ent}", _service_x),
    "service.need_new": ("/enterprises/{ent}/needs/new", _service_x),
    "service.follow_up_new": ("/follow-ups/new?enterprise={ent}", _service_x),
    "service.visit_detail": ("/visits/{visit}", _service_x),
    "service.need_detail": ("/needs/{need}", _service_x),
    "service.timeline": ("/enterprises/{ent}/timeline", _service_x),
    # the visit's author (another officer of X) edits it; officer_x reads it only. Managers of the region may.
    "service.visit_edit": ("/visits/{visit}/edit", {**_service_x, "officer_x": FORBIDDEN,
                                                    "officer_x_unassigned": FORBIDDEN}),
    # a need: its owner, the enterprise's own officer (officer_x), managers of the region, admins
    "service.need_edit": ("/needs/{need}/edit", {**_service_x, "officer_x_unassigned": FORBIDDEN}),
    # a follow-up: its assignee (the visit's author), managers of the region, admins
    "service.follow_up_edit": ("/follow-ups/{follow_up}/edit", {**_service_x, "officer_x": FORBIDDEN,
                                                                "officer_x_unassigned": FORBIDDEN}),
    # officer performance and needs analytics: managers and admins, each over their own scope
    "performance.officers": ("/performance/officers", _performance := {
        "admin": OK, **{r: OK for r in MANAGERS}, **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    "performance.officers_export": ("/performance/officers.xlsx", _performance),
    "performance.needs": ("/performance/needs?year=2025", _performance),
    "performance.needs_export": ("/performance/needs.xlsx", _performance),
    "service.departments": ("/admin/departments", _admin_only),
    "service.department_form": ("/admin/departments/{department}/edit", _admin_only),
    # the pipeline: managers (their region and below; another city's region is 404) and admins
    "pipeline.dashboard": ("/pipeline?region={region}", _pipeline_x),
    "pipeline.regions_export": ("/pipeline/regions.xlsx?region={region}", _pipeline_x),
    "pipeline.expiring": ("/pipeline/expiring?region={region}", _pipeline_x),
    "pipeline.expiring_export": ("/pipeline/expiring.xlsx?region={region}", _pipeline_x),
    "pipeline.targets": ("/pipeline/targets?region={region}", _pipeline_x),
    "pipeline.targets_export": ("/pipeline/targets.xlsx?region={region}", _pipeline_x),
    "pipeline.targets_edit": ("/pipeline/targets/edit?region={region}", _pipeline_x),
    "pipeline.indicators": ("/pipeline/indicators?region={region}", _pipeline_x),
    "pipeline.indicators_export": ("/pipeline/indicators.xlsx?region={region}", _pipeline_x),
    "pipeline.indicators_edit": ("/pipeline/indicators/edit?region={region}", _pipeline_x),
    # notifications: everyone their own inbox; the scheduler's jobs: admins
    "notify.inbox": ("/notifications", _everyone),
    "notify.jobs": ("/admin/jobs", _admin_only),
    "notify.job_runs": ("/admin/jobs/ladder.expire_certifications", _admin_only),
    # the policy list (政策库): every bureau user reads it; managers and admins keep it (it has no region)
    "policies.index": ("/policies", _registry),
    "policies.new": ("/policies/new", _policies_manage := {"admin": OK, **{r: OK for r in MANAGERS},
                                                           **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    "policies.edit": ("/policies/{policy}/edit", _policies_manage),
    "policies.conditions": ("/policies/{policy}/conditions", _policies_manage),
    # a policy matched against the enterprises of the reader's scope (enterprise users: their portal)
    "policies.detail": ("/policies/{policy}", _registry),
    # the three rates (知晓率、申报率、享受率): managers and admins over their scope, like officer performance
    "policies.rates": ("/policies/rates?by=region", _performance),
    "policies.rates_enterprises": ("/policies/rates/enterprises?measure=not_informed&officer=none", _performance),
    "policies.rates_export": ("/policies/rates.xlsx?by=officer", _performance),
    # the policies of ent_x on its page (loaded by htmx): read like the page
    "policies.enterprise_card": ("/policies/enterprises/{ent}", _read_x),
    # the innovation points ranking and the reserve pool: managers and admins over their scope
    "policies.points": ("/policies/points", _performance),
    # imports: admins, managers and officers (within their scope, row by row); a job is its creator's ("someone")
    # or an admin's
    "io.imports": ("/imports", _importers := {"admin": OK, **{r: OK for r in OFFICERS + MANAGERS},
                                              **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "io.template": ("/imports/templates/figures.xlsx", _importers),
    "io.job": ("/imports/{import_job}", _import_owner := {"admin": OK, **{r: MISSING for r in OFFICERS + MANAGERS},
                                                          **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "io.rejects": ("/imports/{import_job}/rejects.xlsx", _import_owner),
    "api_tokens.index": ("/admin/api-tokens", _admin_only),
    # exports: any list the user can see, scoped like its page
    "io.export": ("/exports/enterprises.xlsx", _registry),
    # the enterprise portal (crm.portal): ids of ent_x's records lead another enterprise's contact nowhere
    "portal.home": ("/portal", _portal),
    "portal.readiness": ("/portal/readiness?tier=high_tech", _portal),
    "portal.readiness_sheet": ("/portal/readiness/sheet.pdf?tier=tech_sme", _portal),
    "portal.needs": ("/portal/needs", _portal),
    "portal.need_new": ("/portal/needs/new", _portal),
    "portal.need_detail": ("/portal/needs/{need}", _portal_x),
    "portal.figures": ("/portal/figures", _portal),
    "portal.policies": ("/portal/policies", _portal),
    "portal.figures_new": ("/portal/figures/new", _portal),
    "portal.ip_new": ("/portal/ip/new", _portal),
    "portal.figures_template": ("/portal/figures/template.xlsx", _portal),
    "portal.ip_template": ("/portal/ip/template.xlsx", _portal),
    "portal.submission": ("/portal/submissions/{submission}", _portal_x),
    # a set-password link is public; a bad token is a 404 page
    "auth.set_password": ("/set-password/not-a-token", {"anon": MISSING, **{r: MISSING for r in ROLES[1:]}}),
    # officers' review of submissions and the enterprise's portal accounts
    "submissions.index": ("/submissions", _reviewers),
    "submissions.review": ("/submissions/{submission}", _review_x),
    "portal_accounts.accounts": ("/enterprises/{ent}/accounts", _review_x),
    # the certification cycle (crm.cycle): bureau users read the batches covering their scope and the cards of
    # their scope; officers move the cards of the enterprises they serve, managers of their region, admins all
    "cycle.batches": ("/cycle/batches", _registry),
    "cycle.board": ("/cycle/batches/{cycle_batch}", {**_registry, "manager_other": MISSING}),
    "cycle.batch_form": ("/cycle/batches/{cycle_batch}/edit", {**_pipeline_x}),
    "cycle.move_form": ("/cycle/applications/{application}/move?stage=not_passed", _move_x := {
        **_service_x, "officer_x_unassigned": FORBIDDEN}),
    "cycle.applications": ("/cycle/applications", _registry),
    "cycle.conversion": ("/cycle/conversion", _registry),
    "cycle.at_risk": ("/cycle/at-risk", _registry),
    "cycle.enterprise_card": ("/enterprises/{ent}/cycle", _read_x),
    "cycle.bulletins": ("/cycle/bulletins", _performance),
    "cycle.bulletin_form": ("/cycle/bulletins/{bulletin}/edit", _pipeline_x),
    "cycle.bulletin_pdf": ("/cycle/bulletins/{bulletin}.pdf", _pipeline_x),
    "cycle.bulletin_xlsx": ("/cycle/bulletins/{bulletin}.xlsx", _pipeline_x),
    # needs closed across departments (crm.referrals): a department's contact sees the needs referred to their
    # department and nothing else; another department's referral does not exist for them (404)
    "referrals.inbox": ("/department/needs", {r: OK for r in DEPARTMENTS}),
    "referrals.referral": ("/department/referrals/{referral}", {"department": OK, "department_other": MISSING}),
    # escalated referrals (督办): managers over the region and admins
    "referrals.overdue": ("/referrals/overdue", {"admin": OK, **{r: OK for r in MANAGERS}}),
    # the working-day calendar: admins
    "holidays.calendar": ("/admin/calendar?year=2026", _admin_only),
    # evidence (crm.evidence): a visit's files follow the visit's read rule; the 14-day warning and one's own plan
    # are every bureau user's; a plan is its officer's (author_x), read by the managers of its region and admins
    "evidence.attachments": ("/attachments/visit/{visit}", _service_x),
    "evidence.download": ("/attachments/{attachment}", _service_x),
    "evidence.recent_visits": ("/visits/recent?enterprise_id={ent}", _registry),
    "evidence.plans": ("/visit-plans", _registry),
    "evidence.plan_new": ("/visit-plans/new", _registry),
    "evidence.plan_detail": ("/visit-plans/{visit_plan}", _plan_x := {
        "admin": OK, "manager_city": OK, "manager_other": MISSING, **{r: MISSING for r in OFFICERS},
        **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "evidence.plan_edit": ("/visit-plans/{visit_plan}/edit", {**_plan_x, "manager_city": FORBIDDEN}),
    "evidence.plan_report": ("/visit-plans/report", _performance),
    "evidence.plan_report_officer": ("/visit-plans/report/{author}", {**_performance, "manager_other": MISSING}),
    "evidence.plan_report_export": ("/visit-plans/report.xlsx", _performance),
    # tags (crm.tags): managers and admins keep the list; a county X tag is the city manager's, not another city's
    "tags.index": ("/tags", _tags_manage := {"admin": OK, **{r: OK for r in MANAGERS},
                                             **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    "tags.new": ("/tags/new", _tags_manage),
    "tags.edit": ("/tags/{tag}/edit", _manage_x := {**_tags_manage, "manager_other": MISSING}),
    # partners (crm.partners): bureau users read the partners of their region and above (the city's bank serves
    # its counties); managers keep those of their subtree; referring a need follows the need's record rule
    "partners.index": ("/partners", _registry),
    "partners.detail": ("/partners/{partner}", {**_registry, "manager_other": MISSING}),
    "partners.new": ("/partners/new", _tags_manage),
    "partners.edit": ("/partners/{partner}/edit", _manage_x),
    "partners.refer": ("/needs/{need}/refer", _move_x),
    "partners.referrals": ("/partner-referrals", _registry),
    "partners.referral_status": ("/partner-referrals/{partner_referral}/status", _move_x),
    "partners.results": ("/partners/results", _tags_manage),
    "partners.results_export": ("/partners/results.xlsx?year=2025", _tags_manage),
    # events (crm.events): read near one's region (county X's event: not county Y's officer), organised by managers
    "events.index": ("/events", _registry),
    "events.new": ("/events/new", _tags_manage),
    "events.detail": ("/events/{event}", {**_read_x}),
    "events.edit": ("/events/{event}/edit", _manage_x),
    "events.template": ("/events/attendees-template.xlsx", _tags_manage),
    # survey campaigns (crm.surveys): bureau users read the campaigns reaching their region (county X's: not
    # county Y's officer, nor another city's manager); managers keep the bank and campaigns of their subtree;
    # results are managers' and admins'; filling follows the service record rule; the portal the own enterprise
    "surveys.index": ("/surveys", _registry),
    "surveys.questions": ("/surveys/questions", _tags_manage),
    "surveys.question_new": ("/surveys/questions/new", _tags_manage),
    "surveys.question_edit": ("/surveys/questions/{survey_question}/edit", _manage_x),
    "surveys.campaign_new": ("/surveys/new", _tags_manage),
    "surveys.campaign_edit": ("/surveys/{survey_draft}/edit", _manage_x),
    "surveys.campaign": ("/surveys/{survey_campaign}", _read_x),
    "surveys.results": ("/surveys/{survey_campaign}/results", _pipeline_x),
    "surveys.results_export": ("/surveys/{survey_campaign}/results.xlsx", _pipeline_x),
    "surveys.question_needs": ("/surveys/{survey_campaign}/questions/{survey_question}/needs", _pipeline_x),
    "surveys.fill": ("/surveys/{survey_campaign}/enterprises/{ent}/fill", _service_x),
    "portal_surveys.fill": ("/portal/surveys/{survey_campaign}", _portal_x),
    # credit screening (crm.credit): admins import the negative lists; managers read them (lists concern the whole
    # province; the matched entries shown are their region's)
    "credit.index": ("/credit", _credit_read := {"admin": OK, **{r: OK for r in MANAGERS}}),
    "credit.detail": ("/credit/{credit_list}", _credit_read),
    "credit.import_list": ("/credit/import", _admin_only),
    "credit.template": ("/credit/template.xlsx", _admin_only),
}
# Endpoints that also answer on a second URL (the "new" form of an edit route) are covered above.

# Managers and enterprise users lack the capability (403 before any lookup); the officer of county X
# who does not serve ent_x reads it but may not change it (403); an officer of another county gets
# 404, as if the record did not exist.
_write_x = {"admin": "allowed", "manager_city": FORBIDDEN, "manager_other": FORBIDDEN, "officer_x": "allowed",
            "officer_x_unassigned": FORBIDDEN, "officer_y": MISSING, "enterprise_own": FORBIDDEN,
            "enterprise_other": FORBIDDEN}
_assign_x = {"admin": "allowed", "manager_city": "allowed", "manager_other": MISSING,
             **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}
POST_ROUTES = {
    "auth.logout": ("/logout", {r: "allowed" for r in ROLES[1:]}),
    "auth.language": ("/language", {"anon": "allowed", **{r: "allowed" for r in ROLES[1:]}}),
    "enterprises.archive": ("/enterprises/{ent}/archive", _write_x),
    "enterprises.restore": ("/enterprises/{ent}/restore", _write_x),
    "enterprises.contact_delete": ("/enterprises/{ent}/contacts/{contact}/delete", _write_x),
    "enterprises.figures_verify": ("/enterprises/{ent}/figures/{figures}/verify", _write_x),
    "enterprises.figures_report_confirm": ("/enterprises/{ent}/figures/reports/{figure_report}/confirm", _write_x),
    "enterprises.ip_delete": ("/enterprises/{ent}/ip/{ip}/delete", _write_x),
    "ladder.certification_revoke": ("/enterprises/{ent}/certifications/{cert}/revoke", _write_x),
    # restoring the shipped defaults over the fixture's local version (ids) is a new, audited version
    "rules.restore": ("/admin/rules/little_giant/restore", {"admin": "allowed", **{r: FORBIDDEN for r in ROLES[2:]}}),
    # officers, managers and admins start a batch of sheets for the pool in their scope (not audited: a read)
    "candidates.sheet_batch_new": ("/candidates/sheets?tier=tech_sme", {
        **{r: "allowed" for r in ["admin", *MANAGERS, *OFFICERS]}, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    # assignments: managers and admins (a manager of another city: 404); officers may not assign. Posted without
    # an officer these answer 303 with a message and write nothing (tests/service/test_assignments.py writes).
    "service.assign": ("/enterprises/{ent}/assignment", _assign_x),
    "service.end": ("/enterprises/{ent}/assignment/end", _assign_x),
    # posted without a status the form is refused (422) and nothing changes, for those who may change the need
    "service.need_status": ("/needs/{need}/status", {"admin": 422, "manager_city": 422, "manager_other": MISSING,
                                                     "officer_x": 422, "officer_x_unassigned": FORBIDDEN,
                                                     "officer_y": MISSING,
                                                     "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}),
    "service.follow_up_done": ("/follow-ups/{follow_up}/done", {**_write_x, "manager_city": "allowed",
                                                                "manager_other": MISSING, "officer_x": FORBIDDEN}),
    "service.bulk_assign": ("/assignments/bulk", {"admin": "allowed", **{r: "allowed" for r in MANAGERS},
                                                  **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    # a notification is its addressee's (officer_x's): anyone else, 404
    "notify.open": ("/notifications/{notification}/open", {**{r: MISSING for r in ROLES[1:]}, "officer_x": "allowed"}),
    "notify.read_all": ("/notifications/read-all", {r: "allowed" for r in ROLES[1:]}),
    "notify.email_preference": ("/notifications/email", {r: "allowed" for r in ROLES[1:]}),
    "notify.run_job": ("/admin/jobs/ladder.expire_certifications/run", {"admin": "allowed",
                                                                         **{r: FORBIDDEN for r in ROLES[2:]}}),
    # the policy list: managers and admins (deactivate first, so that reactivating changes something too)
    "policies.deactivate": ("/policies/{policy}/deactivate", _manage_policies := {
        "admin": "allowed", **{r: "allowed" for r in MANAGERS}, **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    "policies.reactivate": ("/policies/{policy}/reactivate", _manage_policies),
    # the push of ent_x, posted without a status: refused with a message (303), nothing written
    "policies.push": ("/policies/{policy}/enterprises/{ent}/push", {
        "admin": 303, "manager_city": 303, "manager_other": MISSING, "officer_x": 303, "officer_x_unassigned": 303,
        "officer_y": MISSING, "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}),
    # the reserve pool, posted with nothing ticked: a message (303), nothing written; managers and admins only
    "policies.reserve": ("/policies/points/reserve", {
        "admin": 303, **{r: 303 for r in MANAGERS}, **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    # an upload without a file is refused (422) and nothing is written, for those who may import
    "io.upload": ("/imports", {"admin": 422, **{r: 422 for r in OFFICERS + MANAGERS},
                               **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    # the matrix's job is finished: confirming or cancelling it again answers 303 and writes nothing
    "io.confirm": ("/imports/{import_job}/confirm", _import_write := {
        "admin": "allowed", **{r: MISSING for r in OFFICERS + MANAGERS}, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "io.cancel": ("/imports/{import_job}/cancel", _import_write),
    # issuing a token without naming its owner is refused (422), nothing written; revoking: admins (audited)
    "api_tokens.create": ("/admin/api-tokens", {"admin": 422, **{r: FORBIDDEN for r in ROLES[2:]}}),
    "api_tokens.revoke": ("/admin/api-tokens/{token}/revoke", {"admin": "allowed",
                                                               **{r: FORBIDDEN for r in ROLES[2:]}}),
    # the portal's writes, posted empty: refused (422) and nothing written for the own contact; 404 for another's
    "portal.need_comment": ("/portal/needs/{need}/comments", {**_portal_x, "enterprise_own": 422}),
    "portal.need_rating": ("/portal/needs/{need}/rating", {**_portal_x, "enterprise_own": 422}),
    # an upload of the template without a file: refused (422), nothing written, for either enterprise's contact
    "portal.figures_upload": ("/portal/figures/upload", {**_portal, "enterprise_own": 422, "enterprise_other": 422}),
    "portal.ip_upload": ("/portal/ip/upload", {**_portal, "enterprise_own": 422, "enterprise_other": 422}),
    # a comment on a need by the bureau, posted empty: 422 for those who may comment
    "service.need_comment": ("/needs/{need}/comments", {**_service_x, "admin": 422, "manager_city": 422,
                                                        "officer_x": 422, "officer_x_unassigned": 422}),
    # review: posted without a comment, returning is refused (422); accepting applies the figures (audited)
    "submissions.return_": ("/submissions/{submission}/return", {**_review_x, "admin": 422, "officer_x": 422}),
    "submissions.accept": ("/submissions/{submission}/accept", {**_review_x, "admin": "allowed",
                                                                 "officer_x": "allowed"}),
    # the department's answers, posted empty: refused (422), nothing written; another department's: 404
    "referrals.answer": ("/department/referrals/{referral}/answer", _answer := {"department": 422,
                                                                               "department_other": MISSING}),
    "referrals.extend": ("/department/referrals/{referral}/extend", _answer),
    "referrals.return_": ("/department/referrals/{referral}/return", _answer),
    # the call-back on ent_x's need, posted empty: 422 for those who may change the need
    "referrals.callback": ("/needs/{need}/callback", {"admin": 422, "manager_city": 422, "manager_other": MISSING,
                                                      "officer_x": 422, "officer_y": MISSING}),
    # the working-day calendar: admins (an empty date or file is refused, 422; removing a date is audited)
    "holidays.add": ("/admin/calendar/days", {"admin": 422}),
    "holidays.import_year": ("/admin/calendar/import", {"admin": 422}),
    "holidays.delete": ("/admin/calendar/days/{calendar_day}/delete", {"admin": "allowed"}),
    # a new set-password link for ent_x's contact
    "portal_accounts.new_link": ("/enterprises/{ent}/accounts/{contact_user}/link", {
        **_review_x, "admin": "allowed", "officer_x": "allowed"}),
    # the certification cycle, posted empty: refused (422) and nothing written for those who may write
    "cycle.file": ("/cycle/batches/{cycle_batch}/applications", {
        "admin": 422, "manager_city": 422, "manager_other": MISSING, **{r: 422 for r in OFFICERS},
        **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "cycle.move": ("/cycle/applications/{application}/move", _move_post := {
        "admin": 422, "manager_city": 422, "manager_other": MISSING, "officer_x": 422,
        "officer_x_unassigned": FORBIDDEN, "officer_y": MISSING, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "cycle.flag": ("/enterprises/{ent}/flags", _move_post),
    # evidence: posted without a file, an upload is refused (422) for those who may add files to the visit (its
    # author, managers of its region, admins); a file is deleted by its uploader (author_x) or an admin
    "evidence.upload": ("/attachments/visit/{visit}", {
        "admin": 422, "manager_city": 422, "manager_other": MISSING, "officer_x": FORBIDDEN,
        "officer_x_unassigned": FORBIDDEN, "officer_y": MISSING, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "evidence.delete": ("/attachments/{attachment}/delete", {
        "admin": "allowed", "manager_city": FORBIDDEN, "manager_other": MISSING, "officer_x": FORBIDDEN,
        "officer_x_unassigned": FORBIDDEN, "officer_y": MISSING, **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    # a check-in names its enterprise: posted without one, 404 for those who check in
    "evidence.check_in": ("/check-ins", {**{r: MISSING for r in ["admin", *MANAGERS, *OFFICERS]},
                                        **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    "evidence.plan_delete": ("/visit-plans/{visit_plan}/delete", {
        "admin": "allowed", "manager_city": FORBIDDEN, "manager_other": MISSING, **{r: MISSING for r in OFFICERS},
        **{r: FORBIDDEN for r in ENTERPRISE_USERS}}),
    # tags: refreshing a rule tag (managers of its region, admins); tagging ent_x posted without a tag: a message
    # (303), nothing written, for those who may edit ent_x; removing a tag it does not carry: the same
    "tags.refresh": ("/tags/{rule_tag}/refresh", _manage_post := {
        "admin": "allowed", "manager_city": "allowed", "manager_other": MISSING,
        **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    "tags.add": ("/enterprises/{ent}/tags", _write_x),
    "tags.remove": ("/enterprises/{ent}/tags/{tag}/remove", _write_x),
    # saved views: every signed-in user saves their own (posted without a page: a message, 303); another's: 404
    "saved_views.create": ("/saved-views", {r: "allowed" for r in ROLES[1:]}),
    "saved_views.delete": ("/saved-views/{saved_view}/delete", {r: MISSING for r in ROLES[1:]}),
    # events, posted empty: a sign-up or an import without input is refused (422); attendance with nobody ticked
    # changes nothing (303)
    "events.sign_up": ("/events/{event}/attendees", _event_form := {
        "admin": 422, "manager_city": 422, "manager_other": MISSING, **{r: FORBIDDEN for r in OFFICERS + ENTERPRISE_USERS}}),
    "events.import_attendees": ("/events/{event}/attendees/import", _event_form),
    "events.attendance": ("/events/{event}/attendance", _manage_post),
    # launching county X's draft campaign (audited): its region's managers and admins
    "surveys.launch": ("/surveys/{survey_draft}/launch", _manage_post),
    # credit screening: an import posted empty is refused (422), lifting an entry (audited) is an admin's
    "credit.import_list": ("/credit/import", {"admin": 422}),
    "credit.lift": ("/credit/entries/{credit_entry}/lift", {"admin": "allowed"}),
}


def local_ruleset_version():
    """An admin's version 1 of little_giant (lg_revenue 3000), as the settings page saves it."""
    from crm.ladder.engine import shipped_ruleset_dicts
    from crm.ladder.models import RuleSetVersion

    data = shipped_ruleset_dicts()["little_giant"]
    data.update(id="regional-default+local", version=1)
    next(c for c in data["criteria"] if c["id"] == "lg_revenue")["value"] = 3000
    return RuleSetVersion(tier="little_giant", version=1, data=data, note="matrix")


@pytest.fixture
def officer_x(world, db):
    """The officer of county X who serves ent_x (made once: the matrix signs in again and again)."""
    officer = factories.user("officer", region=world.county_x, username="officer_x", serves=[world.ent_x])
    db.session.commit()
    return officer


@pytest.fixture
def ids(world, officer_x, db):
    contact = Contact(enterprise_id=world.ent_x.id, name="张伟")
    db.session.add(contact)
    figures = factories.figures(world.ent_x, 2024)
    # an imported file's figures of that year, then the officer's later correction (which the year holds): the
    # import's report is one to confirm on its own (verifying the year confirms only the reports it holds)
    from crm.enterprises import services as enterprise_services

    enterprise_services.save_report(world.ent_x, 2024, "import", {"revenue": Decimal("3300")}, actor="test",
                                    figures=figures)
    enterprise_services.save_report(world.ent_x, 2024, "officer", {"revenue": Decimal("3250")}, actor="test",
                                    figures=figures)
    figure_report = next(r for r in enterprise_services.year_reports(world.ent_x.id, 2024) if r.source == "import")
    item = factories.ip(world.ent_x)
    someone = factories.user("officer", region=world.county_y, username="someone")
    cert = factories.certification(world.ent_x, "tech_sme")
    db.session.add(local_ruleset_version())
    db.session.commit()
    batch = factories.sheet_batch(someone, [world.ent_y])
    # service work on ent_x recorded by another officer of county X (officer_x is not its author)
    author = factories.user("officer", region=world.county_x, username="author_x")
    department = factories.department("税务局")
    factories.department("人社局")
    visit = factories.visit(world.ent_x, author)
    need = factories.need(world.ent_x, owner=author, visit=visit, status="referred", department_id=department.id)
    referral = factories.referral(need, referred_by=author)
    from crm.core.workdays import CalendarDay

    calendar_day = CalendarDay(day=date(2026, 10, 1), kind="holiday", name="国庆节")
    db.session.add(calendar_day)
    follow_up = factories.follow_up(world.ent_x, author, need=need)
    policy = factories.policy()
    notification = factories.notification(officer_x)
    import_job = ImportJob(kind="enterprises", filename="x.xlsx", file_format="xlsx", status="done",
                           created_by_id=someone.id, rejects=[], changes=[], ignored_columns=[])
    db.session.add(import_job)
    db.session.commit()
    from crm.auth.services import create_api_token

    token, _plain = create_api_token(someone, "matrix", actor="test")
    db.session.commit()
    contact_user = factories.user("enterprise", enterprise=world.ent_x, username="contact_x")
    submission = factories.submission(world.ent_x, contact_user, 2024, revenue="3500.00")
    db.session.commit()
    from crm.cycle.models import Batch, Bulletin
    from crm.cycle.services import file_application

    cycle_batch = Batch(region_id=world.city.id, year=2025, tier="high_tech", note="")
    db.session.add(cycle_batch)
    db.session.flush()
    application = file_application(cycle_batch, world.ent_x, actor="test")
    bulletin = Bulletin(region_id=world.county_x.id, year=2025, month=10, commentary="")
    db.session.add(bulletin)
    db.session.commit()
    # evidence: a photo on author_x's visit, and author_x's plan for ent_x this month
    from crm.core import clock
    from crm.evidence import services as evidence_services
    from tests.evidence.conftest import png_bytes

    attachment = evidence_services.store_bytes("visit", visit, "photo.png", png_bytes(), actor=author)
    visit_plan = evidence_services.plan_visit(world.ent_x, {"month": clock.today().replace(day=1)}, actor=author)
    db.session.commit()
    from crm.events.models import Event
    from crm.partners.models import Partner, PartnerReferral
    from crm.saved_views.models import SavedView
    from crm.tags.models import Tag

    tag = Tag(name="重点关注", region_id=world.county_x.id, kind="manual")
    rule_tag = Tag(name="研发高增长", region_id=world.county_x.id, kind="rule",
                   conditions={"growth_field": "rd_expense", "min_growth_pct": "20"}, conditions_version=1)
    partner = Partner(name="宁夏银行银川分行", kind="bank", region_id=world.city.id, specialities=["finance"])
    event = Event(kind="briefing", topic="研发费用加计扣除宣讲会", held_on=factories.date(2025, 3, 1),
                  region_id=world.county_x.id)
    saved_view = SavedView(user_id=someone.id, endpoint="enterprises.index", name="mine", query="tier=high_tech")
    db.session.add_all([tag, rule_tag, partner, event, saved_view])
    db.session.flush()
    partner_referral = PartnerReferral(need_id=need.id, partner_id=partner.id, enterprise_id=world.ent_x.id, status="proposed",
                        referred_on=factories.date(2025, 3, 2), consent_by="张总", consent_on=factories.date(2025, 3, 2),
                        consent_mode="phone")
    db.session.add(partner_referral)
    db.session.commit()
    # survey campaigns: a bank question of county X, a launched campaign of county X (ent_x, the park) and a draft
    from crm.surveys import services as survey_services

    survey_question = survey_services.save_question(
        {"kind": "single", "text": "最主要障碍", "region_id": world.county_x.id},
        [{"label": "融资难", "need_category": "finance"}, {"label": "招工难"}], actor="test")
    survey_campaign = survey_services.save_campaign(
        {"title": "需求摸排", "region_id": world.county_x.id, "opens_on": clock.today(), "closes_on": clock.today()},
        [survey_question.id], actor="test", usable={survey_question.id: survey_question})
    survey_services.launch_campaign(survey_campaign, actor="test")
    survey_draft = survey_services.save_campaign(
        {"title": "草稿", "region_id": world.county_x.id, "opens_on": clock.today(), "closes_on": clock.today()},
        [survey_question.id], actor="test", usable={survey_question.id: survey_question})
    db.session.commit()
    # a negative list with one entry not in the registry (no enterprise of the matrix is held up by it)
    from crm.credit.models import CreditList, CreditListEntry

    credit_list = CreditList(kind="serious_breach", source="宁夏发改委", received_on=factories.date(2025, 6, 1))
    db.session.add(credit_list)
    db.session.flush()
    credit_entry = CreditListEntry(list_id=credit_list.id, uscc=factories.uscc("640104"), name="不在库企业",
                                   listed_on=factories.date(2025, 5, 1))
    db.session.add(credit_entry)
    db.session.commit()
    return {"credit_list": credit_list.id, "credit_entry": credit_entry.id,
            "survey_question": survey_question.id, "survey_campaign": survey_campaign.id,
            "survey_draft": survey_draft.id,"tag": tag.id, "rule_tag": rule_tag.id, "partner": partner.id, "event": event.id,
            "saved_view": saved_view.id, "partner_referral": partner_referral.id,
            "cycle_batch": cycle_batch.id, "application": application.id, "bulletin": bulletin.id,
            "import_job": import_job.id, "token": token.id, "submission": submission.id,
            "contact_user": contact_user.id, "ent": world.ent_x.id, "contact": contact.id, "figures": figures.id,
            "ip": item.id, "figure_report": figure_report.id,
            "user": someone.id, "region": world.county_x.id, "cert": cert.id, "batch": batch.id,
            "visit": visit.id, "need": need.id, "follow_up": follow_up.id, "department": department.id,
            "policy": policy.id, "notification": notification.id, "referral": referral.id,
            "calendar_day": calendar_day.id, "attachment": attachment.id, "visit_plan": visit_plan.id,
            "author": author.id}


def _department_id(name: str) -> int:
    from crm.extensions import db
    from crm.service.models import Department

    return db.session.scalar(select(Department.id).where(Department.name == name))


def _sign_in(login_as, world, officer_x, role):
    if role == "anon":
        return
    if role == "officer_x":
        login_as(officer_x)
        return
    spec = {
        "admin": ("admin", {}), "manager_city": ("manager", {"region": world.city}),
        "manager_other": ("manager", {"region": world.other_city}),
        "officer_x_unassigned": ("officer", {"region": world.county_x}),
        "officer_y": ("officer", {"region": world.county_y}),
        "enterprise_own": ("enterprise", {"enterprise": world.ent_x}),
        "enterprise_other": ("enterprise", {"enterprise": world.ent_y}),
        "department": ("department", {"department_id": _department_id("税务局")}),
        "department_other": ("department", {"department_id": _department_id("人社局")}),
    }[role]
    login_as(spec[0], **spec[1])


# JSON API: anonymous callers get 401 JSON; every signed-in role may evaluate a posted profile
# (it reads nothing from the database but the rule sets in force).
API_ROUTES = {
    "api.readiness_check": ("/api/v1/readiness/check?tier=tech_sme", {"anon": 401, **{r: OK for r in ROLES[1:]
                                                                                      if r not in DEPARTMENTS}}),
    # raising a need by the API: like the need form (posted empty here: 422 for those who may, nothing written)
    "api.need_create": ("/api/v1/needs", {"anon": 401, "admin": 422, "manager_city": 422, "manager_other": 404,
                                          "officer_x": 422, "officer_x_unassigned": 422, "officer_y": 404,
                                          "enterprise_own": 403, "enterprise_other": 403}),
    # changing a need by the API (PATCH), sent without its version: 422 for those who may work the need
    "api.need_update": ("/api/v1/needs/{need}", {"anon": 401, "admin": 422, "manager_city": 422,
                                                 "manager_other": 404, "officer_x": 422,
                                                 "officer_x_unassigned": 403, "officer_y": 404,
                                                 "enterprise_own": 403, "enterprise_other": 403}),
}
# Reads of the API, scoped by the caller's role and region like the pages (a record outside the scope: 404).
# (an enterprise user's token reads its own enterprise by the API, though the bureau's pages are closed to it)
_api_read_x = {"anon": 401, **{r: (OK if v == OK else MISSING) for r, v in _read_x.items()},
               "enterprise_own": OK, "enterprise_other": MISSING}
_api_service = {"anon": 401, **{r: OK for r in ["admin", *MANAGERS, *OFFICERS]},
                **{r: FORBIDDEN for r in ENTERPRISE_USERS}}
API_GET_ROUTES = {
    "api.enterprises": ("/api/v1/enterprises", {"anon": 401, **{r: OK for r in ROLES[1:] if r not in DEPARTMENTS}}),
    "api.enterprise": ("/api/v1/enterprises/{uscc}", _api_read_x),
    "api.enterprise_figures": ("/api/v1/enterprises/{uscc}/figures", _api_read_x),
    "api.enterprise_certifications": ("/api/v1/enterprises/{uscc}/certifications", _api_read_x),
    "api.needs": ("/api/v1/needs", _api_service),
    "api.visits": ("/api/v1/visits", _api_service),
    "api.openapi": ("/api/v1/openapi.json", {"anon": OK, **{r: OK for r in ROLES[1:]}}),
}


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(GET_ROUTES) - set(POST_ROUTES) - set(API_ROUTES) - set(API_GET_ROUTES)
    assert missing == set(), f"add these routes to the access matrix: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
def test_get_matrix(client, login_as, world, officer_x, ids, role):
    _sign_in(login_as, world, officer_x, role)
    wrong = []
    for endpoint, (url, expected) in GET_ROUTES.items():
        want = expected_for(expected, role)
        got = client.get(url.format(**ids)).status_code
        if got != want:
            wrong.append(f"{endpoint} {url}: expected {want}, got {got}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_post_matrix_forbidden_writes_change_nothing(client, login_as, world, officer_x, ids, role, db):
    wrong = []
    for endpoint, (url, expected) in POST_ROUTES.items():
        _sign_in(login_as, world, officer_x, role)  # logout in the table ends the session: sign in again each time
        want = expected_for(expected, role)
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        got = client.post(url.format(**ids), data={"lang": "zh_CN"}).status_code
        after = db.session.scalar(select(func.count()).select_from(AuditEvent))
        if want == "allowed":
            # allowed: the write happens and answers 303 (see-other); writes to records are audited
            audited = endpoint.startswith(("enterprises.", "ladder.", "rules.", "policies.", "api_tokens.",
                                           "submissions.", "portal_accounts.", "holidays.", "referrals.",
                                           "evidence.", "surveys.", "credit."))
            if got != 303 or (audited and after == before):
                wrong.append(f"{endpoint}: allowed, got {got} (+{after - before} events)")
        elif got != want or after != before:
            wrong.append(f"{endpoint}: expected {want} and no write, got {got} (+{after - before} events)")
    assert wrong == []


@pytest.mark.parametrize("role", ["manager_city", "officer_x_unassigned", "officer_y", "enterprise_own"])
def test_forbidden_form_posts_change_nothing(client, login_as, world, officer_x, ids, role, db):
    _sign_in(login_as, world, officer_x, role)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    eid = ids["ent"]
    posts = {
        f"/enterprises/{eid}/edit": {"name": "改名", "uscc": world.ent_x.uscc, "region_id": world.county_x.id,
                                     "industry_code": "C35", "status": "active"},
        f"/enterprises/{eid}/figures/new": {"year": "2023", "revenue": "1"},
        f"/enterprises/{eid}/ip/new": {"kind": "invention_patent", "title": "t", "number": "n"},
        f"/enterprises/{eid}/contacts/new": {"name": "x"},
        "/admin/users/new": {"username": "x", "name": "x", "role": "admin", "password": "Abcdefg1"},
        "/admin/regions/new": {"code": "640199", "name": "x", "level": "county", "parent_id": world.city.id},
    }
    if role != "manager_city":  # managers keep the policy list
        posts.update({f"/policies/{ids['policy']}/edit": {"title": "改名", "active": "y"},
                      "/policies/new": {"title": "新政策"}})
    for url, data in posts.items():
        assert client.post(url, data=data).status_code in (FORBIDDEN, MISSING), url
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    db.session.refresh(world.ent_x)
    assert world.ent_x.name == "兴庆智能装备有限公司"


@pytest.mark.parametrize("role", ROLES)
def test_api_matrix(client, login_as, world, officer_x, ids, role):
    _sign_in(login_as, world, officer_x, role)
    profile = {"assessment_date": "2025-06-30", "figures": []}
    for endpoint, (url, expected) in API_ROUTES.items():
        body = profile if endpoint == "api.readiness_check" else {"uscc": world.ent_x.uscc}
        send = client.patch if endpoint == "api.need_update" else client.post
        response = send(url.format(**ids), json=body)
        assert response.status_code == expected_for(expected, role), endpoint
        assert response.is_json
    for endpoint, (url, expected) in API_GET_ROUTES.items():
        response = client.get(url.format(uscc=world.ent_x.uscc))
        assert response.status_code == expected_for(expected, role), endpoint
        assert response.is_json
