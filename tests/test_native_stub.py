"""The typed stub of the extension names exactly what the extension has."""

import ast
import inspect
import pathlib

from fusion_flow import _native

STUB = pathlib.Path(_native.__file__).with_name("_native.pyi")
if not STUB.exists():  # an installed wheel keeps the stub next to the package sources
    STUB = pathlib.Path(__file__).parents[1] / "fusion_flow" / "_native.pyi"


def _stub_tree():
    return ast.parse(STUB.read_text())


def _public(names):
    return {name for name in names if not name.startswith("_")}


def test_module_level_names_match():
    stub_names = set()
    for node in _stub_tree().body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            stub_names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub_names.add(node.target.id)
    runtime_names = _public(dir(_native)) - {"__all__"}
    assert _public(stub_names) == runtime_names


def test_class_members_match():
    for node in _stub_tree().body:
        if not isinstance(node, ast.ClassDef) or not hasattr(_native, node.name):
            continue
        cls = getattr(_native, node.name)
        if issubclass(cls, BaseException):
            continue
        stub_members = set()
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                stub_members.add(item.name)
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                stub_members.add(item.target.id)
        runtime_members = {
            name
            for name, _ in inspect.getmembers(cls)
            if not name.startswith("_") and name not in dir(object)
        }
        assert _public(stub_members) == runtime_members, node.name
