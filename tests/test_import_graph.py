"""The package's layering (the top of aecodec/__init__.py): no module imports from a layer
below its own, imports form no circle, and loading a shipped model pulls in no training
code. Imports inside functions count too: they are imports all the same."""

import ast
import subprocess
import sys
from pathlib import Path

import aecodec

PACKAGE = Path(aecodec.__file__).parent
LAYERS = [
    {"errors", "catalogue", "_atomic", "metrics", "losses", "layers", "distributed"},
    {"images", "data", "kodak", "baselines"},
    {"rangecoder", "entropy"},
    {"models", "latents8bit"},
    {"codec", "checkpoint", "refine"},
    {"zoo"},
    {"training", "recipes"},
    {"evaluation", "viz", "widgets", "course"},
    {"cli", "__main__", "pillow", "__init__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    """aecodec/x.py -> "x"; aecodec/course/y.py -> "course" (a subpackage is one module)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imports(path: Path) -> set[str]:
    """The aecodec modules a file imports (as `module_name`s), anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # relative: inside a subpackage
            continue
        names = []
        if isinstance(node, ast.ImportFrom) and node.module == "aecodec":
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aecodec."):
            names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("aecodec.")]
        found |= {name for name in names if (PACKAGE / name).is_dir()
                  or (PACKAGE / f"{name}.py").is_file()}
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        edges.setdefault(name, set()).update(imports(path) - {name})
    return edges


def test_every_module_has_a_layer():
    assert set(graph()) - set(LAYER) == set(), "add the new module to a layer (__init__.py)"


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return [f"{module} (layer {LAYER[module]}) imports {other} (layer {LAYER[other]})"
            for module, others in sorted(edges.items()) for other in sorted(others)
            if LAYER[other] > LAYER[module]]


def circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as [a, b, ..., a], or None."""
    done, path = set(), []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for other in sorted(edges.get(module, ())):
            if found := visit(other):
                return found
        path.pop()
        done.add(module)
        return None

    for module in sorted(edges):
        if found := visit(module):
            return found
    return None


def test_no_module_imports_from_a_lower_layer():
    assert upward_imports(graph()) == []


def test_imports_form_no_circle():
    assert circle(graph()) is None


def test_the_checks_can_fail(tmp_path):
    """An upward import and a circle are found, and an import inside a function is seen."""
    file = tmp_path / "x.py"
    file.write_text("def f():\n    from aecodec.training import fit\nimport aecodec.zoo\n")
    assert imports(file) == {"training", "zoo"}
    assert upward_imports({"codec": {"training", "models"}}) == [
        f"codec (layer {LAYER['codec']}) imports training (layer {LAYER['training']})"]
    assert circle({"zoo": {"codec"}, "codec": {"models"}, "models": {"zoo"}}) == [
        "codec", "models", "zoo", "codec"]


def test_loading_a_shipped_model_loads_no_training_code():
    code = ("import sys, aecodec.zoo, aecodec.codec; "
            "print(sorted(m for m in sys.modules if m in "
            "('aecodec.training', 'aecodec.recipes', 'aecodec.distributed')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"
