"""``Pool``: ``multiprocessing.Pool`` on actors.

Each of the pool's processes is an actor that runs batches of calls (a chunk of a ``map``,
or one ``apply``). A call that raises inside a batch does not fail the batch: its exception
comes back in its place, and ``get()`` raises it as itself, as the standard library does.
Chunks go to the actors in turn; ``maxtasksperchild`` retires an actor after that many
batches and starts a fresh one in its place.
"""

from __future__ import annotations

import itertools
import threading
from multiprocessing import TimeoutError
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from fusion_flow.ray_compat._unsupported import Unsupported

Batch = List[Tuple[tuple, dict]]


class _CallFailed:
    """A call's exception, carried back in the batch's results."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Unpacked:
    """``func`` called with an item's elements as its arguments (for ``starmap``)."""

    def __init__(self, func: Callable) -> None:
        self.func = func

    def __call__(self, item: Iterable) -> Any:
        return self.func(*item)


class _PoolProcess:
    """One of the pool's processes (made an actor by the pool)."""

    def __init__(self, initializer: Optional[Callable], initargs: tuple) -> None:
        if initializer is not None:
            initializer(*initargs)

    def ready(self) -> bool:
        return True

    def run_batch(self, func: Callable, batch: Batch) -> list:
        results = []
        for args, kwargs in batch:
            try:
                results.append(func(*args, **kwargs))
            except Exception as error:
                results.append(_CallFailed(error))
        return results


def _ray():
    import fusion_flow.ray_compat as ray

    return ray


