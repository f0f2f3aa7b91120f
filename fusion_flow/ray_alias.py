"""``import ray`` served by fusion-flow, for ``fusion-flow run``: an unmodified Ray program
gets ``fusion_flow.ray_compat`` as ``ray`` and its submodules as ``ray.<name>``.

The alias is an import hook at the front of ``sys.meta_path``, installed for one run: in the
driver by ``fusion-flow run``, and in its workers because the run sets ``ALIAS_ENV`` and
workers install the hook when they start. An installed Ray stays untouched on disk and is
simply not imported. A ``ray`` submodule that fusion-flow does not have fails to import with
an error naming it, rather than falling through to real Ray (half of one runtime and half of
another would misbehave in ways that are hard to see).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Optional, Sequence

ALIAS_ENV = "FUSION_FLOW_RAY_ALIAS"
ALIASED = "ray"
TARGET = "fusion_flow.ray_compat"


class RayModuleUnsupported(ModuleNotFoundError):
    """A ``ray`` module that fusion-flow does not provide."""


def target_of(fullname: str) -> Optional[str]:
    """``ray.util.queue`` -> ``fusion_flow.ray_compat.util.queue``; None for other names."""
    if fullname == ALIASED:
        return TARGET
    if fullname.startswith(ALIASED + "."):
        return TARGET + fullname[len(ALIASED) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already imported fusion-flow module under the ``ray`` name."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self._module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the target module was executed when it was imported."""


class RayAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``ray`` and ``ray.*`` as the matching ``fusion_flow.ray_compat`` modules."""

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]],
        target: Optional[ModuleType] = None,
    ) -> Optional[importlib.machinery.ModuleSpec]:
        name = target_of(fullname)
        if name is None:
            return None
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # a package on the way is missing too
            found = None
        if found is None:
            raise RayModuleUnsupported(
                f"fusion-flow does not support {fullname} yet (under `fusion-flow run`, "
                f"`ray` is fusion-flow's Ray API, and it has no {name})",
                name=fullname,
            )
        module = importlib.import_module(name)
        # The loader keeps the module's own __spec__ and __name__ (import only fills
        # attributes that are missing), so pickles still name the fusion-flow module.
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module))


def install() -> None:
    """Serves ``import ray`` from fusion-flow in this process (idempotent)."""
    if not any(isinstance(finder, RayAliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, RayAliasFinder())


def install_if_requested() -> None:
    """In a worker: installs the alias when the driver's run asked for it."""
    if os.environ.get(ALIAS_ENV) == "1":
        install()
