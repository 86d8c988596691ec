"""Round-5 review A (notebooks 00-02): the fixes it asked for, kept as tests.

- The 1-D convolution diagram of notebook 02 states the sizes, not the output-size formula
  that exercise 1 asks students to predict.
- check_psnr_int has a 16-bit case with differences near 65535, so a PSNR computed in int32
  (65535^2 wraps to -131071) or after a cast to int16 is rejected with an overflow diagnosis.
- Cross-references the review found false or too narrow now say what the notebooks do.
"""

import json
import math

import numpy as np
import pytest
import torch

from aecodec.course import exercises
from conftest import REPO


def _cells(stem: str) -> list[str]:
    """The source of every cell of the notebook whose name starts with `stem`."""
    path = next((REPO / "notebooks").glob(f"{stem}_*.ipynb"))
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def test_conv1d_diagram_title_gives_the_sizes_but_not_the_formula():
    from aecodec.viz import conv1d_diagram

    title = conv1d_diagram(7, 5, 2, 2).axes[0].get_title()
    assert title == "size 7, kernel 5, stride 2, padding 2: 4 outputs"
    assert "⌊" not in title and "/" not in title


def _psnr_in(dtype):
    """A learner's psnr_int that converts the arrays to `dtype` before subtracting."""
    def psnr_int(a, b, bits):
        diff = a.astype(dtype) - b.astype(dtype)
        return float(10 * math.log10((2**bits - 1) ** 2 / float(np.mean(diff ** 2))))
    return psnr_int


def test_a_psnr_int_case_has_a_difference_whose_square_overflows_int32():
    sixteen = [(a, b) for a, b, bits in exercises._psnr_int_cases() if bits == 16]
    largest = max(int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())
                  for a, b in sixteen)
    assert largest ** 2 > np.iinfo(np.int32).max


@pytest.mark.parametrize("dtype, words", [
    (np.int32, ["that is what int32 arithmetic gives", "overflows", "does not fit in int32"]),
    (np.int16, ["that is what int16 arithmetic gives", "overflows", "up to 32767 only"]),
])
def test_psnr_int_in_a_narrow_signed_type_is_rejected_as_an_overflow(dtype, words, capsys):
    assert exercises.check_psnr_int(_psnr_in(dtype), grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and all(w in out for w in words), out


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_psnr_int_in_a_wide_enough_type_is_accepted(dtype, capsys):
    assert exercises.check_psnr_int(_psnr_in(dtype), grade=True) is True
    cases = len(exercises._psnr_int_cases())
    assert f"gives the right answer on {cases} test cases" in capsys.readouterr().out


def test_notebook_01_verdict_counts_every_psnr_int_case():
    cases = len(exercises._psnr_int_cases())
    path = REPO / "notebooks" / "01_images_as_tensors.ipynb"
    assert f"psnr_int gives the right answer on {cases} test cases" in path.read_text()


def test_the_trained_encoder_is_said_to_be_used_where_it_is_loaded():
    assert any("used in notebook 03 and from 05 on" in cell for cell in _cells("02"))
    assert any("load_plain(16)" in cell for cell in _cells("03"))


def test_notebook_00_lists_the_papers_notebook_09_rests_on():
    references = next(cell for cell in _cells("00") if cell.startswith("**References.**"))
    later = "\n".join(_cells("09"))
    for author, title in [("Minnen", "Channel-wise"), ("Yang", "Improving")]:
        assert title.lower() in later.lower() and title.lower() in references.lower(), author


def test_latent_values_with_the_notebooks_depth_hard_coded_is_told_so(capsys):
    """The likeliest slip: dividing by 8 (DOWNSAMPLINGS = 3) whatever `downsamplings` is."""
    def hard_coded(h, w, c, k):
        return c * math.ceil(h / 8) * math.ceil(w / 8)

    assert exercises.check_latent_values(hard_coded, grade=True) is False
    out = capsys.readouterr().out
    assert "returned 512, expected 2048" in out and "divides by 8 = 2^3 whatever" in out, out


def _to_batch_right(pixels):
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("wrong, words", [
    (lambda p: (torch.from_numpy(p).permute(2, 0, 1).float()[None] + 0.5) / 256,
     ["values are not byte / 255", "no offset or curve"]),
    (lambda p: _to_batch_right(p) ** 2.2, ["values are not byte / 255", "no offset or curve"]),
    (lambda p: (p.__setitem__((0, 0, 0), 0), _to_batch_right(p))[1],
     ["it changed the array it was given"]),
    (lambda p: torch.from_numpy(p).float().reshape(1, 3, *p.shape[:2]) / 255,
     ["values are in the wrong places", "permute, not view or reshape"]),
])
def test_to_batch_with_the_right_layout_but_wrong_values_is_told_which(wrong, words, capsys):
    assert exercises.check_to_batch(wrong, grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and all(w in out for w in words), out
