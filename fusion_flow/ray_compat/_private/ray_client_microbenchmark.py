"""``ray._private.ray_client_microbenchmark``: the Ray Client section of Ray's microbenchmark.

Each group of metrics runs against a fresh client server and a client connected to it
(``ray_start_client_server``), with the workloads and metric names of Ray's section, so the
figures compare line by line. The client is a driver attached to the node over its socket,
so these figures include that hop, as Ray's include its gRPC hop.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import numpy as np

from fusion_flow.ray_compat._private.ray_microbenchmark_helpers import Result, timeit
from fusion_flow.ray_compat.util.client.ray_client_helpers import ray_start_client_server

_BATCH = 1000  # calls per batch in the batch metrics


def _objects(client: Any) -> List[Result]:
    results: List[Result] = []
    small = client.put(0)
    results += timeit("client: get calls", lambda: client.get(small))
    results += timeit("client: put calls", lambda: client.put(0))
    large = np.zeros(100 * 1024 * 1024, dtype=np.int64)  # 0.8 GB
    results += timeit("client: put gigabytes", lambda: client.put(large), 8 * 0.1)
    return results


def _tasks(client: Any) -> List[Result]:
    @client.remote
    def small_value() -> bytes:
        return b"ok"

    @client.remote
    def put_hundred_small() -> None:
        for _ in range(100):
            client.put(0)

    results: List[Result] = []
    results += timeit(
        "client: tasks and get batch",
        lambda: client.get([small_value.remote() for _ in range(_BATCH)]),
    )
    results += timeit(
        "client: tasks and put batch",
        lambda: client.get([put_hundred_small.remote() for _ in range(10)]),
        1000,
    )
    return results


def _actors(client: Any) -> List[Result]:
    @client.remote(num_cpus=0)
    class Actor:
        def small_value(self) -> bytes:
            return b"ok"

    results: List[Result] = []
    actor = Actor.remote()
    results += timeit(
        "client: 1:1 actor calls sync", lambda: client.get(actor.small_value.remote())
    )

    def batch_of_calls(target: Any) -> Callable[[], Any]:
        return lambda: client.get([target.small_value.remote() for _ in range(_BATCH)])

    results += timeit("client: 1:1 actor calls async", batch_of_calls(actor), _BATCH)
    threaded = Actor.options(max_concurrency=16).remote()
    results += timeit("client: 1:1 actor calls concurrent", batch_of_calls(threaded), _BATCH)
    return results


_GROUPS = (_actors, _objects, _tasks)


def main(results: Optional[List[Any]] = None) -> List[Any]:
    results = results if results is not None else []
    for group in _GROUPS:
        with ray_start_client_server() as client:
            results += group(client)
    return results


if __name__ == "__main__":
    main()
