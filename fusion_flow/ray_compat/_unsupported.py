"""The error for Ray features fusion-flow does not have yet: raised before anything runs, and
naming the feature, so that nothing silently behaves differently from Ray."""

from __future__ import annotations

from typing import Optional


class Unsupported(NotImplementedError):
    """A Ray feature that fusion-flow does not support (yet)."""

    def __init__(self, feature: str, hint: Optional[str] = None) -> None:
        self.feature = feature
        message = f"fusion-flow does not support {feature} yet"
        if hint:
            message += f": {hint}"
        super().__init__(message)


class UnsupportedAttribute(Unsupported, AttributeError):
    """A Ray module attribute fusion-flow does not have. Also an AttributeError, so that
    ``hasattr`` and ``getattr(module, name, default)`` answer as for any missing name."""
