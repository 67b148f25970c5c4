"""Assertion helpers shared by the tests."""
from __future__ import annotations

import html

from flask_babel import force_locale, gettext


def text(response) -> str:
    """The response body with HTML entities decoded (R&amp;D → R&D)."""
    return html.unescape(response.get_data(as_text=True))


def zh(msgid: str, **kwargs) -> str:
    """The zh_CN translation of a message; fails when there is none (it must differ from the English)."""
    with force_locale("zh_Hans_CN"):
        translated = gettext(msgid, **kwargs)
    assert translated != (msgid % kwargs if kwargs else msgid), f"no zh_CN translation for {msgid!r}"
    return translated


def en(msgid: str, **kwargs) -> str:
    """The English text of a message."""
    with force_locale("en"):
        return gettext(msgid, **kwargs)


def count_queries(client, url: str) -> int:
    """How many SQL statements one GET of `url` runs (asserting it answers 200)."""
    from sqlalchemy import event

    from crm.extensions import db

    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return counter["n"]


def open_login_signed_out(page, base: str) -> None:
    """Open /login in the browser with nobody signed in. The previous page is left first and the cookies cleared;
    a response still in flight from it (the bell's poll, a card loading) can set its session cookie again, and
    /login then sends us home as that user: the cookies are cleared and /login opened again (up to 5 times)."""
    page.goto("about:blank")
    for _attempt in range(5):
        page.context.clear_cookies()
        page.goto(f"{base}/login")
        if page.locator("#username").count():
            return
    raise AssertionError(f"/login kept signing in as the previous user: {page.url}")
