"""The expert review r10-C of notebooks 06 and 07: its accepted and weakly diagnosed wrong
answers, its leaks into the student edition and its prose defects, kept as tests.

Each wrong answer the review found accepted or weakly diagnosed goes in, and the check must
reject it with the diagnosing phrase (conftest's `assert_diagnosed`).
"""

import math

import pytest
import torch

from aecodec.codec import CRC, HEADER
from aecodec.course import classroom, exercises
from aecodec.entropy import quantize
from aecodec.losses import rd_loss as package_rd_loss
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

NB06 = REPO / "notebooks" / "06_from_latents_to_bytes.ipynb"
NB07 = REPO / "notebooks" / "07_rate_distortion.ipynb"
ESTIMATE = 24_300  # notebook 06's estimate, 24,300.4 bytes (the file: 24,347)


# --- defect 2 and 8: the file-size window and its diagnoses ------------------------------

@pytest.mark.parametrize("guess", [24_310, 24_312, 24_308])
def test_the_stream_alone_is_not_the_file(guess, capsys):
    """The estimate plus a dozen bytes to end the stream, with no header and no checksum,
    passed with the window's start at +8 (the stream alone is +12 here)."""
    assert_diagnosed(exercises.check_file_size_prediction, lambda: guess,
                     "That is the stream, not the file", "Correct", capsys)


def test_the_file_size_window_starts_above_the_streams_own_overshoot():
    low, high = exercises.FILE_SIZE_OVERHEAD
    assert low >= 20 and 60 <= high <= 90  # high 150 until review r12-C


def test_a_header_too_small_is_told_what_it_must_hold(capsys):
    out = assert_diagnosed(exercises.check_file_size_prediction, lambda: ESTIMATE + 16,
                           "too few for a header and a checksum", "Correct", capsys)
    assert "which model wrote it" in out, out


def test_one_bit_per_latent_value_gets_its_own_diagnosis(capsys):
    """30,000 bytes: one bit for each of the 240,000 latent values; it was told about
    probability tables in the file, which it never counted."""
    assert_diagnosed(exercises.check_file_size_prediction, lambda: 30_000,
                     "one bit per latent value", "does not carry them", capsys)


def test_the_file_size_prediction_may_not_read_the_header_and_checksum(capsys):
    """Defect 3: `estimate / 8 + HEADER.size + CRC.size + 4` passed."""
    estimate = 8 * 24_300.4

    def file_size_prediction():
        return estimate / 8 + HEADER.size + CRC.size + 4

    assert_diagnosed(exercises.check_file_size_prediction, file_size_prediction,
                     "the file format's own header or checksum", "Correct", capsys)


def test_the_file_size_prediction_may_not_import_the_header_either(capsys):
    def file_size_prediction():
        from aecodec.codec import HEADER
        return 24_300 + HEADER.size + 8

    assert_diagnosed(exercises.check_file_size_prediction, file_size_prediction,
                     "your file_size_prediction reads", "Correct", capsys)


def test_notebook_06_imports_the_header_only_after_exercise_3():
    cells = notebook_cells(NB06)
    sources = ["".join(c["source"]) for c in cells]
    check = next(i for i, s in enumerate(sources) if "check_file_size_prediction(" in s
                 and "import" not in s)
    for i, source in enumerate(sources[:check]):
        assert "HEADER" not in source and "CRC" not in source, (i, source)
    assert any("import CRC, HEADER" in s for s in sources[check + 1:])


# --- defect 5: entropy_bits, five mistakes with only the generic hint ----------------------

def _entropy(probabilities, log=torch.log2):
    def entropy_bits(values):
        _, counts = torch.unique(values, return_counts=True)
        p = probabilities(counts.double(), values.numel())
        return float(-(p * log(p)).sum())
    return entropy_bits


def _mean_over_distinct(values):
    _, counts = torch.unique(values, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-torch.log2(p).mean())


