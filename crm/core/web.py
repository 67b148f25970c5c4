"""Small request helpers: links that keep the current query string, safe pagination."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Request, current_app, request
from werkzeug.utils import cached_property

MAX_PAGE = 100_000


def url_with(**changes) -> str:
    """The current page's URL with some query arguments replaced (None or "" removes one).

    Built from the path and the query string only: user-supplied keys never reach url_for.
    """
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")


def id_or_none(value) -> int | None:
    """An id from a query argument: ASCII digits, at most 9 of them, else None (a longer number would overflow
    the database's INTEGER, and str.isdigit() also accepts ² and ٣, which int() may refuse: a 500 either way)."""
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def page_number() -> int:
    """The requested page, clamped to 1…MAX_PAGE (garbage and huge numbers never reach the database)."""
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
    return min(max(page, 1), MAX_PAGE)


def paginate(stmt, *, count: bool = True):
    """A page of `stmt`, PER_PAGE rows (50), the page number from the query string."""
    from crm.extensions import db

    return db.paginate(stmt, page=page_number(), per_page=current_app.config["PER_PAGE"], error_out=False,
                       count=count)


def register_jinja(app) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(url_with=url_with)


class ListPage:
    """A page of an in-memory list with the interface of Flask-SQLAlchemy's Pagination (for the pager macro)."""

    def __init__(self, items: list, page: int, per_page: int):
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(page, self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start:start + per_page]
        self.first_index = start

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1 if self.has_prev else None)
    next_num = property(lambda self: self.page + 1 if self.has_next else None)

    @classmethod
    def counted(cls, total: int, per_page: int | None = None) -> ListPage:
        """The requested page of `total` rows read elsewhere (SQL: OFFSET `first_index` LIMIT `per_page`); the
        caller sets `items`."""
        per_page = per_page or current_app.config["PER_PAGE"]
        page = cls([], page_number(), per_page)
        page.total = total
        page.pages = max(1, -(-total // per_page))
        page.page = min(page_number(), page.pages)
        page.first_index = (page.page - 1) * per_page
        return page

    def iter_pages(self, left_edge=1, left_current=2, right_current=2, right_edge=1):
        """Page numbers with None for the gaps, like Pagination.iter_pages."""
        last = 0
        for n in range(1, self.pages + 1):
            if (n <= left_edge or self.page - left_current <= n <= self.page + right_current
                    or n > self.pages - right_edge):
                if last + 1 != n:
                    yield None
                yield n
                last = n


def list_page(items: list) -> ListPage:
    """The requested page (50 rows) of an in-memory list."""
    return ListPage(items, page_number(), current_app.config["PER_PAGE"])


# --- NUL bytes -------------------------------------------------------------------------------------

def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


class CleanRequest(Request):
    """A request whose form, query string and JSON carry no NUL bytes.

    PostgreSQL text cannot hold U+0000 (the driver raises DataError: a 500 on a save or a search),
    and no user types one: it is removed on the way in, for every route at once.
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form is not None and any("\x00" in k or "\x00" in v for k, v in form.items(multi=True)):
            self.__dict__["form"] = self.parameter_storage_class(
                [(_without_nul(k), _without_nul(v)) for k, v in form.items(multi=True)])

    @cached_property
    def args(self):
        """The query string's arguments, NUL bytes removed."""
        args = super().args
        if any("\x00" in k or "\x00" in v for k, v in args.items(multi=True)):
            return self.parameter_storage_class(
                [(_without_nul(k), _without_nul(v)) for k, v in args.items(multi=True)])
        return args

    def get_json(self, *args, **kwargs):
        """The JSON body, NUL characters removed from every string."""
        return _without_nul(super().get_json(*args, **kwargs))
