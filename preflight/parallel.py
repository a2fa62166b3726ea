"""An in-order map on a bounded thread pool, shared by the batch runner (targets) and the
rule engine (the files of one spec)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """``map(fn, items)`` on `jobs` threads, yielding results in input order.

    At most ``2 * jobs`` results are in flight or waiting, so a slow first item holds back
    memory, not work. With ``jobs == 1`` it runs in the calling thread. An exception raised by
    `fn` is re-raised here, in order.
    """
    if jobs <= 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    window: deque[Future[R]] = deque()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="preflight") as pool:
        try:
            for item in items:
                window.append(pool.submit(fn, item))
                if len(window) >= 2 * jobs:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for fut in window:
                fut.cancel()
