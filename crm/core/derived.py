"""Derived rows kept per enterprise (the stored policy matches, the candidate ranks): refreshed by the services'
hooks at once, or once for a whole block (an import of 10,000 rows: one refresh, not 10,000)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class DeferrableRefresh:
    """A refresh of some enterprises' derived rows that a block may defer to its end."""

    def __init__(self, name: str, refresh: Callable[[set], object]):
        self._pending: ContextVar[set | None] = ContextVar(name, default=None)
        self._refresh = refresh

    def request(self, enterprise_ids: Iterable[int]) -> None:
        """Refresh these enterprises now, or at the end of the enclosing `deferred()` block."""
        pending = self._pending.get()
        if pending is not None:
            pending.update(enterprise_ids)
        else:
            self._refresh(enterprise_ids)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Collect the enterprises requested inside the block and refresh them in one batch when it ends without
        an error (an error leaves the unit of work to be rolled back: nothing to refresh)."""
        if self._pending.get() is not None:  # nested: the outer block refreshes
            yield
            return
        pending: set = set()
        token = self._pending.set(pending)
        try:
            yield
        finally:
            self._pending.reset(token)
        if pending:
            self._refresh(pending)
