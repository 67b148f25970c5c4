"""The certification cycle: application batches, applications and their stages, held tiers at risk, bulletins."""
