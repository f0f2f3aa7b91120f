"""How a value pickled with out-of-band buffers (pickle protocol 5) is laid out, inline in
bytes or in a shared-memory segment, and read back without copying the buffers.

Layout: ``MAGIC``, then a header of little-endian u64s (in-band length, buffer count, then
offset and length of each buffer), then the in-band pickle, then each buffer at a 64-byte
aligned offset. A plain pickle never starts with ``MAGIC`` (pickles start with 0x80).

Values read back are read-only, as in Ray: numpy arrays point into the bytes object or into
a read-only mapping of the segment, which stays mapped for as long as any of them does.
"""

from __future__ import annotations

import mmap
import pickle
import struct
import weakref
from typing import Any, List, Sequence, Union

from fusion_flow import _native

MAGIC = b"FFo1"
ALIGNMENT = 64
_U64 = struct.Struct("<Q")


def _aligned(offset: int) -> int:
    return (offset + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _plan(inband_len: int, buffers: Sequence[memoryview]) -> tuple:
    """(header bytes, offset of the in-band pickle, offsets of the buffers, total size)."""
    header_len = len(MAGIC) + _U64.size * (2 + 2 * len(buffers))
    inband_at = header_len
    offsets = []
    end = inband_at + inband_len
    for buffer in buffers:
        at = _aligned(end)
        offsets.append(at)
        end = at + buffer.nbytes
    fields = [inband_len, len(buffers)]
    for at, buffer in zip(offsets, buffers):
        fields += [at, buffer.nbytes]
    header = MAGIC + struct.pack(f"<{len(fields)}Q", *fields)
    return header, inband_at, offsets, end


def size_of(inband: bytes, buffers: Sequence[memoryview]) -> int:
    return _plan(len(inband), buffers)[3]


def _fill(target: Any, inband: bytes, buffers: Sequence[memoryview]) -> None:
    header, inband_at, offsets, _ = _plan(len(inband), buffers)
    target[: len(header)] = header
    target[inband_at : inband_at + len(inband)] = inband
    for at, buffer in zip(offsets, buffers):
        target[at : at + buffer.nbytes] = buffer


def to_bytes(inband: bytes, buffers: Sequence[memoryview]) -> bytes:
    out = bytearray(size_of(inband, buffers))
    _fill(out, inband, buffers)
    return bytes(out)


def to_segment(inband: bytes, buffers: Sequence[memoryview]) -> _native.Segment:
    """A new shared-memory segment holding the value (the one copy of its buffers, made by
    the extension without the GIL)."""
    header, inband_at, offsets, size = _plan(len(inband), buffers)
    segment = _native.Segment(size)
    segment.fill([0, inband_at, *offsets], [header, inband, *buffers])
    return segment


def _release(segment: _native.Segment) -> None:
    """Runs when the last array on a mapping is gone; dropping the reference is the point."""


def is_framed(data: bytes) -> bool:
    return data[:4] == MAGIC


def read(data: Union[bytes, _native.Segment]) -> Any:
    """The value in framed bytes or in a segment."""
    if type(data) is bytes:
        view = memoryview(data)
    else:
        mapping = mmap.mmap(data.fileno(), data.size, prot=mmap.PROT_READ)
        # The segment stays alive while anything maps it: only then may the node recycle
        # its memory for another object.
        weakref.finalize(mapping, _release, data)
        view = memoryview(mapping)
    inband_len, count = _U64.unpack_from(view, 4)[0], _U64.unpack_from(view, 12)[0]
    fields = struct.unpack_from(f"<{2 * count}Q", view, 20)
    buffers: List[memoryview] = [
        view[fields[2 * i] : fields[2 * i] + fields[2 * i + 1]] for i in range(count)
    ]
    inband_at = len(MAGIC) + _U64.size * (2 + 2 * count)
    return pickle.loads(view[inband_at : inband_at + inband_len], buffers=buffers)
