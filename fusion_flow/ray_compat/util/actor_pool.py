"""``ray.util.ActorPool``: spreads calls over a fixed set of actors, one call per actor at a time.

Behaviour follows Ray 2.60, quirks included: idle actors are taken last-in first-out,
``submit`` queues a call when every actor is busy and runs it as soon as one comes back,
``map`` submits at once as much as the idle actors can take (the rest when results are read),
and after ``get_next_unordered`` has returned a result, ``get_next`` skips every result
submitted before it (ValueError once nothing is left after it, even if those are pending).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

import fusion_flow.ray_compat as ray
from fusion_flow.ray_compat.exceptions import ActorDiedError

_TIMED_OUT = "Timed out waiting for result"


def _key(future: Any) -> Any:
    # ``fn`` may return a list of refs (several returns); a list cannot be a dict key.
    return tuple(future) if isinstance(future, list) else future


class ActorPool:
    """Runs ``fn(actor, value)`` calls on a fixed pool of actors.

    ``fn`` must return the ObjectRef of the call it made (or a list of them); the actor is
    busy until its result has been taken with ``get_next`` or ``get_next_unordered``.
    """

    def __init__(self, actors: list) -> None:
        self._idle: List[Any] = list(actors)
        # Calls in flight: the key of their result -> (submission index, actor).
        self._running: Dict[Any, Tuple[int, Any]] = {}
        # Submission index -> result, for calls in flight.
        self._results: Dict[int, Any] = {}
        self._submitted = 0  # index of the next call to submit
        self._next_in_order = 0  # index of the result get_next returns next
        self._waiting: Deque[Tuple[Callable[[Any, Any], Any], Any]] = deque()

    def map(self, fn: Callable[[Any, Any], Any], values: List[Any]) -> Iterator[Any]:
        """Submits ``fn`` over ``values``; a generator of the results in submission order.

        Results still pending from earlier calls are dropped first (those not ready yet are
        abandoned and their actors count as free again).
        """
        while self.has_next():
            try:
                self.get_next(timeout=0, ignore_if_timedout=True)
            except TimeoutError:
                pass
        for value in values:
            self.submit(fn, value)
        return self._results_in_order()

    def map_unordered(self, fn: Callable[[Any, Any], Any], values: List[Any]) -> Iterator[Any]:
        """Like ``map``, but yields results as they complete.

        Unlike ``map``, it first waits for every earlier result (and drops it).
        """
        while self.has_next():
            try:
                self.get_next_unordered(timeout=0)
            except TimeoutError:
                pass
        for value in values:
            self.submit(fn, value)
        return self._results_as_completed()

    def _results_in_order(self) -> Iterator[Any]:
        while self.has_next():
            yield self.get_next()

    def _results_as_completed(self) -> Iterator[Any]:
        while self.has_next():
            yield self.get_next_unordered()

    def submit(self, fn: Callable[[Any, Any], Any], value: Any) -> None:
        """Calls ``fn(actor, value)`` on an idle actor, or queues the call until one is free."""
        if not self._idle:
            self._waiting.append((fn, value))
            return
        actor = self._idle.pop()
        future = fn(actor, value)
        self._running[_key(future)] = (self._submitted, actor)
        self._results[self._submitted] = future
        self._submitted += 1

    def has_next(self) -> bool:
        """Whether any submitted call has a result not yet returned (queued calls do not count)."""
        return bool(self._running)

    def get_next(self, timeout: Optional[float] = None, ignore_if_timedout: bool = False) -> Any:
        """The next result in submission order.

        Raises TimeoutError if it is not ready within ``timeout`` seconds; with
        ``ignore_if_timedout`` the call is also abandoned and its actor freed.
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        if self._next_in_order >= self._submitted:
            raise ValueError("It is not allowed to call get_next() after get_next_unordered().")
        future = self._results[self._next_in_order]
        if timeout is not None:
            ready, _ = ray.wait([future], timeout=timeout)
            if not ready and not ignore_if_timedout:
                raise TimeoutError(_TIMED_OUT)
            abandon = not ready
        else:
            abandon = False
        del self._results[self._next_in_order]
        self._next_in_order += 1
        _, actor = self._running.pop(_key(future))
        if abandon:
            self._free(actor)
            raise TimeoutError(f"{_TIMED_OUT}. The task {future} has been ignored.")
        return self._take(future, actor)

    def get_next_unordered(
        self, timeout: Optional[float] = None, ignore_if_timedout: bool = False
    ) -> Any:
        """Whichever result is ready first; TimeoutError if none is within ``timeout`` seconds.

        ``ignore_if_timedout`` changes nothing here: no call is abandoned. (Ray 2.60 fails
        with an UnboundLocalError in that case, also without abandoning anything.)
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if not ready:
            raise TimeoutError(_TIMED_OUT)
        future = ready[0]
        index, actor = self._running.pop(future)
        del self._results[index]
        # get_next may not go back to results submitted before this one.
        self._next_in_order = max(self._next_in_order, index + 1)
        return self._take(future, actor)

    def _take(self, future: Any, actor: Any) -> Any:
        """The value of ``future``; its actor goes back to the pool unless it died."""
        alive = True
        try:
            return ray.get(future)
        except ActorDiedError:
            alive = False
            raise
        finally:
            if alive:
                self._free(actor)
            else:
                self._run_waiting()

    def _free(self, actor: Any) -> None:
        self._idle.append(actor)
        self._run_waiting()

    def _run_waiting(self) -> None:
        if self._waiting and self._idle:
            self.submit(*self._waiting.popleft())

    def has_free(self) -> bool:
        """Whether an actor is idle and no call is queued."""
        return bool(self._idle) and not self._waiting

    def pop_idle(self) -> Any:
        """Removes and returns an idle actor (the one freed last), or None if ``has_free()``
        is false."""
        return self._idle.pop() if self.has_free() else None

    def push(self, actor: Any) -> None:
        """Adds an actor to the pool; it takes the oldest queued call at once, if any."""
        busy = [owner for _, owner in self._running.values()]
        if actor in self._idle or actor in busy:
            raise ValueError("Actor already belongs to current ActorPool")
        self._free(actor)
