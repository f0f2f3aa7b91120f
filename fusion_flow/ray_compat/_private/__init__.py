"""The few ``ray._private`` modules that Ray's own scripts import (its microbenchmark,
``ray/_private/ray_perf.py``), so that they run unmodified under ``fusion-flow run``."""
