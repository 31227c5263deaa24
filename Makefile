# The README's two commands; scripts/setup.sh installs whatever is missing first.
.PHONY: dev test bench setup

setup:
	bash scripts/setup.sh

dev:
	bash scripts/setup.sh && .venv/bin/ugig dev

test:
	bash scripts/setup.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/pytest

bench:
	bash scripts/setup.sh && .venv/bin/python -m bench
