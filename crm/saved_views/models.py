"""A saved view: a user's name for a list page's filters (its query string), private to that user."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin
from crm.core.uow import register_unique


class SavedView(TimestampMixin, Base):
    """One named set of filters of one list page (endpoint), for one user."""

    __tablename__ = "saved_views"
    __table_args__ = (sa.UniqueConstraint("user_id", "endpoint", "name", name="uq_saved_views_user_id_endpoint_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(sa.String(60))
    name: Mapped[str] = mapped_column(sa.String(40))
    query: Mapped[str] = mapped_column(sa.String(1000), default="")


register_unique("uq_saved_views_user_id_endpoint_name", "name", _l("You already have a view of that name here."))
ENTITY_LABELS.update({"saved_views": _l("Saved view")})
