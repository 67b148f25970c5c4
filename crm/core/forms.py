"""Shared form pieces: validators with translated messages, decimal amounts in 万元."""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation, ValidationError

from crm.core.uscc import normalize_uscc, uscc_error


def options(mapping: dict) -> list[SelectChoice]:
    """<select> options from {value: label} (labels may be lazy translations)."""
    return [SelectChoice(value=value, label=label) for value, label in mapping.items()]


def choices(pairs) -> list[SelectChoice]:
    """<select> options from (value, label) pairs; values become text, as the browser sends them back."""
    return [SelectChoice(value=str(value), label=label) for value, label in pairs]


def required():
    """DataRequired with the product's message."""
    return DataRequired(message=_l("This field is required."))


def input_required():
    """InputRequired (accepts 0) with the product's message."""
    return InputRequired(message=_l("This field is required."))


def optional():
    """Skip the other validators when the field is empty."""
    return Optional()


def max_length(n: int):
    """At most `n` characters."""
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


def strip(value):
    """Filter: trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


class AmountField(StringField):
    """An amount in 万元: a decimal with at most two places, ≥ 0 unless `allow_negative`.

    Accepts thousands separators ("1,234.5") and full-width digits; keeps Decimal, never float.
    """

    def __init__(self, label=None, validators=None, allow_negative: bool = False, places: int = 2, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_negative = allow_negative
        self.places = places

    def process_formdata(self, valuelist):
        self.data = None
        self.raw = valuelist[0] if valuelist else ""
        text = normalize_number_text(self.raw)
        if not text:
            return
        if not _NUMBER.fullmatch(text):
            raise ValueError(_l("Enter a number, e.g. 1234.5."))
        value = Decimal(text)
        if value.as_tuple().exponent < -self.places:
            if self.places == 2:
                raise ValueError(_l("At most two decimal places (amounts are in 10k CNY)."))
            raise ValueError(_l("At most %(n)d decimal place(s).", n=self.places))
        if value < 0 and not self.allow_negative:
            raise ValueError(_l("Must not be negative."))
        if abs(value) >= Decimal("1e12"):
            raise ValueError(_l("The amount is too large."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format(self.data, "f")


class CountField(StringField):
    """A whole number ≥ 0 (a head count unless another message says what is counted)."""

    def __init__(self, label=None, validators=None, message=None, maximum: int = 10_000_000, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message or _l("Enter a whole number of people, e.g. 85.")
        self.maximum = maximum

    def process_formdata(self, valuelist):
        self.data = None
        text = normalize_number_text(valuelist[0] if valuelist else "")
        if not text:
            return
        if not re.fullmatch(r"[0-9]+", text):
            raise ValueError(self.message)
        value = int(text)
        if value > self.maximum:
            raise ValueError(_l("The number is too large."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


_FULL_WIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９．－，"}
# "1234.5", "-20", or thousands in groups of three: "1,234.5". Nothing else (no "3200,5", no "1e5").
_NUMBER = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")


def normalize_number_text(text: str | None) -> str:
    """Trim and turn full-width digits into ASCII; drop thousands separators only where they are well placed.

    Text that is not a plain number is returned as it is, so the field's parser refuses it.
    """
    if not text:
        return ""
    text = text.translate(_FULL_WIDTH).strip()
    return text.replace(",", "") if _NUMBER.fullmatch(text) else text


def uscc_validator(form, field: Field) -> None:
    """Normalise the field to a USCC and check it against GB 32100-2015."""
    field.data = normalize_uscc(field.data)
    if not field.data:
        raise StopValidation(_l("This field is required."))
    problem = uscc_error(field.data)
    if problem:
        raise ValidationError(str(problem))  # plain text: the message quotes user input


class DateField(StringField):
    """A date typed as YYYY-MM-DD (the browser's date picker sends this form)."""

    def process_formdata(self, valuelist):
        from datetime import date

        self.data = None
        text = normalize_number_text(valuelist[0] if valuelist else "").replace("/", "-").replace(".", "-")
        if not text:
            return
        try:
            self.data = date.fromisoformat(text)
        except ValueError:
            raise ValueError(_l("Enter a date as YYYY-MM-DD, e.g. 2018-03-12.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""


class YearField(StringField):
    """A four-digit year."""

    def process_formdata(self, valuelist):
        self.data = None
        text = normalize_number_text(valuelist[0] if valuelist else "")
        if not text:
            return
        if not re.fullmatch(r"[0-9]{4}", text):
            raise ValueError(_l("Enter a four-digit year, e.g. 2024."))
        self.data = int(text)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)
