"""Review r10-A of notebooks 00 to 02: each defect it found, kept as a test.

- 02 Exercise 1's check reported only the first wrong size: it now shows all five
  you/PyTorch pairs at once, each miss with its diagnosis.
- 02 Exercise 1's layer D (kernel 5, padding 2 on 9 pixels) was answered by cell 8's kept
  output, and E (stride 1, padding 1) kept its size for free: D is now kernel 5, padding 1
  on 10 pixels, E kernel 3, stride 1, no padding; no earlier output or rule answers them.
- The message for C said "past the padding" for a layer with no padding.
- 02 Exercise 3 (latent_values, a mechanism) passed with a loop over `conv_output_size`:
  code that applies one layer k times (a loop, recursion, reduce) is refused once right.
- 01's psnr_int check named the other peak conventions loosely ("some video tools").
- Weak diagnoses: .half() in to_batch, float16 in psnr_int, np.float32 keys in the noise
  prediction.
"""

import functools
import math

import numpy as np
import torch
from torch import nn

from aecodec.course import exercises
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_code_cell, notebook_markdown

NB01 = REPO / "notebooks" / "01_images_as_tensors.ipynb"
NB02 = REPO / "notebooks" / "02_convolutional_encoder.ipynb"


def _layers() -> dict:
    """Notebook 02's Exercise 1 layers, read from its check cell."""
    namespace = {"nn": nn, "check_size_prediction": lambda *a: None, "conv_size_prediction": None}
    exec("".join(notebook_code_cell(NB02, "check_size_prediction(conv_size_prediction")["source"]),
         namespace)
    return namespace["layers"]


def _sizes(**wrong) -> dict:
    right = {name: layer(torch.zeros(1, 1, n, n)).shape[-1]
             for name, (layer, n) in _layers().items()}
    return {**right, **wrong}


def _size_check(sizes, grade=True):
    """The check on a prediction that returns `sizes`, a dict worked out beforehand (the
    check refuses a prediction that reads layers)."""
    return exercises.check_size_prediction(lambda: sizes, _layers(), grade=grade)


# --- 02 Exercise 1 -----------------------------------------------------------------------


def test_size_check_shows_every_pair_and_diagnoses_every_miss(capsys):
    """The reviewer's A = 4, C = 4, E = 14 (three mistakes) was told about A only."""
    out = assert_diagnosed(_size_check, _sizes(A=4, C=4, E=14),
                           "3 of your 5 sizes differ", "Correct", capsys)
    for name in "ABCDE":
        assert f"{name}" in out and "you said" in out, out
    assert out.count(": wrong.") == 3 and out.count(": right.") == 2, out
    assert "kernel 4 and padding 1" in out and "kernel 3 and padding 0" in out, out
    assert "This layer has stride 1" in out, out


def test_size_check_message_for_c_says_end_of_input_not_padding(capsys):
    # "halves, rounding up", the size kept at stride 1 (with E right, 26, the same sizes are
    # the formula rounded up: review r11-A)
    out = assert_diagnosed(_size_check, _sizes(A=4, C=4, D=5, E=28),
                           "padding 0 the last window would run past the end of the input",
                           "padding 0 the last window would run past the padding", capsys)
    assert "4 of your 5 sizes differ" in out, out
    out = assert_diagnosed(_size_check, _sizes(B=3), "1 of your 5 sizes differs", "Correct",
                           capsys)


