"""gunicorn settings for Miaopu: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Everything can be changed from the environment (the systemd unit reads /etc/miaopu/miaopu.env):

  GUNICORN_BIND          127.0.0.1:8000   where nginx reaches the app (a unix socket: unix:/run/miaopu/web.sock)
  GUNICORN_WORKERS       2 × cores + 1, at most GUNICORN_MAX_WORKERS
  GUNICORN_MAX_WORKERS   8                each worker holds its own copy of the app (≈ 100–250 MB) and its
                                          own database pool; 8 × 4 threads stays well under PostgreSQL's
                                          default max_connections = 100
  GUNICORN_THREADS       4                threads per worker (gthread): a worker waiting on the database or
                                          on a PDF keeps serving others
  GUNICORN_TIMEOUT       120              seconds before a silent worker is killed and replaced; the longest
                                          request is a 50,000-row import (≈ 10 s) or one PDF sheet (< 1 s);
                                          batches of sheets are built in the background
  GUNICORN_PRELOAD       0                see `preload_app` below
  GUNICORN_ACCESS_LOG    (off)            "-" for gunicorn's own access log on stdout as JSON lines; the app
                                          already logs every request with its user (crm/core/logs.py)
  GUNICORN_LOG_LEVEL     info
"""
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# The classic rule for a mostly I/O-bound app: 2 × cores + 1, capped, since RAM and database connections
# run out before CPU does on a large server.
_cores = multiprocessing.cpu_count()
workers = _int("GUNICORN_WORKERS", min(2 * _cores + 1, _int("GUNICORN_MAX_WORKERS", 8)))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)  # a restart lets running requests finish
keepalive = 5  # nginx keeps connections to us open (upstream keepalive); close idle ones after 5 s

# Recycle a worker after ~1,000 requests (jittered, so they do not all restart at once): bounds the memory
# a long-lived Python process slowly gathers (caches, fragmentation) at the cost of one cold start.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# preload_app: import the app once in the master and fork the workers from it.
#   + workers start faster, a broken configuration (missing SECRET_KEY, bad DATABASE_URL dialect) stops the
#     master at once with one clear error instead of N workers crash-looping, and the read-only part of
#     the app's memory is shared copy-on-write (in practice little: CPython's reference counts touch pages).
#   - `systemctl reload` (SIGHUP) then restarts workers from the master's old copy of the code: an upgrade
#     needs a full `systemctl restart` (a few seconds of 502s unless two instances are rotated);
#   - anything the master opened before the fork is shared by every worker. The app opens no database
#     connection at import (create_app has no side effects), but to be safe post_fork below drops any
#     pooled connection the worker inherited, as SQLAlchemy prescribes for forked processes.
# Off by default (reload picks up new code); GUNICORN_PRELOAD=1 to turn it on.
preload_app = os.environ.get("GUNICORN_PRELOAD", "0").strip().lower() in {"1", "true", "yes", "on"}

# The heartbeat file of each worker is written every few seconds: keep it in memory, not on disk. gunicorn
# makes it with mkstemp and unlinks it at once, so a shared directory is safe here.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# nginx on the same machine sets X-Forwarded-*; the app reads them through ProxyFix (TRUSTED_PROXIES=1).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stdout/stderr, i.e. to journald under systemd.
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# One JSON object per line, the same fields as the app's request lines. gunicorn escapes quotes and
# backslashes in the values, so the line stays valid JSON.
access_log_format = (
    '{"ts": "%(t)s", "logger": "gunicorn.access", "request_id": "%({x-request-id}o)s", '
    '"remote_addr": "%({x-forwarded-for}i)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"bytes": %(B)s, "duration_ms": %(M)s, "user_agent": "%(a)s"}'
)

proc_name = "miaopu-web"

# gunicorn's control socket (`gunicornc`) lives in the unit's RuntimeDirectory, not in the service's home.
if os.path.isdir("/run/miaopu"):
    control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "/run/miaopu/gunicorn.ctl")


def post_fork(server, worker):
    """In a worker forked from a preloaded master, drop the database connections inherited from it."""
    if not preload_app:
        return
    import wsgi
    from crm.extensions import db

    with wsgi.app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # forget the parent's connections without closing them under it


def worker_exit(server, worker):
    """Before a worker goes (restart, or recycled after max_requests), let its background work finish.

    Batches of readiness sheets and imports run in threads of the web worker that started them
    (crm/ladder/documents.py, crm/io/jobs.py); those threads are daemons, so without this wait a recycled
    worker would cut a batch off half-way (the page then shows it as stalled). On a restart the master
    kills the worker after graceful_timeout anyway, so the wait stays inside it.
    """
    from crm.io.jobs import wait_for_jobs
    from crm.ladder.documents import wait_for_batches

    budget = max(1, graceful_timeout - 5)
    wait_for_batches(budget)
    wait_for_jobs(budget)
