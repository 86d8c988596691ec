"""Round-6 review B (notebooks 03-05): the fixes it asked for, kept as tests.

- Notebook 03 and its stamps diagram tell one order: `padding` crops the stamps from both
  ends, `output_padding` gives back pixels cropped at the end (stamps included); the diagram
  labels them and draws a pixel past the last stamp only when one exists.
- check_parameter_count refuses an answer that builds the model and counts its parameters.
- Exercise 4 of notebook 03 is `upsampling_padding(kernel, stride)`: any stride, None where
  no pair works; copying the stride-2 formula of Upsample2x's docstring fails.
- check_halving_prediction: within 0.3 dB, its explanation worded by the side of the guess.
- Wording: nb04's overfitting test names no slip's curve before exercise 2; nb05's colours.
"""

import json

import pytest
from torch import nn

from aecodec.course import exercises
from aecodec.models import Autoencoder, ConvDecoder, ConvEncoder
from conftest import REPO


def _cells(stem: str) -> list[str]:
    """The source of every cell of the notebook whose name starts with `stem`."""
    path = next((REPO / "notebooks").glob(f"{stem}_*.ipynb"))
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def _solution(stem: str, name: str):
    """The notebook's own solution function `name`, as its solution cell defines it."""
    source = next(c for c in _cells(stem) if "### BEGIN SOLUTION" in c and f"def {name}(" in c)
    namespace = {"nn": nn}
    exec(compile(source, stem, "exec"), namespace)
    return namespace[name]


def _verdict(check, answer, capsys) -> tuple[bool, str]:
    passed = check(answer, grade=True)
    return passed, capsys.readouterr().out


# --- parameter_count (notebook 04, exercise 3) ----------------------------------------------


def _built_and_counted(c, k, n):
    return sum(p.numel() for p in Autoencoder(c, k, n).parameters())


def _encoder_twice(c, k, n):
    return 2 * sum(p.numel() for p in ConvEncoder(c, k, n).parameters())


