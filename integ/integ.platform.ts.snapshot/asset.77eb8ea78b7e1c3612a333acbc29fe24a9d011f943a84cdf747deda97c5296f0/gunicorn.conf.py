"""gunicorn settings for one Fargate task of 0.25 vCPU and 512 MB (the image and the benchmark use it).

- One worker process: a quarter of a CPU cannot run two Python processes in parallel, and each
  extra process costs about 60 MB and its own connection pool.
- gthread with 4 threads: requests spend most of their time waiting on PostgreSQL (or on an
  Aurora resume), so threads overlap those waits; 4 matches DB_POOL_MAX_SIZE and keeps four
  concurrent Argon2 hashes (19 MiB each) well inside 512 MB.
- timeout 60 s: longer than API Gateway's 29 s integration timeout, so a request waiting up to
  DB_POOL_TIMEOUT_SECONDS (25 s) for a resuming database is never killed as a stuck worker.
- graceful_timeout 20 s: after SIGTERM in-flight requests get 20 s, which ends before ECS's
  default stopTimeout of 30 s sends SIGKILL.
- keepalive 75 s: the VPC link reuses connections between requests instead of opening one per
  request; gthread parks idle keep-alive sockets in its poller, so they hold no thread.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
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