def test_d_and_e_are_not_answered_by_an_earlier_output_or_by_halving():
    layers = _layers()
    shown = "".join("".join(o.get("text", "")) for c in notebook_cells(NB02)[:12]
                    if c["cell_type"] == "code" for o in c["outputs"])
    for name in "DE":
        layer, n = layers[name]
        measured = layer(torch.zeros(1, 1, n, n)).shape[-1]
        s = layer.stride[0]
        assert layer.kernel_size[0] != 2 * layer.padding[0] + 1, name  # not cell 8's layer
        assert measured not in (math.ceil(n / s), n // s, math.ceil(n / 2), n // 2, n), name
        assert f"{n:3d} -> " not in shown, name


def test_size_check_diagnoses_the_halving_rules_on_the_new_d_and_e(capsys):
    out = assert_diagnosed(_size_check, _sizes(A=4, B=4, C=4, D=5, E=28),
                           "keeps the size only when its padding makes up for the kernel",
                           "Correct", capsys)
    assert "kernel 5 and padding 1" in out, out


def test_the_notebook_check_passes_its_solution_with_the_new_layers(capsys):
    namespace = {}
    exec("".join(notebook_code_cell(NB02, "def conv_size_prediction")["source"]), namespace)
    assert exercises.check_size_prediction(namespace["conv_size_prediction"], _layers(),
                                           grade=True) is True, capsys.readouterr().out
    assert "D: 10 -> 4; E: 28 -> 26" in capsys.readouterr().out


# --- 02 Exercise 3 -----------------------------------------------------------------------


def conv_output_size(size, kernel, stride, padding):  # as notebook 02 defines it
    return (size + 2 * padding - kernel) // stride + 1


def lat(h, w, c, k):  # the reviewer's loop over the notebook's function
    for _ in range(k):
        h, w = conv_output_size(h, 5, 2, 2), conv_output_size(w, 5, 2, 2)
    return c * h * w


def loop(h, w, c, k):  # the reviewer's loop over the formula written inline
    for _ in range(k):
        h = (h + 4 - 5) // 2 + 1
        w = (w + 4 - 5) // 2 + 1
    return c * h * w


def recursive(h, w, c, k):
    return c * h * w if k == 0 else recursive(-(-h // 2), -(-w // 2), c, k - 1)


def by_while(h, w, c, k):
    while k:
        h, w, k = (h + 1) // 2, (w + 1) // 2, k - 1
    return c * h * w


def _halve(n, k):  # a helper of the learner's that loops
    return functools.reduce(lambda m, _: (m + 1) // 2, range(k), n)


def via_helper(h, w, c, k):
    return c * _halve(h, k) * _halve(w, k)


def test_latent_values_refuses_one_layer_applied_k_times(capsys):
    for repeated, named in [(lat, "`conv_output_size`"), (loop, "a for loop"),
                            (recursive, "recursion"), (by_while, "a while loop"),
                            (via_helper, "`_halve`, a function of yours")]:
        out = assert_diagnosed(exercises.check_latent_values, repeated,
                               "gives the right counts", "Correct", capsys)
        assert named in out and "one step" in out, out


def test_latent_values_wrong_loop_is_told_its_mistake_first(capsys):
    def padding_forgotten(h, w, c, k):
        for _ in range(k):
            h, w = (h - 5) // 2 + 1, (w - 5) // 2 + 1
        return c * h * w
    assert_diagnosed(exercises.check_latent_values, padding_forgotten, "without the padding",
                     "gives the right counts", capsys)


def test_latent_values_accepts_one_step_answers(capsys):
    for right in (lambda h, w, c, k: c * math.ceil(h / 2**k) * math.ceil(w / 2**k),
                  lambda h, w, c, k: c * (-(-h // 2**k)) * (-(-w // 2**k)),
                  lambda h, w, c, k: int(c * np.ceil(h / 2**k) * np.ceil(w / 2**k))):
        assert exercises.check_latent_values(right, grade=True) is True, capsys.readouterr().out


def test_exercise_3_says_loops_are_refused_and_teachers_table_agrees():
    text = notebook_markdown(NB02)
    assert "applies one layer's size k times" in text and "`conv_output_size`" in text
    teachers = (REPO / "docs" / "teachers.md").read_text()
    row = next(line for line in teachers.splitlines() if line.startswith("| 02 | `latent_values`"))
    assert "*mechanism*" in row and "loop" in row, row


# --- 01 ----------------------------------------------------------------------------------


def _psnr_with_peak(peak):
    def psnr_int(a, b, bits):
        mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
        return 10 * math.log10(peak(bits) ** 2 / mse)
    return psnr_int


def test_psnr_int_names_the_conventions_exactly(capsys):
    assert exercises.check_psnr_int(_psnr_with_peak(lambda b: 2**b - 1), grade=True) is True
    out = capsys.readouterr().out
    assert "common one in image processing" in out and "HM and VTM" in out, out
    assert "dtype's maximum" in out and "video tools" not in out, out
    saved = "".join("".join(o.get("text", "")) for o in notebook_code_cell(
        NB01, "check_psnr_int(psnr_int)")["outputs"])
    assert saved == out, (saved, out)


def test_psnr_int_in_float16_is_told_why(capsys):
    assert_diagnosed(exercises.check_psnr_int, lambda a, b, bits: 10 * math.log10(
        (2**bits - 1) ** 2 / ((a.astype(np.float16) - b.astype(np.float16)).astype(float) ** 2)
        .mean()), "float16", "Hint", capsys)


def test_to_batch_in_half_precision_is_told_float16_not_a_curve(capsys):
    assert_diagnosed(exercises.check_to_batch, lambda p: torch.from_numpy(p).permute(2, 0, 1)[
        None].float().div(255.0).half().float(), "float16", "no offset or curve", capsys)


def test_noise_prediction_with_float32_keys_is_told_why(capsys):
    out = assert_diagnosed(
        lambda f, grade: exercises.check_noise_prediction(f, {0.1: 20.0, 0.01: 40.0},
                                                          grade=grade),
        lambda: {np.float32(0.1): 20, np.float32(0.01): 40}, "float32", "Correct", capsys)
    assert "plain Python numbers" in out, out


def test_latent_values_as_a_whole_float_is_told_why_a_prediction_may_be_one(capsys):
    """The size prediction takes 3.0; latent_values refuses 81920.0: now it says why."""
    assert_diagnosed(exercises.check_latent_values,
                     lambda h, w, c, k: float(c * math.ceil(h / 2**k) * math.ceil(w / 2**k)),
                     "A prediction you write by hand may say 7.0 for 7", "Correct", capsys)


# --- 00 ----------------------------------------------------------------------------------


def test_00_asks_for_a_guess_before_measuring_png():
    cells = notebook_cells(REPO / "notebooks" / "00_what_is_image_compression.ipynb")
    before = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
                  and "def png_size" in "".join(c["source"]))
    prompt = "".join(cells[before - 1]["source"])
    assert cells[before - 1]["cell_type"] == "markdown" and "Guess first" in prompt, prompt  # r11-A
    assert "shrink most" in prompt and "least" in prompt, prompt
