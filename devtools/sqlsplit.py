"""Split a SQL file into statements the way psql does, so each one can run (and fail) on its own.

psycopg sends a query through the extended protocol, which takes one statement at a time; running
them one by one also tells us which statement, and so which line, a failure came from.
"""

from __future__ import annotations

import re

_IDENT_CHARS = r"A-Za-z0-9_\u0080-\U0010ffff"
_WORD = re.compile(rf"[A-Za-z_\u0080-\U0010ffff][{_IDENT_CHARS}$]*")
_DOLLAR_DELIMITER = re.compile(rf"\$(?:[A-Za-z_\u0080-\U0010ffff][{_IDENT_CHARS}]*)?\$")
_ROUTINE_HEADS = (("create", "function"), ("create", "procedure"))
_ROUTINE_HEADS_OR_REPLACE = (
    ("create", "or", "replace", "function"),
    ("create", "or", "replace", "procedure"),
)


def _skip_block_comment(sql: str, i: int) -> int:
    # PostgreSQL block comments nest.
    depth = 0
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_quoted(sql: str, i: int, quote: str, *, backslash: bool) -> int:
    """From the opening quote at i to just past the closing one; a doubled quote is an escape."""
    i += 1
    n = len(sql)
    while i < n:
        c = sql[i]
        if backslash and c == "\\":
            i += 2
        elif c == quote:
            if sql.startswith(quote, i + 1):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _is_routine(words: list[str]) -> bool:
    return tuple(words[:2]) in _ROUTINE_HEADS or tuple(words[:4]) in _ROUTINE_HEADS_OR_REPLACE


def split_statements(sql: str) -> list[tuple[int, str]]:
    """(1-based line where the statement starts, its text without comments around it or the ';')."""
    statements: list[tuple[int, str]] = []
    n = len(sql)
    i = 0
    start: int | None = None  # first character of the current statement's first token
    end = 0  # just past its last token
    words: list[str] = []  # its leading words, lower case, to recognise CREATE FUNCTION
    parens = 0
    # SQL-standard bodies (BEGIN ATOMIC ... END) hold semicolons outside any quotes; psql tracks
    # BEGIN/CASE/END at parenthesis depth 0 inside CREATE FUNCTION/PROCEDURE, and so do we.
    atomic_depth = 0

    def finish() -> None:
        nonlocal start, words, parens, atomic_depth
        if start is not None:
            statements.append((sql.count("\n", 0, start) + 1, sql[start:end]))
        start, words, parens, atomic_depth = None, [], 0, 0

    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
            continue
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
            continue
        if c == ";" and atomic_depth == 0:
            finish()
            i += 1
            continue
        token_start = i
        if c == "'":
            i = _skip_quoted(sql, i, "'", backslash=False)
        elif c == '"':
            i = _skip_quoted(sql, i, '"', backslash=False)
        elif c == "$":
            delimiter = _DOLLAR_DELIMITER.match(sql, i)
            if delimiter is None:
                i += 1  # a parameter such as $1
            else:
                close = sql.find(delimiter.group(), delimiter.end())
                i = n if close < 0 else close + len(delimiter.group())
        elif (word := _WORD.match(sql, i)) is not None:
            text = word.group()
            i = word.end()
            if text in ("E", "e") and sql.startswith("'", i):
                i = _skip_quoted(sql, i, "'", backslash=True)
            else:
                lowered = text.lower()
                if len(words) < 4:
                    words.append(lowered)
                if parens == 0 and _is_routine(words):
                    if lowered == "begin" or (lowered == "case" and atomic_depth > 0):
                        atomic_depth += 1
                    elif lowered == "end" and atomic_depth > 0:
                        atomic_depth -= 1
        else:
            if c == "(":
                parens += 1
            elif c == ")":
                parens = max(parens - 1, 0)
            i += 1
        if start is None:
            start = token_start
        end = i
    finish()
    return statements
