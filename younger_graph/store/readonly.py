"""What "read-only" means for Cypher text: an allow-list of statement kinds, checked before execution.

LadybugDB's own read-only mode (a database opened `read_only=True`) refuses writes to the database,
but not statements that touch the machine around it: `COPY (...) TO 'file'` writes a file,
`EXPORT DATABASE` a folder, `LOAD FROM '/etc/shadow'` reads any local file, `INSTALL`/`LOAD`
extensions, `ATTACH` other databases, `CALL threads=...` changes settings. So every statement the
embedded store runs without `write=True` is first read here, whatever the database's mode:

- the text is split into tokens the way the engine's lexer does (strings with backslash escapes,
  backtick names with doubled backticks, `//` and `/* */` comments, any Unicode whitespace), so a
  keyword hidden in a string is ignored and one hidden behind an escaped quote is found;
- each `;`-separated statement must start with a reading clause (MATCH, OPTIONAL MATCH, UNWIND,
  WITH, RETURN, CALL, or EXPLAIN/PROFILE before one of them);
- no clause anywhere may write or reach outside the database (CREATE, MERGE, SET, DELETE, REMOVE,
  DROP, ALTER, COPY, LOAD, EXPORT, IMPORT, INSTALL, ATTACH, USE, transactions, ...), whatever
  precedes it;
- CALL may only name a read-only procedure of READ_PROCEDURES, called with parentheses.

A word is a keyword only where the engine reads one: not after `.` (a property), `:` (a label or
type) or `$` (a parameter), and not in backticks. The check refuses with a `StoreError` of kind
`READ_ONLY`; a false alarm (a variable named like a clause) can be written in backticks. On Neo4j
the READ sessions refuse writes on the server, but not `LOAD CSV` or procedures that load, import
or export: `check_neo4j_read` refuses those.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from younger_graph.errors import StoreError, StoreErrorKind

READ_STARTS = frozenset({"MATCH", "OPTIONAL", "UNWIND", "WITH", "RETURN", "CALL"})
PREFIXES = frozenset({"EXPLAIN", "PROFILE"})
SIDE_EFFECTS = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "COPY", "LOAD", "EXPORT", "IMPORT",
    "INSTALL", "UNINSTALL", "ATTACH", "USE", "BEGIN", "COMMIT", "ROLLBACK", "CHECKPOINT", "FOREACH", "UPDATE",
    "TRUNCATE", "RENAME", "COMMENT",
})
READ_PROCEDURES = frozenset({
    "TABLE_INFO", "SHOW_TABLES", "CURRENT_SETTING", "DB_VERSION", "SHOW_FUNCTIONS", "SHOW_CONNECTION",
    "SHOW_WARNINGS", "SHOW_INDEXES", "SHOW_SEQUENCES", "SHOW_MACROS", "SHOW_ATTACHED_DATABASES",
})

WORD, NAME, STRING, NUMBER, PARAM, PUNCT = "word", "name", "string", "number", "param", "punct"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # words upper-cased; other tokens as written


def refuse(why: str) -> StoreError:
    return StoreError(f"a read-only query cannot {why}", StoreErrorKind.READ_ONLY)


def tokens(text: str) -> Iterator[Token]:
    """Cypher tokens, skipping whitespace and comments. An unterminated string, name or comment runs
    to the end of the text (the engine refuses such a statement; nothing after it can hide here)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            yield Token(STRING, text[i:j + 1])
            i = j + 1
        elif c == "`":
            j = i + 1
            while j < n:
                if text[j] == "`":
                    if text.startswith("``", j):  # a doubled backtick is one backtick of the name
                        j += 2
                        continue
                    break
                j += 1
            yield Token(NAME, text[i:j + 1])
            i = j + 1
        elif c.isalpha() or c == "_":
            j = _word_end(text, i)
            yield Token(WORD, text[i:j].upper())
            i = j
        elif c.isdigit():
            j = _word_end(text, i)
            yield Token(NUMBER, text[i:j])
            i = j
        elif c == "$":
            j = _word_end(text, i + 1)
            yield Token(PARAM, text[i:j])
            i = j
        else:
            yield Token(PUNCT, c)
            i += 1


