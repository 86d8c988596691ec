"""Round-7 review B (notebooks 03-05): the fixes it asked for, kept as tests.

- Notebook 04's loss-curve prediction is judged over seeds 0-4 (since review r9-B: any
  letter at least two of them show), with (b) "stays far above the normal curve, flat or
  noisy"; the text says the outcome depends on the seed.
- check_predicted_ratio diagnoses a scale of 8 written in (downsamplings ignored), not as
  float32 bytes.
- check_upsampling_padding tries a kernel smaller than its stride; the exercise says only
  the size counts there.
- Wording: 04 says validation_psnr leaves the model in eval mode, its validation curve's cause is
  hedged, SGDR without restarts, exercise 1 labelled; 05's quality ceiling is the encoder's.
"""

import json
import math

import torch
from torch import nn

from aecodec.course import exercises
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder
from conftest import REPO


def _cells(stem: str) -> list[str]:
    """The source of every cell of the notebook whose name starts with `stem`."""
    path = next((REPO / "notebooks").glob(f"{stem}_*.ipynb"))
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def _solution(stem: str, name: str):
    """The notebook's own solution function `name`, as its solution cell defines it."""
    source = next(c for c in _cells(stem) if f"def {name}(" in c)
    namespace = {"nn": nn, "torch": torch, "psnr": psnr, "quantize_8bit": quantize_8bit}
    exec(compile(source, stem, "exec"), namespace)
    return namespace[name]


def _verdict(check, answer, capsys) -> tuple[bool, str]:
    passed = check(answer, grade=True)
    return passed, capsys.readouterr().out


# --- 1. the loss-curve prediction, over several seeds --------------------------------------

def test_each_slip_is_judged_over_five_seeds_and_the_solution_holds_for_most(capsys):
    """The review measured, with _shape_of, a 10x rate giving a, b, a from seeds 1-3 and no
    zero_grad giving c, a, a (those a's far above the normal curve). Now each seed gets a
    letter, (b) covers "far above, noisy", and the key is what most seeds show."""
    shapes = exercises.loss_curve_shapes()
    assert all(len(letters) == len(exercises.SEEDS_04) == 5 for letters in shapes.values())
    assert exercises._most_seeds(shapes["without zero_grad"]) == ["c"], shapes
    assert exercises._most_seeds(shapes["10x learning rate"]) == ["b"], shapes
    assert shapes["without zero_grad"][2:4] == ["b", "b"], shapes  # no longer "keeps falling"
    passed, out = _verdict(exercises.check_loss_curve_prediction,
                           _solution("04", "loss_curve_prediction"), capsys)
    assert passed and "of seeds 0-4 show" in out, out


def test_a_letter_only_one_seed_shows_is_rejected_with_the_tally(capsys):
    """Since review r10-B a letter two seeds show, but not most, is partly right ((c, a)
    does not pass, naming (b) as the letter most seeds show); one no two seeds show is
    rejected with the tally."""
    shapes = exercises.loss_curve_shapes()
    assert shapes["10x learning rate"].count("a") >= 2  # some seeds do keep falling
    passed, out = _verdict(exercises.check_loss_curve_prediction, lambda: ("c", "a"), capsys)
    assert not passed and out.startswith("Partly right: ") and "show (b) stays far" in out, out
    passed, out = _verdict(exercises.check_loss_curve_prediction, lambda: ("c", "c"), capsys)
    assert not passed and "measured from seeds 0-4: " in out and "most often (b)" in out, out
    assert "passes no gradient back" in out, out


def test_the_most_common_letter_and_ties():
    assert exercises._most_seeds(["c", "c", "b", "b", "c"]) == ["c"]
    assert exercises._most_seeds(["a", "b", "a", "b", "d"]) == ["a", "b"]


