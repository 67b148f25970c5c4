"""Forms of tags: a tag of the list (with a rule tag's conditions), a tag put on an enterprise."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from crm.core.forms import AmountField, max_length, optional, options, required, strip
from crm.service.forms import MultiCheckboxField
from crm.tags.models import TAG_KIND_LABELS


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class TagForm(FlaskForm):
    """A tag: its name and region; a tag by rule states its conditions."""

    name = StringField(_l("Tag name"), [required(), max_length(40)], filters=[strip])
    region_id = SelectField(_l("Region"), coerce=_int_or_none, validate_choice=False,
                            description=_l("The tag is offered for the enterprises of this region and below."))
    kind = SelectField(_l("Kind"), choices=options(TAG_KIND_LABELS))
    active = BooleanField(_l("In use"), default=True)
    # a rule tag's conditions (each filled one is a criterion the ladder's engine checks)
    tiers_held = MultiCheckboxField(_l("Holds a valid certification of"), validate_choice=False)
    min_revenue = AmountField(_l("Revenue at least (10k CNY)"), [optional()])
    min_rd_ratio = AmountField(_l("R&D expense / revenue at least (%)"), [optional()], places=1)
    min_tech_staff_ratio = AmountField(_l("Tech staff / employees at least (%)"), [optional()], places=1)
    growth_field = SelectField(_l("Grew year on year"), validate_choice=False)
    min_growth_pct = AmountField(_l("by at least (%)"), [optional()], places=1)

    FIELDS = ("name", "region_id", "kind", "active")
    CONDITIONS = ("tiers_held", "min_revenue", "min_rd_ratio", "min_tech_staff_ratio", "growth_field",
                  "min_growth_pct")


class EnterpriseTagForm(FlaskForm):
    """Put one of the manual tags on an enterprise."""

    tag_id = SelectField(_l("Tag"), coerce=_int_or_none, validate_choice=False)
