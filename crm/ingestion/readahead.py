"""Running an iterator a few items ahead in a thread, so parsing overlaps database writes.

The CSV door spends its time in two places: Python parsing rows, and PostgreSQL inserting
them. psycopg releases the GIL while it waits for the server, so parsing the next batch in
a thread while the current one is written uses both cores. The producer never touches the
database (it has no connection of its own, and must not).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

# Two parsed batches waiting is enough to keep the writer busy; more only costs memory.
READ_AHEAD_ITEMS = 2
_POLL_SECONDS = 0.1
_ITEM, _DONE, _FAILED = range(3)


def read_ahead(items: Iterator[T], *, depth: int = READ_AHEAD_ITEMS) -> Generator[T, None, None]:
    """Yield what `items` yields, computing up to `depth` items ahead in a thread.

    An exception raised by `items` is raised here, in the consumer. When the consumer stops
    early the producer stops after its current item.
    """
    slots: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[int, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((_ITEM, item)):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((_FAILED, exc))
            return
        put((_DONE, None))

    worker = threading.Thread(target=produce, name="ingest-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == _DONE:
                return
            if kind == _FAILED:
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
