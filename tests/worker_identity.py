"""Which of a test stack's Celery workers ran a task: each worker is started with a name of its own
(``tests.stack.celery_worker``), and Airflow records it as the task's hostname."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("OUTREACH_TEST_WORKER_NAME") or socket.getfqdn()
