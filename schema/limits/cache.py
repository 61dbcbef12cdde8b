"""A least-recently-used cache bounded by the bytes of its keys, not by its number of entries.

Documents are cached by their text: 512 entries of any size could pin hundreds of
megabytes (a parsed document takes up to ~100 times its text). Weighing each entry by
its text's length bounds what the cache keeps, whatever the documents' sizes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class ByteBoundedCache(Generic[Value]):
    def __init__(self, max_bytes: int, on_evict: Callable[[str, Value], None] | None = None) -> None:
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self._entries: OrderedDict[str, Value] = OrderedDict()
        # Told of every entry pushed out, so indexes into the cache can forget it too.
        self._on_evict = on_evict
        # Lookups since start, for the metrics (app/http/metrics.py): plain ints, no lock needed
        # on one event loop.
        self.lookups = {"hit": 0, "miss": 0}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
            self.lookups["hit"] += 1
        else:
            self.lookups["miss"] += 1
        return value

    def put(self, key: str, value: Value) -> None:
        weight = len(key)
        if weight > self.max_bytes:
            return  # it would push out everything else and still not fit
        if key in self._entries:
            self._entries.move_to_end(key)
            self._entries[key] = value
            return
        self._entries[key] = value
        self.size_bytes += weight
        while self.size_bytes > self.max_bytes:
            evicted, value = self._entries.popitem(last=False)
            self.size_bytes -= len(evicted)
            if self._on_evict is not None:
                self._on_evict(evicted, value)
