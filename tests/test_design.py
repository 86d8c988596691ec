"""The package's design, checked on its source (issue 22's done-conditions): nothing outside
`aecodec.models` asks which family a codec is, one module imports the entropy coder's
library, and functions stay short enough to read in one screen."""

import ast
import inspect
from pathlib import Path

import pytest

import aecodec.models
from aecodec.models import Autoencoder

SRC = Path(aecodec.models.__file__).resolve().parents[1]
MAX_LINES = 70  # of a function's body, its docstring left out
LONG_FUNCTIONS_COMMENT = "# Long functions:"  # a module that has them says why, once


def families() -> set[str]:
    """The model classes: every `Autoencoder` subclass `aecodec.models` defines."""
    return {name for name, obj in inspect.getmembers(aecodec.models, inspect.isclass)
            if issubclass(obj, Autoencoder)} | {
        name for module in SRC.joinpath("models").glob("*.py")
        for name, obj in inspect.getmembers(
            __import__(f"aecodec.models.{module.stem}", fromlist=["_"]), inspect.isclass)
        if issubclass(obj, Autoencoder)}


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def family_checks(tree: ast.AST, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            classes = node.args[1] if len(node.args) > 1 else None
            used = {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "")
                    for n in ast.walk(classes)} if classes is not None else set()
            if used & names:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def long_functions(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body = body[1:] or body  # the docstring does not count
            lines = body[-1].end_lineno - body[0].lineno + 1
            if lines > MAX_LINES:
                found.append(f"{node.name} (line {node.lineno}): {lines} lines")
    return found


@pytest.mark.parametrize("path", [p for p in modules() if "models" not in p.parts],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_nothing_outside_models_asks_which_family_a_codec_is(path):
    checks = family_checks(ast.parse(path.read_text()), families() - {"Autoencoder", "Codec"})
    assert not checks, f"{path.name} asks which family a model is: {checks}"


def test_the_family_check_finds_a_family_check():
    tree = ast.parse("if isinstance(model, (VariableRateHyperprior, dict)): pass")
    assert family_checks(tree, {"VariableRateHyperprior"}) == [
        "line 1: isinstance(model, (VariableRateHyperprior, dict))"]
    assert not family_checks(ast.parse("isinstance(models, dict)"), families())
    assert "HyperpriorAutoencoder" in families() and "VariableRateCheckerboard" in families()


def test_one_module_imports_constriction():
    importers = [p.name for p in modules()
                 if any(isinstance(n, (ast.Import, ast.ImportFrom)) and "constriction" in
                        ast.unparse(n) for n in ast.walk(ast.parse(p.read_text())))]
    assert importers == ["rangecoder.py"]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_functions_fit_on_a_screen_or_their_module_says_why(path):
    text = path.read_text()
    if LONG_FUNCTIONS_COMMENT in text:
        return
    long = long_functions(ast.parse(text))
    assert not long, (f"{path.name}: {long}; split them, or say why once in the module with "
                      f"a comment starting {LONG_FUNCTIONS_COMMENT!r}")


def test_fit_is_readable_in_one_screen():
    from aecodec.training import fit

    tree = ast.parse(inspect.getsource(fit))
    body = tree.body[0].body[1:]  # without the docstring
    assert body[-1].end_lineno - body[0].lineno + 1 <= 60


def test_the_length_check_finds_a_long_function():
    source = "def f():\n    '''doc'''\n" + "    x = 1\n" * (MAX_LINES + 1)
    assert long_functions(ast.parse(source)) == [f"f (line 1): {MAX_LINES + 1} lines"]
