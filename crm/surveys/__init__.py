"""Survey campaigns (需求摸排表): a question bank, campaigns, responses, rules and results."""
