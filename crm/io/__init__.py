"""Excel/CSV import and export: templates, preview with per-row errors, background jobs, the history."""
