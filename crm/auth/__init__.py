"""Sign-in, accounts, users and roles."""
