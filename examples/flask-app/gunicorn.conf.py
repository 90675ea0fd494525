"""gunicorn settings for one Fargate task of 0.25 vCPU and 512 MB (the image and the benchmark use it).

- One worker process: a quarter of a CPU cannot run two Python processes in parallel, and each
  extra process costs about 60 MB and its own connection pool.
- app.server.ThreadWorker (gunicorn's gthread, with every read of a request bounded by
  REQUEST_READ_TIMEOUT_SECONDS and gunicorn's own errors in the app's JSON shape) with 16
  threads. At most DB_REQUEST_SLOTS (12) requests use or wait for the database at once, more get
  503 at once, so however long the database is away, 4 threads stay free for /health and /ready.
  Threads waiting on I/O cost no CPU and little memory; at most 4 Argon2 hashes (19 MiB each) run
  at once whatever the thread count (app/auth.py).
- timeout 60 s: the worker heartbeat; requests end by the request deadline long before it.
- keepalive 75 s: the VPC link reuses connections between requests instead of opening one per
  request; gthread parks idle keep-alive sockets in its poller, so they hold no thread.

The shutdown budget (the construct's numbers are in src/service/flask-fargate-service.ts):

    ECS stops a task     -> the NLB deregisters it and drains for 20 s (two thirds of stopTimeout)
    then SIGTERM         -> gunicorn stops accepting; every request in flight is answered within
                            REQUEST_DEADLINE_SECONDS (25 s) of its arrival, 503 + Retry-After if
                            the database did not answer in time
    graceful_timeout 28 s-> gunicorn exits, answered or not (nothing is left by then)
    stopTimeout 30 s     -> SIGKILL

So REQUEST_DEADLINE_SECONDS (at most 27) < graceful_timeout (28) < stopTimeout (30), and the
deadline is also under API Gateway's 29 s integration timeout.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = 1
worker_class = "app.server.ThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 60
graceful_timeout = 28
keepalive = 75
# The heartbeat file on tmpfs: a disk-backed /tmp can stall the heartbeat and get the worker killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (gunicorn's own heartbeat file)
# No runtime control socket: nothing uses it, and it would need a writable home directory.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Access log without the client address (it is the load balancer's) but with the duration in microseconds.
access_log_format = '"%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
