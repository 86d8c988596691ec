"""The expert review r12-C of notebooks 06 and 07: its accepted and weakly diagnosed wrong
answers, kept as tests (a wrong answer in, a check that rejects it with the diagnosing
phrase), and its prose fixes."""
import functools
import math

import pytest
import torch

from aecodec.course import exercises
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

NB06 = REPO / "notebooks" / "06_from_latents_to_bytes.ipynb"
NB07 = REPO / "notebooks" / "07_rate_distortion.ipynb"
ESTIMATE = 24_300  # notebook 06's estimate, 24,300.4 bytes (the file: 24,347)


# --- D1: the file-size window accepted tables in the file and a proportional overhead -----

@pytest.mark.parametrize("guess, reasoning", [(24_399, "a one-byte table per channel"),
                                              (24_421, "a coder overhead of 0.5 %")])
def test_an_overhead_the_file_does_not_carry_is_refused(guess, reasoning, capsys):
    out = assert_diagnosed(exercises.check_file_size_prediction, lambda: guess,
                           "more than the header, checksum and stream end", "Correct", capsys)
    assert "the file carries no tables" in out and "does not grow with the file" in out, \
        (reasoning, out)


def test_the_window_holds_the_file_and_the_solution(capsys):
    low, high = exercises.FILE_SIZE_OVERHEAD
    assert 20 <= low <= 25 and 60 <= high <= 90, (low, high)
    for guess in (24_340, 24_347, ESTIMATE + 35 + 12):  # the solution, the file, its parts
        assert exercises.check_file_size_prediction(lambda g=guess: g, grade=True) is True, \
            capsys.readouterr().out


# --- D2: the exercise named every field with its size, which made the answer a sum ----------

def test_the_exercise_gives_no_field_sizes():
    text = notebook_markdown(NB06)
    exercise = text[text.index("Exercise 3"):text.index("file_size_prediction()")]
    assert "the model's id (which model wrote the file)" in exercise, exercise
    assert "a checksum ends the file" in exercise, exercise
    assert "-byte" not in exercise and "byte id" not in exercise, exercise


# --- D3: three entropy_bits answers got a generic hint -------------------------------------

def _entropy(values: torch.Tensor) -> float:
    _, counts = torch.unique(values, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-(p * torch.log2(p)).sum())


def test_the_total_in_bytes_is_diagnosed(capsys):
    assert_diagnosed(exercises.check_entropy_bits, lambda v: _entropy(v) * v.numel() / 8,
                     "the total in bytes", "Hint:", capsys)


def test_unique_of_rows_is_diagnosed(capsys):
    def rows(v):
        _, counts = torch.unique(v, dim=0, return_counts=True)
        p = counts.double() / counts.sum()
        return float(-(p * torch.log2(p)).sum())
    assert_diagnosed(exercises.check_entropy_bits, rows, "each row counted as one symbol",
                     "Hint:", capsys)


@pytest.mark.parametrize("pick, which", [(torch.max, "most"), (torch.min, "least")])
def test_the_surprisal_of_one_value_is_diagnosed(pick, which, capsys):
    def surprisal(v):
        _, counts = torch.unique(v, return_counts=True)
        return -math.log2(float(pick(counts)) / float(counts.sum()))
    out = assert_diagnosed(exercises.check_entropy_bits, surprisal,
                           "the surprisal of one value", "Hint:", capsys)
    assert f"the {which} frequent value" in out, out


# --- D4: the lzma check spoke of lc=0 inside its tolerance, and refused len(raw) tersely ----

@pytest.mark.parametrize("guess", [49_300, 50_600])
def test_a_little_pessimistic_is_told_so_without_lc0(guess, capsys):
    out = assert_diagnosed(exercises.check_lzma_prediction, lambda: guess,
                           "A little pessimistic: neighbours are alike, and lzma uses the "
                           "byte before", "Correct", capsys)
    assert "lc=0" not in out, out


def test_len_of_raw_is_refused_with_its_reason(capsys):
    raw = exercises._notebook_06_raw()

    def lzma_prediction():
        return int(0.8 * len(raw))
    out = assert_diagnosed(functools.partial(exercises.check_lzma_prediction, raw=raw),
                           lzma_prediction, "Not even len(raw) is allowed", "Correct", capsys)
    assert "0.8 * 60_000" in out, out


# --- D5-D8: notebook 07's prose and its training warning ------------------------------------

def test_07_says_where_the_bits_map_comes_from():
    text = notebook_markdown(NB07)
    assert "Every number comes from a real file" not in text
    assert ("Every number comes from real files; the map of where the bits go is the model's "
            "$-\\log_2 P$ of the file's integers") in text


def test_07_interprets_the_hyperprior_overcount_with_a_hedge():
    text = notebook_markdown(NB07)
    assert "The hyperprior's noisy estimate lies further above its file" in text
    assert "a likely reason, not measured here" in text and "sharper" in text


def test_07_reads_the_ms_ssim_lead_as_the_figure_shows_it():
    text = notebook_markdown(NB07)
    assert "the lead shrinks as the rate grows" not in text
    assert "largest at the lowest rate, small at the middle two, gone at the highest" in text


def _training_tail() -> str:
    cell = next(c for c in notebook_cells(NB07) if c["cell_type"] == "code"
                and "steps in {TRAIN_SECONDS} s" in "".join(c["source"]))
    source = "".join(cell["source"])
    return source[source.index('print(f"{step} steps in'):]


@pytest.mark.parametrize("step, seconds, warned", [(500, 20, False), (99, 20, True),
                                                   (599, 120, True), (3003, 120, False)])
def test_the_undertrained_warning_scales_with_the_clock(step, seconds, warned, capsys):
    """Fast mode (20 s) made about 500 steps and was always told "undertrained"."""
    exec(_training_tail(), {"step": step, "TRAIN_SECONDS": seconds})  # noqa: S102
    out = capsys.readouterr().out
    assert out.startswith(f"{step} steps in {seconds} s\n"), out
    assert ("WARNING" in out) is warned, out
