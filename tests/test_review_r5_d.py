"""Review r5-D (notebooks 08 and 09): the reviewer's wrong answers, kept as tests.

Each wrong answer goes in, and its check rejects it with the sentence that diagnoses it;
the statements of notebook 09 say what the checks do (the definitions of the outcomes of
`refinement_gain`, and no false cause for which term gives way).
"""

import json

import pytest
import torch

from aecodec.course import exercises
from conftest import REPO

NB08 = next((REPO / "notebooks").glob("08_*.ipynb"))
NB09 = next((REPO / "notebooks").glob("09_*.ipynb"))
REFINED = (14_901, 14_617, 29.97, 30.94)  # bytes and PSNR before and after, notebook 09's coffee


def _markdown(path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "markdown"]


def _pmf(n, scale):
    normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), scale)
    return normal.cdf(n + 0.5) - normal.cdf(n - 0.5)


def _rung_summed_to_3(scale, ratio):
    """The right cross-entropy, summed only over n = -3..3 (the reviewer's answer)."""
    n = torch.arange(-3, 4, dtype=torch.float64)
    p = _pmf(n, scale)

    def cost(t):
        return float(-(p * torch.log2(_pmf(n, t).clamp_min(1e-300))).sum())

    return "narrower" if cost(scale / ratio) < cost(scale * ratio) else "wider"


def _rung_entropy_nearer(scale, ratio):
    """Which table's own entropy is nearer the value's (the reviewer's answer)."""
    n = torch.arange(-200, 201, dtype=torch.float64)

    def entropy(t):
        q = _pmf(n, t).clamp_min(1e-300)
        return float(-(q * torch.log2(q)).sum())

    own = entropy(scale)
    return ("narrower" if abs(entropy(scale / ratio) - own) < abs(entropy(scale * ratio) - own)
            else "wider")


@pytest.mark.parametrize("wrong, diagnosis", [
    (_rung_summed_to_3, "averages that stop at |n| = 2 to 4"),
    (_rung_entropy_nearer, "comparing the tables' own entropies"),
])
def test_cheaper_rung_names_answers_that_are_not_rules(wrong, diagnosis, capsys):
    assert exercises.check_cheaper_rung(wrong, grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and diagnosis in out, out
    assert "fitted to a few cases" not in out


@pytest.mark.parametrize("wrong, diagnosis", [
    (0.03, "still soft"),   # "almost ordinary rounding": passed the old window around 0.056
    (0.02, "still soft"),
    (0.035, "still soft"),
    (0.08, "between the share at tau = 0.2 and the one at tau = 0.5"),  # review r11-D
])
def test_up_share_window_is_narrow_around_the_exact_probability(wrong, diagnosis, capsys):
    assert exercises.UP_SHARE_TOLERANCE == 0.004  # review r10-D: was 0.02
    assert exercises.check_up_share(lambda: wrong, grade=True) is False
    out = capsys.readouterr().out
    assert diagnosis in out and "of the exact probability counts" in out, out


@pytest.mark.parametrize("right", [0.055, 0.058, 0.06, 0.061])  # review r10-D: +-0.004
def test_up_share_accepts_answers_near_the_exact_probability(right, capsys):
    assert exercises.check_up_share(lambda: right, grade=True) is True


def test_a_larger_file_with_a_better_picture_is_what_the_statement_calls_a_better_picture():
    """The statement's definition and `refinement_outcome` agree: the bytes may grow."""
    assert exercises.refinement_outcome(14_901, 16_400, 29.97, 30.94) == "a better picture"
    assert exercises.refinement_outcome(14_901, 13_000, 30.94, 29.97) == "a smaller file"
    statement = next(s for s in _markdown(NB09) if "Exercise 3: `refinement_gain`" in s)
    assert "not down by 5% or more: they\nmay grow" in statement
    assert "not up by 0.2 dB or more: it may fall" in statement
    assert "down by less than 5%" not in statement


def test_refinement_gain_gives_no_false_cause(capsys):
    """At notebook 09's lambda the two terms of L weigh about the same: neither the
    statement nor the check claims the bytes are worth little."""
    statement = next(s for s in _markdown(NB09) if "Exercise 3: `refinement_gain`" in s)
    assert "Think of what $L$ weighs" not in statement
    assert "property\nof this codec" in statement
    assert "evaluated at\nthe soft-rounded values, not at noisy ones" in statement
    for answer in ("a better picture", "a smaller file", "both", "neither"):
        exercises.check_refinement_gain(lambda a=answer: a, *REFINED)
        out = capsys.readouterr().out
        assert "worth only a few percent" not in out, out
        assert "the outcome is a measured property of this codec." in out, out
        assert not out.rstrip().endswith("..."), out  # not cut by the message's limit


def test_the_saved_verdict_of_refinement_gain_is_what_the_check_prints(capsys):
    exercises.check_refinement_gain(lambda: "a better picture", *REFINED)
    printed = capsys.readouterr().out
    cells = json.loads(NB09.read_text())["cells"]
    saved = ["".join(o.get("text", "")) for c in cells if c["cell_type"] == "code"
             for o in c.get("outputs", []) if "refinement_gain" in "".join(o.get("text", ""))]
    assert saved == [printed]


def test_the_formula_of_p_up_comes_after_the_figures_and_the_schedule():
    cells = json.loads(NB09.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    check = next(i for i, s in enumerate(sources) if s.startswith("check_up_share("))
    formula = next(i for i, s in enumerate(sources)
                   if s.startswith("The probability the check worked through"))
    schedule = next(i for i, s in enumerate(sources) if s.startswith("schedule = "))
    assert formula == schedule + 1 and formula - check >= 5


def test_notebook_08_front_matter_counts_the_computing_of_the_curves():
    assert "including about 7 minutes of computing" in _markdown(NB08)[0]
