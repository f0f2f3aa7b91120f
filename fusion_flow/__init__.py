"""fusion-flow: Ray Core programs on a small, fast Rust runtime.

Use it as ``import fusion_flow.ray_compat as ray``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fusion-flow")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
