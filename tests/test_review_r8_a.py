"""Review r8-A (notebooks 00-02): the wrong answers it found accepted or misdiagnosed, kept
as tests, and the prose it corrected.

- 01 Exercise 2's "no measuring" guard refuses in-place random fills (.normal_, .uniform_),
  torch.normal, NumPy's and SciPy's random numbers and a functools.partial of torch.randn.
- 01 Exercise 3 names the other peak convention, 255 · 2^(bits - 8) (1020 for 10 bits), when
  an answer uses it, and its rule says that 2^bits - 1 is the usual convention, not the only.
- 02 Exercise 3 (latent_values): "+ 1 if the side is odd", applied once, is told that the
  rounding happens at every layer; an answer in bits is told it counts bits, not values; and
  the check's first case is not the 512 x 768 count the notebook works out after it.
- encoder_block: a block on the meta device is told so, not "the output is not ReLU".
"""

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from aecodec.course import exercises
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

try:  # not a dependency of the kit; a learner may have it
    import scipy.stats
except ImportError:
    scipy = None

NOTEBOOKS = REPO / "notebooks"
MEASURED = {0.1: 20.0, 0.01: 40.0}


def _simulated(draw):
    """A 'prediction' that simulates the noise: -10 log10 of the mean of draw(sigma)^2."""
    return lambda: {s: -10 * math.log10(float((draw(s) ** 2).mean())) for s in (0.1, 0.01)}


_partial_randn = functools.partial(torch.randn, 100_000)


@pytest.mark.parametrize("draw", [
    lambda s: torch.empty(100_000).normal_(0, s),
    lambda s: torch.zeros(100_000).uniform_(-s * 3**0.5, s * 3**0.5),
    lambda s: torch.normal(0.0, s, (100_000,)),
    lambda s: np.random.default_rng(0).normal(0, s, 100_000),
    pytest.param(lambda s: scipy.stats.norm.rvs(0, s, 100_000, random_state=0),
                 marks=pytest.mark.skipif(scipy is None, reason="SciPy is not installed")),
    lambda s: s * _partial_randn(),
], ids=["normal_", "uniform_", "torch.normal", "numpy", "scipy.stats", "partial"])
def test_a_noise_prediction_that_simulates_is_refused_as_measuring(draw, capsys):
    assert_diagnosed(lambda f, grade: exercises.check_noise_prediction(f, MEASURED, grade=grade),
                     _simulated(draw), "A prediction is committed before the measurement",
                     "Correct", capsys)


def test_the_written_noise_prediction_still_passes(capsys):
    right = lambda: {0.1: 20.0, 0.01: 40.0}  # noqa: E731
    assert exercises.check_noise_prediction(right, MEASURED, grade=True) is True, \
        capsys.readouterr().out


def _psnr_with_peak(peak):
    def psnr_int(a, b, bits):
        mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
        return 10 * math.log10(peak(bits) ** 2 / mse)
    return psnr_int


def test_psnr_int_with_the_video_peak_is_told_it_is_another_convention(capsys):
    out = assert_diagnosed(exercises.check_psnr_int, _psnr_with_peak(lambda b: 255 * 2 ** (b - 8)),
                           "255 · 2^(10 - 8) = 1020", "with a peak of 1020", capsys)
    assert "HM and VTM" in out and "2^10 - 1 = 1023" in out, out


def test_psnr_int_right_answer_names_the_other_convention(capsys):
    assert exercises.check_psnr_int(_psnr_with_peak(lambda b: 2**b - 1), grade=True) is True
    out = capsys.readouterr().out
    assert "2^bits - 1 (255 for bytes)" in out and "2^(bits - 8), 1020 for 10 bits" in out, out


def test_latent_values_plus_one_if_odd_once_is_told_to_round_at_every_layer(capsys):
    out = assert_diagnosed(exercises.check_latent_values,
                           lambda h, w, c, k: c * (h // 2**k + h % 2) * (w // 2**k + w % 2),
                           "the rounding happens at every layer", "round() goes to", capsys)
    assert "100 -> 50 -> 25 -> 13 rows" in out, out


def test_latent_values_rounded_is_still_told_about_round(capsys):
    assert_diagnosed(exercises.check_latent_values,
                     lambda h, w, c, k: c * round(h / 2**k) * round(w / 2**k),
                     "round() goes to the nearest", "every layer", capsys)


@pytest.mark.parametrize("bits, phrase", [(8, "you counted bits (8 per value)"),
                                          (32, "bits of float32 values")])
def test_latent_values_in_bits_is_told_it_counts_bits(bits, phrase, capsys):
    wrong = lambda h, w, c, k: bits * c * -(-h // 2**k) * -(-w // 2**k)  # noqa: E731
    assert_diagnosed(exercises.check_latent_values, wrong, phrase, "HIDDEN_CHANNELS", capsys)


def test_latent_values_rounding_up_at_each_layer_in_a_loop_is_refused(capsys):
    """Passed until review r10-A, which found that a loop applying one layer k times
    answers the exercise without the step it asks for (k layers in one step)."""
    def latent_values(h, w, c, k):
        for _ in range(k):
            h, w = h // 2 + h % 2, w // 2 + w % 2
        return c * h * w
    out = assert_diagnosed(exercises.check_latent_values, latent_values,
                           "gives the right counts", "Correct", capsys)
    assert "a for loop" in out, out


def test_latent_values_first_case_is_not_worked_out_in_the_notebook(capsys):
    """The student edition keeps the outputs after the check (the 512 x 768 latent shape
    and the pipeline diagram's count): the check's first case must not be that one."""
    assert exercises.check_latent_values(lambda h, w, c, k: 0, grade=True) is False
    out = capsys.readouterr().out
    first = out.split("returned 0, expected ")[1].split(".")[0]
    shown = "\n".join("".join(cell["source"]) + "".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        for o in cell.get("outputs", []))
        for cell in notebook_cells(NOTEBOOKS / "02_convolutional_encoder.ipynb"))
    assert first.isdigit() and first not in shown and f"{int(first):,}" not in shown, first
    assert "latent_values(512, 768, 16, 3)" not in out, out


def test_an_encoder_block_on_the_meta_device_is_told_so(capsys):
    assert_diagnosed(exercises.check_encoder_block,
                     lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2, device="meta"), nn.ReLU()),
                     "on the meta device", "not nn.ReLU()", capsys)


def test_the_prose_that_review_r8_a_corrected():
    nb00 = notebook_markdown(NOTEBOOKS / "00_what_is_image_compression.ipynb")
    assert "random numbers cannot be written more compactly" not in nb00
    assert "what a codec cannot predict costs bits" in nb00
    nb01 = notebook_markdown(NOTEBOOKS / "01_images_as_tensors.ipynb")
    assert "at normal viewing size" in nb01 and "the kind of error" in nb01
    assert "What holds on average over the noise is the MSE" in nb01
    assert "a single identical pair in a batch makes the batch's average infinite" in nb01
    assert "one of several conventions in use (the check names three)" in nb01  # r11-A
    nb02 = notebook_markdown(NOTEBOOKS / "02_convolutional_encoder.ipynb")
    assert "measure the **receptive field**" not in nb02
    assert "work out the **receptive field**" in nb02
    assert "the layers of the learned codecs of Ballé et al. (2017" in nb02
    assert "Variational image compression with a scale hyperprior" in nb02
    assert "still look much like their random start (see the trained encoder below)" in nb02
