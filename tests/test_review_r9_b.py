"""Round-9 review B (notebooks 03-05): the reviewer's wrong answers and the fixes, as tests.

- 04 loss_curve_prediction: the curves are chaotic (no zero_grad c, c, b, b, c; a 10x rate
  b, a, b, a, b), so any letter at least two seeds show is accepted, with the letter most
  seeds show named when it is another; the solution's verdict names no per-seed tally.
- 04 training_step: a returned tensor is diagnosed without "keeps the whole graph alive"
  (after backward the saved activations are freed); a forward pass under no_grad, or no
  backward at all, is not blamed on zero_grad's place.
- 05 halving_prediction: "its extra 8 values", not "its second 8 values".
- 05 cell 10 changes one thing at a time (8-bit output both times); cell 19 says notebook 09
  refines the rate-distortion codecs.
- 03: sub-pixel = transposed convolution with the kernel correspondence (checked below);
  the sky's stripes run one way, which square overlaps alone would not print; the error
  panel is magnified 16 times.
"""

import pytest
import torch
import torch.nn.functional as F

from aecodec.course import exercises as E
from aecodec.models import Autoencoder
from conftest import REPO, assert_diagnosed, notebook_cells, notebook_markdown

NB03 = next((REPO / "notebooks").glob("03_*.ipynb"))
NB04 = next((REPO / "notebooks").glob("04_*.ipynb"))
NB05 = next((REPO / "notebooks").glob("05_*.ipynb"))


