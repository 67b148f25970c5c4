"""Forms of the pipeline: a grid of targets, a grid of indicator values (one amount field per cell)."""
from __future__ import annotations

from flask_wtf import FlaskForm

from crm.core.forms import AmountField, optional


def grid_form(cells: list[str], data: dict | None = None) -> FlaskForm:
    """A form with one optional amount field per cell name (filled from `data` on GET)."""
    fields = {name: AmountField(name, validators=[optional()]) for name in cells}
    form_class = type("GridForm", (FlaskForm,), fields)
    return form_class(data=data or {})
