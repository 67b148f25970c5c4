"""Validation failures raised by services and shown next to form fields by views."""
from __future__ import annotations


class ValidationFailed(Exception):
    """A service refused its input; `errors` maps a field name (or "" for the form) to messages."""

    def __init__(self, errors: dict[str, list]):
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def one(cls, field: str, message) -> ValidationFailed:
        """A failure with one message on one field."""
        return cls({field: [message]})


def attach_errors(form, failure: ValidationFailed) -> None:
    """Put a service's errors on the WTForms fields (unknown fields go to form.form_errors)."""
    if getattr(failure, "stale", False):
        form.stale = True  # form_status answers 409: the record changed since the form was opened
    for name, messages in failure.errors.items():
        field = form._fields.get(name) if name else None
        if field is not None:
            field.errors = list(field.errors) + [str(m) for m in messages]
        else:
            form.form_errors.extend(str(m) for m in messages)


def form_status(form) -> int:
    """409 when refused for a stale version, 422 when a submitted form was refused (it re-renders
    with its errors), else 200."""
    if getattr(form, "stale", False):
        return 409
    return 422 if form.errors or form.form_errors else 200
