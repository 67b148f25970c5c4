"""The enterprise portal: an enterprise's own tier, readiness, needs and figures (DESIGN §1, role `enterprise`)."""
