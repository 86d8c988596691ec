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
