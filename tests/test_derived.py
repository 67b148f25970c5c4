"""crm.core.derived: a refresh of derived rows at once, or once at the end of a block."""
import pytest

from crm.core.derived import DeferrableRefresh


def test_at_once_outside_a_block_and_once_for_a_block_nested_or_not():
    calls = []
    refresh = DeferrableRefresh("test_refresh", lambda ids: calls.append(sorted(ids)))
    refresh.request([3])
    assert calls == [[3]]
    with refresh.deferred():
        refresh.request([2, 1])
        with refresh.deferred():
            refresh.request([2, 5])
        assert calls == [[3]]
    assert calls == [[3], [1, 2, 5]]
    with refresh.deferred():
        pass
    assert calls == [[3], [1, 2, 5]]  # nothing requested: nothing refreshed


def test_a_block_that_fails_refreshes_nothing():
    calls = []
    refresh = DeferrableRefresh("test_refresh_failing", lambda ids: calls.append(ids))
    with pytest.raises(ValueError), refresh.deferred():
        refresh.request([1])
        raise ValueError
    assert calls == []
    refresh.request([4])
    assert calls == [[4]]  # the block's collection is gone
