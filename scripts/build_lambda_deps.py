"""Installs the runtime dependencies serverless.yml packages with the code: manylinux wheels for the
Lambda python3.12 x86_64 runtime, under .ugig/lambda-deps (functions/__init__.py puts that folder on
sys.path inside Lambda).

Why not a Lambda layer: packaging a layer makes the Serverless Framework ask CloudFormation for the
last deployed layer, so `serverless package` would need AWS; this way it packages offline.

Needs PyPI the first time; a stamp (hash of the dependency list and the target platform) makes
later runs a no-op until pyproject.toml's dependencies change. Run before `serverless package`:

    .venv/bin/python scripts/build_lambda_deps.py [--target DIR] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET = ROOT / ".ugig" / "lambda-deps"
PYTHON_VERSION = "3.12"
# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 and manylinux_2_28 wheels run there.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
# Not needed at run time, and large.
PRUNE = ("__pycache__", "tests", "test")


def runtime_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return sorted(str(dep) for dep in project["dependencies"])


def stamp_for(deps: list[str]) -> str:
    payload = json.dumps({"deps": deps, "python": PYTHON_VERSION, "platforms": PLATFORMS}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _prune(site: Path) -> None:
    for name in PRUNE:
        for found in sorted(site.rglob(name), reverse=True):
            # Only package-internal folders: top-level distributions named like these stay.
            if found.is_dir() and found.parent != site:
                shutil.rmtree(found, ignore_errors=True)


def build(target: Path = DEFAULT_TARGET, *, force: bool = False) -> Path:
    deps = runtime_dependencies()
    stamp = stamp_for(deps)
    stamp_file = target / ".stamp"
    if not force and stamp_file.exists() and stamp_file.read_text() == stamp:
        return target
    staging = target.with_name(target.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    site = staging
    site.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += [f"--platform={p}" for p in PLATFORMS]
    command += ["--implementation=cp", f"--python-version={PYTHON_VERSION}", "--only-binary=:all:"]
    command += ["--target", str(site), *deps]
    subprocess.run(command, check=True)  # noqa: S603 (our own fixed argument list)
    _prune(site)
    (staging / ".stamp").write_text(stamp)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    args = parser.parse_args(argv)
    path = build(args.target, force=args.force)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
