"""The demo: the microscope acquisition workflow (``fusion_flow.workflows.microscope``) on
the embedded runtime, with a summary of every task it ran."""

from __future__ import annotations

import time

from fusion_flow.workflows import microscope


def main() -> int:
    import fusion_flow.ray_compat as ray

    started = time.perf_counter()
    ray.init()
    init_seconds = time.perf_counter() - started
    cpus = int(ray.cluster_resources().get("CPU", 0))
    print(f"fusion-flow demo: runtime started in {init_seconds * 1000:.1f} ms with {cpus} CPUs")
    print("microscope acquisition: 3 stripes captured concurrently, each batch stacked as it")
    print("arrives, then a prediction over the stacks")
    try:
        summary = microscope.run(ray)
    finally:
        ray.shutdown()
    for line in microscope.format_summary(summary):
        print(line)
    print(f"done in {time.perf_counter() - started:.2f} s")
    return 0
