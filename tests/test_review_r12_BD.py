"""Round-12 reviews B (03-05) and D (08-09): the sentences they found false or misleading,
kept fixed (the others of those rounds: tests/test_review_r12_<letter>.py)."""


import pytest

from conftest import course_markdown as markdown


@pytest.mark.parametrize("prefix, false, true", [
    # r12-B: an ICNR-like 4x4 start gives Upsample2x alike phases; "cannot" was false
    ("03", "Its phases cannot start out alike", "(ICNR on a 4×4 kernel)"),
    # r12-B: the CLI's --save-every defaults to 500
    ("04", "every 1000 steps when given a `checkpoint=` path (`save_every`), and",
     "500 from the command line, `--save-every`"),
    # r12-B: the letters rest on 3-2 votes; one (a) seed ended near twice the normal median
    ("04", "When we ran it, most seeds without", "three of the five seeds without"),
    # r12-D: two files and the original, not three files
    ("09", "a crop of the photo from the three files", "a crop of the original and of the photo"),
    # r12-D: at the lowest λ the channels far from g g' = 1 hold a small share of the bits
    ("09", "about ten of them four to eight times below 1; in between",
     "those channels carry only a small share of y's bits"),
])
def test_a_misleading_sentence_is_replaced(prefix, false, true):
    text = markdown(prefix)
    assert false not in text and true in text


def test_09_cites_the_concrete_relaxation_and_straight_through():
    text = markdown("09")
    assert "*The Concrete Distribution" in text and "arXiv:1308.3432" in text
    assert "one network for every rate. So far a codec" in text  # the bridge to gain units
