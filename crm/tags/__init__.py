"""Tags on enterprises: manual ones an officer sets, rule-based ones the ladder's engine decides (issue 12)."""
