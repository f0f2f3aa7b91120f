"""``get_runtime_context()``: what the calling process and task are."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional

from fusion_flow import _placement, _runtime
from fusion_flow.ray_compat.session import ensure_runtime

_logger = logging.getLogger(__name__)
_WORKER_ONLY = "This method is only available when the process is a worker. Current mode: 0"


class RuntimeContext:
    """Ray's RuntimeContext for tasks (actor getters belong to actors, a later issue)."""

    def __init__(self, runtime: _runtime.Runtime) -> None:
        self._runtime = runtime

    def get(self) -> Dict[str, Any]:
        context = {
            "job_id": self.get_job_id(),
            "node_id": self.get_node_id(),
            "namespace": self.namespace,
        }
        task_id = self.get_task_id()
        if task_id is not None:
            context["task_id"] = task_id
        return context

    def get_job_id(self) -> str:
        return self._runtime.native.job_id

    def get_node_id(self) -> str:
        return self._runtime.native.node_id

    def get_worker_id(self) -> str:
        return self._runtime.native.worker_id or self._runtime.driver_worker_id

    def _task(self) -> Optional[_runtime.TaskContext]:
        """The running task; in the driver there is none, and Ray logs that."""
        if self._runtime.is_driver:
            _logger.warning(_WORKER_ONLY)
        return self._runtime.current_task

    def get_task_id(self) -> Optional[str]:
        task = self._task()
        return task.task_id if task is not None else None

    def get_task_name(self) -> Optional[str]:
        task = self._task()
        return task.name if task is not None else None

    def get_task_function_name(self) -> Optional[str]:
        task = self._task()
        return task.function_name if task is not None else None

    def get_actor_id(self) -> Optional[str]:
        actor = self._runtime.current_actor
        return actor.actor_id if actor is not None else None

    def get_actor_name(self) -> Optional[str]:
        actor = self._runtime.current_actor
        if actor is None:
            return None
        return actor.name or ""  # an anonymous actor's name is empty, not missing

    @property
    def current_actor(self) -> Any:
        """A handle to the actor this runs in."""
        from fusion_flow.ray_compat.actor import ActorHandle

        actor = self._runtime.current_actor
        if actor is None:
            raise RuntimeError("This method is only available in an actor.")
        ref = self._runtime.native.ref_from_binary(actor.handle_object_id())
        return ActorHandle(bytes.fromhex(actor.actor_id), ref, actor.descriptor)

    @property
    def was_current_actor_reconstructed(self) -> bool:
        actor = self._runtime.current_actor
        assert actor is not None, "This method can't be called outside an actor."
        return actor.restarts > 0

    @property
    def namespace(self) -> str:
        return self._runtime.namespace

    def get_namespace(self) -> str:
        return self._runtime.namespace

    def get_temp_dir(self) -> str:
        return os.path.dirname(str(self._runtime.native.session_dir))

    def get_session_name(self) -> str:
        return os.path.basename(str(self._runtime.native.session_dir))

    def get_placement_group_id(self) -> Optional[str]:
        task = self._runtime.current_task
        placement = task.placement if task is not None else None
        return placement.group_hex if placement is not None else None

    @property
    def should_capture_child_tasks_in_placement_group(self) -> bool:
        task = self._runtime.current_task
        placement = task.placement if task is not None else None
        return placement is not None and placement.capture_child_tasks

    def get_assigned_resources(self) -> Dict[str, float]:
        # Ray's message really has this run of spaces (a line continuation in its source).
        assert not self._runtime.is_driver, (
            "This method is only available when the process is a                 worker. "
            "Current mode: 0"
        )
        task = self._runtime.current_task
        return _placement.original_resources(task.assigned) if task is not None else {}

    def get_accelerator_ids(self) -> Dict[str, List[str]]:
        task = self._runtime.current_task
        gpus = [str(i) for i in task.gpu_ids] if task is not None else []
        return {"GPU": gpus}

    def get_runtime_env_string(self) -> str:
        env = self._runtime.job_env
        return json.dumps({"env_vars": env}) if env else "{}"

    @property
    def runtime_env(self) -> Dict[str, Any]:
        return json.loads(self.get_runtime_env_string())

    def get_node_labels(self) -> Dict[str, str]:
        return {}

    def is_canceled(self) -> bool:
        """Whether ``ray.cancel`` reached the task or actor call running here."""
        runtime = self._runtime
        if runtime.is_driver:
            raise RuntimeError(
                "This method is only available when the process is a worker. Current mode: 0"
            )
        actor = runtime.current_actor
        if actor is not None and actor.is_async:
            raise RuntimeError("This method is not supported in an async actor.")
        task = runtime.current_task
        return task is not None and runtime.native.is_cancelled(task.binary)


def get_runtime_context() -> RuntimeContext:
    return RuntimeContext(ensure_runtime())
