"""Password and account-field rules shared by sign-up, password updates and the admin console."""

from __future__ import annotations

import asyncio
import re

import bcrypt

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything past 72 bytes: refuse rather than silently truncate
USERNAME_RE = re.compile(r"^[a-z0-9_]{3,30}$")  # the same rule as profile usernames
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A fixed hash to check against when the email is unknown, so timing does not tell accounts apart.
_DUMMY_HASH = b"$2b$10$buE5np.IMLHn.iQ/AEqXgOC1zGX1pUw669IeaP9H2aesCZINnBOBW"


def password_problems(password: str) -> list[str]:
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"Use at least {MIN_PASSWORD_CHARS} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        problems.append(f"Use at most {MAX_PASSWORD_BYTES} bytes")
    classes = sum(bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))
    if password and classes < 2:
        problems.append("Mix at least two of: lower case, upper case, digits, symbols")
    return problems


def check_password(password: str) -> str:
    """A pydantic validator body: raises ValueError with every problem at once."""
    problems = password_problems(password)
    if problems:
        raise ValueError("; ".join(problems))
    return password


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ValueError("Enter a valid email address")
    return email


def check_username(value: str) -> str:
    if not USERNAME_RE.match(value):
        raise ValueError("Use 3 to 30 lower-case letters, digits or underscores")
    return value


async def hash_password(password: str) -> str:
    # bcrypt is deliberately slow: keep it off the event loop.
    hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode("utf-8"), bcrypt.gensalt(rounds=10))
    return hashed.decode("ascii")


async def verify_password(password: str, hashed: str | None) -> bool:
    target = hashed.encode("ascii") if hashed else _DUMMY_HASH
    try:
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode("utf-8"), target)
    except ValueError:
        return False
    return ok and hashed is not None
