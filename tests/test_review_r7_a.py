"""Round-7 review A (notebooks 00-02): the wrong answers it found accepted or misdiagnosed,
kept as tests, and its prose fixes.

- A prediction whose code reads the measurement (`measured`, `layers`) or anything that
  measures (PyTorch's layers or random numbers, the course's psnr, a helper of the notebook
  that does) is refused: a prediction is committed before the measurement. Numbers written
  as tensors, and arithmetic with math, NumPy or torch on them, stay fine.
- check_latent_values names the output-size formula applied k times with the padding
  forgotten, or as (n - 1) // 2 (its + 1 forgotten, or padding 1: the same size).
- check_psnr_int names a peak written into the code (1023 at 16 bits).
- check_noise_prediction says what an infinite PSNR means, not "wrong order".
- check_encoder_block accepts nn.LazyConv2d (its channels come from the first input) and
  says truthfully that it cannot judge a TorchScript module.
- Prose: JPEG is a baseline many papers plot; load_image's refusals; stride 2 halves only
  with kernel = 2 * padding + 1; the shipped encoder is the one built with the default
  settings; the answers of 01's Exercise 2 and 3 and of 02's Exercise 1 are in the checks'
  messages, not in the prose right after them.
"""

import functools
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from aecodec.course import exercises
from aecodec.errors import ImageError
from aecodec.images import image_to_tensor
from aecodec.metrics import psnr
from conftest import REPO

COMMITTED = "A prediction is committed before the measurement: write the numbers, not code"
measured = {0.1: 20.0, 0.01: 40.0}  # as notebook 01 names it, a global of the notebook
layers = {"A": (nn.Conv2d(1, 1, 4, stride=2, padding=1), 7),  # notebook 02's, a global too
          "B": (nn.Conv2d(1, 1, 4, stride=2, padding=1), 8),
          "C": (nn.Conv2d(1, 1, 3, stride=2, padding=0), 8),
          "D": (nn.Conv2d(1, 1, 5, stride=2, padding=1), 10),
          "E": (nn.Conv2d(1, 1, 3, stride=1, padding=0), 28)}
RIGHT_SIZES = {"A": 3, "B": 4, "C": 3, "D": 4, "E": 26}
x = torch.rand(3, 16, 16)  # a photo of the notebook


def _cells(stem: str) -> list[str]:
    """The source of every cell of the notebook whose name starts with `stem`."""
    path = next((REPO / "notebooks").glob(f"{stem}_*.ipynb"))
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def _outputs(stem: str) -> str:
    path = next((REPO / "notebooks").glob(f"{stem}_*.ipynb"))
    return "\n".join("".join(out.get("text", "")) for cell in json.loads(path.read_text())["cells"]
                     for out in cell.get("outputs", []))