def _conv_by_conv(c, k, n):
    widths = [3] + [n] * (k - 1) + [c]
    layers = [nn.Conv2d(a, b, 5) for a, b in zip(widths[:-1], widths[1:])]
    layers += [nn.ConvTranspose2d(b, a, 5) for a, b in zip(widths[:-1], widths[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def _caught_then_counted(c, k, n):
    try:  # the refusal caught, the count then worked out: still an answer that built one
        ConvDecoder(c, k, n)
    except Exception:
        pass
    return _solution("04", "parameter_count")(c, k, n)


@pytest.mark.parametrize("answer", [_built_and_counted, _encoder_twice, _conv_by_conv,
                                    _caught_then_counted])
def test_parameter_count_refuses_an_answer_that_builds_the_model(answer, capsys):
    passed, out = _verdict(exercises.check_parameter_count, answer, capsys)
    assert not passed
    assert "you built the model and counted; the exercise asks you to work it out" in out
    assert "print(" not in out  # the hint no longer points at printing a model
    # the constructors work again afterwards
    assert sum(p.numel() for p in Autoencoder(16, 3, 32).parameters()) == 81_747
    assert nn.Conv2d(1, 1, 3).weight.shape == (1, 1, 3, 3)
    assert all(cls.__init__.__name__ == "__init__"
               for cls in (Autoencoder, ConvEncoder, ConvDecoder, nn.Conv2d, nn.ConvTranspose2d))


def test_parameter_count_solution_passes_and_a_miscount_gets_no_print_hint(capsys):
    solution = _solution("04", "parameter_count")
    passed, out = _verdict(exercises.check_parameter_count, solution, capsys)
    assert passed, out
    passed, out = _verdict(exercises.check_parameter_count,
                           lambda c, k, n: solution(c, k, n) + 1, capsys)
    assert not passed and "there are fewer parameters" in out and "print(" not in out


# --- upsampling_padding (notebook 03, exercise 4) -------------------------------------------


def _smallest_padding(kernel, stride):
    padding = max(0, -(-(kernel - stride) // 2))
    output_padding = stride + 2 * padding - kernel
    return (padding, output_padding) if 0 <= output_padding < stride else None


def test_upsampling_padding_accepts_the_solution_and_any_pair_that_works(capsys):
    for answer in (_solution("03", "upsampling_padding"), _smallest_padding):
        passed, out = _verdict(exercises.check_upsampling_padding, answer, capsys)
        assert passed, out


def _stride_2_formula(kernel, stride):
    padding = (kernel - 1) // 2
    return padding, 2 + 2 * padding - kernel  # Upsample2x's docstring, copied


UPSAMPLING_WRONG = [
    (_stride_2_formula, "that is the stride-2 answer"),
    (lambda kernel, stride: (kernel // 2, kernel % 2), "set it equal to"),  # the reviewer's
    (lambda kernel, stride: ((kernel - 1) // 2, max(0, stride + 2 * ((kernel - 1) // 2)
                                                    - kernel)), "return None there"),
    (lambda kernel, stride: None if kernel % 2 == 0 else _smallest_padding(kernel, stride),
     "An even kernel is not the obstacle"),
    (lambda kernel, stride: None, "a pair exists"),
    (lambda kernel, stride: _smallest_padding(kernel, stride)[::-1]
     if _smallest_padding(kernel, stride) else None, "wrong order"),
    (lambda kernel, stride: ((kernel - 1) / 2, 1), "must be integers"),
]


@pytest.mark.parametrize("answer, phrase", UPSAMPLING_WRONG)
def test_upsampling_padding_rejects_wrong_answers_with_a_diagnosis(answer, phrase, capsys):
    passed, out = _verdict(exercises.check_upsampling_padding, answer, capsys)
    assert not passed and phrase in out, out


def test_upsample2x_docstring_does_not_answer_the_exercise():
    from aecodec.layers import Upsample2x

    assert "stride=2" in Upsample2x.__doc__.splitlines()[0]  # its formula is stride 2's only
    cells = _cells("03")
    statement = next(c for c in cells if "`upsampling_padding`" in c and c.startswith("###"))
    assert "stride" in statement and "None" in statement
    assert not any("doubling_padding" in c for c in cells)


# --- the stamps diagram and notebook 03's text ----------------------------------------------


def _diagram_texts(**settings) -> list[str]:
    from aecodec.viz import transposed_stamps_diagram

    return [t.get_text() for t in transposed_stamps_diagram(**settings).axes[0].texts]


def test_the_stamps_diagram_labels_what_padding_cuts_and_output_padding_gives_back():
    texts = _diagram_texts(size=4, kernel=5, stride=2, padding=2, output_padding=1)
    stamps = [t for t in texts if t.isdigit()]
    assert len(stamps) == 11  # the pixels the stamps cover, no pixel past the last stamp
    assert stamps[-2:] == ["1", "1"]  # x7, given back, keeps its stamp; the last is cut
    assert "given back by\noutput_padding" in texts and "cut by\npadding" in texts
    assert not any("bias only" in t for t in texts)
    texts = _diagram_texts(size=3, kernel=3, stride=3, padding=0, output_padding=2)
    assert any("bias only" in t for t in texts) and [t for t in texts if t.isdigit()][-2:] == \
        ["0", "0"]


def test_notebook_03_says_output_padding_gives_back_cropped_pixels():
    cells = _cells("03")
    assert "gives back pixels the padding had cut, stamps included" in " ".join(cells[6].split())
    assert "gives back that many of the pixels cropped at the end" in cells[9]
    assert not any("`output_padding` adds" in c for c in cells)
    assert any("the same transposed convolutions (with IGDN" in c for c in cells)


# --- halving_prediction (notebook 05, exercise 2) -------------------------------------------


@pytest.mark.parametrize("guess, phrase", [(0.7, "Even the photo that loses least"),
                                           (1.6, "the drop is smaller than that")])
def test_halving_prediction_rejects_the_reviewers_guesses(guess, phrase, capsys):
    passed, out = _verdict(exercises.check_halving_prediction, lambda: guess, capsys)
    assert not passed and phrase in out, out


def test_halving_prediction_explains_by_the_side_of_the_guess(capsys):
    passed, low = _verdict(exercises.check_halving_prediction, lambda: 0.95, capsys)
    assert passed and "a little more than you predicted" in low and "not more" not in low
    passed, high = _verdict(exercises.check_halving_prediction, lambda: 1.4, capsys)
    assert passed and "One likely reason it is not more" in high


# --- wording ----------------------------------------------------------------------------


def test_notebook_04_names_no_slips_curve_before_exercise_2():
    text = " ".join(_cells("04")[7].split())
    assert "does not fall far" in text
    assert "climbs back up" not in text and "which does what" not in text


def test_notebook_05_calls_the_c2_skin_yellowish():
    text = " ".join(" ".join(_cells("05")).split())
    assert "the skin turns yellowish" in text and "green-yellow" not in text
