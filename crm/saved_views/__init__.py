"""Saved views: a user's named filters of a list page, reopened in one tap (issue 12)."""
