"""Installs the runtime dependencies serverless.yml packages with the code: manylinux wheels for the
Lambda python3.12 x86_64 runtime, under .ugig/lambda-deps (functions/__init__.py puts that folder on
sys.path inside Lambda).

Why not a Lambda layer: packaging a layer makes the Serverless Framework ask CloudFormation for the
last deployed layer, so `serverless package` would need AWS; this way it packages offline.

Needs PyPI the first time; a stamp (hash of the dependency list and the target platform) makes
later runs a no-op until pyproject.toml's dependencies change. Run before `serverless package`:

    .venv/bin/python scripts/build_lambda_deps.py [--target DIR] [--force]

It also compiles the bytecode Lambda would otherwise compile on every cold start (its task folder is
read-only, so nothing compiled there is kept): with the runtime's own CPython (python3.12 on PATH or
under pyenv), as cpython-312 .pyc files that serverless.yml packages. Dependencies are compiled as
`unchecked-hash` (the folder is only ever replaced whole); our code (functions/, shared/) as
`checked-hash`, so a file edited after this ran is recompiled in memory rather than run stale (zip
timestamps are too coarse for the default timestamp check). No python3.12: the package still works,
and compiles at import as before.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET = ROOT / ".ugig" / "lambda-deps"
PYTHON_VERSION = "3.12"
# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 and manylinux_2_28 wheels run there.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
# Not needed at run time, and large.
PRUNE = ("__pycache__", "tests", "test")
# Our code, as serverless.yml packages it.
SOURCES = ("functions", "shared")


def runtime_python() -> str | None:
    """The Lambda runtime's CPython on this machine, if there is one."""
    name = f"python{PYTHON_VERSION}"
    candidates = [
        shutil.which(name),
        *sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}*/bin/{name}")),
    ]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "0"], capture_output=True, check=False).returncode == 0:  # noqa: S603
            return candidate
    return None


def compile_bytecode(paths: Sequence[Path], *, invalidation: str, python: str | None = None) -> bool:
    """cpython-312 .pyc files beside these trees' sources; False when there is no python3.12 to do it."""
    python = python or runtime_python()
    if python is None:
        print(f"build_lambda_deps: no python{PYTHON_VERSION} found; the package ships sources only", file=sys.stderr)
        return False
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", invalidation, *map(str, paths)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 (our own fixed argument list)
    return True


def compile_sources(root: Path = ROOT) -> bool:
    """Our code's bytecode, compiled on every run (cheap): the sources change between packagings."""
    return compile_bytecode([root / name for name in SOURCES], invalidation="checked-hash")


def runtime_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return sorted(str(dep) for dep in project["dependencies"])


def stamp_for(deps: list[str], compiled: bool) -> str:
    payload = json.dumps(
        {"deps": deps, "python": PYTHON_VERSION, "platforms": PLATFORMS, "compiled": compiled}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _prune(site: Path) -> None:
    for name in PRUNE:
        for found in sorted(site.rglob(name), reverse=True):
            # Only package-internal folders: top-level distributions named like these stay.
            if found.is_dir() and found.parent != site:
                shutil.rmtree(found, ignore_errors=True)


def build(target: Path = DEFAULT_TARGET, *, force: bool = False) -> Path:
    deps = runtime_dependencies()
    python = runtime_python()
    stamp = stamp_for(deps, compiled=python is not None)
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
    compile_bytecode([site], invalidation="unchecked-hash", python=python)
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
    compile_sources()
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
