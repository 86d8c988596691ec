"""The expert review r5-C of notebooks 06 and 07: its wrong answers, kept as tests.

Each wrong answer goes in, and the check must reject it with the diagnosing phrase (not a
generic "expected ... got", and not a false reason). Also the prose the review found false:
the per-channel histogram is a memoryless count, not a bound, and the straight-through
estimator is a real alternative that the check must not call gradient-free.
"""

import json

import numpy as np
import pytest
import torch

from aecodec.course import exercises
from conftest import REPO


def _gaussian(std):
    return lambda y: y + std * torch.randn_like(y)


def _straight_through(y):
    return y + (torch.round(y) - y).detach()


WRONG = [
    # review item 8: wide Gaussians were told "the noise depends on y"
    ("noise_quantize", _gaussian(0.5), "beyond 1/2"),
    ("noise_quantize", _gaussian(0.6), "beyond 1/2"),
    ("noise_quantize", _gaussian(1.0), "beyond 1/2"),
    # review item 6: the straight-through estimator reaches y; the message must say so
    ("noise_quantize", _straight_through, "the rate only at the integers"),
    # review item 11: three answers that got only "expected ... got"
    ("entropy_bits", lambda v: float(np.log2(len(torch.unique(v)))),
     "log2 of the 2 distinct values"),
    ("rd_loss", lambda m, b, lm: lm * (10 * np.log10(1 / m) if m > 0 else 0) + b,
     "puts the PSNR in the loss"),
    ("rd_loss", lambda m, b, lm: lm * 255**2 * (m + b), "weights the rate too"),
]


@pytest.mark.parametrize("name, wrong, phrase", WRONG,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)])
def test_the_review_r5c_wrong_answers_get_their_own_diagnosis(name, wrong, phrase, capsys):
    torch.manual_seed(1)
    assert getattr(exercises, f"check_{name}")(wrong, grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and phrase in out, out
    assert "depends on y" not in out and "cannot see what a small move" not in out, out


def test_the_straight_through_message_calls_it_a_real_alternative(capsys):
    exercises.check_noise_quantize(_straight_through)
    out = capsys.readouterr().out
    assert "real alternative" in out and "Theis et al. 2017" in out, out


def test_y_dependent_noise_is_still_told_it_depends_on_y(capsys):
    """Moving the bound test first must not hide this diagnosis (noise within 1/2)."""
    exercises.check_noise_quantize(
        lambda y: y + (torch.rand_like(y) - 0.5) * (y.detach().abs() > 0.05))
    assert "the noise depends on y" in capsys.readouterr().out


def test_the_file_size_message_names_the_photo_width_by_height(capsys):
    exercises.check_file_size_prediction(lambda: 0.81)  # bpp, not bytes
    out = capsys.readouterr().out
    assert "for this 600x400 photo" in out, out


def _markdown(name: str) -> str:
    cells = json.loads((REPO / "notebooks" / name).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


def test_notebook_06_does_not_call_the_histogram_count_ideal():
    text = _markdown("06_from_latents_to_bytes.ipynb")
    for phrase in ("perfect entropy coder", "ideally entropy-coded", "ideal entropy coding",
                   "ideal bound", "counted generously", "few distinct values",
                   "That gives a real file"):
        assert phrase not in text, phrase
    assert "memoryless" in text and "not the same look" in text


def test_notebook_07_names_the_straight_through_estimator():
    text = _markdown("07_rate_distortion.ipynb")
    assert "straight-through" in text and "Minnen and Singh 2020" in text
    assert "D. Minnen, S. Singh" in text
