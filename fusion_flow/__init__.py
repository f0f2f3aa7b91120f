"""fusion-flow: Ray Core programs on a small, fast Rust runtime.

Use it as ``import fusion_flow.ray_compat as ray``.
"""
