"""aecodec works outside the checkout: a built wheel carries the shipped models and the
notebooks, and an installed copy compresses, decompresses and builds the classroom
edition from a folder that knows nothing of the repository."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

from PIL import Image

from conftest import REPO

USE_IT = """
import json, sys
import aecodec
from aecodec.cli import main
from aecodec.images import load_image
statuses = [main(["compress", "photo.png", "photo.aec", "--quality", "2"]),
            main(["decompress", "photo.aec", "back.png"]),
            main(["classroom", "build", "student"])]
print(json.dumps(dict(statuses=statuses, package=aecodec.__file__,
                      shape=list(load_image("back.png").shape))))
"""


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


# What the wheel is made of. It is built from a copy of these: setuptools reuses a build/
# folder left in the checkout by an earlier build, which could still hold files the sources
# no longer have.
SOURCES = ("pyproject.toml", "README.md", "src", "data/__init__.py", "data/models",
           "data/results", "notebooks")


def copy_sources(dest):
    for name in SOURCES:
        source, target = REPO / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", ".ipynb_checkpoints"))
        else:
            shutil.copy2(source, target)
    return dest


def test_an_installed_wheel_compresses_and_builds_the_classroom_outside_the_checkout(tmp_path):
    dist, target, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    sources = copy_sources(tmp_path / "checkout")
    # no build isolation: the build uses the setuptools already installed, no download
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "--quiet", "-w", str(dist), str(sources))
    # the package data is declared exactly: setuptools has nothing to warn about
    assert "Warning" not in built.stdout + built.stderr, built.stderr[-3000:]
    (wheel,) = dist.glob("aecodec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "aecodec/shipped/models/rd_lambda0.0067.pt" in names
    assert "aecodec/shipped/models/ae_c16_k3.pt" in names
    assert "aecodec/shipped/models/vr_hyperprior.pt" in names
    assert "aecodec/shipped/results/results.json" in names
    assert "aecodec/course/notebooks/07_rate_distortion.ipynb" in names
    assert "aecodec/course/notebooks/__init__.py" not in names  # notebooks/ has none

    run(sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
        str(target), str(wheel))
    elsewhere.mkdir()
    Image.new("RGB", (56, 40), (200, 120, 40)).save(elsewhere / "photo.png")
    env = {k: v for k, v in os.environ.items() if k != "AECODEC_MODELS"}
    env["PYTHONPATH"] = str(target)  # the installed copy, ahead of the checkout's
    result = run(sys.executable, "-c", USE_IT, cwd=elsewhere, env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["package"].startswith(str(target)), report["package"]
    assert report["statuses"] == [0, 0, 0]
    assert report["shape"] == [3, 40, 56]
    notebooks = sorted(path.name for path in (REPO / "notebooks").glob("0*.ipynb"))
    assert sorted(path.name for path in (elsewhere / "student").glob("0*.ipynb")) == notebooks