@pytest.mark.parametrize("wrong, phrase", [
    (_mean_over_distinct, "plain mean of -log2 p over the"),
    (_entropy(lambda c, n: c / c.max()), "divided by the largest count"),
    (_entropy(lambda c, n: c / c.sum(), torch.log10), "log base 10"),
    (_entropy(lambda c, n: c / (n - 1)), "divided the counts by n - 1"),
    (_entropy(lambda c, n: (c + 1) / (c + 1).sum()), "added 1 to each count"),
])
def test_entropy_mistakes_are_diagnosed(wrong, phrase, capsys):
    assert_diagnosed(exercises.check_entropy_bits, wrong, phrase, "Hint:", capsys)


# --- defect 4: the package's own answer to 07's exercises 1 and 2 -------------------------

def test_rd_loss_may_not_call_the_package(capsys):
    assert_diagnosed(exercises.check_rd_loss, lambda m, b, lmbda: package_rd_loss(m, b, lmbda),
                     "the course package's own code (`aecodec.losses`)", "Correct", capsys)


def test_the_package_function_itself_is_not_the_learners(capsys):
    """Notebook 07 imports the package's rd_loss after exercise 1: a check run again after
    that is told whose function it has."""
    assert_diagnosed(exercises.check_rd_loss, package_rd_loss,
                     "is the course package's own (`aecodec.losses`), not yours", "Correct",
                     capsys)


def test_rd_loss_may_not_import_the_package_inside(capsys):
    def rd_loss(mse, bpp, lmbda):
        from aecodec.losses import rd_loss as theirs
        return float(theirs(torch.tensor(mse), torch.tensor(bpp), lmbda))

    assert_diagnosed(exercises.check_rd_loss, rd_loss, "the course package's own code",
                     "Correct", capsys)


def test_noise_quantize_may_not_call_the_package(capsys):
    assert_diagnosed(exercises.check_noise_quantize, lambda y: quantize(y, "noise"),
                     "`quantize`, the course package's own code (`aecodec.entropy`)",
                     "Correct", capsys)


def test_noise_quantize_may_not_import_the_package_inside(capsys):
    def noise_quantize(y):
        from aecodec.entropy import quantize
        return quantize(y, "noise")

    assert_diagnosed(exercises.check_noise_quantize, noise_quantize,
                     "the course package's own code", "Correct", capsys)


def test_the_right_answers_written_out_still_pass(capsys):
    """The guard looks for the package only: torch's random numbers are the answer."""
    assert exercises.check_noise_quantize(lambda y: y + torch.rand_like(y) - 0.5,
                                          grade=True) is True, capsys.readouterr().out
    assert exercises.check_rd_loss(lambda m, b, lmbda: lmbda * 255**2 * m + b,
                                   grade=True) is True, capsys.readouterr().out


# --- defect 1: the student edition's prose gave the predictions away ----------------------

LEAKS = {
    NB06: ["saves about a fifth", "1.716 bpp instead of 1.565", "1.565"],
    NB07: ["runs above the file", "an estimate above the"],
}


@pytest.mark.parametrize("notebook", [NB06, NB07], ids=["06", "07"])
def test_the_student_edition_does_not_give_the_predictions_away(notebook):
    import nbformat
    student = classroom.student_notebook(nbformat.read(notebook, as_version=4), notebook.name)
    markdown = " ".join(" ".join(c.source.split()) for c in student.cells
                        if c.cell_type == "markdown")
    for leak in LEAKS[notebook]:
        assert leak not in markdown, leak
    assert "lzma spends more bits (compare the two lines printed there)" in markdown \
        or notebook == NB07


# --- defect 7: bytes compared with bytes ---------------------------------------------------

def test_the_8bit_count_is_compared_in_bytes():
    text = notebook_markdown(NB06)
    assert "(1.764 bpp, at 27.26 dB)" not in text
    match = "the same per-channel count of the 8-bit codes (52,910 bytes, at 27.26 dB"
    assert match in text
    printed = "".join("".join(o.get("text", "")) for c in notebook_cells(NB06)
                      if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert "52,910 bytes" in printed
    assert math.isclose(52_910 * 8 / (600 * 400), 1.764, abs_tol=1e-3)
