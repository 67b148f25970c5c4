"""One web worker's peak memory: serve the given pages as their users, then print VmHWM (kB).

Usage: .venv/bin/python bench/worker.py DATABASE_URL '[["user", "/path"], …]' [ROUNDS]
Run by bench/province.py in a fresh process, so the figure is a worker's, not the benchmark builder's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from crm import create_app  # noqa: E402
from crm.auth.models import User  # noqa: E402
from crm.extensions import db  # noqa: E402


def main() -> None:
    """Serve every page ROUNDS times, print the peak resident memory in kB."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1])
    pages = json.loads(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    for _ in range(rounds):
        for user, path in pages:
            with app.app_context():
                uid = db.session.scalar(sa.select(User).where(User.username == user)).get_id()
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = uid
            assert client.get(path).status_code == 200, path
    print(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0])


if __name__ == "__main__":
    main()
