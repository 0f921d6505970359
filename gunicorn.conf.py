"""gunicorn settings, read automatically when gunicorn starts in this folder.

Sync workers, one request at a time each. A sync worker takes a new connection only when it is
free, so the kernel hands each request to an idle worker and all workers stay busy under load.
Threaded workers with keep-alive did worse here: a worker keeps every connection it accepted,
and with a few busy clients one worker often held three connections of four (or all) while the
other idled, so completions ran at one worker's speed (125/s against 270/s with sync workers,
see docs/benchmarks.md). Keep-alive to the browsers belongs to the reverse proxy in front
(docs/deploy.md); the requests are short and CPU-bound, so threads add nothing under the GIL.
"""
worker_class = "sync"


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Load the Chinese word segmenter's dictionary (about a second) before the worker takes requests,
    so the first intake after a start is not the one to wait for it."""
    from app.duplicates.detector import warm_up
    warm_up()
    # what is loaded by now (the app, its process definitions, jieba's dictionary) lives as long
    # as the worker: keep it out of the garbage collector's full passes
    import gc
    gc.freeze()
