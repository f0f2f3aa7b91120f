"""``ObjectRefGenerator``: what a streaming task or actor method returns.

Each ``next()`` waits for the next value the task yields and gives a ref to it, as soon as that
value exists. An exception raised by the generator ends the stream after the values before
it: the last ref then raises it on ``get``. The generator holds a ref to the task's completion
object, which keeps every item alive until the generator (or a ref to the item) is gone.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from fusion_flow import _native
from fusion_flow.ray_compat.session import ensure_runtime


class ObjectRefGenerator:
    """Refs to the values a streaming task yields, in order."""

    def __init__(self, completion: _native.ObjectRef) -> None:
        self._completion = completion
        self._index = 0
        self._finished = False

    def __iter__(self) -> ObjectRefGenerator:
        return self

    def __next__(self) -> _native.ObjectRef:
        ref = self._next(timeout=None)
        if ref is None:
            raise StopIteration
        return ref

    def __aiter__(self) -> ObjectRefGenerator:
        return self

    async def __anext__(self) -> _native.ObjectRef:
        ref = await asyncio.get_running_loop().run_in_executor(None, self._next, None)
        if ref is None:
            raise StopAsyncIteration
        return ref

    def _next(self, timeout: Optional[float]) -> Optional[_native.ObjectRef]:
        if self._finished:
            return None
        native = ensure_runtime().native
        ref = native.stream_next(self._completion, self._index, timeout)
        if ref is not None:
            self._index += 1
            return ref
        self._finished = True
        # The stream is over. If the task failed, its completion object holds the error and
        # is the last "item": getting it raises.
        outcome = native.get([self._completion], 0.0)
        return None if type(outcome) is list else self._completion

    def completed(self) -> _native.ObjectRef:
        """A ref that is ready once the task has finished (its value: how many items)."""
        return self._completion

    def is_finished(self) -> bool:
        return self._finished

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._completion.hex()})"
