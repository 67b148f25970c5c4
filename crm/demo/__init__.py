"""Demo data: `flask --app wsgi demo load` (idempotent). Later features add their own modules."""
