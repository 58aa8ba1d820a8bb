"""Which allocator Arrow uses in the project's processes.

Arrow's Linux wheels allocate with mimalloc by default, which gives freed memory back to the system
at once: every large column a step builds is then new memory, which the kernel must zero before
handing it out. On a million-account pull that zeroing was a third of the process's CPU; with
jemalloc the pull took a fifth less time (``bench/ingest.py``). Arrow reads its choice from the
environment once, when it first allocates, and importing pandas already allocates: so the package
names jemalloc when it is imported, and deployments name it in the workers' environment as well.
"""

from __future__ import annotations

import os

ENVIRONMENT_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
PREFERRED_POOL = "jemalloc"


def prefer_arrow_pool() -> None:
    """Name jemalloc as Arrow's allocator unless the environment already names one."""
    os.environ.setdefault(ENVIRONMENT_VARIABLE, PREFERRED_POOL)


def arrow_pool_problem() -> str | None:
    """Why Arrow does not allocate with the pool the environment names, or None when it does (or
    when this Arrow build has no such pool, so there is nothing to do)."""
    import pyarrow as pa

    wanted = os.environ.get(ENVIRONMENT_VARIABLE, PREFERRED_POOL)
    in_use = pa.default_memory_pool().backend_name
    if in_use == wanted or wanted not in pa.supported_memory_backends():
        return None
    return (
        f"Arrow allocates with {in_use}, not {wanted}: pandas or pyarrow was loaded before the outreach "
        f"package. Set {ENVIRONMENT_VARIABLE}={wanted} in the worker's environment; a million-account pull "
        "takes about a fifth longer without it"
    )
