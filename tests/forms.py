"""Read an HTML form as a browser would submit it: {name: value} of its inputs, selects and textareas."""
from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._option_value: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                             "fields": {}}
            self.forms.append(self._current)
            return
        if self._current is None:
            return
        fields = self._current["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields[name] = a.get("value") or "y"
            elif kind not in ("submit", "button", "file", "image", "reset"):
                fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
                fields.setdefault(self._select, value)
            if "selected" in a:
                fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._current is not None:
            self._current["fields"][self._textarea] += data


def forms_of(html: str) -> list[dict]:
    """Every form of the page: [{"action", "method", "fields": {name: value}}]."""
    reader = _FormReader()
    reader.feed(html)
    return reader.forms


def post_form_of(html: str, action_contains: str = "") -> dict:
    """The fields of the first POST form whose action contains `action_contains` (no action: posts to the page)."""
    for form in forms_of(html):
        if form["method"] != "post":
            continue
        if (action_contains and action_contains in form["action"]) or (not action_contains and not form["action"]):
            return dict(form["fields"])
    raise AssertionError(f"no POST form with action containing {action_contains!r}")
