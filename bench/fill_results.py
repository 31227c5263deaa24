"""Fills the getGigs figures of bench/RESULTS.md from a bench JSON (bench/out/full.json by default)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# The per-query lines: "  getGigs {...}: anon p50 X ms, total N" from the run's stderr log.
_LINE = re.compile(r"getGigs (\{.*\}): anon p50 ([0-9.]+) ms, total (\d+)")


def main() -> None:
    results = json.loads(Path(sys.argv[1]).read_text())
    log = Path(sys.argv[2]).read_text()
    target = Path(__file__).parent / "RESULTS.md"
    g = results["benchmarks"]["gigs"]
    per_query = "; ".join(f"`{q}` {ms} ms ({n} matches)" for q, ms, n in _LINE.findall(log))
    text = target.read_text()
    text = re.sub(
        r"\| getGigs, 16-query mix, anon \| [^|]* \|",
        f"| getGigs, 16-query mix, anon | {g['anon']['p50_ms']} / {g['anon']['p95_ms']} ms (p50 / p95) |",
        text,
    )
    text = re.sub(
        r"\| getGigs RLS cost, anon / owner \(p50\) \| [^|]* \|",
        f"| getGigs RLS cost, anon / owner (p50) | {g['rls_ratio_anon_p50']} |",
        text,
    )
    text = re.sub(
        r"\| getGigs RLS cost, user / owner \(p50\); heavy poster \| [^|]* \|",
        "| getGigs RLS cost, user / owner (p50); heavy poster | "
        f"{g['rls_ratio_user_p50']}; {g['rls_ratio_heavy_poster_p50']} |",
        text,
    )
    text = re.sub(r"Per-query p50 \(anon\) at 1M gigs: .*\n", f"Per-query p50 (anon) at 1M gigs: {per_query}.\n", text)
    target.write_text(text)


if __name__ == "__main__":
    main()