class AsyncResult:
    """The result of ``apply_async`` or ``map_async``: filled in by a thread that waits for
    the batches in order, then runs the callback (or the error callback, with the first
    exception)."""

    def __init__(
        self,
        batch_refs: List[Any],
        single: bool,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> None:
        self._refs = batch_refs
        self._single = single
        self._callback = callback
        self._error_callback = error_callback
        self._values: List[Any] = []
        self._error: Optional[BaseException] = None
        self._done = threading.Event()
        threading.Thread(target=self._collect, name="fusion-flow-pool-result", daemon=True).start()

    def _collect(self) -> None:
        ray = _ray()
        try:
            for batch in ray.get(self._refs):
                for value in batch:
                    if isinstance(value, _CallFailed):
                        self._error = self._error or value.error
                    else:
                        self._values.append(value)
        except Exception as error:  # the batch itself failed (its actor died, say)
            self._error = self._error or error
        self._done.set()
        if self._error is not None:
            if self._error_callback is not None:
                self._error_callback(self._error)
        elif self._callback is not None:
            self._callback(self._values[0] if self._single else self._values)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Returns once the result is ready or ``timeout`` seconds pass."""
        self._done.wait(timeout)

    def get(self, timeout: Optional[float] = None) -> Any:
        """The result (a list for a map); raises the call's exception if one raised."""
        if not self._done.wait(timeout):
            raise TimeoutError
        if self._error is not None:
            raise self._error
        return self._values[0] if self._single else list(self._values)

    def ready(self) -> bool:
        return self._done.is_set()

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._error is None


class _ResultIterator:
    """What ``imap`` and ``imap_unordered`` return: values as their batches finish."""

    def __init__(self, batch_refs: List[Any], ordered: bool) -> None:
        self._pending = list(batch_refs)
        self._ordered = ordered
        self._ready: List[Any] = []

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return self.next()

    def next(self, timeout: Optional[float] = None) -> Any:
        ray = _ray()
        while not self._ready:
            if not self._pending:
                raise StopIteration
            candidates = self._pending[:1] if self._ordered else self._pending
            ready, _ = ray.wait(candidates, num_returns=1, timeout=timeout)
            if not ready:
                raise TimeoutError
            self._pending.remove(ready[0])
            self._ready.extend(ray.get(ready[0]))
        value = self._ready.pop(0)
        if isinstance(value, _CallFailed):
            raise value.error
        return value


class Pool:
    """A pool of actor processes with the standard library's Pool methods."""

    def __init__(
        self,
        processes: Optional[int] = None,
        initializer: Optional[Callable] = None,
        initargs: Optional[Iterable] = None,
        maxtasksperchild: Optional[int] = None,
        context: Any = None,
        ray_address: Optional[str] = None,
        ray_remote_args: Optional[Dict[str, Any]] = None,
    ) -> None:
        ray = _ray()
        if ray_address not in (None, "local"):
            raise Unsupported(f"Pool(ray_address={ray_address!r})", "pools run on this node")
        if not ray.is_initialized():
            ray.init(num_cpus=processes)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if processes is None:
            processes = cpus
        if processes <= 0:
            raise ValueError("Processes in the pool must be >0.")
        if cpus < processes:
            raise ValueError(
                f"Tried to start a pool with {processes} processes on an existing ray "
                f"cluster, but there are only {cpus} CPUs in the ray cluster."
            )
        self._initializer = initializer
        self._initargs = tuple(initargs or ())
        self._max_batches = maxtasksperchild or 0
        remote = ray.remote(**ray_remote_args) if ray_remote_args else ray.remote
        self._actor_class = remote(_PoolProcess)
        self._closed = False
        self._retiring: List[Any] = []  # refs that finish when retired actors are gone
        self._next = itertools.cycle(range(processes))
        self._processes = [self._start_process() for _ in range(processes)]
        ray.get([actor.ready.remote() for actor, _ in self._processes])

    def _start_process(self) -> Tuple[Any, int]:
        return self._actor_class.remote(self._initializer, self._initargs), 0

    def _retire(self, actor: Any) -> None:
        self._retiring.append(actor.__ray_terminate__.remote())

    def _check_running(self) -> None:
        if self._closed:
            raise ValueError("Pool not running")

    def _run_batch(self, func: Callable, batch: Batch) -> Any:
        index = next(self._next)
        actor, batches = self._processes[index]
        ref = actor.run_batch.remote(func, batch)
        batches += 1
        if self._max_batches and batches >= self._max_batches:
            self._retire(actor)
            actor, batches = self._start_process()
        self._processes[index] = (actor, batches)
        return ref

    def _chunksize(self, items: list, chunksize: Optional[int]) -> int:
        if chunksize is not None:
            if chunksize <= 0:
                raise ValueError(f"Chunksize must be 1+, not {chunksize:n}")
            return chunksize
        size, extra = divmod(len(items), len(self._processes) * 4)
        return size + 1 if extra else max(size, 1)

    def _submit(self, func: Callable, iterable: Iterable, chunksize: Optional[int]):
        self._check_running()
        items = list(iterable)
        size = self._chunksize(items, chunksize)
        calls = [((item,), {}) for item in items]
        return [self._run_batch(func, calls[i : i + size]) for i in range(0, len(calls), size)]

    # ------------------------------------------------------------- the Pool interface

    def apply(self, func: Callable, args: Optional[tuple] = None, kwargs: Optional[dict] = None):
        return self.apply_async(func, args, kwargs).get()

    def apply_async(
        self,
        func: Callable,
        args: Optional[tuple] = None,
        kwargs: Optional[dict] = None,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> AsyncResult:
        self._check_running()
        ref = self._run_batch(func, [(tuple(args or ()), dict(kwargs or {}))])
        return AsyncResult([ref], True, callback, error_callback)

    def map(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None) -> list:
        return self.map_async(func, iterable, chunksize).get()

    def map_async(
        self,
        func: Callable,
        iterable: Iterable,
        chunksize: Optional[int] = None,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> AsyncResult:
        refs = self._submit(func, iterable, chunksize)
        return AsyncResult(refs, False, callback, error_callback)

    def starmap(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None):
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(
        self,
        func: Callable,
        iterable: Iterable,
        chunksize: Optional[int] = None,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> AsyncResult:
        """``map_async`` with each item unpacked as the arguments."""
        return self.map_async(_Unpacked(func), iterable, chunksize, callback, error_callback)

    def imap(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = 1):
        return _ResultIterator(self._submit(func, iterable, chunksize), True)

    def imap_unordered(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = 1):
        return _ResultIterator(self._submit(func, iterable, chunksize), False)

    def close(self) -> None:
        """No more work is taken; what was submitted still runs, then the actors exit."""
        if not self._closed:
            for actor, _ in self._processes:
                self._retire(actor)
        self._closed = True

    def terminate(self) -> None:
        """No more work is taken and the actors are killed now."""
        self.close()
        ray = _ray()
        for actor, _ in self._processes:
            ray.kill(actor)

    def join(self) -> None:
        """Waits for the actors of a closed pool to exit."""
        if not self._closed:
            raise ValueError("Pool is still running")
        ray = _ray()
        if self._retiring:
            ray.wait(self._retiring, num_returns=len(self._retiring))

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.terminate()
