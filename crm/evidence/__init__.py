"""Visit plans and evidence: attachments, check-ins, joint visits, visit plans (issue 12)."""