def _solution(notebook, name: str):
    """The notebook's own solution function `name`, defined as its solution cell does."""
    source = next("".join(c["source"]) for c in notebook_cells(notebook)
                  if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"]))
    namespace: dict = {"F": F, "torch": torch}
    exec(compile(source, notebook.name, "exec"), namespace)
    return namespace[name]


# --- 1 (major): the loss-curve prediction ------------------------------------------------

def test_a_letter_two_seeds_show_is_partly_right_and_the_majority_named(capsys):
    """The reviewer's (b) without zero_grad and (a) with a 10x rate: two seeds show each.
    Since review r10-B they are "partly right", not correct (see test_review_r10_B.py)."""
    shapes = E.loss_curve_shapes()
    assert shapes["without zero_grad"].count("b") >= 2, shapes
    assert shapes["10x learning rate"].count("a") >= 2, shapes
    assert E.check_loss_curve_prediction(lambda: ("b", "a"), grade=True) is False
    out = capsys.readouterr().out
    assert out.startswith("Partly right: ") and "show (c) swings" in out, out
    assert "show (b) stays far above" in out, out


def test_a_letter_fewer_than_two_seeds_show_is_still_wrong_with_the_tally(capsys):
    out = assert_diagnosed(E.check_loss_curve_prediction, lambda: ("a", "b"),
                           "measured from seeds 0-4: ", "Correct", capsys)
    assert "at least 2 seeds show (b), (c)" in out and "varies by seed" in out, out
    assert_diagnosed(E.check_loss_curve_prediction, lambda: ("c", "c"),
                     "passes no gradient back", "Correct", capsys)


def test_the_solutions_verdict_names_no_per_seed_tally(capsys):
    assert E.check_loss_curve_prediction(_solution(NB04, "loss_curve_prediction"),
                                         grade=True) is True
    out = capsys.readouterr().out
    assert ("which more of seeds 0-4 show than any other letter (the outcome varies by seed)"
            in out), out
    assert "c, c" not in out and "b, a" not in out and "though most" not in out, out
    saved = next("".join(o.get("text", "")) for c in notebook_cells(NB04)
                 if "check_loss_curve_prediction(loss_curve_prediction" in "".join(c["source"])
                 for o in c["outputs"])
    assert saved == out, (saved, out)


def test_which_letters_the_check_accepts():
    assert E._shown_by_seeds(["c", "c", "b", "b", "c"]) == ["b", "c"]
    assert E._shown_by_seeds(["b", "a", "b", "a", "b"]) == ["a", "b"]
    assert E._shown_by_seeds(["c", "c", "c", "c", "a"]) == ["c"]


def test_notebook_04_says_two_seeds_suffice_and_the_outcome_varies():
    text = notebook_markdown(NB04)
    assert "a letter that fewer of them show, but at least two, is partly right" in text
    assert "The outcome varies by seed" in text
    assert "expects the letter that most of them show" not in text
    assert "check's output lists each seed's letter" not in text


# --- 4, 9: training_step's messages -------------------------------------------------------

def _returns_tensor(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _forward_under_no_grad(model, x, optimizer):  # the reviewer's finding 9
    with torch.no_grad():
        x_hat = model(x)
    loss = F.mse_loss(x_hat, x)
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _no_backward(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _zero_grad_between(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def test_a_returned_tensor_is_not_said_to_keep_the_graph_alive(capsys):
    out = assert_diagnosed(E.check_training_step, _returns_tensor, "points into autograd",
                           "keeps the whole graph alive", capsys)
    assert "total += loss grows the history" in out


def test_saved_activations_are_freed_after_backward():
    """Why "keeps the whole graph alive" was false: a second backward finds them freed."""
    model = Autoencoder(4, 2, 8)
    x = torch.rand(1, 3, 16, 16)
    loss = F.mse_loss(model(x), x)
    loss.backward()
    with pytest.raises(RuntimeError, match="freed"):
        loss.backward()


def test_no_grad_forward_is_not_blamed_on_zero_grad(capsys):
    out = assert_diagnosed(E.check_training_step, _forward_under_no_grad, "torch.no_grad()",
                           "between backward and step", capsys)
    assert "gradients on" in out


def test_a_missing_backward_is_named(capsys):
    assert_diagnosed(E.check_training_step, _no_backward, "loss.backward() never ran",
                     "between backward and step", capsys)


def test_zero_grad_between_backward_and_step_is_still_named(capsys):
    assert_diagnosed(E.check_training_step, _zero_grad_between, "between backward and step",
                     "never ran", capsys)


# --- 5: halving_prediction ------------------------------------------------------------------

def test_the_halving_messages_speak_of_extra_values(capsys):
    big, small = Autoencoder(4, 1, 4), Autoencoder(2, 1, 4)
    photos = {"a": torch.rand(3, 16, 16), "b": torch.rand(3, 16, 16)}
    drop, drops = E._mean_psnr_drop(big, small, list(photos.values()))
    for guess in (drop - 0.2, min(drops) - 0.5):
        if guess < 0.3:
            continue
        E.check_halving_prediction(lambda g=guess: g, big, small, photos)
        out = capsys.readouterr().out
        assert "second 8 values" not in out, out
    source = (REPO / "src/aecodec/course/exercises.py").read_text()
    assert "second 8 values" not in source and "extra 8 values per block" in source


# --- 2, 3: notebook 05 ---------------------------------------------------------------------

def test_05_compares_float_and_8bit_latents_with_the_same_8bit_output():
    cell = next("".join(c["source"]) for c in notebook_cells(NB05)
                if "float_psnr =" in "".join(c["source"]))
    assert "psnr(x, quantize_8bit(model(x)))" in cell and ".clamp(0, 1)" not in cell
    out = next("".join(o.get("text", "")) for c in notebook_cells(NB05)
               if "float_psnr =" in "".join(c["source"]) for o in c["outputs"])
    assert "8-bit output both times" in out, out


def test_05_says_notebook_09_refines_the_rate_distortion_codecs():
    text = notebook_markdown(NB05)
    assert "for the rate–distortion codecs of 07 and 08, not for these plain models" in text


# --- 6, 7: notebook 03 ---------------------------------------------------------------------

def test_03_says_one_way_stripes_point_to_the_weights():
    text = notebook_markdown(NB03)
    assert "A square kernel's overlaps are the same down and across" in text
    assert "stripes in one direction point to the learned weights" in text
    assert "magnified 16 times" in text
    out = next("".join(o.get("text", "")) for c in notebook_cells(NB03)
               if "changes across (vertical stripes)" in "".join(c["source"])
               for o in c["outputs"] if o.get("name") == "stdout")
    line = next(s for s in out.splitlines() if s.startswith("of the period-4 pattern"))
    across = int(line.split(": ")[1].split("%")[0])
    down = int(line.split(", ")[1].split("%")[0])
    assert across > 4 * down, line  # "almost all one way", as the text says


def test_a_sub_pixel_convolution_is_a_transposed_convolution_with_twice_the_kernel():
    """Shi et al. 2016b: a K'xK' sub-pixel convolution (here K' = 2) equals a stride-2
    transposed convolution with 2K'xK' kernels, each phase (r, s) taking the taps of one
    parity; 03 cell 21 says so."""
    torch.manual_seed(0)
    c_in, c_out, h, w = 3, 2, 6, 7
    y = torch.randn(1, c_in, h, w)
    sub = torch.randn(4 * c_out, c_in, 2, 2)  # channel 4c + 2r + s: phase (r, s) of channel c
    phases = F.conv2d(y, sub)  # (1, 4 c_out, h - 1, w - 1)
    x_sub = F.pixel_shuffle(phases, 2)  # (1, c_out, 2h - 2, 2w - 2)
    # output 2m + r reads input m + d with tap t = r + 2 - 2d (padding 2): a bijection
    # between the 4 x 4 taps and the (r, d) x (s, e) of the four 2 x 2 phase kernels
    kernel = torch.zeros(c_in, c_out, 4, 4)
    for c in range(c_out):
        for r in (0, 1):
            for s in (0, 1):
                for d in (0, 1):
                    for e in (0, 1):
                        kernel[:, c, r + 2 - 2 * d, s + 2 - 2 * e] = sub[4 * c + 2 * r + s, :, d, e]
    x_t = F.conv_transpose2d(y, kernel, stride=2, padding=2)  # (1, c_out, 2h - 2, 2w - 2)
    assert x_t.shape == x_sub.shape
    torch.testing.assert_close(x_t, x_sub)
    text = notebook_markdown(NB03)
    assert "one with K′×K′ kernels equals a transposed convolution with 2K′×2K′ kernels" in text
    assert "Shi et al. 2016b" in text


# --- 8: parameter_count tests how the kernel size enters, on kernels no notebook shows ------

def _count(c: int, k: int, n: int, kernel_size: int = 5, *, linear: bool = False,
           fixed: bool = False, scaled: bool = False) -> int:
    """The count of an autoencoder of the family, or one of the reviewer-style slips."""
    widths = [3] + [n] * (k - 1) + [c]
    kernel = 5 if fixed or scaled else kernel_size
    per_pair = kernel if linear else kernel**2
    total = sum(2 * i * o * per_pair + i + o for i, o in zip(widths[:-1], widths[1:]))
    return round(total * kernel_size**2 / 25) if scaled else total


def test_parameter_count_takes_a_kernel_size_and_the_solution_passes(capsys):
    solution = _solution(NB04, "parameter_count")
    assert E.check_parameter_count(solution, grade=True) is True
    out = capsys.readouterr().out
    saved = next("".join(o.get("text", "")) for c in notebook_cells(NB04)
                 if "check_parameter_count(parameter_count)" in "".join(c["source"])
                 for o in c["outputs"])
    assert saved == out == "Correct. parameter_count gives the right answer on 4 test cases.\n"
    assert solution(16, 3, 32) == 81_747  # cell 28's prediction, unchanged
    for c, k, n, kernel in [(12, 3, 40, 5), (2, 1, 5, 3), (32, 4, 16, 7)]:
        if kernel == 5:
            assert solution(c, k, n) == sum(p.numel() for p in Autoencoder(c, k, n).parameters())
        assert solution(c, k, n, kernel) == _count(c, k, n, kernel)


@pytest.mark.parametrize("wrong, phrase", [
    (lambda c, k, n: _count(c, k, n), "takes no kernel_size"),  # the old signature
    (lambda c, k, n, kernel_size=5: _count(c, k, n, kernel_size, fixed=True),
     "the count for 5x5 kernels"),
    (lambda c, k, n, kernel_size=5: _count(c, k, n, kernel_size, scaled=True),
     "the biases, which do not depend on the kernel"),
    (lambda c, k, n, kernel_size=5: _count(c, k, n, kernel_size, linear=True),
     "the kernel size enters squared"),
])
def test_parameter_count_diagnoses_kernel_slips(wrong, phrase, capsys):
    assert_diagnosed(E.check_parameter_count, wrong, phrase, "Correct", capsys)


def test_04_exercise_3_asks_for_any_kernel_size():
    text = notebook_markdown(NB04)
    assert "parameter_count(latent_channels, downsamplings, hidden_channels, kernel_size=5)" in text
    assert "with 5×5 kernels and with 3×3 and 7×7 ones" in text
