"""The microscope acquisition workflow (fusion_flow.workflows.microscope) on either backend.

python examples/microscope.py                    # fusion-flow
python examples/microscope.py --backend ray      # the same on Ray
python examples/microscope.py --json             # the summary as JSON (for comparisons)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from _backend import add_backend_flag, import_backend

from fusion_flow.workflows import microscope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_backend_flag(parser)
    defaults = microscope.Config()
    parser.add_argument("--batches", type=int, default=defaults.batches_per_stripe)
    parser.add_argument("--images", type=int, default=defaults.images_per_batch)
    parser.add_argument("--size", type=int, default=defaults.image_size)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    config = dataclasses.replace(
        defaults, batches_per_stripe=args.batches, images_per_batch=args.images,
        image_size=args.size,
    )  # fmt: skip
    ray = import_backend(args.backend)
    started = time.perf_counter()
    ray.init()
    summary = microscope.run(ray, config)
    ray.shutdown()
    if args.json:
        print(json.dumps({"digest": summary.digest(), "seconds": time.perf_counter() - started}))
    else:
        print("\n".join(microscope.format_summary(summary)))


if __name__ == "__main__":
    main()
