"""The pipeline: monthly snapshots of the ladder by tier, region and officer (dashboards and targets build on them)."""
