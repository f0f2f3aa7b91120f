"""Scheduling strategies (``ray.util.scheduling_strategies``): plain data with Ray 2.60's
constructors and argument checks. ``scheduling_strategy`` also accepts None, "DEFAULT"
and "SPREAD".
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Union

_NODE_ID_HEX = re.compile(r"[0-9a-fA-F]{56}")  # a node id is 28 bytes
_NIL_NODE_ID = "f" * 56


class PlacementGroupSchedulingStrategy:
    """Placement group based scheduling strategy."""

    def __init__(
        self,
        placement_group: Any,
        placement_group_bundle_index: int = -1,
        placement_group_capture_child_tasks: Optional[bool] = None,
    ):
        self.placement_group = placement_group
        self.placement_group_bundle_index = placement_group_bundle_index
        self.placement_group_capture_child_tasks = placement_group_capture_child_tasks


class NodeAffinitySchedulingStrategy:
    """Static scheduling strategy used to run a task or actor on a particular node."""

    def __init__(
        self,
        node_id: str,
        soft: bool,
        _spill_on_unavailable: bool = False,
        _fail_on_unavailable: bool = False,
    ):
        if not isinstance(node_id, str):
            node_id = node_id.hex()
        self.node_id = node_id
        self.soft = soft
        self._spill_on_unavailable = _spill_on_unavailable
        self._fail_on_unavailable = _fail_on_unavailable
        self._validate_attributes()

    def _validate_attributes(self):
        if not _NODE_ID_HEX.fullmatch(self.node_id) or self.node_id.lower() == _NIL_NODE_ID:
            raise ValueError(
                f"Invalid node_id '{self.node_id}'. Node ID must be a valid "
                "hex string. To get a list of all nodes and their IDs in your cluster, "
                "use ray.nodes(). See https://docs.ray.io/en/latest/ray-core/"
                "miscellaneous.html#node-information for more details."
            )
        if self._spill_on_unavailable and not self.soft:
            raise ValueError(
                "_spill_on_unavailable cannot be set when soft is "
                "False. Please set soft to True to use _spill_on_unavailable."
            )
        if self._fail_on_unavailable and self.soft:
            raise ValueError(
                "_fail_on_unavailable cannot be set when soft is "
                "True. Please set soft to False to use _fail_on_unavailable."
            )


def _check_operator_values(values: tuple, operator: str) -> None:
    if not values:
        raise ValueError(
            f"The variadic parameter of the {operator} operator"
            f' must be a non-empty tuple: e.g. {operator}("value1", "value2").'
        )
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(
                f"Type of value in position {index} for the {operator} operator "
                f'must be str (e.g. {operator}("value1", "value2")) '
                f"but got {value} of type {type(value)}."
            )


class In:
    def __init__(self, *values):
        _check_operator_values(values, "In")
        self.values = list(values)


class NotIn:
    def __init__(self, *values):
        _check_operator_values(values, "NotIn")
        self.values = list(values)


class Exists:
    def __init__(self):
        pass


class DoesNotExist:
    def __init__(self):
        pass


class _LabelMatchExpression:
    """An expression used to select node by node's labels."""

    def __init__(self, key: str, operator: Union[In, NotIn, Exists, DoesNotExist]):
        self.key = key
        self.operator = operator


LabelMatchExpressionsT = Dict[str, Union[In, NotIn, Exists, DoesNotExist]]


def _to_expressions(expressions: Optional[LabelMatchExpressionsT], param: str) -> list:
    if expressions is None:
        return []
    if not isinstance(expressions, dict):
        raise ValueError(
            f'The {param} parameter must be a map (e.g. {{"key1": In("value1")}}) '
            f"but got type {type(expressions)}."
        )
    result = []
    for key, value in expressions.items():
        if not isinstance(key, str):
            raise ValueError(
                f"The map key of the {param} parameter must "
                f'be of type str (e.g. {{"key1": In("value1")}}) '
                f"but got {key} of type {type(key)}."
            )
        if not isinstance(value, (In, NotIn, Exists, DoesNotExist)):
            raise ValueError(
                f"The map value for key {key} of the {param} parameter "
                f"must be one of the `In`, `NotIn`, `Exists` or `DoesNotExist` "
                f'operator (e.g. {{"key1": In("value1")}}) '
                f"but got {value} of type {type(value)}."
            )
        result.append(_LabelMatchExpression(key, value))
    return result


class NodeLabelSchedulingStrategy:
    """Label based node affinity scheduling strategy."""

    def __init__(
        self,
        hard: LabelMatchExpressionsT,
        *,
        soft: Optional[LabelMatchExpressionsT] = None,
    ):
        self.hard = _to_expressions(hard, "hard")
        self.soft = _to_expressions(soft, "soft")
        if not (self.hard or self.soft):
            raise ValueError(
                "The `hard` and `soft` parameter "
                "of NodeLabelSchedulingStrategy cannot both be empty."
            )


SchedulingStrategyT = Union[
    None,
    str,  # "DEFAULT" or "SPREAD"
    PlacementGroupSchedulingStrategy,
    NodeAffinitySchedulingStrategy,
    NodeLabelSchedulingStrategy,
]
