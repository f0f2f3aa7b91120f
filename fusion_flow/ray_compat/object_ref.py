"""``ObjectRef``: the native class (hashing and reference counting stay in Rust)."""

from fusion_flow._native import ObjectRef

__all__ = ["ObjectRef"]
