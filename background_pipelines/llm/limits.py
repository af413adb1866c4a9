"""Optional requests-per-minute and tokens-per-minute limits: sliding 60-second windows that make
a caller wait until the request (and its estimated tokens) fit. A gateway keeps its windows across
runs, so back-to-back batches share one budget per minute."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class MinuteWindow:
    """At most `limit` units in any 60 s window; `acquire(n)` waits until n more units fit."""

    def __init__(self, limit: int, window: float = 60.0):
        if limit <= 0:
            raise ValueError(f"a per-minute limit must be > 0, got {limit}")
        self.limit = limit
        self.window = window
        self._events: deque[tuple[float, int]] = deque()
        self._used = 0
        self._lock: asyncio.Lock | None = None
        self._loop = None

    def _lock_for_this_loop(self) -> asyncio.Lock:
        # the window outlives one gw.run (each may run its own event loop); an asyncio.Lock cannot
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - self.window:
            self._used -= self._events.popleft()[1]

    async def acquire(self, units: int = 1) -> None:
        units = min(max(units, 1), self.limit)  # one request bigger than the window still goes, alone
        async with self._lock_for_this_loop():  # FIFO: waiters queue behind the lock instead of starving
            while True:
                now = time.monotonic()
                self._expire(now)
                if self._used + units <= self.limit:
                    self._events.append((now, units))
                    self._used += units
                    return
                await asyncio.sleep(max(self._events[0][0] + self.window - now, 0.01))
