"""Where the project's database files live, resolved from this checkout rather than the cwd."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
SUPABASE_DIR: Path = PROJECT_ROOT / "supabase"
MIGRATIONS_DIR: Path = SUPABASE_DIR / "migrations"
POLICIES_DIR: Path = SUPABASE_DIR / "policies"
LOCAL_BOOTSTRAP_DIR: Path = SUPABASE_DIR / "local"
SEED_FILE: Path = SUPABASE_DIR / "seed.sql"
