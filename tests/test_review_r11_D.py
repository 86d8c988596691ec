"""Review r11-D (notebooks 08 and 09): its wrong answers stay rejected with a true diagnosis,
and the sentences it found false, understated or unreadable stay fixed."""

import contextlib
import io
import math
import re

import nbformat
import pytest
import torch

from aecodec import refine
from aecodec.course import classroom, exercises
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_code_cell, notebook_markdown

NB08 = next((REPO / "notebooks").glob("08_*.ipynb"))
NB09 = next((REPO / "notebooks").glob("09_*.ipynb"))
FALSE_UP = "less than at the warmest temperature"  # said of 0.35 and 0.39, above 0.25


# --- defect 1: up_share's answers above P(up) at tau = 0.5 ----------------------------------

@pytest.mark.parametrize("answer", [0.35, 0.39, 0.3 + 0.01 * 3, 0.27])
def test_up_share_above_the_warmest_share_is_told_cooling_sharpens(answer, capsys):
    """0.39 is odds of 1 to 3 to the power 1/2.5: cooling taken to soften the choice."""
    out = assert_diagnosed(exercises.check_up_share, lambda: answer,
                           "more than at tau = 0.5", FALSE_UP, capsys)
    assert "cooling sharpens the choice; the log-odds are multiplied by 2.5, not divided" in out


@pytest.mark.parametrize("answer", [0.118, 0.133])
def test_up_share_odds_in_proportion_to_tau_are_named(answer, capsys):
    out = assert_diagnosed(exercises.check_up_share, lambda: answer,
                           "scaled in proportion to tau", FALSE_UP, capsys)
    assert "log-odds that are multiplied by 2.5" in out


def test_up_share_between_the_two_shares_is_told_the_truth(capsys):
    out = assert_diagnosed(exercises.check_up_share, lambda: 0.2,
                           "between the share at tau = 0.2 and the one at tau = 0.5", FALSE_UP,
                           capsys)
    assert "sharpens faster" in out


def test_no_up_share_message_says_more_or_less_than_it_is():
    """The audit of every branch: a hint that places the answer against the warmest share
    or the exact one places it on the right side."""
    warm = float(refine.round_up_probability(torch.tensor([0.3]), refine.TAU_START))
    exact = float(refine.round_up_probability(torch.tensor([0.3]), exercises.UP_SHARE_TAU))
    for answer in (0.0, 0.01, 0.03, 0.07, 0.09, 0.15, 0.2, 0.24, 0.27, 0.33, 0.36, 0.39, 0.45,
                   0.7, 1.0):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert exercises.check_up_share(lambda a=answer: a, grade=True) is False
        out = buffer.getvalue()
        assert FALSE_UP not in out, out
        if "more than at tau = 0.5" in out:
            assert answer > warm, out
        if "still soft: ordinary rounding is only the limit" in out and "raised" not in out:
            assert answer < exact, out
        if "between the share at" in out:
            assert exact < answer < warm, out


# --- defect 2: gaussian_pmf with the right edges and sign but another distribution ----------

def _bins(cdf, n, m):
    return cdf(n + 0.5 - m) - cdf(n - 0.5 - m)


@pytest.mark.parametrize("wrong", [
    lambda n, m, s: _bins(lambda t: torch.sigmoid(t / s), n, m),                    # logistic
    lambda n, m, s: _bins(lambda t: torch.sigmoid(1.702 * t / s), n, m),            # its fit
    lambda n, m, s: (torch.distributions.Laplace(m, s).cdf(n + 0.5)
                     - torch.distributions.Laplace(m, s).cdf(n - 0.5)),               # Laplace
], ids=["logistic", "logistic-1.702", "laplace"])
def test_gaussian_pmf_names_another_distribution(wrong, capsys):
    out = assert_diagnosed(exercises.check_gaussian_pmf, wrong, "not a Gaussian",
                           "Compare your bin edges", capsys)
    assert "Normal(mean, scale).cdf" in out


def test_gaussian_pmf_names_abs_n(capsys):
    def wrong(n, m, s):
        normal = torch.distributions.Normal(m, s)
        return normal.cdf(n.abs() + 0.5) - normal.cdf(n.abs() - 0.5)

    assert_diagnosed(exercises.check_gaussian_pmf, wrong, "you took |n|",
                     "Compare your bin edges", capsys)


def test_gaussian_pmf_names_another_shape_with_the_right_centre_and_total(capsys):
    def wrong(n, m, s):  # twice as wide: edges and sign right, not a named mistake
        normal = torch.distributions.Normal(m, 2 * s)
        return normal.cdf(n + 0.5) - normal.cdf(n - 0.5)

    out = assert_diagnosed(exercises.check_gaussian_pmf, wrong, "its shape is not",
                           "Compare your bin edges", capsys)
    assert "Normal(mean, scale).cdf" in out


def test_gaussian_pmf_still_says_compare_your_bin_edges_when_they_are_off(capsys):
    def wrong(n, m, s):  # bins shifted by a tenth: the centre moves
        normal = torch.distributions.Normal(m, s)
        return normal.cdf(n + 0.6) - normal.cdf(n - 0.4)

    assert_diagnosed(exercises.check_gaussian_pmf, wrong, "Compare your bin edges",
                     "not a Gaussian", capsys)


