"""The expert review r8-C of notebooks 06 and 07: its weakly diagnosed wrong answers and its
prose defects, kept as tests.

Each wrong answer the review found weakly or wrongly diagnosed goes in, and the check must
reject it with the diagnosing phrase (and without the phrase the review found wrong).
"""

import numpy as np
import pytest
import torch

from aecodec.course import exercises
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

NB06 = REPO / "notebooks" / "06_from_latents_to_bytes.ipynb"
NB07 = REPO / "notebooks" / "07_rate_distortion.ipynb"


def _entropy_of(p: torch.Tensor) -> float:
    return float(-(p * torch.log2(p)).sum())


def _entropy_by_bincount(v):
    """Defect 2: torch.bincount(values) has bins from 0 up, empty below [3, 3, 3, 3]."""
    return _entropy_of(torch.bincount(v) / len(v))


def _entropy_by_histc_all_bins(v):
    """Defect 2: 256 bins of torch.histc, the empty ones kept."""
    counts = torch.histc(v.float(), bins=256)
    return _entropy_of(counts / counts.sum())


def _entropy_by_numpy_histogram_all_bins(v):
    """A bin per level from min to max (np.log2 this time): empty bins between the values."""
    counts, _ = np.histogram(v.numpy(), bins=int(v.max() - v.min()) + 1)
    p = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-(p * np.log2(p)).sum())


def _entropy_by_histc_method_log2(v):
    counts = torch.histc(v.float(), bins=256)
    p = counts / counts.sum()
    return float(-(p * p.log2()).sum())


def _numpy_noise(y):
    """Defect 3: NumPy draws float64, and y + float64 noise is float64."""
    return y + torch.from_numpy(np.random.uniform(-0.5, 0.5, tuple(y.shape)))


WRONG = [
    # defect 1: the notebook's global LAMBDA = 0.0067 in place of the argument
    ("rd_loss", lambda mse, bpp, lmbda: 0.0067 * 255**2 * mse + bpp,
     "use the lmbda argument, not the notebook's LAMBDA", "should be"),
    # defect 2: nan from empty bins, on whichever side of the values they are
    ("entropy_bits", _entropy_by_bincount, "empty bins", "the log of a negative number"),
    ("entropy_bits", _entropy_by_histc_all_bins, "empty bins", "the log of a negative number"),
    ("entropy_bits", _entropy_by_histc_method_log2, "empty bins", "the log of a negative number"),
    ("entropy_bits", _entropy_by_numpy_histogram_all_bins, "empty bins",
     "the log of a negative number"),
    # defect 3: float64 is the higher precision, not a lower one
    ("noise_quantize", _numpy_noise, "promotes y to torch.float64", "a lower precision"),
    ("noise_quantize", _numpy_noise, "torch.rand_like", "a lower precision"),
    # a lower precision keeps its own reason
    ("noise_quantize", lambda y: (y + torch.rand_like(y) - 0.5).half(), "a lower precision",
     "promotes"),
]


@pytest.mark.parametrize("name, wrong, phrase, false_phrase", WRONG,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(WRONG)])
def test_the_review_r8c_wrong_answers_get_their_own_diagnosis(name, wrong, phrase,
                                                              false_phrase, capsys):
    torch.manual_seed(1)
    assert_diagnosed(getattr(exercises, f"check_{name}"), wrong, phrase, false_phrase, capsys)


def test_a_nan_that_no_empty_bin_explains_keeps_the_plain_message(capsys):
    exercises.check_entropy_bits(lambda v: float("nan"))
    out = capsys.readouterr().out
    assert "it returned nan" in out and "empty bins" not in out, out


def test_the_log_is_restored_after_the_probe(capsys):
    exercises.check_entropy_bits(_entropy_by_histc_all_bins)
    capsys.readouterr()
    assert torch.log2(torch.tensor(0.0)) == -float("inf")
    assert torch.tensor(0.0).log() == -float("inf")
    assert "log2" not in vars(torch.Tensor) and "log" not in vars(torch.Tensor)  # inherited
    with np.errstate(divide="ignore"):
        assert np.log2(0.0) == -np.inf


MEASURED = {"noisy": 0.704, "rounded": 0.552, "file": 0.554}  # notebook 07's saved output


@pytest.mark.parametrize("answer", ["27%", " +27 % ", "27"])
def test_a_percentage_string_is_read_as_notebook_10_reads_it(answer, capsys):
    """Defect 7: "27%" got "should return a number, got str"."""
    assert exercises.check_overcount_prediction(lambda: answer, MEASURED, grade=True) is True, \
        capsys.readouterr().out


def test_a_string_that_is_no_number_is_diagnosed(capsys):
    assert exercises.check_overcount_prediction(lambda: "a quarter", MEASURED,
                                                grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and "a number in percent" in out, out


def test_the_training_plot_of_07_is_said_to_show_the_noisy_estimate():
    """Defect 5: "watch the rate fall" read as the file's rate; the plot shows training's
    noisy estimate on patches, above the file (exercise 3)."""
    text = " ".join(" ".join("".join(c["source"]).split()) for c in notebook_cells(NB07)
                    if c["cell_type"] == "markdown"
                    and "".join(c["source"]).startswith("## Training it, written out"))
    assert "noisy estimate" in text and "training patches" in text, text
    assert "not the file's rate" in text and "exercise 3" in text, text


def test_gdn_is_announced_and_the_learned_cdf_has_one_symbol():
    """Defect 6: 06 named GDN before 07 defines it; the learned CDF was F_c in 06, c in 07."""
    md06, md07 = notebook_markdown(NB06), notebook_markdown(NB07)
    assert "GDN (notebook 07)" in md06, md06
    assert "$F_c" not in md06 and "F_c(" not in md06
    assert "c(y + \\tfrac12) - c(y - \\tfrac12)" in md07
