"""The turn-vector cache of recall's vector mode: per (store, model, channel), the float32 matrix of the
channel's turn vectors with their ids, speakers, platforms and times, held in this process so a question
dots against memory instead of reading and decoding every vector of the conversation from the store.

Kept true to the store on every question, for a few index reads:
- a channel's (message count, highest id), read from ix_messages_channel_author without touching rows,
  is compared with the block's: new turns (ids above the block's) are read and appended; any other
  change (a delete, a forget, a late commit below the high-water) reloads the channel;
- turns that had no vector when read are looked up again until their vector arrives;
- each question's read also re-checks the 4 longest-unchecked other blocks and drops those that changed,
  so a forgotten user's conversation leaves this process's memory even if nobody asks about it again;
- the top hits are re-read from the store and re-scored before they are returned: a turn deleted or
  re-embedded behind the cache's back (SQLite reuses the highest deleted rowid) reloads the blocks and the
  search runs again, so a forgotten message's vector can never rank, nor lend its score to another turn.
Memory is bounded (BGP_RECALL_VECTOR_CACHE_MB, least recently used channels evicted; 0 turns it off).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from background_pipelines.store import search_index

# a channel whose turns mostly have no vector (embedding left to a later run, or another model) is
# looked up again at most this often, so a store without vectors does not pay a probe per question
_PENDING_EVERY_QUESTION = 2_000
_PENDING_RECHECK_S = 5.0
_SWEEP = 4  # blocks outside the question re-checked with its read (see _blocks)
_ROW_OVERHEAD = 8 + 8 + 1 + 8 + 8  # id, time, is-user, author and platform references per turn


@dataclass(frozen=True)
class _Block:
    """One channel's turns with a vector of one model. Arrays are never mutated: an update builds a new
    block, so a question scoring an older block while another thread refreshes stays consistent."""

    ids: np.ndarray  # int64
    is_user: np.ndarray  # bool: author_kind == 'user'
    author: np.ndarray  # object (str)
    platform: np.ndarray  # object (str)
    created: np.ndarray  # datetime64[us], naive UTC
    matrix: np.ndarray  # float32 (n, dim)
    pending: frozenset  # turns of the channel read without a vector of the model (yet)
    count: int  # messages in the channel as read (with and without vectors)
    high: int  # highest message id read
    probed: float  # time.monotonic() of the last pending lookup

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes) + len(self.ids) * _ROW_OVERHEAD + 8 * len(self.pending)


def _times(values: list) -> np.ndarray:
    # SQLite returns DateTime columns as 'YYYY-MM-DD HH:MM:SS.ffffff' strings in raw SQL (numpy parses them),
    # PostgreSQL datetimes
    return np.array(values, dtype="datetime64[us]")


def _block_from(rows: list[tuple], dim: int, *, base: _Block | None = None, count: int, high: int, pending: set[int],
                probed: float) -> _Block:
    """`base` extended by `rows` (TURN_COLUMNS with a vector of `dim` floats)."""
    new = _Block(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        is_user=np.array([r[3] == "user" for r in rows], dtype=bool),
        author=np.array([r[2] for r in rows], dtype=object),
        platform=np.array([r[4] for r in rows], dtype=object),
        created=_times([r[5] for r in rows]),
        matrix=(np.frombuffer(b"".join(bytes(r[6]) for r in rows), dtype="<f4").reshape(len(rows), dim).astype(np.float32)
                if rows else np.zeros((0, dim), dtype=np.float32)),
        pending=frozenset(pending), count=count, high=high, probed=probed,
    )
    if base is None or not len(base.ids):
        return new
    if not rows:
        return _Block(base.ids, base.is_user, base.author, base.platform, base.created, base.matrix, new.pending, count, high, probed)
    return _Block(*(np.concatenate([getattr(base, f), getattr(new, f)]) for f in ("ids", "is_user", "author", "platform", "created", "matrix")),
                  pending=new.pending, count=count, high=high, probed=probed)


def _split(rows, dim: int) -> tuple[list[tuple], set[int]]:
    """(rows with a vector of `dim` floats, ids of rows without a vector). A vector of another dim is
    left out as the uncached search leaves it out, and not looked up again."""
    size = 4 * dim
    ok, pending = [], set()
    for r in rows:
        if r[6] is None:
            pending.add(int(r[0]))
        elif len(r[6]) == size:
            ok.append(r)
    return ok, pending


def dot(matrix: np.ndarray, q: np.ndarray) -> np.ndarray:
    """matrix @ q on this thread: OpenBLAS splits a matrix-vector product over its threads, and on a
    busy host one descheduled thread stalls the other (0.05 to 20 ms for the same 2,500 x 384 product
    on a loaded 2-core machine); numpy's own einsum loop is single-threaded and as fast when idle."""
    return np.einsum("ij,j->i", matrix, q)


