"""Events and training (宣讲会/培训): sign-up, attendance, the policies presented marked as explained (issue 12)."""
