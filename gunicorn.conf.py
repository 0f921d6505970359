"""gunicorn settings, read automatically when gunicorn starts in this folder.

Threaded workers keep HTTP connections alive between requests (sync workers close every
connection) and let a second request compute while the first waits on the database.
"""
worker_class = "gthread"
threads = 1
keepalive = 5


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Load the Chinese word segmenter's dictionary (about a second) before the worker takes requests,
    so the first intake after a start is not the one to wait for it."""
    from app.duplicates.detector import warm_up
    warm_up()
