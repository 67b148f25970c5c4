"""The JSON API (/api/v1): answers JSON always, 4xx with {"error": {...}} on bad input."""
