"""environment.yml (conda, Binder) and pyproject.toml must name the same dependencies."""

import re
import tomllib

from conftest import REPO


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def environment_requirements() -> set[str]:
    text = (REPO / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    items = re.findall(r"^\s+-\s+(\S.*?)\s*$", pip_section, flags=re.M)
    return {item for item in items if item != "-e ."}


def test_same_dependencies_in_both_files():
    assert pyproject_requirements() == environment_requirements()


def test_environment_installs_the_package_itself():
    assert re.search(r"^\s+-\s+-e \.\s*$", (REPO / "environment.yml").read_text(), flags=re.M)


def test_torch_and_torchvision_are_both_required():
    names = {re.split(r"[<>=!~ ]", r)[0].lower() for r in pyproject_requirements()}
    assert {"torch", "torchvision", "jupyterlab", "ipywidgets", "matplotlib", "pillow", "tqdm",
            "scikit-image", "pytest", "nbval"} <= names


def test_notebooks_are_committed_with_outputs_and_without_errors():
    """(Their widget state is kept: tests/test_notebook_widgets.py.)"""
    import json

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert any(c.get("outputs") for c in code), f"{path.name}: saved without outputs"
        errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
        stderr = [o for c in code for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert not errors and not stderr, f"{path.name}: errors or warnings in saved outputs"
