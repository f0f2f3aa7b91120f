"""``ref.future()`` and ``await ref``: one thread per session resolves every pending future.

The thread waits on all the refs that have a future at once (``wait`` with
``num_returns=1``), so a thousand concurrent awaits cost one thread and one wait, not a
thousand blocked threads. A ref whose future is asked for while the thread is inside a wait
joins the next one; the wait is kept short (``_REFRESH_S``) so that costs little latency.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Dict, List, Tuple

from fusion_flow import _values

# How long one wait lasts before the thread picks up refs added meanwhile.
_REFRESH_S = 0.005


class FutureResolver:
    """Resolves futures of one session's refs with their values or errors."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self._lock = threading.Condition()
        # binary id -> (the ref, the futures waiting for it)
        self._pending: Dict[bytes, Tuple[Any, List[concurrent.futures.Future]]] = {}
        self._thread: threading.Thread | None = None

    def future(self, ref: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        if self._resolve_if_ready(ref, [future]):
            return future
        with self._lock:
            entry = self._pending.setdefault(ref.binary(), (ref, []))
            entry[1].append(future)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fusion-flow-futures", daemon=True
                )
                self._thread.start()
            self._lock.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._lock:
                self._forget_cancelled()
                while not self._pending:
                    self._lock.wait()
                    self._forget_cancelled()
                refs = [ref for ref, _ in self._pending.values()]
            try:
                wait = self._runtime.native.wait_split
                ready, _ = wait(refs, 1, _REFRESH_S)
                if ready and len(refs) > 1:  # and every other one that is ready too
                    ready, _ = wait(refs, len(refs), 0)
            except BaseException as error:  # the session ended: nothing will be ready
                self._fail_all(error)
                return
            for ref in ready:
                with self._lock:
                    _, futures = self._pending.pop(ref.binary(), (ref, []))
                self._resolve_if_ready(ref, futures)

    def _forget_cancelled(self) -> None:
        """Stops waiting for refs whose every future was cancelled (an abandoned await)."""
        abandoned = [
            binary
            for binary, (_, futures) in self._pending.items()
            if all(future.cancelled() for future in futures)
        ]
        for binary in abandoned:
            del self._pending[binary]

    def _resolve_if_ready(self, ref: Any, futures: List[concurrent.futures.Future]) -> bool:
        """Sets the futures from the ref if its value exists; False if it does not yet."""
        try:
            values = _values.get_values(self._runtime, [ref], 0)
        except BaseException as error:
            from fusion_flow.ray_compat.exceptions import GetTimeoutError

            if isinstance(error, GetTimeoutError):
                return False
            for future in futures:
                _settle(future.set_exception, error)
            return True
        for future in futures:
            _settle(future.set_result, values[0])
        return True

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._thread = None
        for _, futures in pending.values():
            for future in futures:
                _settle(future.set_exception, error)


def _settle(setter: Any, outcome: Any) -> None:
    """Sets a future's outcome unless its waiter cancelled it meanwhile."""
    try:
        setter(outcome)
    except concurrent.futures.InvalidStateError:
        pass
