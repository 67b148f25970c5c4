"""The five-tier ladder: tiers, certifications, the rules engine, readiness (grows with issue 4)."""
