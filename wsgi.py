"""WSGI entry point: ``gunicorn wsgi:app`` serves production, ``flask --app wsgi`` runs commands."""
import gc

from app import create_app

app = create_app()

# Everything loaded so far (modules, parsed processes, the app) lives as long as the process:
# keep it out of the garbage collector's full scans, which otherwise run every few requests
# because each workflow allocates many short-lived objects.
gc.freeze()