def rank(ids: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """[(id, score)] of the `limit` best, score descending then id ascending (equal texts embed equally:
    ties are common and must order the same whichever path scored them)."""
    if not len(ids):
        return []
    if len(ids) > limit:
        cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= cut
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:limit]
    return [(int(ids[i]), float(scores[i])) for i in order]


class TurnVectorCache:
    """The blocks of one store, least recently used first, within `budget` bytes."""

    def __init__(self, budget: int):
        self.budget = budget
        self.blocks: OrderedDict[tuple[str, str], _Block] = OrderedDict()
        self.size = 0
        self.sweep: deque[tuple[str, str]] = deque()  # every block's key once, for the round-robin re-check
        self.lock = threading.Lock()
        self.stats = {"loads": 0, "appends": 0, "reloads": 0, "probes": 0, "stale": 0}

    # -- keeping blocks true to the store -------------------------------------------------------------

    def _put(self, key: tuple[str, str], block: _Block | None) -> None:
        old = self.blocks.pop(key, None)
        if old is not None:
            self.size -= old.nbytes
        if block is not None:
            if old is None:
                self.sweep.append(key)
            self.blocks[key] = block
            self.size += block.nbytes

    def _evict(self, keep: set) -> None:
        for key in list(self.blocks):
            if self.size <= self.budget:
                return
            if key not in keep:
                self._put(key, None)

    def _load(self, conn, channel: str, model: str, dim: int) -> _Block:
        ok, pending = _split(rows := search_index.channel_turn_vectors(conn, channel, model), dim)
        self.stats["loads"] += 1
        return _block_from(ok, dim, count=len(rows), high=max((int(r[0]) for r in rows), default=0), pending=pending,
                           probed=time.monotonic())

    def _fresh(self, conn, channel: str, model: str, dim: int, seen: tuple[int, int]) -> _Block:
        """The channel's block brought up to date with its fingerprint `seen` = (count, highest id)."""
        key = (model, channel)
        block = self.blocks.get(key)
        if block is not None and (block.count, block.high) == seen:
            self.blocks.move_to_end(key)
            return block
        if block is not None and seen[1] > block.high:
            rows = search_index.channel_turn_vectors(conn, channel, model, after_id=block.high)
            if rows and block.count + len(rows) == seen[0]:  # only appended: no delete, no late commit below the high-water
                ok, pending = _split(rows, dim)
                self.stats["appends"] += 1
                block = _block_from(ok, dim, base=block, count=seen[0], high=max(int(r[0]) for r in rows),
                                    pending=set(block.pending) | pending, probed=block.probed)
                self._put(key, block)
                return block
        if block is not None:
            self.stats["reloads"] += 1
        block = self._load(conn, channel, model, dim)
        self._put(key, block)
        return block

    def _probe(self, conn, model: str, dim: int, blocks: dict[str, _Block]) -> dict[str, _Block]:
        """Turns read without a vector whose vector has arrived since, appended to their blocks."""
        now = time.monotonic()
        due = {ch: b for ch, b in blocks.items()
               if b.pending and (len(b.pending) <= _PENDING_EVERY_QUESTION or now - b.probed >= _PENDING_RECHECK_S)}
        if not due:
            return blocks
        self.stats["probes"] += 1
        found: dict[str, list[tuple]] = {}
        for r in search_index.turn_vectors_by_ids(conn, [i for b in due.values() for i in b.pending], model):
            found.setdefault(r[1], []).append(r)
        out = dict(blocks)
        for ch, b in due.items():
            rows = [r for r in found.get(ch, []) if int(r[0]) in b.pending]
            if not rows and len(b.pending) <= _PENDING_EVERY_QUESTION:
                continue
            ok, _ = _split(rows, dim)
            # a vector of another dim is not looked up again: it leaves pending without entering the matrix
            out[ch] = _block_from(ok, dim, base=b, count=b.count, high=b.high, pending=set(b.pending) - {int(r[0]) for r in rows},
                                  probed=now)
            self._put((model, ch), out[ch])
        return out

    def _sweep_keys(self, asked: set[tuple[str, str]]) -> list[tuple[str, str]]:
        """Up to _SWEEP other blocks, longest unchecked first (round robin), to check with this question's read."""
        out: list[tuple[str, str]] = []
        for _ in range(len(self.sweep)):
            if len(out) == _SWEEP:
                break
            key = self.sweep.popleft()
            if key in self.blocks:  # dropped blocks leave the rotation here
                self.sweep.append(key)
                if key not in asked:
                    out.append(key)
        return out

    def _blocks(self, conn, channels, model: str, dim: int) -> dict[str, _Block]:
        asked = {(model, ch) for ch in channels}
        with self.lock:
            others = self._sweep_keys(asked)
        seen = search_index.channel_fingerprints(conn, sorted(set(channels) | {ch for _, ch in others}))
        with self.lock:
            for key in others:  # changed while nobody asked (a forgotten user's conversation): dropped, not reloaded
                b = self.blocks.get(key)
                if b is not None and seen.get(key[1]) != (b.count, b.high):
                    self._put(key, None)
            blocks = {ch: self._fresh(conn, ch, model, dim, seen[ch]) for ch in sorted(set(channels) & set(seen))}
            blocks = self._probe(conn, model, dim, blocks)
            self._evict(keep={(model, ch) for ch in blocks})
            if self.size > self.budget:  # this question's own channels are too big to keep: serve, then drop
                for ch in blocks:
                    self._put((model, ch), None)
        return blocks

    def invalidate(self, channels=None) -> None:
        """Drop the blocks of `channels` (all when None)."""
        with self.lock:
            for key in list(self.blocks):
                if channels is None or key[1] in channels:
                    self._put(key, None)

    # -- the search --------------------------------------------------------------------------------

    def search(self, conn, channels, model: str, dim: int, q: np.ndarray, *, character: str | None, at: datetime | None,
               platform: str | None, limit: int) -> list[tuple[int, float]] | None:
        """[(message id, cosine)] best first over the turns of `channels`, as vectors.search_turns_uncached
        ranks them; None when the store changed under two consecutive reads (the caller reads it directly)."""
        for _ in range(2):
            blocks = self._blocks(conn, channels, model, dim)
            top, cached = _score(blocks, q, character=character, at=at, platform=platform, limit=limit)
            if _verified(conn, top, cached, set(channels), model, character=character, at=at, platform=platform):
                return top
            self.stats["stale"] += 1
            self.invalidate(set(channels))
        return None


