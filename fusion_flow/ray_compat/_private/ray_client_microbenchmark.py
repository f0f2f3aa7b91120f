"""``ray._private.ray_client_microbenchmark``: the Ray Client section of Ray's
microbenchmark. fusion-flow has no Ray Client (``ray://``) yet, so the section refuses to
run, naming it, unless the name filter leaves none of its metrics."""

from __future__ import annotations

from typing import Any, List, Optional

from fusion_flow.ray_compat._private.ray_microbenchmark_helpers import _selected
from fusion_flow.ray_compat._unsupported import Unsupported

# The metrics of Ray's client section, by name.
CLIENT_METRICS = (
    "client: get calls",
    "client: tasks and get batch",
    "client: put calls",
    "client: tasks and put batch",
    "client: put gigabytes",
    "client: 1:1 actor calls sync",
    "client: 1:1 actor calls async",
    "client: 1:1 actor calls concurrent",
)


def main(results: Optional[List[Any]] = None) -> List[Any]:
    results = results if results is not None else []
    if any(_selected(name) for name in CLIENT_METRICS):
        raise Unsupported(
            "Ray Client (ray://), which the client section of the microbenchmark uses",
            "set TESTS_TO_SKIP=client: to run the other sections",
        )
    return results
