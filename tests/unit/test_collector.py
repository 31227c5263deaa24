"""A function's init runs without the cyclic collector, and hands over one tuned for requests: enabled,
with what init allocated frozen (never traversed again) and a young generation that a single request
does not fill. Each case is a fresh interpreter, as a cold start is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UGIG_ENV": "local", "LOG_LEVEL": "WARNING"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("module", ["gigs", "health", "app"])
def test_after_init_the_collector_runs_and_init_objects_are_frozen(module: str) -> None:
    result = _fresh(
        "import gc, json\n"
        f"import functions.{module}\n"
        "print(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count(),"
        " 'full_collections': gc.get_stats()[2]['collections'], 'threshold': gc.get_threshold()}))\n"
    )
    assert result["enabled"] is True
    assert isinstance(result["frozen"], int) and result["frozen"] > 20_000
    assert result["full_collections"] == 0
    assert result["threshold"] == [10_000, 10, 10]


def test_the_collector_still_collects_cycles_after_init() -> None:
    result = _fresh(
        "import gc, json, weakref\n"
        "import functions.gigs\n"
        "class Node:\n"
        "    pass\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"
        "ref = weakref.ref(a)\n"
        "del a, b\n"
        "gc.collect()\n"
        "print(json.dumps({'collected': ref() is None}))\n"
    )
    assert result["collected"] is True


def test_a_collector_disabled_by_the_host_stays_disabled() -> None:
    result = _fresh(
        "import gc, json\ngc.disable()\nimport functions.gigs\nprint(json.dumps({'enabled': gc.isenabled()}))\n"
    )
    assert result["enabled"] is False
