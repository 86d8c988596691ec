"""Review r11-A of notebooks 00 to 02: each defect it found, kept as a test.

- 00's PNG "predict" prompt had no check, its answer sat right under it in the student
  edition, and the banner said "no exercises": the prompt is an honest guess-then-read, the
  banner says "no checked exercises" and tells the learner to guess before reading on.
- 01's recap said the peak was "one of two conventions"; its check names three.
- 01 introduced MS-SSIM without citing it.
- 01 Exercise 2 (noise PSNR) accepted anything within 1 dB, the clipped values included:
  now 0.3 dB, clipping diagnosed by name, a gap reported even when accepted.
- 01's noise figure showed the noisy photos downscaled: a full-resolution crop per level.
- 02's long statistics on random kernels are marked optional.
- Weak diagnoses: latent_values with the area rounded down, one side rounded up, the
  arguments swapped; encoder_block with the class nn.ReLU; size prediction with the formula
  rounded up (E right) called "halves, rounding up".
"""

import functools
import inspect
import math

import nbformat
import pytest
from torch import nn

from aecodec.course import classroom, exercises
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

NB00 = REPO / "notebooks" / "00_what_is_image_compression.ipynb"
NB01 = REPO / "notebooks" / "01_images_as_tensors.ipynb"
NB02 = REPO / "notebooks" / "02_convolutional_encoder.ipynb"
MEASURED = {0.1: 20.0, 0.01: 40.0}  # -20 log10(sigma): the unclipped noise's PSNR


# --- 00: the PNG guess ----------------------------------------------------------------------


def test_00_png_guess_is_not_called_a_prediction_to_check():
    text = notebook_markdown(NB00)
    assert "Before you run the next cell, predict" not in text
    assert "Guess first, then read the ratios below" in text
    assert "This is not a checked exercise" in text


def test_00_student_banner_is_true_for_a_notebook_with_a_guess():
    note = classroom.NO_EXERCISE_NOTE
    assert "no checked exercises" in note and "guess" in note, note
    assert "has no exercises" not in note, note
    student = classroom.student_notebook(nbformat.read(NB00, as_version=4))
    assert any(note in cell.source for cell in student.cells)
    # the guess's answer is in the kept output, which the banner now says to read after guessing
    assert not classroom.exercise_cells(student)


# --- 01: recap and citation -----------------------------------------------------------------


def test_01_recap_names_the_three_peak_conventions_of_the_check():
    text = notebook_markdown(NB01)
    assert "one of two conventions" not in text
    assert "the check names three" in text
    # the check's own verdict names the three: 2^bits - 1, HM/VTM's, the dtype's maximum
    source = inspect.getsource(exercises.check_psnr_int)
    assert "255 · 2^(bits - 8)" in source and "dtype's maximum" in source


def test_01_cites_ms_ssim_where_introduced_and_in_the_references():
    cells = [c for c in notebook_cells(NB01) if c["cell_type"] == "markdown"]
    introduced = next("".join(c["source"]) for c in cells if "**MS-SSIM**" in "".join(c["source"]))
    assert "Wang, Simoncelli and Bovik, 2003" in " ".join(introduced.split())
    references = " ".join("".join(next(c["source"] for c in cells if "**References.**"
                                       in "".join(c["source"]))).split())
    assert ("*Multiscale structural similarity for image quality assessment*, Asilomar "
            "Conference on Signals, Systems and Computers, 2003") in references


# --- 01 Exercise 2: the noise prediction ----------------------------------------------------


_noise_check = functools.partial(exercises.check_noise_prediction, measured=MEASURED)


def test_clipped_noise_values_are_rejected_and_named_as_clipping(capsys):
    """The reviewer's {0.1: 20.62, 0.01: 40.08}, notebook 01's clipped PSNRs, passed."""
    assert_diagnosed(_noise_check, lambda: {0.1: 20.62, 0.01: 40.08},
                     "what clipping the noisy values to [0, 1] gives", "Correct", capsys)


@pytest.mark.parametrize("guess", [{0.1: 20.5, 0.01: 40.5}, {0.1: 19.5, 0.01: 40.0},
                                   {0.1: 20.9, 0.01: 40.0}])
