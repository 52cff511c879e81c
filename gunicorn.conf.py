"""Production settings for the web process: `gunicorn quimbi_support.wsgi -c gunicorn.conf.py`.

Measured on 2 cores at 1,000,000 tickets (bench/README.md, "Web workers"): 4 sync workers
(two per core) answered the most requests, ahead of 2 or 3 sync workers and of threaded
workers (gthread), for the API and the admin alike; a request is CPU-bound Python with
short waits on PostgreSQL and Redis, which a second worker per core overlaps. Set
WEB_CONCURRENCY to 2 x the cores of another machine (WEB_THREADS > 1 switches to gthread).
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8001")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 30
graceful_timeout = 30
# Recycle workers now and then (a leak stays small); jittered so they do not all restart.
max_requests = 10000
max_requests_jitter = 1000
# One line per request on stdout ("" turns it off).
accesslog = os.environ.get("ACCESS_LOG", "-") or None