def _rejected(check, answer, capsys, *args) -> str:
    assert check(answer, *args, grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: "), out
    return out


# --- predictions that look the answer up ---------------------------------------------------


def noise_lookup():
    return measured  # the reviewer's first lookup


def size_lookup():  # the reviewer's second lookup
    return {n: layer(torch.zeros(1, 1, s, s)).shape[-1] for n, (layer, s) in layers.items()}


def size_by_own_layer():
    return {**RIGHT_SIZES, "A": nn.Conv2d(1, 1, 4, 2, 1)(torch.zeros(1, 1, 7, 7)).shape[-1]}


def noise_by_psnr():
    return {s: psnr(x, x + s * torch.randn(x.shape)) for s in (0.1, 0.01)}


def _measure(s):
    return -10 * math.log10(float((s * torch.randn(10_000)).pow(2).mean()))


def noise_by_helper():
    return {s: _measure(s) for s in (0.1, 0.01)}


def noise_by_numpy_simulation():
    return {s: -10 * np.log10(np.mean((s * np.random.randn(10_000)) ** 2)) for s in (0.1, 0.01)}


LOOKUPS = [
    (exercises.check_noise_prediction, noise_lookup, measured, "reads `measured`"),
    (exercises.check_size_prediction, size_lookup, layers, "reads `layers`"),
    (exercises.check_size_prediction, size_by_own_layer, layers, "reads `nn`"),
    (exercises.check_noise_prediction, noise_by_psnr, measured, "reads `psnr`"),
    (exercises.check_noise_prediction, noise_by_helper, measured,
     "reads `_measure`, a function of yours that reads `torch.randn`"),
    (exercises.check_noise_prediction, noise_by_numpy_simulation, measured,
     "reads `np.random`"),
]


@pytest.mark.parametrize("check, predict, measurement, phrase", LOOKUPS,
                         ids=[p.__name__ for _, p, _, _ in LOOKUPS])
def test_a_prediction_that_measures_is_refused(check, predict, measurement, phrase, capsys):
    out = _rejected(check, predict, capsys, measurement)
    assert phrase in out and COMMITTED in out, out


def test_a_lookup_through_a_closure_is_refused(capsys):
    result = dict(measured)
    out = _rejected(exercises.check_noise_prediction, lambda: result, capsys, result)
    assert "your prediction reads `result`" in out and COMMITTED in out, out


@pytest.mark.parametrize("predict", [
    lambda: {0.1: -20 * math.log10(0.1), 0.01: -20 * math.log10(0.01)},
    lambda: {0.1: torch.tensor(20.0), 0.01: torch.tensor([40.0])},
    lambda: {0.1: float(-20 * torch.log10(torch.tensor(0.1))), 0.01: np.float64(40)},
    functools.partial(dict, {0.1: 20.0, 0.01: 40.0}),  # no code of its own to look at
], ids=["math", "tensors", "torch-arithmetic", "partial"])
def test_a_prediction_that_writes_or_computes_numbers_is_accepted(predict, capsys):
    assert exercises.check_noise_prediction(predict, measured, grade=True) is True, \
        capsys.readouterr().out


def test_a_size_prediction_written_as_arithmetic_is_accepted(capsys):
    assert exercises.check_size_prediction(
        lambda: {"A": (7 + 2 - 4) // 2 + 1, "B": 4, "C": 3, "D": 4, "E": 26}, layers,
        grade=True) is True, capsys.readouterr().out


# --- diagnoses ---------------------------------------------------------------------------


def _iterated(size):
    def latent_values(h, w, c, k):
        for _ in range(k):
            h, w = size(h), size(w)
        return c * h * w
    return latent_values


@pytest.mark.parametrize("size, phrase", [
    (lambda n: (n - 5) // 2 + 1, "without the padding, (n - 5) // 2 + 1"),
    (lambda n: (n + 4 - 5) // 2, "without its + 1"),
    (lambda n: (n + 2 - 5) // 2 + 1, "or with padding 1"),
], ids=["padding-forgotten", "plus-one-forgotten", "padding-1"])
def test_latent_values_from_the_formula_applied_k_times_is_diagnosed(size, phrase, capsys):
    out = _rejected(exercises.check_latent_values, _iterated(size), capsys)
    assert phrase in out and "512 -> 256 -> 128 -> 64" in out, out


def test_psnr_int_with_a_peak_written_into_the_code_names_the_peak(capsys):
    def psnr_int(a, b, bits):
        peak = 255 if bits == 8 else 1023
        return 10 * math.log10(peak**2 / float(((a.astype(float) - b) ** 2).mean()))
    out = _rejected(exercises.check_psnr_int, psnr_int, capsys)
    assert "a peak of 1023, the largest 10-bit value" in out, out
    assert "16 bits, so the peak is 2^16 - 1 = 65535" in out, out


def test_psnr_int_right_answer_tells_the_rule(capsys):
    def psnr_int(a, b, bits):
        return 10 * math.log10((2**bits - 1) ** 2 / float(((a.astype(float) - b) ** 2).mean()))
    assert exercises.check_psnr_int(psnr_int, grade=True) is True
    assert "2^bits - 1" in capsys.readouterr().out


def test_an_infinite_noise_prediction_is_not_called_the_wrong_order(capsys):
    out = _rejected(exercises.check_noise_prediction,
                    lambda: {0.1: math.inf, 0.01: math.inf}, capsys, measured)
    assert "An infinite PSNR means an MSE of 0" in out, out
    assert "More noise is more error" not in out, out


def test_a_lazy_convolution_block_is_accepted(capsys):
    block = lambda i, o: nn.Sequential(nn.LazyConv2d(o, 5, 2, 2), nn.ReLU())  # noqa: E731
    assert exercises.check_encoder_block(block, grade=True) is True, capsys.readouterr().out
    up = lambda i, o: nn.Sequential(nn.LazyConvTranspose2d(o, 5, 2, 2, 1), nn.ReLU())  # noqa: E731
    assert exercises.check_decoder_block(up, grade=True) is True, capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.script is deprecated
def test_a_scripted_block_is_told_the_check_cannot_look_inside(capsys):
    out = _rejected(exercises.check_encoder_block, lambda i, o: torch.jit.script(
        nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ReLU())), capsys)
    assert "TorchScript module" in out and "may well compute the right thing" in out, out
    assert "_CachedForward" not in out, out


# --- prose -------------------------------------------------------------------------------


def test_notebook_00_calls_jpeg_a_baseline_many_papers_plot():
    text = _cells("00")[0]
    assert "nearly every paper" not in text
    assert "a baseline many papers still plot" in text and "BPG and VTM" in text


def test_notebook_01_names_both_refusals_of_load_image():
    text = next(cell for cell in _cells("01") if "### The package version" in cell)
    assert "mode F" in text and "mode I" in text and "0..65535" in text
    with pytest.raises(ImageError, match="outside 0..65535"):  # what the prose says
        image_to_tensor(Image.fromarray(np.full((2, 2), 70_000, dtype=np.int32), mode="I"))


def test_answers_after_the_exercises_of_01_and_02_are_in_the_checks_not_the_prose():
    cells01 = _cells("01")
    after_noise = next(cell for cell in cells01 if cell.startswith("Without clipping"))
    assert r"\log_{10} \sigma" not in after_noise and "the rule the check's message gave" \
        in after_noise
    recap = next(cell for cell in cells01 if "## Recap" in cell)
    assert "2^bits" not in recap and "Exercise 3" in recap
    assert "-20 log10(sigma)" in _outputs("01") and "2^bits - 1 (255 for bytes)" in _outputs("01")
    after_sizes = next(cell for cell in _cells("02") if cell.startswith("With kernel 4 and"))
    assert "7 pixels give 3" not in after_sizes
    assert "PyTorch's rule: out = (size + 2 * padding - kernel) // stride + 1" in _outputs("02")


def test_notebook_02_says_when_stride_2_halves_and_which_settings_the_shipped_encoder_has():
    cells = _cells("02")
    recap = next(cell for cell in cells if "## Recap" in cell)
    assert "**stride 2** with kernel = 2·padding + 1" in recap and "rounding up" in recap
    trained = next(cell for cell in cells if "## The trained encoder" in cell)
    assert "exactly the encoder built above with the default settings" in trained
    # the claim itself: with kernel = 2 * padding + 1 and stride 2, n -> ceil(n / 2) for all n
    for kernel, padding in [(1, 0), (3, 1), (5, 2), (7, 3)]:
        layer = nn.Conv2d(1, 1, kernel, stride=2, padding=padding)
        assert all(layer(torch.zeros(1, 1, n, n)).shape[-1] == -(-n // 2) for n in range(1, 20))