def test_a_prediction_half_a_db_off_is_no_longer_accepted(guess, capsys):
    assert_diagnosed(_noise_check, lambda: guess, "dB", "Correct", capsys)


def test_an_accepted_gap_is_reported(capsys):
    assert _noise_check(lambda: {0.1: 20.2, 0.01: 40.0}, grade=True) is True
    out = capsys.readouterr().out
    assert "0.20 dB above the measurement at sigma 0.1" in out, out
    assert _noise_check(lambda: {0.1: 20.0, 0.01: 40.0}, grade=True) is True
    assert "You are" not in capsys.readouterr().out  # no gap, nothing to report


def test_one_draw_of_noise_still_passes(capsys):
    """The notebook's check, on a photo-sized draw, accepts the formula (its scatter is about
    0.01 dB, well inside 0.3)."""
    import torch
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 256, 256, generator=g)
    from aecodec.metrics import psnr
    measured = {s: psnr(x, x + s * torch.randn(x.shape, generator=g)) for s in (0.1, 0.01)}
    right = lambda: {s: -20 * math.log10(s) for s in (0.1, 0.01)}  # noqa: E731
    assert exercises.check_noise_prediction(right, measured, grade=True) is True, \
        capsys.readouterr().out


# --- 02 Exercise 1: the size prediction -----------------------------------------------------


def test_size_prediction_with_the_formula_rounded_up_is_told_so(capsys):
    from test_review_r10_A import _size_check, _sizes
    assert_diagnosed(_size_check, _sizes(A=4, C=4, D=5, E=26),
                     "formula with the division rounded up (ceil) in place of down",
                     "halves, rounding up", capsys)


# --- 02 Exercise 2: encoder_block -----------------------------------------------------------


def test_encoder_block_with_the_relu_class_is_told_to_write_an_instance(capsys):
    assert_diagnosed(exercises.check_encoder_block,
                     lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ReLU),
                     "write nn.ReLU() with parentheses", "nn.torch", capsys)


# --- 02 Exercise 3: latent_values -----------------------------------------------------------


@pytest.mark.parametrize("wrong, phrase", [
    (lambda h, w, c, k: c * h * w // 4**k, "divided the whole area by 4^3 = 64 and rounded down"),
    (lambda h, w, c, k: c * math.ceil(h / 2**k) * (w // 2**k),
     "rounded the rows up but the columns down"),
    (lambda h, w, c, k: c * (h // 2**k) * math.ceil(w / 2**k),
     "rounded the columns up but the rows down"),
    (lambda h, w, k, c: c * math.ceil(h / 2**k) * math.ceil(w / 2**k),
     "takes latent_channels and downsamplings in the other order"),
], ids=["area-floor", "ceil-rows-only", "ceil-columns-only", "swapped"])
def test_latent_values_wrong_answers_are_diagnosed(wrong, phrase, capsys):
    assert_diagnosed(exercises.check_latent_values, wrong, phrase, "Correct", capsys)


# --- 01: the noise figure -------------------------------------------------------------------


def test_01_noise_figure_adds_a_full_resolution_crop_per_level():
    """The photos, shrunk to about 200 px, averaged the noise away: 30.7 dB looked spotless."""
    cell = next(c for c in notebook_cells(NB01) if c["cell_type"] == "code"
                and "show_images([x] + noisy" in "".join(c["source"]))
    source = "".join(cell["source"])
    assert "crops" in source and "full resolution" in source, source
    shown = "".join("".join(o.get("data", {}).get("text/plain", "")) for o in cell["outputs"])
    assert "with 10 Axes" in shown, shown  # five photos and five crops


# --- 02: the random kernels' statistics -----------------------------------------------------


def test_02_random_kernel_statistics_are_marked_optional_with_a_short_lead():
    cell = next("".join(c["source"]) for c in notebook_cells(NB02) if c["cell_type"] == "markdown"
                and "What do the 64 feature maps" in "".join(c["source"]))
    lead, optional = cell.split("**Optional: what decides each random feature map.**")
    lead = " ".join(lead.split())
    assert "features 4 and 6 follow the photo's brightness" in lead, lead
    assert "zero padding" in lead and len(lead.split()) < 120, lead
    assert "go on to *The receptive field*" in optional, optional
