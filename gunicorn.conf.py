"""gunicorn settings, read automatically when gunicorn starts in this folder.

Threaded workers keep HTTP connections alive between requests (sync workers close every
connection) and let a second request compute while the first waits on the database.
"""
worker_class = "gthread"
threads = 1
keepalive = 5
