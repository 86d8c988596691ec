"""Shared fixtures: where the Kodak and training images are, small test images.

`../shared/kodak` (beside the checkout) holds the real Kodak images in CI and on the
developers' machines; elsewhere set AECODEC_KODAK. Tests that need Kodak are skipped
when it is absent, except in CI (CI=true), where its absence is a failure.
"""

import json
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _dataset_dir(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_dir():
        message = f"{path} not found (set {env})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    return _dataset_dir("AECODEC_KODAK", SHARED / "kodak")


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def smooth_image() -> torch.Tensor:
    """A (3, 48, 64) image of smooth colour gradients: easy to learn, not constant."""
    ys = torch.linspace(0, 1, 48).view(48, 1).expand(48, 64)
    xs = torch.linspace(0, 1, 64).view(1, 64).expand(48, 64)
    return torch.stack([xs, ys, (xs + ys) / 2])  # (3, 48, 64)


@pytest.fixture(scope="module")
def small_hyperprior():
    """A small hyperprior codec with tables, its predicted scales of a trained model's size
    (about 3): an untrained one's would be near zero."""
    from aecodec.models import HyperpriorAutoencoder

    torch.manual_seed(0)
    model = HyperpriorAutoencoder(latent_channels=6, downsamplings=2, hidden_channels=8,
                                  side_channels=4)
    return _with_trained_scales(model)


def _with_trained_scales(model):
    """`model` (6 latent channels) predicting scales of about 3, with its tables, in eval
    mode."""
    with torch.no_grad():
        model.hyper_decoder[-1].weight *= 0.01
        model.hyper_decoder[-1].bias.copy_(torch.cat([torch.zeros(6), torch.full((6,), 3.0)]))
    model.z_prior.update_tables()
    model.gaussian.update_tables()
    return model.eval()


@pytest.fixture(scope="module")
def small_variable_rate():
    """A small variable-rate codec with tables, scales of a trained model's size (about 3)
    and gains that differ per channel, trained range 0.0018 .. 0.013."""
    from aecodec.models import VariableRateHyperprior

    torch.manual_seed(0)
    model = VariableRateHyperprior(latent_channels=6, downsamplings=2, hidden_channels=8,
                                   side_channels=4)
    with torch.no_grad():
        model.log_gains += 0.1 * torch.randn_like(model.log_gains)
        model.log_inverse_gains += 0.1 * torch.randn_like(model.log_inverse_gains)
    return _with_trained_scales(model)


@pytest.fixture(scope="module")
def small_context():
    """A small context codec (`aecodec.models.context.VariableRateCheckerboard`) with tables,
    scales of a trained model's size, and a context that moves the non-anchors' means and
    scales (its last layer would start at zero)."""
    from aecodec.models.context import VariableRateCheckerboard

    torch.manual_seed(0)
    model = VariableRateCheckerboard(latent_channels=6, downsamplings=2, hidden_channels=8,
                                     side_channels=4)
    with torch.no_grad():
        model.log_gains += 0.1 * torch.randn_like(model.log_gains)
        model.parameters_net[-1].weight.normal_(0, 0.05)
        model.parameters_net[-1].bias.normal_(0, 0.1)
    return _with_trained_scales(model)


def notebook_cells(notebook: Path) -> list[dict]:
    """The cells of a committed notebook, as saved (sources and outputs)."""
    return json.loads(Path(notebook).read_text())["cells"]


def notebook_markdown(notebook: Path) -> str:
    """All the markdown of a committed notebook, line breaks as spaces."""
    text = "\n".join("".join(c["source"]) for c in notebook_cells(notebook)
                     if c["cell_type"] == "markdown")
    return " ".join(text.split())


def course_markdown(prefix: str) -> str:
    """`notebook_markdown` of the notebook whose name starts with `prefix` ("03")."""
    return notebook_markdown(next((REPO / "notebooks").glob(f"{prefix}_*.ipynb")))


def notebook_code_cell(notebook: Path, marker: str) -> dict:
    """The one code cell of a committed notebook whose source holds `marker`."""
    found = [c for c in notebook_cells(notebook)
             if c["cell_type"] == "code" and marker in "".join(c["source"])]
    assert len(found) == 1, f"one code cell should hold {marker!r}, found {len(found)}"
    return found[0]


def assert_diagnosed(check, wrong, phrase: str, false_phrase: str, capsys) -> str:
    """`check` rejects `wrong` with a verdict starting "Wrong: " that holds `phrase` and not
    `false_phrase` (the diagnosis a review found wrong); returns the verdict."""
    assert check(wrong, grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and phrase in out, out
    assert false_phrase not in out, out
    return out
