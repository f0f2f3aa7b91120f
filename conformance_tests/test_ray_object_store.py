"""Large objects: values above the inline limit (100 KiB) go through the object store and come
back intact; numpy arrays from get are read-only views, as in Ray."""

import pytest

numpy = pytest.importorskip("numpy")

INIT_KWARGS = dict(num_cpus=2)

MIB = 1 << 20


def test_numpy_arrays_from_get_are_read_only(ray):
    big = ray.get(ray.put(numpy.arange(1_000_000)))
    assert big.flags.writeable is False
    assert int(big[-1]) == 999_999
    small = ray.get(ray.put(numpy.zeros(10)))
    assert small.flags.writeable is False


def test_a_large_array_round_trips_through_put_and_get(ray):
    original = numpy.random.default_rng(7).integers(0, 255, size=16 * MIB, dtype=numpy.uint8)
    copy = ray.get(ray.put(original))
    assert copy.dtype == original.dtype and copy.shape == original.shape
    assert numpy.array_equal(copy, original)


def test_a_large_array_is_a_task_argument_and_a_return_value(ray):
    @ray.remote
    def double(array):
        return array * 2, array.flags.writeable

    original = numpy.arange(2_000_000, dtype=numpy.float64)
    doubled, writeable = ray.get(double.options(num_returns=2).remote(original))
    assert writeable is False  # the task sees a read-only view too
    assert numpy.array_equal(doubled, original * 2)
    assert ray.get(double.options(num_returns=2).remote(ray.put(original))[0])[1] == 2.0


def test_a_task_can_put_and_get_large_values(ray):
    @ray.remote
    def put_and_sum(n):
        ref = ray.put(numpy.ones(n))
        return float(ray.get(ref).sum()), ref

    total, ref = ray.get(put_and_sum.remote(1_000_000))
    assert total == 1_000_000.0
    assert ray.get(ref).shape == (1_000_000,)


def test_containers_of_arrays_and_large_bytes_round_trip(ray):
    value = {
        "a": numpy.arange(300_000, dtype=numpy.int32),
        "b": [numpy.full((500, 500), 3.5), numpy.zeros(5)],
        "blob": b"x" * 300_000,
        "text": "y" * 300_000,
    }
    copy = ray.get(ray.put(value))
    assert numpy.array_equal(copy["a"], value["a"])
    assert numpy.array_equal(copy["b"][0], value["b"][0])
    assert copy["b"][1].shape == (5,)
    assert copy["blob"] == value["blob"] and copy["text"] == value["text"]


def test_non_contiguous_arrays_round_trip(ray):
    matrix = numpy.arange(1_000_000, dtype=numpy.float64).reshape(1000, 1000)
    assert numpy.array_equal(ray.get(ray.put(matrix[:, ::2])), matrix[:, ::2])
    assert numpy.array_equal(ray.get(ray.put(matrix.T)), matrix.T)


def test_refs_inside_a_large_value_keep_their_objects(ray):
    inner = [ray.put(numpy.full(1000, i)) for i in range(3)]
    outer = ray.put({"refs": inner, "pad": numpy.zeros(MIB)})
    del inner
    refs = ray.get(outer)["refs"]
    assert [int(ray.get(ref)[0]) for ref in refs] == [0, 1, 2]


def test_an_array_stays_valid_after_its_object_is_freed(ray):
    import gc

    ref = ray.put(numpy.arange(1_000_000))
    array = ray.get(ref)
    del ref
    gc.collect()
    assert int(array[123_456]) == 123_456
    assert int(array.sum()) == 499_999_500_000


def test_a_value_holding_ten_thousand_refs_round_trips(ray):
    refs = [ray.put(i) for i in range(10_000)]
    back = ray.get(ray.put(refs))
    assert back == refs
    assert sum(ray.get(back)) == sum(range(10_000))


def test_a_task_takes_ten_thousand_object_arguments(ray):
    @ray.remote
    def count(*args):
        return len(args), sum(args)

    refs = [ray.put(i) for i in range(10_000)]
    assert ray.get(count.remote(*refs)) == (10_000, sum(range(10_000)))


def test_a_task_returns_three_thousand_values(ray):
    @ray.remote(num_returns=3000)
    def many():
        return list(range(3000))

    refs = many.remote()
    assert len(refs) == 3000
    assert ray.get(refs) == list(range(3000))
