"""The garbage collector during a function's init (cold start).

Importing a function (FastAPI, psycopg, pydantic, our models and routes) allocates ~100,000 objects
that live as long as the process. The cyclic collector would traverse them again and again while
they load (~150 young and a dozen middle collections and one full one, ~15% of a cold start here)
and find next to no garbage. So functions/__init__.py pauses it before anything else is imported,
and create_app (the last step of every function module) freezes what init allocated (gc.freeze:
never traversed again, as after a prefork) and resumes it, so requests run with the usual collector.
"""

from __future__ import annotations

import gc

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
        gc.enable()
