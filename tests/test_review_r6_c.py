"""The expert review r6-C of notebooks 06 and 07: its misdiagnosed answers, kept as tests.

Each wrong answer goes in, and the check must reject it with the diagnosing phrase (not a
phrase that is false for it). Also the prose the review found wrong: the width of the two
models in 06, "2.9 times smaller", exercise 3's header hint that stated the answer, and two
citations in 07.
"""

import json
import math
import re

import pytest
import torch

from aecodec.course import exercises
from conftest import REPO, assert_diagnosed


def _entropy(values: torch.Tensor) -> float:
    _, counts = torch.unique(values, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-(p * torch.log2(p)).sum())


def _soft_round_plus_noise(y):
    """Soft rounding, then uniform noise: a term computed from y, plus a fresh draw."""
    return y - torch.sin(2 * math.pi * y) / (2 * math.pi) + (torch.rand_like(y) - 0.5)


def _cached_noise(y, _cache=[]):  # noqa: B006 (the cache is the mistake)
    """One noise pattern per shape, drawn once and reused: the same whatever y is."""
    if not _cache or _cache[0].shape != y.shape:
        _cache[:] = [torch.rand_like(y) - 0.5]
    return y + _cache[0]


WRONG = [
    # defect 1: lzma's output in bpp was told it looked like a percentage
    ("lzma_prediction", lambda: 1.565, "looks like bits per pixel; the answer is bytes",
     "percentage"),
    ("lzma_prediction", lambda: 2.0, "looks like bits per pixel; the answer is bytes",
     "percentage"),
    # defect 8: ceil(H) was told "= log2 of the 2 distinct values", a coincidence
    ("entropy_bits", lambda v: float(math.ceil(_entropy(v))), "the entropy rounded",
     "log2 of the"),
    ("entropy_bits", lambda v: float(int(_entropy(v))), "the entropy rounded", "log2 of the"),
    ("entropy_bits", lambda v: round(_entropy(v)), "the entropy rounded", "log2 of the"),
    # defect 9: lambda * (mse + bpp) got only "should be ..., got ..."
    ("rd_loss", lambda m, b, lm: lm * (m + b), "lambda multiplies the distortion term only",
     "should be"),
    ("rd_loss", lambda m, b, lm: lm * (255**2 * m + b),
     "lambda multiplies the distortion term only", "should be"),
    # defect 7: soft rounding plus noise was told "two calls give the same noise"
    ("noise_quantize", _soft_round_plus_noise, "part of what you add depends on y",
     "two calls give the same noise"),
]


@pytest.mark.parametrize("name, wrong, phrase, false_phrase", WRONG,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(WRONG)])
def test_the_review_r6c_wrong_answers_get_their_own_diagnosis(name, wrong, phrase,
                                                              false_phrase, capsys):
    torch.manual_seed(1)
    assert_diagnosed(getattr(exercises, f"check_{name}"), wrong, phrase, false_phrase, capsys)


def test_log2_of_the_distinct_values_keeps_its_own_diagnosis(capsys):
    """The rounding diagnosis must not take over the answer the log2 one was written for."""
    exercises.check_entropy_bits(lambda v: math.log2(len(torch.unique(v))))
    out = capsys.readouterr().out
    assert "log2 of the 2 distinct values" in out and "the entropy rounded" not in out, out


def test_a_fixed_noise_pattern_is_still_told_it_repeats(capsys):
    exercises.check_noise_quantize(_cached_noise)
    out = capsys.readouterr().out
    assert "two calls give the same noise" in out and "depends on y" not in out, out


def test_a_fraction_for_lzma_is_told_the_answer_is_bytes(capsys):
    exercises.check_lzma_prediction(lambda: 0.78)
    out = capsys.readouterr().out
    assert "a fraction of the input, or bits per pixel" in out and "46,800" in out, out


def _cells(name: str) -> list[dict]:
    return json.loads((REPO / "notebooks" / name).read_text())["cells"]


def _markdown(name: str) -> str:
    return " ".join(" ".join("".join(c["source"]).split()) for c in _cells(name)
                    if c["cell_type"] == "markdown")


def _outputs(name: str) -> str:
    return "\n".join("".join(o.get("text", "")) for c in _cells(name)
                     for o in c.get("outputs", []))


def test_exercise_3_of_06_does_not_state_the_overhead():
    """Defect 4: "count a header as tens of bytes", beside a window of tens of bytes, gave the
    answer away; the text now asks what the header must hold. (Since review r11-C it also
    lists each field's size, as "4-byte" and the like, never a total: one number could not
    tell a compact header reasoned out from the stream alone.)"""
    sources = ["".join(c["source"]) for c in _cells("06_from_latents_to_bytes.ipynb")
               if c["cell_type"] == "markdown"]
    text = next(" ".join(s.split()) for s in sources if "file_size_prediction()" in s)
    assert "tens of" not in text and "what must the file tell it" in text, text
    assert not re.search(r"\d+ bytes", text), text


@pytest.mark.parametrize("overhead", [exercises.FILE_SIZE_OVERHEAD[0] + 1,
                                      exercises.FILE_SIZE_OVERHEAD[1] - 1])
def test_the_file_size_window_takes_a_header_reasoned_without_the_hint(overhead, capsys):
    """A learner who counts a header of about a hundred bytes is inside the window; the
    estimate is 24,300.4 bytes."""
    guess = 24_300 + overhead
    assert exercises.check_file_size_prediction(lambda: guess, grade=True) is True, \
        capsys.readouterr().out


def test_the_teachers_guide_states_the_file_size_window():
    low, high = exercises.FILE_SIZE_OVERHEAD
    row = next(line for line in (REPO / "docs/teachers.md").read_text().splitlines()
               if line.startswith("| 06 | `file_size_prediction`"))
    assert f"{low} to {high} bytes above the estimate is correct" in row, row
    assert "tells the learner to count a header" not in row


def test_notebook_06_compares_the_files_without_times_smaller():
    """Defects 2 and 3: both models are 64 wide inside; "2.9 times smaller"."""
    name = "06_from_latents_to_bytes.ipynb"
    text, printed = _markdown(name), _outputs(name)
    assert "times smaller" not in text and "times smaller" not in printed
    assert "about a third the size" in text
    assert "64 latent channels against 16 (both are 64 wide inside)" in text
    assert "also wider" not in text


def test_notebook_07_cites_the_earlier_work():
    """Defects 5 and 6: Ballé et al. PCS 2016 came before; the straight-through estimator
    is Bengio et al. 2013's, used by Theis et al. 2017."""
    text = _markdown("07_rate_distortion.ipynb")
    assert "among the first autoencoders" in text and "the first autoencoders" not in \
        text.replace("among the first autoencoders", "")
    assert "Picture Coding Symposium (PCS) 2016" in text
    assert "as Theis et al. 2017 used it (Bengio et al. 2013)" in text
    assert "Y. Bengio, N. Léonard, A. Courville" in text
