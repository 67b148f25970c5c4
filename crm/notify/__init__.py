"""Notifications (the inbox, e-mail) and the scheduler: one job registry, its own process, each job exactly once."""