def _mask(b: _Block, *, character, at, platform) -> np.ndarray | None:
    mask = None
    if at is not None:
        mask = b.created <= np.datetime64(at, "us")
    if platform:
        mask = (b.platform == platform) if mask is None else mask & (b.platform == platform)
    if character:  # the character's conversation: every user's turns and this character's, no other character's
        who = b.is_user | (b.author == character)
        mask = who if mask is None else mask & who
    return mask


def _score(blocks: dict[str, _Block], q: np.ndarray, *, character, at, platform, limit: int):
    ids, scores, vecs = [], [], {}
    for b in blocks.values():
        if not len(b.ids):
            continue
        mask = _mask(b, character=character, at=at, platform=platform)
        s = dot(b.matrix, q)  # every row, then the mask: selecting rows first would copy the matrix
        i = b.ids
        if mask is not None:
            i, s = i[mask], s[mask]
        if len(i):
            ids.append(i)
            scores.append(s)
            vecs[id(b)] = (b, mask)
    if not ids:
        return [], {}
    top = rank(np.concatenate(ids), np.concatenate(scores), limit)
    want = {i for i, _ in top}
    cached: dict[int, bytes] = {}
    for b, _ in vecs.values():  # the cached bytes of the returned turns, for the verification read
        for pos in np.nonzero(np.isin(b.ids, list(want)))[0]:
            cached[int(b.ids[pos])] = b.matrix[pos].astype("<f4").tobytes()
    return top, cached


def _verified(conn, top, cached: dict[int, bytes], channels: set[str], model: str, *, character, at, platform) -> bool:
    """Whether every returned turn still exists in scope in the store with exactly the cached vector."""
    if not top:
        return True
    rows = {int(r[0]): r for r in search_index.turn_vectors_by_ids(conn, [i for i, _ in top], model)}
    at64 = np.datetime64(at, "us") if at is not None else None
    for i, _ in top:
        r = rows.get(i)
        if r is None or bytes(r[6]) != cached.get(i) or r[1] not in channels:
            return False
        if platform and r[4] != platform:
            return False
        if character and r[3] != "user" and r[2] != character:
            return False
        if at64 is not None and _times([r[5]])[0] > at64:
            return False
    return True


_caches: "weakref.WeakKeyDictionary[object, TurnVectorCache]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(engine, budget_mb: int) -> TurnVectorCache | None:
    """The cache of the store behind `engine` (one per engine: a test's throwaway store does not share
    blocks with the next), or None when the budget is 0."""
    if budget_mb <= 0:
        return None
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = TurnVectorCache(budget_mb * 1024 * 1024)
        cache.budget = budget_mb * 1024 * 1024
        return cache


def clear() -> None:
    """Drop every cache of this process (tests, and a process that wants its memory back)."""
    with _caches_lock:
        for cache in list(_caches.values()):
            cache.invalidate()
