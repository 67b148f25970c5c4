"""The working-day calendar the admin keeps: public holidays and make-up working days (调休)."""
