"""Which allocator Arrow uses in the project's processes.

Arrow's Linux wheels allocate with mimalloc by default, which gives freed memory back to the system
at once: every large column a step builds is then new memory, which the kernel must zero before
handing it out. On a million-account pull that zeroing was a quarter of the process's CPU; with
jemalloc the pull took 12-19% less time (``bench/ingest.py``). Arrow reads its choice from the
environment once, when it first allocates, and importing pandas or pyarrow already does: so the
package names jemalloc in its process's environment when it is imported (processes it starts
inherit it), and deployments name it in the workers' environment as well. Naming another pool, in
the environment, keeps it.
"""

from __future__ import annotations

import os

ENVIRONMENT_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
PREFERRED_POOL = "jemalloc"


def named_pool() -> str:
    """The pool the environment names; an empty value names none."""
    return os.environ.get(ENVIRONMENT_VARIABLE) or PREFERRED_POOL


def prefer_arrow_pool() -> None:
    """Name jemalloc as Arrow's allocator unless the environment already names one."""
    if not os.environ.get(ENVIRONMENT_VARIABLE):
        os.environ[ENVIRONMENT_VARIABLE] = PREFERRED_POOL


def arrow_pool_problem() -> str | None:
    """Why Arrow does not allocate with the pool the environment names, or None when it does (or when
    jemalloc is wanted and this Arrow build has none: there is nothing to set then)."""
    import pyarrow as pa

    wanted = named_pool()
    supported = pa.supported_memory_backends()
    if wanted not in supported:
        if wanted == PREFERRED_POOL:
            return None
        return f"{ENVIRONMENT_VARIABLE}={wanted} names no allocator this Arrow has (it has {', '.join(supported)})"
    in_use = pa.default_memory_pool().backend_name
    if in_use == wanted:
        return None
    return (
        f"Arrow allocates with {in_use}, not {wanted}: pandas or pyarrow was loaded before the outreach "
        f"package. Set {ENVIRONMENT_VARIABLE}={wanted} in the worker's environment; a million-account pull "
        "takes 12-19% less time with jemalloc"
    )
