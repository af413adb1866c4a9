"""Lore documents in: read and check a file (markdown or text, UTF-8, not empty, not binary), cut it
into chunks at paragraph and sentence boundaries, and store it per character. A changed document's
old contributions (its facts and the relations folded from them) are replaced, never duplicated."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from background_pipelines.store import lore as lore_store
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow

SUFFIXES = (".md", ".markdown", ".txt", ".text")
DEFAULT_CHUNK_CHARS = 2000
MAX_BYTES = 20 * 1024 * 1024  # one document; a larger file is refused, not truncated


class LoreError(ValueError):
    """A lore file or character that cannot be used; the message names the file (and line) or character."""


@dataclass
class AddResult:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    facts_replaced: int = 0
    characters: set[str] = field(default_factory=set)  # whose graph must be recomputed (changed documents)


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_document(path: str | Path) -> str:
    """The text of a lore file, or LoreError naming the file, line and problem."""
    p = Path(path)
    if not p.exists():
        raise LoreError(f"{p}: no such file")
    if not p.is_file():
        raise LoreError(f"{p}: not a file")
    if p.suffix.lower() not in SUFFIXES:
        raise LoreError(f"{p}: not a markdown or text file (expected one of {', '.join(SUFFIXES)})")
    data = p.read_bytes()
    if len(data) > MAX_BYTES:
        raise LoreError(f"{p}: {len(data):,} bytes, more than the {MAX_BYTES:,} a lore document may hold; split it")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise LoreError(f"{p}:{_line(data, nul)}: binary file (NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoreError(f"{p}:{_line(data, exc.start)}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    if not text.strip():
        raise LoreError(f"{p}: empty (no text to digest)")
    return text.replace("\r\n", "\n")


_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """[start, end) cut at sentence ends (hard cuts only inside a sentence longer than `size`)."""
    if end - start <= size:
        return [(start, end)]
    cuts = [m.end() + start for m in _SENTENCE_END.finditer(text[start:end])]
    out, s = [], start
    for c in cuts + [end]:
        while c - s > size:  # one sentence longer than a chunk
            out.append((s, s + size))
            s += size
        if c > s:
            out.append((s, c))
            s = c
    return out


def chunk_text(text: str, size: int = DEFAULT_CHUNK_CHARS) -> list[tuple[int, int]]:
    """Chunks [start, end) of at most `size` characters, packing whole paragraphs (a paragraph longer
    than `size` is cut at sentence ends). A function of the text and size only, so a document is cut
    the same way however many runs digest it."""
    if size < 100:
        raise LoreError(f"chunk size {size}: expected at least 100 characters")
    paragraphs, pos = [], 0
    for m in _PARAGRAPH.finditer(text):
        paragraphs.append((pos, m.start()))
        pos = m.end()
    paragraphs.append((pos, len(text)))
    pieces = [p for s, e in paragraphs if text[s:e].strip() for p in _pieces(text, s, e, size)]
    chunks: list[tuple[int, int]] = []
    for s, e in pieces:
        if chunks and e - chunks[-1][0] <= size:
            chunks[-1] = (chunks[-1][0], e)
        else:
            chunks.append((s, e))
    return chunks


def add_documents(
    store: Store, paths: Sequence[str | Path], character: str, *, chunk_chars: int = DEFAULT_CHUNK_CHARS
) -> AddResult:
    """Store `paths` as `character`'s lore, all or nothing: every file is read and checked before
    anything is written. A document is keyed by (character, file name); the same text again changes
    nothing; a new text is a new revision whose old facts are deleted here (the caller recomputes the
    character's graph) and whose chunks the digest takes from the start."""
    character = (character or "").strip()
    if not character:
        raise LoreError("a character is required (--character NAME)")
    known = lore_store.known_characters(store)
    if character not in known:
        hint = ", ".join(sorted(known)[:10]) or "none yet"
        raise LoreError(f"unknown character {character!r} (known: {hint}); add it first with `bgp characters set {character}`")
    if not paths:
        raise LoreError("no file given")
    docs = []
    for p in paths:
        text = read_document(p)
        docs.append((Path(p).name, text, chunk_text(text, chunk_chars)))
    names = [n for n, _, _ in docs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise LoreError(f"two files named {dup[0]!r}: a document is keyed by its file name per character")
    result = AddResult()
    now = utcnow()
    with store.begin() as conn:
        for name, text, chunks in docs:
            sha = hashlib.sha256(text.encode()).hexdigest()
            row = dict(text=text, sha256=sha, chunk_chars=chunk_chars, chunks=[list(c) for c in chunks], cursor=0,
                       status="pending", added_at=now, digested_at=None)
            old = lore_store.document(conn, character, name)
            if old is None:
                lore_store.insert_document(conn, dict(row, character=character, name=name, revision=1))
                result.added.append(name)
            elif old["sha256"] == sha and old["chunk_chars"] == chunk_chars:
                result.unchanged.append(name)
            else:
                result.facts_replaced += len(lore_store.drop_contributions(conn, old["id"]))
                lore_store.replace_document(conn, old["id"], revision=old["revision"] + 1, **row)
                result.changed.append(name)
                result.characters.add(character)
    return result
