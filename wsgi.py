"""WSGI entry point: ``gunicorn wsgi:app`` serves production, ``flask --app wsgi`` runs commands."""
from app import create_app

app = create_app()