def _word_end(text: str, i: int) -> int:
    while i < len(text) and (text[i].isalnum() or text[i] == "_"):
        i += 1
    return i


def statements(text: str) -> list[list[Token]]:
    """Tokens per `;`-separated statement (empty statements dropped)."""
    out: list[list[Token]] = [[]]
    for token in tokens(text):
        if token.kind == PUNCT and token.text == ";":
            out.append([])
        else:
            out[-1].append(token)
    return [s for s in out if s]


def check_read_only(text: str) -> None:
    """Raise StoreError(READ_ONLY) unless every statement of `text` only reads (module docstring)."""
    for statement in statements(text):
        _check_statement(statement)


def _check_statement(statement: list[Token]) -> None:
    start = 0
    while start < len(statement) and statement[start].kind == WORD and statement[start].text in PREFIXES:
        start += 1
    if start == len(statement) or statement[start].kind != WORD or statement[start].text not in READ_STARTS:
        first = statement[min(start, len(statement) - 1)].text
        raise refuse(f"start with {first!r} (it must start with MATCH, OPTIONAL MATCH, UNWIND, WITH, RETURN or CALL)")
    previous: Token | None = None
    for k, token in enumerate(statement):
        if token.kind == WORD and not _is_name_position(previous):
            if token.text in SIDE_EFFECTS:
                raise refuse(f"use {token.text}")
            if token.text == "CALL":
                _check_call(statement[k + 1:k + 3])
        previous = token


def check_neo4j_read(text: str) -> None:
    """Neo4j's READ sessions refuse writes on the server, but a read may still reach files and the
    network: `LOAD CSV` reads the server's import folder and any URL, and procedures that load, import
    or export (APOC's `apoc.load.*`, GDS's `gds.graph.export.csv`...) do the same. Refused before the
    text is sent, with the same StoreError(READ_ONLY) as on the embedded store."""
    for statement in statements(text):
        previous: Token | None = None
        for k, token in enumerate(statement):
            if token.kind == WORD and not _is_name_position(previous):
                if token.text == "LOAD":
                    raise refuse("use LOAD CSV (it reads files and URLs from the server)")
                if token.text == "CALL":
                    name = _dotted_name(statement[k + 1:])
                    if any(part in FILE_PROCEDURE_PARTS for part in name.split(".")):
                        raise refuse(f"CALL {name.lower()} (it reaches files or URLs)")
            previous = token


FILE_PROCEDURE_PARTS = frozenset({"LOAD", "IMPORT", "EXPORT"})


def _dotted_name(following: list[Token]) -> str:
    """The procedure name after CALL (`a.b.c`, backticked parts included), upper-cased."""
    parts: list[str] = []
    for token in following:
        if token.kind in (WORD, NAME) and (not parts or parts[-1] == "."):
            parts.append(token.text.strip("`").upper())
        elif token.kind == PUNCT and token.text == "." and parts and parts[-1] != ".":
            parts.append(".")
        else:
            break
    return "".join(parts)


def _is_name_position(previous: Token | None) -> bool:
    """After `.` a word is a property, after `:` a label or relationship type."""
    return previous is not None and previous.kind == PUNCT and previous.text in ".:"


def _check_call(following: list[Token]) -> None:
    if not following or following[0].kind != WORD or following[0].text not in READ_PROCEDURES:
        name = following[0].text if following else "nothing"
        raise refuse(f"CALL {name} (read-only calls: {', '.join(sorted(p.lower() for p in READ_PROCEDURES))})")
    if len(following) < 2 or following[1].text != "(":
        raise refuse(f"CALL {following[0].text.lower()} without parentheses")
