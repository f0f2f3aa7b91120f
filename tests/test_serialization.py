"""Arguments and values on their way through pickling."""

import pytest

from fusion_flow import _native, _serialization


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((), {}),
        ((1, "two", 3.0, None, b"four"), {}),
        (([1, 2], {"a": (1, 2)}), {"key": {1, 2}}),
        ((), {"only": "keywords"}),
    ],
)
def test_arguments_round_trip(args, kwargs):
    data, nested, refs = _serialization.pack_args(args, kwargs)
    assert refs == []
    assert nested is None
    assert _serialization.unpack_args(data, []) == (args, kwargs)


def test_top_level_refs_are_taken_out_and_put_back_in_place():
    first = _native.ObjectRef(bytes(28))
    second = _native.ObjectRef(bytes([1]) * 28)
    data, nested, refs = _serialization.pack_args((1, first, 3), {"k": second, "x": 5})
    assert refs == [first, second]
    assert nested is None
    args, kwargs = _serialization.unpack_args(data, ["A", "B"])
    assert args == (1, "A", 3)
    assert kwargs == {"k": "B", "x": 5}


def test_refs_nested_in_values_are_recorded():
    first = _native.ObjectRef(bytes([2]) * 28)
    second = _native.ObjectRef(bytes([3]) * 28)
    data, nested = _serialization.dumps({"deep": [first, second, first]})
    # The pickler memoizes the repeated ref: each distinct ref is recorded once.
    assert nested is not None and len(nested) == 2
    assert _serialization.loads(data)["deep"] == [first, second, first]


def test_functions_defined_at_runtime_pickle_by_value():
    scale = 3

    def times(x):
        return x * scale

    restored = _serialization.loads(_serialization.dumps_function(times))
    assert restored(2) == 6
