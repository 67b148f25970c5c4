"""Needs closed across departments: referrals with deadlines in working days, escalation, call-backs."""
