"""Streaming generators: refs as values are yielded, and ray.wait on a generator (ready once
its next item exists, or once its stream has ended)."""

import time

from conformance_helpers import poll

INIT_KWARGS = dict(num_cpus=2)


def test_streaming_generator(ray):
    @ray.remote(num_returns="streaming")
    def count(n):
        # Not `yield from range(n)`: Ray's generator machinery calls .send() on
        # the delegated iterator and a range iterator has none.
        for i in range(n):  # noqa: UP028
            yield i

    generator = count.remote(3)
    assert [ray.get(ref) for ref in generator] == [0, 1, 2]
    assert issubclass(ray.exceptions.ObjectRefStreamEndOfStreamError, ray.exceptions.RayError)


def test_wait_on_a_generator_is_ready_when_its_next_item_is(ray):
    @ray.remote
    def slow(n, delay):
        for i in range(n):
            time.sleep(delay)
            yield i

    generator = slow.remote(2, 1.0)
    ready, pending = ray.wait([generator], timeout=0.1)
    assert (ready, pending) == ([], [generator])
    ready, pending = ray.wait([generator], timeout=60)
    assert ready == [generator] and ready[0] is generator and pending == []
    assert ray.get(next(generator), timeout=60) == 0
    # The next item is a second away: not ready at once, ready once it is yielded.
    assert ray.wait([generator], timeout=0)[0] == []
    assert ray.wait([generator], timeout=60)[0] == [generator]
    assert ray.get(next(generator), timeout=60) == 1
    # An exhausted generator is ready (its end is there).
    assert ray.wait([generator], timeout=60)[0] == [generator]
    assert list(generator) == []


def test_wait_mixes_generators_and_refs_in_input_order(ray):
    @ray.remote
    def numbers(n):
        for i in range(n):  # noqa: UP028 (see test_streaming_generator)
            yield i

    @ray.remote
    def value():
        return "v"

    generator = numbers.remote(1)
    ref = value.remote()
    ready, pending = ray.wait([generator, ref], num_returns=2, timeout=60)
    assert ready == [generator, ref] and pending == []
    assert ray.get(next(generator), timeout=60) == 0
    assert ray.get(ref, timeout=60) == "v"


def test_wait_on_a_generator_from_inside_a_task(ray):
    @ray.remote
    def numbers(n):
        for i in range(n):  # noqa: UP028 (see test_streaming_generator)
            yield i

    @ray.remote
    def consume(n):
        generator = numbers.remote(n)
        seen = []
        while len(seen) < n:
            ready, _ = ray.wait([generator], timeout=60)
            assert ready == [generator]
            seen.append(ray.get(next(generator)))
        return seen

    assert ray.get(consume.remote(3), timeout=60) == [0, 1, 2]


def produce_into(path, n):
    """Yields 0..n-1, noting each one in `path` as it is produced."""
    for i in range(n):
        with open(path, "a") as f:
            f.write(f"{i}\n")
        yield i


def _produced(path):
    try:
        with open(path) as f:
            return len(f.read().split())
    except FileNotFoundError:
        return 0


def _settled(path, seconds=1.0):
    """How many items the generator has produced once it has had time to run ahead."""
    time.sleep(seconds)
    return _produced(path)


def test_generator_backpressure_pauses_until_items_are_consumed(ray, tmp_path):
    path = str(tmp_path / "produced")
    produce = ray.remote(_generator_backpressure_num_objects=2)(produce_into)
    generator = produce.remote(path, 10)
    assert _settled(path, 2.0) == 2  # two unconsumed items, then it waits
    first = next(generator)
    assert _settled(path) == 3  # one consumed: one more
    assert ray.get(first, timeout=60) == 0
    assert _settled(path) == 3  # a get is not a consumption; next() is
    assert [ray.get(ref, timeout=60) for ref in generator] == list(range(1, 10))


def test_backpressure_minus_one_means_no_limit(ray, tmp_path):
    path = str(tmp_path / "produced")
    produce = ray.remote(_generator_backpressure_num_objects=-1)(produce_into)
    generator = produce.remote(path, 5)
    # Nothing is consumed, yet every item is produced.
    assert poll(lambda: _produced(path) == 5, timeout=60)
    assert [ray.get(ref, timeout=60) for ref in generator] == list(range(5))


def test_an_actor_generator_method_honours_backpressure(ray, tmp_path):
    @ray.remote
    class Source:
        def produce(self, path, n):
            yield from produce_into(path, n)

    source = Source.remote()
    path = str(tmp_path / "produced")
    generator = source.produce.options(
        num_returns="streaming", _generator_backpressure_num_objects=3
    ).remote(path, 8)
    assert _settled(path, 2.0) == 3
    assert [ray.get(ref, timeout=60) for ref in generator] == list(range(8))
    assert _produced(path) == 8
