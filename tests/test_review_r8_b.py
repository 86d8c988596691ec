"""Round-8 review B (notebooks 03-05): the reviewer's wrong answers and the fixes, as tests.

- 05 halving_prediction and 04 loss_curve_prediction refuse a "prediction" that measures
  (reconstruct_8bit on the models, loss_curves, loss_curve_shapes), as 03's do, before
  anything runs; the notebooks' own solutions pass the guard.
- 04 training_step: a detached output, or one computed under torch.no_grad(), is diagnosed
  (no graph for backward to follow), not shown as PyTorch's raw error.
- Types: the grid check takes [3.0, 5.0] as [3, 5] and words 3.5 plainly; 03 exercise 1
  takes torch.tensor(7) as it takes np.int64(7); parameter_count refuses 81747.0.
- 03 cell 30 says which (kernel, stride) admit more than one (padding, output_padding), and
  what output_padding does when the kernel is smaller than the stride; cell 20's stretched
  panels say so; the stamps diagram's text is legible; 04's recap hedges "from most seeds";
  the exercise headers of 04 and 05 name their class.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aecodec.course import exercises as E
from aecodec.models import Autoencoder
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

NB03 = next((REPO / "notebooks").glob("03_*.ipynb"))
NB04 = next((REPO / "notebooks").glob("04_*.ipynb"))
NB05 = next((REPO / "notebooks").glob("05_*.ipynb"))
REFUSED = "A prediction is committed before the measurement"


def _solution(notebook, name: str):
    """The notebook's own solution function `name`, defined as its solution cell does."""
    source = next("".join(c["source"]) for c in notebook_cells(notebook)
                  if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"]))
    namespace: dict = {}
    exec(compile(source, notebook.name, "exec"), namespace)
    return namespace[name]


# --- D1: predictions that measure --------------------------------------------------------

_models = {16: Autoencoder(4, 1, 4), 8: Autoencoder(2, 1, 4)}  # stand-ins: nothing runs them
_photos = {"a": torch.rand(3, 16, 16)}


def _measuring_halving() -> float:  # the reviewer's attack4
    from aecodec.latents8bit import reconstruct_8bit
    from aecodec.metrics import psnr
    drops = [psnr(x[None], reconstruct_8bit(_models[16], x[None])[0])
             - psnr(x[None], reconstruct_8bit(_models[8], x[None])[0]) for x in _photos.values()]
    return sum(drops) / len(drops)


def _models_only() -> float:  # reads the models, no course function
    return float(_models[16].encode(torch.zeros(1, 3, 8, 8)).std())


def _halving(f, grade):
    return E.check_halving_prediction(f, _models[16], _models[8], _photos, grade=grade)


@pytest.mark.parametrize("wrong", [_measuring_halving, _models_only])
def test_halving_prediction_refuses_a_prediction_that_measures(wrong, capsys):
    out = assert_diagnosed(_halving, wrong, REFUSED, "Correct", capsys)
    assert "write the numbers, not code that measures" in out


def test_halving_prediction_refuses_before_loading_the_notebook_models(capsys, monkeypatch):
    monkeypatch.setattr(E, "_notebook_05_pair", lambda: pytest.fail("measured first"))
    assert_diagnosed(E.check_halving_prediction, _measuring_halving, REFUSED, "Correct", capsys)


def _shapes_through_the_module():  # the reviewer's attack6, first answer
    shapes = E.loss_curve_shapes(lr=2e-3)
    return tuple(E._most_seeds(shapes[r])[0] for r in ("without zero_grad", "10x learning rate"))


def _curves_imported_inside():  # attack6, second answer: the import inside the function
    from aecodec.course.exercises import loss_curves
    curves = loss_curves(lr=2e-3)
    return tuple("c" if max(c[-20:]) >= 1.5 * min(c[:-20]) else "b"
                 for c in (curves["without zero_grad"], curves["10x learning rate"]))


@pytest.mark.parametrize("wrong", [_shapes_through_the_module, _curves_imported_inside])
def test_loss_curve_prediction_refuses_a_prediction_that_measures(wrong, capsys, monkeypatch):
    monkeypatch.setattr(E, "loss_curves", lambda *a, **k: pytest.fail("measured first"))
    out = assert_diagnosed(E.check_loss_curve_prediction, wrong, REFUSED, "Correct", capsys)
    assert "write the letters, not code that measures" in out


@pytest.mark.parametrize("notebook, name", [(NB04, "loss_curve_prediction"),
                                            (NB05, "halving_prediction")])
def test_the_notebooks_solutions_pass_the_guard(notebook, name):
    solution = _solution(notebook, name)
    assert E._reads_measurement(solution, {"big": _models[16]}) is None
    E._refuse_measuring(solution)  # raises nothing


def test_the_guard_still_lets_math_through():
    import math

    def reasoned() -> float:
        return 10 * math.log10(2) / 2.5
    E._refuse_measuring(reasoned)


# --- D3: a forward pass without a graph ---------------------------------------------------


def _detached(model, x, optimizer):
    loss = F.mse_loss(model(x).detach(), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _under_no_grad(model, x, optimizer):
    with torch.no_grad():
        x_hat = model(x)
    loss = F.mse_loss(x_hat, x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@pytest.mark.parametrize("wrong", [_detached, _under_no_grad])
def test_training_step_names_the_missing_graph(wrong, capsys):
    out = assert_diagnosed(E.check_training_step, wrong, "no graph to follow", "RuntimeError",
                           capsys)
    assert "torch.no_grad()" in out and ".detach()" in out


# --- D8: types ------------------------------------------------------------------------------

_GRID = {"stamps": {2: [1], 3: [1, 2, 4], 4: [4], 5: [4, 6, 9], 6: [9]},
         "share": {3: [0.01] * 5, 4: [0.5, 0.6, 0.7, 0.2, 0.55]}}


def test_the_grid_check_takes_whole_floats_and_words_a_fraction_plainly(capsys):
    right = E.check_grid_prediction(lambda: {"uneven": [3.0, 5.0],
                                             "random_kernel_4_grid": True}, _GRID, grade=True)
    assert right is True, capsys.readouterr().out
    capsys.readouterr()
    out = assert_diagnosed(lambda f, grade: E.check_grid_prediction(f, _GRID, grade=grade),
                           lambda: {"uneven": [3.5, 5], "random_kernel_4_grid": True},
                           'a kernel size in "uneven" is 3.5, not an int', "which is", capsys)
    assert out.count("3.5") == 1


_LAYERS = {"A": (nn.ConvTranspose2d(1, 1, 3, stride=1, padding=0), 5)}  # 5 -> 7


# written inside the prediction, as a learner would (a tensor read from outside is data)
@pytest.mark.parametrize("right", [lambda: {"A": 7}, lambda: {"A": np.int64(7)},
                                   lambda: {"A": torch.tensor(7)},
                                   lambda: {"A": torch.tensor(7.0)}])
def test_size_prediction_takes_a_zero_d_integer_tensor_as_it_takes_np_int64(right, capsys):
    assert E.check_size_prediction(right, _LAYERS, grade=True) is True, capsys.readouterr().out


@pytest.mark.parametrize("wrong", [lambda: {"A": 6}, lambda: {"A": np.int64(6)},
                                   lambda: {"A": torch.tensor(6)}])
def test_size_prediction_diagnoses_a_wrong_tensor_as_a_wrong_int(wrong, capsys):
    out = assert_diagnosed(lambda f, grade: E.check_size_prediction(f, _LAYERS, grade=grade),
                           wrong, "you said 6", "not an int", capsys)
    assert "Count the stamps" in out


def test_size_prediction_still_refuses_a_fractional_tensor(capsys):
    assert_diagnosed(lambda f, grade: E.check_size_prediction(f, _LAYERS, grade=grade),
                     lambda: {"A": torch.tensor(7.5)}, "is 7.5, not an int", "tensor(", capsys)


def _float_count(c: int, k: int, n: int, kernel_size: int = 5) -> float:
    widths = [3] + [n] * (k - 1) + [c]
    return float(sum(2 * i * o * kernel_size**2 + o + i for i, o in zip(widths[:-1], widths[1:])))


def test_parameter_count_refuses_a_float(capsys):
    assert_diagnosed(E.check_parameter_count, _float_count, "not an int", "Correct", capsys)
    right = lambda c, k, n, kernel_size=5: int(_float_count(c, k, n, kernel_size))  # noqa: E731
    assert E.check_parameter_count(right, grade=True) is True


# --- D2, D4-D7: the notebooks' text and figures --------------------------------------------


def test_cell_30_states_which_strides_admit_more_than_one_pair():
    text = notebook_markdown(NB03)
    assert "op has room for more than one p" not in text
    assert "gives back op of the pixels cropped at the end" not in text
    assert "at stride 3 the odd kernels of 3 or more" in text
    assert "from stride 4 on, every kernel of 3 or more has two or more" in text
    assert "the extra pixels lie past the last stamp and get the bias alone" in text


@pytest.mark.parametrize("stride", [2, 3, 4, 5, 6])
def test_the_pairs_cell_30_counts_are_those_pytorch_keeps_the_size_with(stride):
    """Brute force: the (padding, output_padding) with which a transposed convolution makes
    stride * h of h, against what cell 30 says of each stride."""
    def keeps(kernel: int, p: int, op: int) -> bool:
        layer = nn.ConvTranspose2d(1, 1, kernel, stride, p, op)
        try:
            return all(layer(torch.zeros(1, 1, h, h)).shape[-1] == stride * h for h in (1, 3))
        except RuntimeError:  # padding past the stamps: no output at all
            return False

    for kernel in range(1, 11):
        pairs = [(p, op) for p in range(kernel) for op in range(stride) if keeps(kernel, p, op)]
        if stride == 2 or kernel < 3:
            assert len(pairs) <= 1, (kernel, stride, pairs)
        elif stride == 3:
            assert len(pairs) == (2 if kernel % 2 else 1), (kernel, pairs)
        else:
            assert len(pairs) >= 2, (kernel, stride, pairs)


def test_the_stretched_panels_say_so():
    cells = notebook_cells(NB03)
    figure = next("".join(c["source"]) for c in cells
                  if "untrained_decoder_output(x, k, seed=1)" in "".join(c["source"]))
    assert figure.count("(channel mean, stretched)") == 2  # review r11-B: the mean, in grey
    assert "contrast-stretched" in notebook_markdown(NB03)


def test_the_stamps_diagram_text_is_legible():
    from aecodec.viz import SMALL_FONT, transposed_stamps_diagram

    for settings in [dict(size=4, kernel=5, stride=2, padding=2, output_padding=1),
                     dict(size=3, kernel=2, stride=4, padding=0, output_padding=2)]:
        ax = transposed_stamps_diagram(**settings).axes[0]
        assert min(t.get_fontsize() for t in ax.texts) >= SMALL_FONT
        labels = [t for t in ax.texts if "padding" in t.get_text() or "bias" in t.get_text()]
        assert labels and all(t.get_fontsize() >= 10 for t in labels)


def test_recap_and_headers():
    text04, text05 = notebook_markdown(NB04), notebook_markdown(NB05)
    assert "the gradients add up and, from most seeds, the loss swings back up" in text04
    assert "Exercise 2 (prediction): the loss curve" in text04
    assert "Exercise 3 (mechanism): `parameter_count`" in text04
    assert "Exercise 2 (prediction): what halving the latent costs" in text05
    assert "Exercise 3 (mechanism): `latents_per_pixel`" in text05
    assert "Three exercises" in text04 and "Three exercises" in text05
