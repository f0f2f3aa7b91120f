"""Turning values into bytes and back, for arguments, return values and ``put``.

Values are pickled with cloudpickle (protocol 5), which handles lambdas, closures and classes
defined in ``__main__`` the way Ray does. Plain data made only of builtin scalars takes the C
pickler directly: same bytes, a fraction of the cost. While a value is pickled, the native
layer records every ObjectRef inside it, so the node keeps those objects alive for as long as
the value exists. Large values go to shared memory with their buffers out of band (see
``_object_layout``), and come back without a copy.
"""

from __future__ import annotations

import pickle
from typing import Any, List, Optional, Tuple, Union

import cloudpickle

from fusion_flow import _native, _object_layout
from fusion_flow._native import ObjectRef

PROTOCOL = 5

# Exact types whose pickles never contain an ObjectRef or a function.
_SCALARS = frozenset({int, float, str, bytes, bool, type(None), complex})


def _is_plain(value: Any) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is tuple or kind is list:
        return len(value) <= 64 and all(type(item) in _SCALARS for item in value)
    return False


# Values whose pickle (with its out-of-band buffers) is at least this big go to shared memory,
# as Ray's objects above its 100 KiB inline limit go to its object store.
INLINE_LIMIT = 100 * 1024

Serialized = Union[bytes, _native.Segment]


def dumps(value: Any) -> Tuple[Serialized, Optional[_native.NestedRefs]]:
    """Pickles ``value``; returns its bytes (or the shared segment holding them) and the
    ObjectRefs found inside (or None)."""
    if _is_plain(value):
        return _placed(pickle.dumps(value, PROTOCOL), []), None
    _native.begin_capture()
    try:
        buffers: List[pickle.PickleBuffer] = []
        inband = cloudpickle.dumps(value, PROTOCOL, buffer_callback=buffers.append)
        try:
            raw = [buffer.raw() for buffer in buffers]
        except BufferError:  # a buffer that is not contiguous: pickle it in-band instead
            inband, raw = cloudpickle.dumps(value, PROTOCOL), []
    finally:
        nested = _native.end_capture()
    return _placed(inband, raw), (nested if len(nested) else None)


def _placed(inband: bytes, buffers: List[memoryview]) -> Serialized:
    """A plain pickle when small and self-contained, else laid out with its buffers, in
    shared memory when large."""
    if not buffers and len(inband) < INLINE_LIMIT:
        return inband
    if _object_layout.size_of(inband, buffers) < INLINE_LIMIT:
        return _object_layout.to_bytes(inband, buffers)
    return _object_layout.to_segment(inband, buffers)


def loads(data: Serialized) -> Any:
    if type(data) is bytes and not data.startswith(_object_layout.MAGIC):
        return pickle.loads(data)
    return _object_layout.read(data)


def dumps_function(function: Any) -> bytes:
    """Pickles a function or class by value when it cannot be imported by name."""
    return cloudpickle.dumps(function, PROTOCOL)


# ---------------------------------------------------------------- task arguments
#
# A call's arguments travel as one pickle of (args, kwargs, positions). Top-level ObjectRef
# arguments are taken out (None in their place) and listed separately: the node waits for
# them and sends their values along, and `positions` says where each goes back (an int for a
# positional argument, a str for a keyword one). Refs nested deeper stay refs.


def pack_args(args: tuple, kwargs: dict) -> Tuple[Serialized, Optional[_native.NestedRefs], list]:
    """Returns (pickled arguments, nested refs, top-level ref arguments in order)."""
    if not args and not kwargs:
        return b"", None, []
    ref_args = []
    positions = []
    if any(type(arg) is ObjectRef for arg in args):
        args = list(args)
        for index, arg in enumerate(args):
            if type(arg) is ObjectRef:
                ref_args.append(arg)
                positions.append(index)
                args[index] = None
        args = tuple(args)
    if kwargs and any(type(value) is ObjectRef for value in kwargs.values()):
        kwargs = dict(kwargs)
        for key, value in kwargs.items():
            if type(value) is ObjectRef:
                ref_args.append(value)
                positions.append(key)
                kwargs[key] = None
    if not kwargs and all(type(arg) in _SCALARS for arg in args):
        return _placed(pickle.dumps((args, None, positions), PROTOCOL), []), None, ref_args
    data, nested = dumps((args, kwargs or None, positions))
    return data, nested, ref_args


def unpack_args(data: Serialized, ref_values: list) -> Tuple[tuple, dict]:
    """Rebuilds (args, kwargs) from ``pack_args`` output and the values of the ref args."""
    if type(data) is bytes and not data:
        return (), {}
    args, kwargs, positions = loads(data)
    kwargs = kwargs or {}
    if positions:
        args = list(args)
        for position, value in zip(positions, ref_values):
            if isinstance(position, int):
                args[position] = value
            else:
                kwargs[position] = value
    return tuple(args), kwargs
