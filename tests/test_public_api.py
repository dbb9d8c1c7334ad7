"""The public surface: every name in every public ``__all__`` imports, is documented
with an example, the examples use public names only, and no name means two things.

Public modules are ``jaxphys`` and every subpackage or module whose dotted path has
no component starting with ``_``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil
import re

import jaxphys

PUBLIC_MODULES = ["jaxphys"] + sorted(
    info.name for info in pkgutil.walk_packages(jaxphys.__path__, "jaxphys.")
    if not any(part.startswith("_") for part in info.name.split(".")[1:]))
PRIVATE_IMPORT = re.compile(r"(from|import)\s+jaxphys(\.[A-Za-z0-9_]+)*\._")


def _exports():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            yield module_name, name, module


def _documented(obj) -> bool:
    """A function or class defined in jaxphys (not an alias of a foreign object such as
    ``typing.Any``)."""
    return ((inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", "").startswith("jaxphys"))


def test_public_modules_found():
    for expected in ("jaxphys.core", "jaxphys.rl", "jaxphys.rl.envs", "jaxphys.dynamics",
                     "jaxphys.physics.gw", "jaxphys.typing", "jaxphys.tour"):
        assert expected in PUBLIC_MODULES


def test_every_exported_name_imports_once():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        exported = list(getattr(module, "__all__", ()))
        assert len(exported) == len(set(exported)), (
            f"{module_name}.__all__ lists a name twice: "
            f"{sorted(n for n in exported if exported.count(n) > 1)}")
        for name in exported:
            assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, not defined"


def test_every_function_and_class_is_documented():
    missing = [f"{m}.{n}" for m, n, mod in _exports()
               if _documented(getattr(mod, n)) and not inspect.getdoc(getattr(mod, n))]
    assert not missing, f"public names without a docstring: {missing}"


def test_every_function_and_class_has_an_example():
    without = sorted(f"{m}.{n}" for m, n, mod in _exports()
                     if _documented(getattr(mod, n))
                     and ">>>" not in (inspect.getdoc(getattr(mod, n)) or ""))
    assert not without, f"public names without an example (a `>>>` doctest): {without}"


def test_examples_import_public_names_only():
    offenders = []
    for module_name in PUBLIC_MODULES:
        for obj_name, doc in _module_docstrings(importlib.import_module(module_name)):
            for line in doc.splitlines():
                stripped = line.strip()
                if stripped.startswith((">>>", "...")) and PRIVATE_IMPORT.search(stripped):
                    offenders.append(f"{obj_name}: {stripped}")
    assert not offenders, "examples importing private modules:\n" + "\n".join(offenders)


def _module_docstrings(module):
    """The module's docstring and those of every public function and class (their
    methods included) that it exports."""
    yield module.__name__, inspect.getdoc(module) or ""
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if not _documented(obj):
            continue
        yield f"{module.__name__}.{name}", inspect.getdoc(obj) or ""
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and member.__doc__:
                    yield f"{module.__name__}.{name}.{attr}", inspect.getdoc(member)


def test_no_name_exported_with_two_meanings():
    owners: dict[str, dict[int, str]] = {}
    for module_name, name, module in _exports():
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        owners.setdefault(name, {})[id(obj)] = module_name
    clashes = {name: sorted(by_id.values()) for name, by_id in owners.items() if len(by_id) > 1}
    assert not clashes, f"names exported by two modules with different meanings: {clashes}"


def _module_level_imports(path, module_name, modules):
    """The jaxphys modules that ``path`` imports at module level (not inside functions,
    not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name if path.name == "__init__.py" else module_name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("jaxphys")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("jaxphys"):
                for alias in node.names:   # `from pkg import submodule` imports the submodule
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in modules else target)
    return found


def test_no_import_circle_between_library_modules():
    """The module-level import graph of the library's files is acyclic."""
    root = pathlib.Path(jaxphys.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {t for t in _module_level_imports(path, name, modules) if t in modules and t != name}
             for name, path in modules.items()}
    # a package's __init__ importing its own submodules is not a circle, but a submodule
    # importing its package's __init__ while that __init__ imports it is
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                if not all(b.startswith(a + ".") for a, b in zip(cycle, cycle[1:])):
                    raise AssertionError("import circle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
