"""Review r11-E (notebook 10): the sentences it found incomplete or false stay fixed."""

from conftest import REPO, notebook_markdown

NOTEBOOK = REPO / "notebooks" / "10_context_the_bits_the_hyperprior_leaves.ipynb"


def test_the_cut_off_points_include_the_kits_own_baselines():
    text = notebook_markdown(NOTEBOOK)
    assert "highest-rate points of the kit's own JPEG, WebP and AVIF curves" in text


def test_the_learning_goal_does_not_promise_a_budget_per_published_curve():
    text = notebook_markdown(NOTEBOOK)
    assert "with the training budget behind each" not in text
    assert "order of magnitude (days on GPUs)" in text


def test_the_linear_predictors_share_is_named():
    text = notebook_markdown(NOTEBOOK)
    # review r12-E: rocket's |r| from the channels reaches about a fifth
    assert "at most about a fifth of the variance" in text
    assert "mostly a tenth or less" in text
