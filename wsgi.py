"""WSGI entry point: `flask --app wsgi ...` and `gunicorn wsgi:app`."""
import gc

from crm import create_app

app = create_app()
# What start-up made (the app, its templates, SQLAlchemy's and WeasyPrint's tables: ~250,000 objects) lives as long
# as the process: keep it out of the collector's full passes, each of which took 170 ms in the middle of a request
# (every other readiness sheet). With GUNICORN_PRELOAD the workers also share these pages copy-on-write.
gc.collect()
gc.freeze()