def test_a_noisy_curve_far_above_the_normal_one_is_b_not_a():
    """Seeds 2 and 3 without zero_grad: 0.064-0.124, ending about 6 times above normal."""
    normal = [0.1 * 0.97**i for i in range(60)]  # its last 20 steps: median near 0.022
    noisy = [0.1 - 0.0005 * i for i in range(40)] + [0.09 + 0.01 * (i % 3) for i in range(20)]
    assert exercises._shape_of(noisy, normal) == "b"
    assert "noisy" in exercises._describe_curve(noisy, normal, "b")
    assert exercises.CHOICES_04["b"] == "stays far above the normal curve, flat or noisy"


def test_the_exercise_says_the_outcome_depends_on_the_seed():
    text = next(c for c in _cells("04") if "Exercise 2" in c)
    assert "depends on the seed" in text and "five seeds" in text
    assert "stays far above the normal curve, flat or noisy" in text


# --- 2. predicted_ratio: a scale of 8 written in ---------------------------------------------

def test_a_scale_of_eight_written_in_is_not_called_float32(capsys):
    def eight(h, w, c, k):
        return 3 * h * w / (c * math.ceil(h / 8) * math.ceil(w / 8))
    passed, out = _verdict(exercises.check_predicted_ratio, eight, capsys)
    assert not passed and "whatever downsamplings is" in out and "float32" not in out, out


def test_float32_bytes_are_still_diagnosed_as_such(capsys):
    def bytes_(h, w, c, k):
        return 3 * h * w / (4 * c * math.ceil(h / 2**k) * math.ceil(w / 2**k))
    passed, out = _verdict(exercises.check_predicted_ratio, bytes_, capsys)
    assert not passed and "float32" in out, out


# --- 3. upsampling_padding: a kernel smaller than the stride -------------------------------

def test_none_for_a_kernel_smaller_than_the_stride_is_rejected(capsys):
    """The review's answer: the smallest padding, None when it is below 0; it passed all 9
    cases but gives None for kernel 2 at stride 4, where (0, 2) works."""
    def smallest(kernel, stride):
        padding = (kernel - stride + 1) // 2
        output_padding = 2 * padding - (kernel - stride)
        if output_padding >= stride or padding < 0:
            return None
        return padding, output_padding
    passed, out = _verdict(exercises.check_upsampling_padding, smallest, capsys)
    assert not passed and "kernel 2 and stride 4" in out and "leaves gaps" in out, out
    layer = nn.ConvTranspose2d(1, 1, 2, stride=4, padding=0, output_padding=2)
    assert layer(torch.zeros(1, 1, 5, 5)).shape[-1] == 20  # the pair the message names


def test_the_solution_passes_and_the_text_says_only_the_size_counts(capsys):
    passed, out = _verdict(exercises.check_upsampling_padding,
                           _solution("03", "upsampling_padding"), capsys)
    assert passed and "10 test cases" in out, out
    text = next(c for c in _cells("03") if "Exercise 4" in c)
    assert "Only the size\ncounts" in text and "gaps" in text


# --- 4-8. wording and validation_psnr ------------------------------------------------------

def test_the_text_says_that_validation_psnr_leaves_the_model_in_eval_mode():
    """The review: validation_psnr calls eval() and never train(). The notebook now says so
    (a code change would need a re-run of 04, whose clock-timed training is not reproducible
    on a loaded machine); the sentence must stay true of the function."""
    validation_psnr = _solution("04", "validation_psnr")
    torch.manual_seed(0)
    model = Autoencoder(4, 2, 8)
    assert isinstance(validation_psnr(model, torch.rand(1, 3, 16, 16)), float)
    text = "\n".join(_cells("04"))
    assert "It leaves the model in evaluation mode" in text
    assert not model.training  # what the sentence says


def test_the_wording_fixes_of_04_and_05():
    nb04, nb05 = "\n".join(_cells("04")), "\n".join(_cells("05"))
    assert "a few dB" not in nb04 and "so the oscillation goes on" not in nb04
    assert "we ran no control" in nb04
    assert "without its restarts" in nb04
    assert "Exercise 1 (transcription)" in nb04
    assert "a better latent for the same decoder can raise it" in nb05 and "Yang" in nb05
