"""The cyclic garbage collector in a function's process: paused during init, then tuned for requests.

Init (cold start): importing a function (FastAPI, psycopg, pydantic, our models and routes) allocates
~100,000 objects that live as long as the process. The collector would traverse them again and again
while they load (~150 young, a dozen middle and one full collection, ~35 ms of a cold start here) and
find next to no garbage. functions/__init__.py pauses it before anything else is imported, and
create_app (the last step of every function module) freezes what init allocated (gc.freeze: never
traversed again, as after a prefork) and resumes it.

Requests: a request creates a few thousand short-lived container objects that reference counting
frees, but with the default young-generation threshold (700) their peak alone starts a collection
during most requests: ~600 collections per 6,000 requests under load, ~0.1 ms of collector per
request, finding almost nothing. From 10,000 on, a collection is rare (a few per thousands of
requests); cyclic garbage waits a little longer (at most that many objects) before it is freed.
"""

from __future__ import annotations

import gc

REQUEST_THRESHOLD = 10_000

_paused = False


def pause_collection() -> None:
    global _paused
    if not _paused and gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """Idempotent; only undoes pause_collection (a collector someone else disabled stays disabled)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        _, middle, full = gc.get_threshold()
        gc.set_threshold(REQUEST_THRESHOLD, middle, full)
        gc.enable()
