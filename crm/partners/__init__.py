"""Partners (banks, service firms, universities, 科技特派员) and the needs referred to them with consent (issue 12)."""
