"""Service work: assignments (more comes with issue 5)."""
