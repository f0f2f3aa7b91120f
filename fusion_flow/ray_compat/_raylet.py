"""``ray._raylet``: what Ray scripts read from Ray's compiled core."""

# fusion-flow's wheel is a release build (Ray's microbenchmark warns otherwise).
OPTIMIZED = True
