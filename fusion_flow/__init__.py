"""fusion-flow: Ray Core programs on a small, fast Rust runtime.

Use it as ``import fusion_flow.ray_compat as ray``.
"""


def __getattr__(name: str):  # no typing import here: every worker imports this package
    # Looked up on demand: package metadata is slow to import, and every worker imports
    # this package at start-up.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("fusion-flow")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module 'fusion_flow' has no attribute {name!r}")
