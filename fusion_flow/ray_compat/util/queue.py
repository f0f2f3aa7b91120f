"""``ray.util.queue``: a first-in first-out queue held by an asyncio actor.

The ``Queue`` object is only a handle on that actor, so it can be passed to tasks and actors
and used from any process. Blocking ``get``/``put`` wait inside the actor's event loop, which
keeps serving other calls meanwhile.

``asyncio`` is imported only inside the actor: this module loads with ``ray_compat`` and
should not make every driver pay for asyncio.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable
from typing import Any, Dict, List, Optional

import fusion_flow.ray_compat as ray

__all__ = ["Empty", "Full", "Queue"]


class Empty(queue.Empty):
    """Raised by ``get`` when no item comes (at once, or within the timeout)."""


class Full(queue.Full):
    """Raised by ``put`` when no slot frees up (at once, or within the timeout)."""


def _check_timeout(timeout: Optional[float]) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


def _check_batch_items(items: Any) -> None:
    if not isinstance(items, Iterable):
        raise TypeError("Argument 'items' must be an Iterable")


def _check_num_items(num_items: Any) -> None:
    if not isinstance(num_items, int):
        raise TypeError("Argument 'num_items' must be an int")
    if num_items < 0:
        raise ValueError("'num_items' must be nonnegative")


class Queue:
    """A FIFO queue shared between processes, like ``asyncio.Queue`` with sync and async calls.

    ``maxsize`` <= 0 means unbounded. ``actor_options`` go to the queue actor's
    ``.options(...)`` (resources, name, ...). Items put by one producer come out in order;
    with several producers blocked on a full queue, or several consumers on an empty one,
    the order among them is not guaranteed.
    """

    def __init__(self, maxsize: int = 0, actor_options: Optional[Dict[str, Any]] = None) -> None:
        self.maxsize = maxsize
        self.actor = ray.remote(_QueueActor).options(**(actor_options or {})).remote(maxsize)

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """The number of items in the queue."""
        return ray.get(self.actor.qsize.remote())

    def qsize(self) -> int:
        """The number of items in the queue."""
        return self.size()

    def empty(self) -> bool:
        return ray.get(self.actor.empty.remote())

    def full(self) -> bool:
        return ray.get(self.actor.full.remote())

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Adds ``item``; when full, waits for a slot (up to ``timeout`` seconds if given).

        Raises Full when the queue stays full (at once if ``block`` is false: ``timeout`` is
        then ignored), ValueError for a negative ``timeout``.
        """
        if not block:
            if not ray.get(self.actor.put_nowait.remote(item)):
                raise Full
            return
        _check_timeout(timeout)
        ray.get(self.actor.put.remote(item, timeout))

    async def put_async(
        self, item: Any, block: bool = True, timeout: Optional[float] = None
    ) -> None:
        """``put`` for coroutines: awaits the actor instead of blocking the thread."""
        if not block:
            if not await self.actor.put_nowait.remote(item):
                raise Full
            return
        _check_timeout(timeout)
        await self.actor.put.remote(item, timeout)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Removes and returns the oldest item; when empty, waits (up to ``timeout`` seconds).

        Raises Empty when no item comes (at once if ``block`` is false: ``timeout`` is then
        ignored), ValueError for a negative ``timeout``.
        """
        if not block:
            found, item = ray.get(self.actor.get_nowait.remote())
            if not found:
                raise Empty
            return item
        _check_timeout(timeout)
        return ray.get(self.actor.get.remote(timeout))

    async def get_async(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """``get`` for coroutines: awaits the actor instead of blocking the thread."""
        if not block:
            found, item = await self.actor.get_nowait.remote()
            if not found:
                raise Empty
            return item
        _check_timeout(timeout)
        return await self.actor.get.remote(timeout)

    def put_nowait(self, item: Any) -> None:
        """``put(item, block=False)``."""
        return self.put(item, block=False)

    def put_nowait_batch(self, items: Iterable) -> None:
        """Adds all ``items`` in order, or none of them (Full) if they do not all fit."""
        _check_batch_items(items)
        ray.get(self.actor.put_nowait_batch.remote(items))

    def get_nowait(self) -> Any:
        """``get(block=False)``."""
        return self.get(block=False)

    def get_nowait_batch(self, num_items: int) -> List[Any]:
        """The ``num_items`` oldest items, removed; none (Empty) if fewer are there."""
        _check_num_items(num_items)
        return ray.get(self.actor.get_nowait_batch.remote(num_items))

    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        """Ends the queue actor; the queue is unusable afterwards.

        Without ``force`` the actor is asked to exit and killed if it has not within
        ``grace_period_s`` seconds. A second call does nothing.
        """
        if self.actor is not None:
            if force:
                ray.kill(self.actor, no_restart=True)
            else:
                exited = self.actor.__ray_terminate__.remote()
                _, not_done = ray.wait([exited], timeout=grace_period_s)
                if not_done:
                    ray.kill(self.actor, no_restart=True)
        # As in Ray, later calls then fail with AttributeError on None.
        self.actor = None


class _QueueActor:
    """The queue's state, run as an async actor (every method is a coroutine).

    Making every method async means the actor needs only one guarantee from the runtime:
    its coroutines run interleaved on one event loop. The non-blocking calls report "full" or
    "empty" as a flag rather than an exception, so the caller raises a plain Full/Empty as
    Ray does.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._queue: Any = None

    def _items(self) -> Any:
        # Made on first use, inside the actor's running loop (on Python 3.9 an asyncio.Queue
        # binds to the current loop when it is constructed).
        if self._queue is None:
            import asyncio

            self._queue = asyncio.Queue(self.maxsize)
        return self._queue

    async def qsize(self) -> int:
        return self._items().qsize()

    async def empty(self) -> bool:
        return self._items().empty()

    async def full(self) -> bool:
        return self._items().full()

    async def put(self, item: Any, timeout: Optional[float] = None) -> None:
        import asyncio

        try:
            await asyncio.wait_for(self._items().put(item), timeout)
        except asyncio.TimeoutError:
            raise Full from None

    async def get(self, timeout: Optional[float] = None) -> Any:
        import asyncio

        try:
            return await asyncio.wait_for(self._items().get(), timeout)
        except asyncio.TimeoutError:
            raise Empty from None

    async def put_nowait(self, item: Any) -> bool:
        """Whether ``item`` was added (False: the queue is full)."""
        items = self._items()
        if items.full():
            return False
        items.put_nowait(item)
        return True

    async def get_nowait(self) -> tuple:
        """``(True, item)``, or ``(False, None)`` when the queue is empty."""
        items = self._items()
        if items.empty():
            return False, None
        return True, items.get_nowait()

    async def put_nowait_batch(self, items: Any) -> None:
        queue_ = self._items()
        if self.maxsize > 0 and len(items) + queue_.qsize() > self.maxsize:
            raise Full(
                f"Cannot add {len(items)} items to queue of size {queue_.qsize()} "
                f"and maxsize {self.maxsize}."
            )
        for item in items:
            queue_.put_nowait(item)

    async def get_nowait_batch(self, num_items: int) -> List[Any]:
        queue_ = self._items()
        if num_items > queue_.qsize():
            raise Empty(f"Cannot get {num_items} items from queue of size {queue_.qsize()}.")
        return [queue_.get_nowait() for _ in range(num_items)]
