"""A one-slot mailbox between the subscription callback and the processing thread.

The network is slower than many cameras.  A queue would then grow and every
result would come later and later; instead the callback only replaces the
newest message here and the worker always takes the newest one, so latency
stays bounded by one processing time and the frames skipped are counted.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

Item = TypeVar("Item")


class LatestSlot(Generic[Item]):
    """Holds at most one item; a newer ``put`` replaces (drops) an item nobody took yet."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._item: Item | None = None
        self._closed = False

    def put(self, item: Item) -> bool:
        """Store ``item`` as the newest; returns True when it replaced one that was never taken (a drop)."""
        with self._condition:
            replaced = self._item is not None
            self._item = item
            self._condition.notify()
            return replaced

    def take(self) -> Item | None:
        """Wait for the newest item and remove it; ``None`` once the slot is closed."""
        with self._condition:
            while self._item is None and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the waiting worker and make every later ``take`` return ``None``."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