# --- defect 3: side_share's reference to coffee's share ---------------------------------------

def test_side_share_says_where_coffees_share_was_printed(capsys):
    out = assert_diagnosed(exercises.check_side_share, lambda: 0.048,
                           "printed before the exercise", "printed two cells above", capsys)
    assert "coffee's share" in out
    cells = notebook_cells(NB08)
    exercise = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                    and "Exercise 3: `side_share`" in "".join(c["source"]))
    printed = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
                   and "side information z:" in "".join(c["source"]))
    assert printed < exercise


# --- defect 4: 08's uncounted fourth task -------------------------------------------------

def test_08_imports_table_cost_and_extra_bits_after_the_check():
    cell = notebook_code_cell(NB08, "import extra_bits, table_cost")
    assert "def table_cost" not in "".join(cell["source"])
    assert "answer-in-source" not in cell["metadata"].get("tags", [])
    for scale, table in ((0.3, 0.25), (1.0, 1.2), (0.15, 0.125)):
        assert math.isclose(exercises.extra_bits(scale, table), exercises.table_cost(
            scale, table) - exercises.table_cost(scale, scale), rel_tol=1e-12)
        assert exercises.extra_bits(scale, table) > 0


def test_08s_outputs_are_the_package_functions_outputs():
    """The cell that computed table_cost now imports it: it and the ladder's cell print what
    they printed before (their saved outputs, made with the notebook's own table_cost)."""
    from aecodec.entropy import SCALE_LADDER

    scope = {"torch": torch, "math": math, "SCALE_LADDER": SCALE_LADDER}
    solution = "".join(notebook_code_cell(NB08, "def gaussian_pmf(")["source"])
    exec(solution, scope)
    for marker in ("import extra_bits, table_cost", "def table_index("):
        cell = notebook_code_cell(NB08, marker)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec("".join(cell["source"]), scope)
        saved = "".join("".join(o.get("text", "")) for o in cell["outputs"])
        assert buffer.getvalue() == saved


@pytest.mark.parametrize("name", ["table_cost", "extra_bits"])
def test_cheaper_rung_refuses_the_kits_own_cost(name, capsys):
    fn = getattr(exercises, name)

    def one_liner(s, r):
        return "narrower" if fn(s, s / r) < fn(s, s * r) else "wider"

    assert_diagnosed(exercises.check_cheaper_rung, one_liner, f"the kit's own `{name}`",
                     "Correct", capsys)


def test_the_student_edition_of_08_counts_its_tasks():
    """Three exercises in the front matter, three stubs to write in the student edition."""
    assert "Three exercises ✏️" in notebook_markdown(NB08)
    student = classroom.student_notebook(nbformat.read(NB08, as_version=4))
    code = [c.source for c in student.cells if c.cell_type == "code"]
    assert sum("raise NotImplementedError(" in s for s in code) == 3
    assert not [s for s in code if s.startswith("# Hidden in the student edition")]


# --- defect 5: 09's g * g' (measured in tests/test_review_r10_D.py, updated) -----------------

def test_09_no_longer_understates_how_far_g_g_prime_is_from_1():
    text = notebook_markdown(NB09)
    assert "stays within about a quarter of 1, but on a few" not in text
    assert "nearly half of the channels that carry bits" in text
    assert "about ten of them four to eight times below 1" in text


# --- defect 6: 08 c20, the scales below the ladder's measured range ---------------------------

def test_the_small_scales_carry_a_small_share_of_ys_bits():
    from aecodec.data import load_sample
    from aecodec.zoo import load_codec

    assert "carry only a small share of $y$'s bits" in notebook_markdown(NB08)
    model = load_codec(3, "hyperprior")
    x = load_sample("coffee")
    with torch.no_grad():
        y = model.encode(x[None])                                      # (1, C, h, w)
        _, scales = model.hyper_decode(torch.round(model.hyper_encode(y)))
        _, likelihoods_y, _ = model.forward_with_likelihoods(x[None])
    bits = -torch.log2(likelihoods_y)[0]                               # (C, h, w)
    small = scales[0].clamp_min(0.11) < 0.2
    assert float(small.float().mean()) > 0.5                           # most of the scales
    assert float((bits * small).sum() / bits.sum()) < 0.1              # a small share of bits


# --- defect 7: 09 c13 points at the panel that shows one in four -----------------------------

def test_09_reads_one_in_four_off_the_curve_not_the_histogram():
    text = notebook_markdown(NB09)
    assert "read that share off the left panel" in text
    share = float(refine.round_up_probability(torch.tensor([0.3]), 0.5))
    assert abs(share - 0.25) < 0.02
    cell = notebook_code_cell(NB09, "ax_p.plot(")
    assert re.search(r"for tau in \(0\.5,", "".join(cell["source"]))


# --- defects 9 and 10: the prose and the teachers' table say what the two checks grade ------

def test_side_share_and_refinement_gain_are_called_commitments():
    assert "a well-reasoned answer can miss the window and a blind one can hit it" \
        in notebook_markdown(NB08)
    assert "It is a guess among four, and the check grades it as one" in notebook_markdown(NB09)
    teachers = " ".join((REPO / "docs" / "teachers.md").read_text().split())
    assert "the window rewards luck of direction" in teachers
    assert "it is a guess among four, not a prediction a learner can reason to" in teachers
