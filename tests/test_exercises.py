"""Every exercise check passes the notebook's own solution and fails plausible wrong answers.

The solutions are read from the notebooks themselves (the code cells holding
`### BEGIN SOLUTION`), so a test fails if a notebook's solution and its check drift apart.
"""

import json
import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aecodec import refine
from aecodec.course import classroom, exercises
from aecodec.entropy import gaussian_likelihood
from aecodec.latents8bit import reconstruct_8bit
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def solutions() -> dict[str, object]:
    """{function name: function} for every solution cell of every notebook."""
    found = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "### BEGIN SOLUTION" in source:
                namespace = dict(torch=torch, nn=nn, F=F, math=math, np=np, psnr=psnr,
                                 quantize_8bit=quantize_8bit, reconstruct_8bit=reconstruct_8bit,
                                 TAU_START=refine.TAU_START, TAU_DECAY=refine.TAU_DECAY)
                before = set(namespace)
                exec(compile(source, f"{path.name}", "exec"), namespace)
                for name in set(namespace) - before - {"__builtins__"}:
                    found[name] = namespace[name]
    return found


def tiny_models():
    torch.manual_seed(0)
    return Autoencoder(8, 2, 8).eval(), Autoencoder(4, 2, 8).eval(), torch.rand(3, 24, 20)


def check_for(name, grade=True):
    """The check of exercise `name`, called the way its notebook calls it (with grade=True:
    returning whether it passed, as an autograder would)."""
    if name == "halving_effect":
        big, small, x = tiny_models()
        return lambda fn: exercises.check_halving_effect(fn, big, small, x, grade=grade)
    if name == "refinement_gain":  # a prediction checked against measured files
        return lambda fn: exercises.check_refinement_gain(fn, *REFINED, grade=grade)
    if name in PREDICTIONS:
        check, measured = PREDICTIONS[name]
        return lambda fn: check(fn, measured(), grade=grade)
    names = {"my_psnr": "check_psnr"}
    check = getattr(exercises, names.get(name, f"check_{name}"))
    return lambda fn: check(fn, grade=grade)


def _conv_layers():
    """Notebook 02's layers of its size prediction: {name: (layer, input size)}."""
    return {"A": (nn.Conv2d(1, 1, 4, stride=2, padding=1), 7),
            "B": (nn.Conv2d(1, 1, 4, stride=2, padding=1), 8),
            "C": (nn.Conv2d(1, 1, 3, stride=2, padding=0), 8),
            "D": (nn.Conv2d(1, 1, 5, stride=2, padding=1), 10),
            "E": (nn.Conv2d(1, 1, 3, stride=1, padding=0), 28)}


def _transposed_layers():
    """Notebook 03's layers of its size prediction."""
    return {"A": (nn.ConvTranspose2d(1, 1, 3, stride=1, padding=0), 5),
            "B": (nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1), 5),
            "C": (nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1), 5),
            "D": (nn.ConvTranspose2d(1, 1, 3, stride=3, padding=0), 4),
            "E": (nn.ConvTranspose2d(1, 1, 5, stride=2, padding=2, output_padding=1), 5)}


def _grid_measured():
    """Stamp counts computed here; the untrained decoders' period-2 shares as notebook 03
    measured them on the rocket photo (seeds 0 to 4)."""
    stamps = {}
    for k in exercises.GRID_KERNELS:
        t = nn.ConvTranspose2d(1, 1, k, stride=2, bias=False)
        with torch.no_grad():
            t.weight.fill_(1.0)
            m = t(torch.ones(1, 1, 8, 8))[0, 0, 4:12, 4:12]
        stamps[k] = sorted(set(m.flatten().int().tolist()))
    return {"stamps": stamps, "share": {3: [0.88, 0.91, 0.91, 0.50, 0.70],
                                        4: [0.78, 0.79, 0.53, 0.71, 0.18]}}


PREDICTIONS = {  # name: (check, the measurement its notebook passes)
    "noise_prediction": (exercises.check_noise_prediction, lambda: {0.1: 20.001, 0.01: 39.998}),
    "conv_size_prediction": (exercises.check_size_prediction, _conv_layers),
    "transposed_size_prediction": (exercises.check_size_prediction, _transposed_layers),
    "grid_prediction": (exercises.check_grid_prediction, _grid_measured),
}


EXERCISES = ["to_batch", "noise_prediction", "psnr_int", "conv_size_prediction",
             "encoder_block", "latent_values", "transposed_size_prediction", "grid_prediction",
             "decoder_block", "upsampling_padding",
             "training_step", "validation_psnr", "parameter_count", "predicted_ratio",
             "halving_effect", "latents_per_pixel", "entropy_bits", "measured_bpp",
             "rate_from_likelihoods", "rd_loss", "pick_lambda", "noise_quantize",
             "gaussian_pmf", "cheaper_rung", "side_share", "file_objective",
             "up_share", "refinement_gain"]
# notebook 10's, tested with their measurements in tests/test_exercises_context.py
EXERCISES_10 = ["residual_prediction", "context_mask", "bits_prediction"]


def test_notebooks_have_at_least_three_exercises_each_from_01():
    per_notebook = {}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        count = sum("### BEGIN SOLUTION" in "".join(c["source"]) for c in cells)
        per_notebook[path.name[:2]] = count
        assert count == sum("### END SOLUTION" in "".join(c["source"]) for c in cells)
    assert all(per_notebook[f"{n:02d}"] >= 3 for n in range(1, 11)), per_notebook
    assert sorted(solutions()) == sorted(EXERCISES + EXERCISES_10)


NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_front_matter_gives_the_time_and_the_number_of_exercises(path):
    """The opening cell says how long the notebook takes and how many exercises it has,
    and the exercises are numbered 1, 2, 3 ... in the order they come, each heading
    just before its solution cell."""
    cells = json.loads(path.read_text())["cells"]
    front = "".join(cells[0]["source"])
    assert re.search(r"\bAbout \d+ minutes\b", front), front
    solution_cells = [index for index, cell in enumerate(cells) if cell["cell_type"] == "code"
                      and "### BEGIN SOLUTION" in "".join(cell["source"])]
    headings = [(index, int(number)) for index, cell in enumerate(cells)
                if cell["cell_type"] == "markdown"
                for number in re.findall(r"^#+ .*?\bExercise (\d+)", "".join(cell["source"]),
                                         flags=re.MULTILINE)]
    assert [number for _, number in headings] == list(range(1, len(solution_cells) + 1))
    bounds = [index for index, _ in headings] + [len(cells)]
    for k, solution in enumerate(solution_cells):
        assert bounds[k] < solution < bounds[k + 1], f"exercise {k + 1}: heading not above it"
    said = re.findall(rf"\b({'|'.join(NUMBERS[1:])}) exercises?\b", front, flags=re.IGNORECASE)
    if solution_cells:
        assert [word.lower() for word in said] == [NUMBERS[len(solution_cells)]], front
    else:
        assert not said and "exercise" not in front.lower().replace("no exercise", ""), front


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_teachers_table_gives_the_notebooks_own_time(path):
    """docs/teachers.md's path table says the learner's time the notebook itself says."""
    front = "".join(json.loads(path.read_text())["cells"][0]["source"])
    minutes = re.search(r"\bAbout (\d+) minutes\b", front).group(1)
    table = (REPO / "docs" / "teachers.md").read_text()
    row = re.search(rf"^\| `{path.stem}` \| (\d+) min\b", table, flags=re.MULTILINE)
    assert row and row.group(1) == minutes, f"docs/teachers.md: {path.stem} takes {minutes} min"


# --- notebooks 04-06, third edition (issue 23) ---------------------------------------------
# Four transcriptions became predictions (the learner commits a number or a choice before
# the cell that measures it). The retired exercises' checks stay in aecodec.course.exercises
# for teachers who use them, with their wrong-answer tests below; only the tests that need
# a notebook's solution skip them.
RETIRED_04_06 = ["validation_psnr", "halving_effect", "measured_bpp", "rate_from_likelihoods"]
PREDICTIONS_04_06 = ["loss_curve_prediction", "halving_prediction", "lzma_prediction",
                     "file_size_prediction"]
EXERCISES = [name for name in EXERCISES if name not in RETIRED_04_06] + PREDICTIONS_04_06
# Notebook 07, fourth edition (review rev5): three transcriptions became one transcription
# (rd_loss), one mechanism (noise_quantize: the noise reasoned from rounding's error, checked
# on (N, C, h, w) latents the exercise does not show) and one prediction (rate_gap_prediction,
# overcount_prediction until review r9-C:
# training's noisy estimate against the real file, committed before the notebook measures
# it). pick_lambda is given code now; its check stays for teachers who use it.
RETIRED_07 = ["pick_lambda"]
EXERCISES = [name for name in EXERCISES if name not in RETIRED_07] + ["rate_gap_prediction"]
MEASURED_07 = {"noisy": 0.7035, "rounded": 0.5524, "file": 0.5540}  # factorized q3, coffee
PREDICTIONS["rate_gap_prediction"] = (exercises.check_rate_gap_prediction,
                                       lambda: MEASURED_07)


def _halving_effect_reference(big, small, x):
    """The retired exercise's solution (05, second edition)."""
    height, width = x.shape[-2:]
    ratio_gain = small.compression_ratio(height, width) / big.compression_ratio(height, width)
    x_big, _ = reconstruct_8bit(big, x[None])
    x_small, _ = reconstruct_8bit(small, x[None])
    return ratio_gain, psnr(x[None], x_big) - psnr(x[None], x_small)


RETIRED_SOLUTIONS = {"halving_effect": _halving_effect_reference}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_each_check_cell_shows_one_verdict_that_nbval_compares(path):
    """nbval's marker is the cell tag, not a comment in the code; a check cell's saved
    output is the verdict alone, with no True or False under it."""
    nb = nbformat.read(path, as_version=4)
    assert not [cell for cell in nb.cells if "NBVAL_CHECK_OUTPUT" in cell.source]
    for index in classroom.exercise_cells(nb):
        cell = nb.cells[classroom.check_cell(nb, index)]
        assert "nbval-check-output" in cell.metadata.get("tags", []), cell.source
        assert [output.output_type for output in cell.outputs] == ["stream"], cell.source
        text = cell.outputs[0].text
        assert text.startswith("Correct. ") and text.count("\n") == 1, text


@pytest.mark.parametrize("name", EXERCISES)
def test_check_passes_the_notebook_solution(name, capsys):
    assert check_for(name)(solutions()[name]) is True
    out = capsys.readouterr().out
    assert out.startswith("Correct. ") and "all 1 " not in out, out


@pytest.mark.parametrize("name", EXERCISES)
def test_a_check_returns_nothing_for_the_notebook_to_echo(name, capsys):
    """Called as a notebook cell calls it, a check prints its verdict and returns None,
    so no stray True or False appears under the verdict."""
    assert check_for(name, grade=False)(solutions()[name]) is None
    assert check_for(name, grade=False)(lambda *a: None) is None
    assert capsys.readouterr().out.count("\n") == 2  # one verdict line per call


@pytest.mark.parametrize("name", EXERCISES)
def test_check_reports_not_implemented_plainly(name, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError("write your code here")

    assert check_for(name)(stub) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet: ") and "not implemented yet" in out, out


def _no_permute(pixels):
    return torch.from_numpy(pixels).float()[None] / 255


def _no_divide(pixels):
    return torch.from_numpy(pixels).permute(2, 0, 1).float()[None]


def _view_not_permute(pixels):
    h, w, _ = pixels.shape
    return torch.from_numpy(pixels).float().reshape(1, 3, h, w) / 255


def _conv_transposed_no_padding(in_c, out_c):
    return nn.Sequential(nn.ConvTranspose2d(in_c, out_c, 5, stride=2, padding=2), nn.ReLU())


def _step_without_zero_grad(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_without_update(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def _validation_without_rounding(model, x):
    model.eval()
    with torch.no_grad():
        return psnr(x, model(x))


def _validation_in_train_mode(model, x):
    with torch.no_grad():
        return psnr(x, quantize_8bit(model(x)))


def _halving_with_float_latents(big, small, x):
    h, w = x.shape[-2:]
    with torch.no_grad():
        drop = psnr(x[None], big(x[None])) - psnr(x[None], small(x[None]))
    return small.compression_ratio(h, w) / big.compression_ratio(h, w), drop


def _halving_wrong_sign(big, small, x):
    gain, drop = exercises_solution("halving_effect")(big, small, x)
    return gain, -drop


def _total_entropy(values):
    _, counts = torch.unique(values, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-(p * torch.log2(p)).sum()) * len(values)


def _entropy_in_nats(values):
    _, counts = torch.unique(values, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-(p * torch.log(p)).sum())


def _pick_without_none(points, max_bpp):
    fitting = [p for p in points if p["bpp"] <= max_bpp] or points[:1]
    return max(fitting, key=lambda p: p["psnr"])["lmbda"]


def exercises_solution(name):
    return RETIRED_SOLUTIONS[name] if name in RETIRED_SOLUTIONS else solutions()[name]


def _step_zeroing_between_backward_and_step(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _validation_with_gradients(model, x):
    model.eval()
    return psnr(x, quantize_8bit(model(x)))  # a float, but the graph was built


WRONG_ANSWERS = [
    ("to_batch", _no_permute, "channels must come first"),
    ("to_batch", _no_divide, "divide by 255"),
    ("to_batch", _view_not_permute, "permute, not view or reshape"),
    ("my_psnr", lambda x, y: 10 * math.log10(255**2 / ((x - y) ** 2).mean().item()), "peak"),
    ("my_psnr", lambda x, y: -10 * math.log(((x - y) ** 2).mean().item()), "log base 10"),
    ("my_psnr", lambda x, y: 5 * math.log10(1 / ((x - y) ** 2).mean().item()), "half"),
    ("conv_output_size", lambda s, k, st, p: (s + 2 * p - k) // st, "Hint"),
    ("conv_output_size", lambda s, k, st, p: (s + 2 * p - k) / st + 1, "integer division"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 1, 2), nn.ReLU()),
     "halves the size"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2)), "linear"),
    ("latent_values", lambda h, w, c, k: c * (h // 2**k) * (w // 2**k), "math.ceil"),
    ("latent_values", lambda h, w, c, k: c * math.ceil(h / (2 * k)) * math.ceil(w / (2 * k)),
     "2**k"),
    ("conv_transpose_output_size", lambda s, k, st, p, op: (s - 1) * st - 2 * p + k,
     "forgot to add output_padding"),
    ("conv_transpose_output_size", lambda s, k, st, p, op: s * st - 2 * p + k + op, "Hint"),
    ("decoder_block", _conv_transposed_no_padding, "output_padding=1"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1)),
     "nn.ConvTranspose2d"),
    ("training_step", _step_without_zero_grad, "zero_grad"),
    ("training_step", _step_without_update, "optimizer.step()"),
    ("validation_psnr", _validation_without_rounding, "quantize_8bit"),
    ("validation_psnr", _validation_in_train_mode, "model.eval()"),
    ("predicted_ratio", lambda h, w, c, k: h * w / (c * math.ceil(h / 2**k) * math.ceil(w / 2**k)),
     "3 values per pixel"),
    ("predicted_ratio", lambda h, w, c, k: c * math.ceil(h / 2**k) * math.ceil(w / 2**k)
     / (3 * h * w), "upside down"),
    ("halving_effect", _halving_with_float_latents, "reconstruct_8bit"),
    ("halving_effect", _halving_wrong_sign, "wrong sign"),
    ("entropy_bits", _total_entropy, "per value"),
    ("entropy_bits", _entropy_in_nats, "nats"),
    ("measured_bpp", lambda data, h, w: len(data) / (h * w), "a byte has 8 bits"),
    ("measured_bpp", lambda data, h, w: 8 * len(data) / (3 * h * w), "number of pixels"),
    ("rd_loss", lambda mse, rate, lmbda: lmbda * mse + rate, "255^2"),
    ("rd_loss", lambda mse, rate, lmbda: mse + lmbda * rate, "weights the distortion"),
    ("pick_lambda", lambda points, max_bpp: min(p["lmbda"] for p in points), "highest PSNR"),
    ("pick_lambda", _pick_without_none, "Return None"),
    ("to_batch", lambda p: torch.from_numpy(p).permute(2, 0, 1)[None].double() / 255,
     "float32"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, stride=2, padding=1),
                                                 nn.ReLU()), "5x5"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.ReLU(), nn.Conv2d(i, o, 5, stride=2,
                                                                      padding=2)), "first"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(
        i, o, 5, stride=2, padding=2, output_padding=1)), "linear"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * (h // 2**k) * (w // 2**k)),
     "rounded up"),
    ("validation_psnr", _validation_with_gradients, "torch.no_grad()"),
    ("training_step", _step_zeroing_between_backward_and_step, "belongs before backward"),
    ("gaussian_pmf", lambda n, mean, scale: torch.distributions.Normal(mean, scale).log_prob(n)
     .exp(), "density at n"),
    ("gaussian_pmf", lambda n, mean, scale: torch.distributions.Normal(0.0, scale).cdf(n + 0.5)
     - torch.distributions.Normal(0.0, scale).cdf(n - 0.5), "n - mean"),
    ("gaussian_pmf", lambda n, mean, scale: torch.distributions.Normal(mean, scale).cdf(n + 1)
     - torch.distributions.Normal(mean, scale).cdf(n - 1), "a bin two wide"),
    ("table_index", lambda scale, ladder: max([i for i, r in enumerate(ladder) if r <= scale],
                                              default=0), "at least as wide"),
    ("table_index", lambda scale, ladder: sum(rung < scale for rung in ladder),
     "one past the last index"),  # no table wider than 100: the last one, not one past it
    ("file_bits", lambda ly, lz: float(-torch.log2(ly).sum()), "side information z"),
    ("file_bits", lambda ly, lz: float(-torch.log(ly).sum() - torch.log(lz).sum()), "nats"),
    ("file_bits", lambda ly, lz: float(-torch.log2(ly).sum() - torch.log2(lz).sum()) / 8,
     "bytes"),
    ("file_objective", lambda b, m, h, w, lm: lm * 255**2 * m + b / (h * w), "a byte is 8"),
    ("file_objective", lambda b, m, h, w, lm: lm * m + 8 * b / (h * w), "255^2"),
    ("file_objective", lambda b, m, h, w, lm: lm * 255**2 * m + 8 * b, "number of pixels"),
    ("round_up_probability", lambda f, tau: torch.sigmoid(
        (torch.atanh(1 - f) - torch.atanh(f)) / tau), "chance of going down"),
    ("round_up_probability", lambda f, tau: torch.sigmoid(torch.atanh(f) - torch.atanh(1 - f)),
     "divide the logits by tau"),
    ("round_up_probability", lambda f, tau: f, "linear in frac"),
    ("temperature", lambda step, steps: 0.5 * (1 - step / (steps - 1)), "straight line"),
    ("temperature", lambda step, steps: 0.5 * math.exp(-4.0 * step), "steps - 1"),
    ("noise_psnr", lambda sigma: -10 * math.log10(sigma), "sigma squared"),
    ("noise_psnr", lambda sigma: 20 * math.log10(255 / sigma), "peak is 1"),
    ("noise_psnr", lambda sigma: 20 * math.log10(sigma), "sign is wrong"),
    ("noise_psnr", lambda sigma: -20 * math.log(sigma), "mean of noise^2"),
    ("doubling_padding", lambda k: (k // 2, 1), "odd and even"),
    ("doubling_padding", lambda k: (k // 2, 2), "must be 0 or 1"),
    ("doubling_padding", lambda k: (-1, 0), ">= 0"),
    ("parameter_count", lambda c, k, n: _count(c, k, n, biases=False), "bias"),
    ("parameter_count", lambda c, k, n: _count(c, k, n, decoder=False), "encoder only"),
    ("parameter_count", lambda c, k, n: 2 * _count(c, k, n, decoder=False), "same biases"),
    ("parameter_count", lambda c, k, n: _count(c, k, n, kernel=3), "there are"),
    ("receptive_field", lambda k, kernel: 1 + (kernel - 1) * k, "2^(i-1)"),
    ("receptive_field", lambda k, kernel: kernel * k, "overlap"),
    ("receptive_field", lambda k, kernel: kernel * 2**k, "gradient probe does not reach"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log(p).sum()) / (h * w), "nats"),
    ("rate_from_likelihoods", lambda p, h, w: float(torch.log2(p).sum()) / (h * w), "negative"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).mean()), "per latent value"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).sum()), "total bits"),
    ("noise_quantize", torch.round, "that is rounding"),
    ("noise_quantize", lambda y: y + torch.rand_like(y), "shifted by 0.5"),
    ("noise_quantize", lambda y: y + 0.29 * torch.randn_like(y), "beyond 1/2"),
    ("noise_quantize", lambda y: y.detach() + torch.rand_like(y) - 0.5, "gradient"),
    ("noise_quantize", lambda y: y + (torch.arange(y.numel()).view_as(y) % 100 / 100 - 0.495),
     "new noise at every call"),
    ("noise_quantize", lambda y: y + 0.25 * (2 * torch.rand_like(y) - 1) ** 3 * 2,
     "standard deviation"),
]


def _count(c: int, k: int, n: int, biases: bool = True, decoder: bool = True,
           kernel: int = 5) -> int:
    """Parameter counts with one mistake each (see WRONG_ANSWERS)."""
    widths = [3] + [n] * (k - 1) + [c]
    total = 0
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        total += c_in * c_out * kernel**2 + (c_out if biases else 0)
        if decoder:
            total += c_in * c_out * kernel**2 + (c_in if biases else 0)
    return total


def assert_rejected(name: str, wrong, explanation: str, capsys) -> str:
    """The check of exercise `name` rejects `wrong` in one line that starts "Wrong: " and
    holds `explanation` (no traceback); returns that line."""
    assert check_for(name)(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and explanation in out, out
    assert out.count("\n") == 1 and "Traceback" not in out
    return out


@pytest.mark.parametrize("name, wrong, explanation", WRONG_ANSWERS,
                         ids=[f"{n}-{e[:20]}" for n, _, e in WRONG_ANSWERS])
def test_check_fails_a_plausible_wrong_answer_and_says_why(name, wrong, explanation, capsys):
    assert_rejected(name, wrong, explanation, capsys)


def test_a_crashing_answer_is_explained(capsys):
    assert exercises.check_conv_output_size(lambda *a: undefined_name,  # noqa: F821
                                            grade=True) is False
    assert "raised NameError" in capsys.readouterr().out


def test_the_teachers_page_lists_every_exercise_with_what_it_assesses():
    text = (REPO / "docs" / "teachers.md").read_text()
    table = text[text.index("## What each exercise assesses"):]
    for name in EXERCISES:
        rows = [line for line in table.splitlines() if line.startswith("|")
                and f"| `{name}` |" in line]
        assert len(rows) == 1, f"{name}: {len(rows)} rows in the teachers' table"
        assert len([cell for cell in rows[0].split("|") if cell.strip()]) == 4


# --- the attack on every check (docs/../review protocol: at least three plausible wrong
# answers of our own per check, plus those the readers of issue 23 found) ----------------


class _ReluThenConv(nn.Module):
    """A custom block applying the non-linearity before the convolution."""

    def __init__(self, in_c, out_c, transposed=False):
        super().__init__()
        if transposed:
            self.conv = nn.ConvTranspose2d(in_c, out_c, 5, stride=2, padding=2, output_padding=1)
        else:
            self.conv = nn.Conv2d(in_c, out_c, 5, stride=2, padding=2)

    def forward(self, x):
        return self.conv(F.relu(x))


class _ReluModuleThenConv(nn.Module):
    def __init__(self, in_c, out_c):
        super().__init__()
        self.act = nn.ReLU()
        self.conv = nn.Conv2d(in_c, out_c, 5, stride=2, padding=2)

    def forward(self, x):
        return self.conv(self.act(x))


def _validation_pooled_without_rounding(model, x):
    model.eval()
    with torch.no_grad():
        mse = ((model(x) - x) ** 2).mean().item()
    return -10 * math.log10(mse)


def _validation_pooled(model, x):
    model.eval()
    with torch.no_grad():
        mse = ((quantize_8bit(model(x)) - x) ** 2).mean().item()
    return -10 * math.log10(mse)


def _validation_clamped(model, x):
    model.eval()
    with torch.no_grad():
        return psnr(x, model(x).clamp(0, 1))


def _halving_hard_coded(big, small, x):
    h, w = x.shape[-2:]
    x_big, _ = reconstruct_8bit(big, x[None])
    x_small, _ = reconstruct_8bit(small, x[None])
    return 2.0, psnr(x[None], x_big) - psnr(x[None], x_small)


def _halving_float_latents_8bit_pixels(big, small, x):
    h, w = x.shape[-2:]
    with torch.no_grad():
        drop = psnr(x[None], quantize_8bit(big(x[None]))) - psnr(x[None],
                                                               quantize_8bit(small(x[None])))
    return small.compression_ratio(h, w) / big.compression_ratio(h, w), drop


def _halving_upside_down(big, small, x):
    gain, drop = exercises_solution("halving_effect")(big, small, x)
    return 1 / gain, drop


def _pick_most_bits_that_fit(points, max_bpp):
    fitting = [p for p in points if p["bpp"] <= max_bpp]
    return max(fitting, key=lambda p: p["bpp"])["lmbda"] if fitting else None


def _pick_the_point(points, max_bpp):
    fitting = [p for p in points if p["bpp"] <= max_bpp]
    return max(fitting, key=lambda p: p["psnr"]) if fitting else None


def _pick_strictly_below(points, max_bpp):
    fitting = [p for p in points if p["bpp"] < max_bpp]
    return max(fitting, key=lambda p: p["psnr"])["lmbda"] if fitting else None


def _pick_last_that_fits(points, max_bpp):
    """Walks the list in its order and keeps the last point under the budget."""
    best = None
    for p in points:
        if p["bpp"] <= max_bpp:
            best = p["lmbda"]
    return best


def _round_straight_through_with_jitter(y):
    return y + (torch.round(y) - y).detach() + 1e-6 * torch.rand_like(y)


def _two_point_noise(y):
    return y + (torch.randint(0, 2, y.shape) * 2 - 1) * 12 ** -0.5


def _clamped_gaussian_noise(y):
    return y + (torch.randn_like(y) * 12 ** -0.5).clamp(-0.5, 0.5)


def _triangular_noise(y):
    return y + (torch.rand_like(y) + torch.rand_like(y) - 1) * 0.5 * 2 ** 0.5


def _step_with_l1(model, x, optimizer):
    loss = F.l1_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_returning_the_tensor(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _step_twice(model, x, optimizer):
    for _ in range(2):
        loss = F.mse_loss(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


ATTACK = [
    # --- expert review of 01-03 (third edition): what got through, what was misdiagnosed
    ("to_batch", lambda p: (torch.from_numpy(p).permute(2, 0, 1)[None].float() / 255
                            - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
     / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), "mean and a standard deviation"),
    ("to_batch", lambda p: (lambda t: (t - t.min()) / (t.max() - t.min()))(
        torch.from_numpy(p).permute(2, 0, 1)[None].float()), "min-max"),
    ("to_batch", lambda p: torch.from_numpy(p[..., ::-1].copy()).permute(2, 0, 1)[None].float()
     / 255, "BGR"),
    ("my_psnr", lambda x, y: 10 * torch.log10(1 / ((x - y) ** 2).mean()), "Python float"),
    ("my_psnr", lambda x, y: 10 * math.log10(1 / (x - y).abs().mean().item()),
     "mean absolute error"),
    ("conv_output_size", lambda s, k, st, p: float((s + 2 * p - k) // st + 1), "not an int"),
    ("conv_transpose_output_size", lambda s, k, st, p, op: float((s - 1) * st - 2 * p + k + op),
     "not an int"),
    ("latent_values", lambda h, w, c, k: c * np.ceil(h / 2**k) * np.ceil(w / 2**k),
     "not an int"),
    ("latent_values", lambda h, w, c, k: c * np.floor(h / 2**k) * np.floor(w / 2**k),
     "math.ceil"),
    ("latent_values", lambda h, w, c, k: float(c * math.ceil(h / 2**k) * math.ceil(w / 2**k)),
     "not an int"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, padding=4, dilation=2),
                                                 nn.ReLU()), "dilation 2"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.LeakyReLU(0.99)),
     "hardly at all"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.Sigmoid()),
     "Sigmoid"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.BatchNorm2d(o),
                                                 nn.ReLU()), "BatchNorm2d"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(o, i, 5, 2, 2), nn.ReLU()),
     "swapped"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.GELU()),
     "asks for nn.ReLU()"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(
        i, o, 5, 2, padding=4, output_padding=1, dilation=2), nn.ReLU()), "dilation 2"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(o, i, 5, 2, 2, 1),
                                                 nn.ReLU()), "swapped"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, 2, 1),
                                                 nn.Sigmoid()), "Sigmoid"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, 2, 1),
                                                 nn.BatchNorm2d(o), nn.ReLU()), "BatchNorm2d"),
    ("doubling_padding", lambda k: (k % 2, (k - 1) // 2), "wrong order"),
    ("doubling_padding", lambda k: ((k - 1) // 2, 1), "odd and even"),
    ("doubling_padding", lambda k: {3: (1, 1), 4: (1, 0), 5: (2, 1)}.get(k, (2, 1)),
     "kernel 2"),  # the three kernels the notebook shows, hard-coded
    # --- expert review r4-A of 00-02: what got through, what was rejected without a reason
    ("psnr_int", lambda a, b, bits: 10 * math.log10(  # bit depth read off the data
        (2 ** int(math.ceil(math.log2(int(max(a.max(), b.max())) + 1))) - 1) ** 2
        / float(((a / 1.0 - b) ** 2).mean())), "the peak comes from the format"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(  # the same with int.bit_length
        (2 ** int(a.max()).bit_length() - 1) ** 2 / float(((a / 1.0 - b) ** 2).mean())),
     "not from the data"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(  # peak = pixels.max(), squared in uint8
        a.max() ** 2 / float(((a / 1.0 - b) ** 2).mean())), "integers overflowed"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        max(a.max(), b.max()) ** 2 / float(((a / 1.0 - b) ** 2).mean())), "wraps around"),
    ("noise_prediction", lambda: {0.1: 10 * math.log(1 / 0.1**2), 0.01: 10 * math.log(1e4)},
     "natural log"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ReLU(),
                                                 nn.Dropout(0.1)), "while training"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.Dropout(0.1),
                                                 nn.ReLU()), "Dropout besides the ReLU"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, 2, 1),
                                                 nn.ReLU(), nn.Dropout2d(0.2)), "while training"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.Threshold(0.1, 0.0)),
     "small positive values"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.GELU()),
     "the non-linearity is GELU: t times"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ELU()),
     "the non-linearity is ELU: it lets negative values"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.Softplus()),
     "the non-linearity is Softplus: log(1 + exp(t))"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.PReLU()),
     "the non-linearity is PReLU: negative values"),
    # --- the new prediction and mechanism exercises
    ("noise_prediction", lambda: {0.1: 10.0, 0.01: 20.0}, "sigma itself as the MSE"),
    ("noise_prediction", lambda: {0.1: 68.1, 0.01: 88.1}, "peak of 255"),
    ("noise_prediction", lambda: {0.1: 30.0, 0.01: 20.0}, "lower PSNR"),
    ("noise_prediction", lambda: {0.1: 25.0, 0.01: 35.0}, "20 dB, not 10"),
    ("noise_prediction", lambda: {0.1: -20.0, 0.01: -40.0}, "negative PSNR"),
    ("noise_prediction", lambda: {0.1: 23.0, 0.01: 43.0}, "3 dB high at both sigma"),
    ("noise_prediction", lambda: [20.0, 40.0], "as a dict"),
    ("noise_prediction", lambda: {"0.1": 20.0, "0.01": 40.0}, "no entry for 0.01"),
    ("psnr_8bit", lambda a, b: 10 * math.log10(255**2 / float(((a - b) ** 2).mean())), "uint8"),
    ("psnr_8bit", lambda a, b: 10 * math.log10(1 / float(((a / 1.0 - b) ** 2).mean())),
     "peak is 255"),
    ("psnr_8bit", lambda a, b: 10 * math.log10(255**2 / float(((a / 255 - b / 255) ** 2).mean())),
     "48.13 dB too high"),
    ("psnr_8bit", lambda a, b: 10 * math.log10(255 / float(((a / 1.0 - b) ** 2).mean())),
     "peak is squared"),
    ("psnr_8bit", lambda a, b: 10 * math.log10(255**2 / float(np.abs(a / 1.0 - b).mean())),
     "mean absolute error"),
    ("psnr_8bit", lambda a, b: np.float32(10 * math.log10(255**2 / float(((a / 1.0 - b) ** 2)
                                                                         .mean()))), "float32"),
    # --- review 13: wrong answers the checks used to accept, and misdiagnosed ones
    ("psnr_int", lambda a, b, bits: 10 * math.log10(1 / float(((a / 255 - b / 255) ** 2)
                                                              .mean())),
     "your peak is 255"),  # divides by 255, then peak 1: right for 8 bits only
    ("psnr_int", lambda a, b, bits: 10 * math.log10(255**2 / float(((a / 1.0 - b) ** 2)
                                                                   .mean())),
     "your peak is 255"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        (2**bits - 1) ** 2 / float(((a - b) ** 2).mean())), "3 - 5 is 254"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        float(np.iinfo(a.dtype).max) ** 2 / float(((a / 1.0 - b) ** 2).mean())),
     "not from the array's type"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        float(2**bits) ** 2 / float(((a / 1.0 - b) ** 2).mean())), "cannot hold"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        (2**bits - 1) ** 2 / float(((a / 1.0 - b) ** 2).sum(axis=2).mean())),
     "summed over the 3 channels"),
    ("psnr_int", lambda a, b, bits: float(np.mean([10 * math.log10(
        (2**bits - 1) ** 2 / float(((a[..., c] / 1.0 - b[..., c]) ** 2).mean()))
        for c in range(3)])), "mean of the 3 channels' PSNRs"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(1 / float(((a / 1.0 - b) ** 2).mean())),
     "your peak is 1"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ReLU6()),
     "ReLU6"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2,
                                                           padding_mode="reflect"), nn.ReLU()),
     "padding_mode='reflect'"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, 2, 1),
                                                 nn.ReLU6()), "ReLU6"),
    ("conv_size_prediction", lambda: {"A": 3, "B": 3, "C": 3, "D": 4, "E": 26},
     "added on both sides"),  # padding on one side: not "the first window counts too"
    ("transposed_size_prediction", lambda: {"A": 7, "B": 10, "C": 11, "D": 12, "E": 12},
     "cut from both ends"),  # padding subtracted once
    ("grid_prediction", lambda: {"uneven": [3, 4, 5, 6], "random_kernel_4_grid": True},
     "4: 2 x 2 = 4 each"),
    ("conv_size_prediction", lambda: {"A": 4, "B": 4, "C": 4, "D": 5, "E": 28},
     "halves, rounding up"),
    ("conv_size_prediction", lambda: {"A": 2, "B": 3, "C": 2, "D": 3, "E": 25}, "+ 1"),
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 3, "D": 4, "E": 26.5}, "not an int"),
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 3, "D": 4}, "no entry for 'E'"),
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 4, "D": 4, "E": 26},
     "kernel 3 and padding 0"),
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 3, "D": 9, "E": 26},
     "step by step"),
    ("transposed_size_prediction", lambda: {"A": 7, "B": 10, "C": 10, "D": 12, "E": 10},
     "multiply by the stride"),
    ("transposed_size_prediction", lambda: {"A": 3, "B": 3, "C": 3, "D": 2, "E": 3},
     "convolution's formula"),
    ("transposed_size_prediction", lambda: {"A": 7, "B": 9, "C": 10, "D": 12, "E": 9},
     "left out output_padding"),
    ("transposed_size_prediction", lambda: {"A": 5, "B": 10, "C": 10, "D": 12, "E": 10},
     "PyTorch gives 7"),
    ("grid_prediction", lambda: {"uneven": [3, 4, 5], "random_kernel_4_grid": True},
     "you ticked [4]"),
    ("grid_prediction", lambda: {"uneven": [], "random_kernel_4_grid": True},
     "you left out [3, 5]"),
    ("grid_prediction", lambda: {"uneven": [3, 5], "random_kernel_4_grid": False},
     "other taps"),
    ("grid_prediction", lambda: {"uneven": [2, 3, 5, 6], "random_kernel_4_grid": True},
     "Even kernels give every pixel the same count"),
    ("grid_prediction", lambda: {"uneven": [3, 5], "random_kernel_4_grid": "yes"},
     "True or False"),
    ("grid_prediction", lambda: {"uneven": [3, 5, 7], "random_kernel_4_grid": True},
     "tick among"),
    # 01
    ("to_batch", lambda p: torch.from_numpy(p).permute(2, 1, 0)[None].float() / 255, "swapped"),
    ("to_batch", lambda p: torch.from_numpy(p).permute(2, 0, 1)[None].float() / 256,
     "divide by 255"),
    ("to_batch", lambda p: torch.from_numpy(p).permute(2, 0, 1).float() / 255, "[None]"),
    ("to_batch", lambda p: p.transpose(2, 0, 1)[None] / 255, "torch.Tensor"),
    ("my_psnr", lambda x, y: -10 * math.log10(1 / ((x - y) ** 2).mean().item()), "negative"),
    ("my_psnr", lambda x, y: 10 * math.log10(1 / ((x - y) ** 2).sum().item()), "should be"),
    ("my_psnr", lambda x, y: None, "return a number"),
    ("noise_psnr", lambda sigma: 40.0, "for sigma = 0.05"),
    ("noise_psnr", lambda sigma: 10 * math.log10(1 / sigma**4), "should be"),
    # 02
    ("conv_output_size", lambda s, k, st, p: (s + p - k) // st + 1, "Hint"),
    ("conv_output_size", lambda s, k, st, p: math.ceil((s + 2 * p - k) / st) + 1, "PyTorch gives"),
    ("conv_output_size", lambda s, k, st, p: s // st, "PyTorch gives"),
    ("encoder_block", lambda i, o: _ReluThenConv(i, o), "before the convolution"),
    ("encoder_block", lambda i, o: _ReluModuleThenConv(i, o), "before the convolution"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, stride=2, padding=2),
                                                 nn.Dropout(0.5)), "Dropout is not"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, stride=1, padding=2),
                                                 nn.ReLU(), nn.MaxPool2d(2)), "MaxPool2d"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, stride=1, padding=2),
                                                 nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)),
     "four times the work"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, stride=2, padding=2),
                                                 nn.BatchNorm2d(o)), "linear"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, stride=2, padding=1),
                                                 nn.ReLU()), "halves the size"),
    ("encoder_block", lambda i, o: (lambda x: F.relu(nn.Conv2d(i, o, 5, 2, 2)(x))), "nn.Module"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, padding=2), nn.ReLU(),
                                                 nn.AvgPool2d(2, ceil_mode=True)), "AvgPool2d"),
    ("latent_values", lambda h, w, c, k: math.ceil(h / 2**k) * math.ceil(w / 2**k),
     "expected"),
    ("latent_values", lambda h, w, c, k: c * round(h / 2**k) * round(w / 2**k), "expected"),
    ("latent_values", lambda h, w, c, k: 3 * math.ceil(h / 2**k) * math.ceil(w / 2**k),
     "expected"),
    # 03
    ("conv_transpose_output_size", lambda s, k, st, p, op: (s - 1) * st - p + k + op, "Hint"),
    ("conv_transpose_output_size", lambda s, k, st, p, op: s * st + op, "PyTorch gives"),
    ("conv_transpose_output_size", lambda s, k, st, p, op: (s - 1) * st + k + op, "PyTorch gives"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(
        i, o, 5, stride=2, padding=2, output_padding=1), nn.Dropout(0.2)), "Dropout is not"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.Upsample(scale_factor=2),
                                                 nn.ConvTranspose2d(i, o, 5, padding=2),
                                                 nn.ReLU()), "Upsample does the doubling"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, padding=2),
                                                 nn.ReLU(), nn.Upsample(scale_factor=2)),
     "Odena"),
    ("decoder_block", lambda i, o: _ReluThenConv(i, o, transposed=True),
     "before the transposed convolution"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, stride=2,
                                                                    padding=1), nn.ReLU()),
     "5x5"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.Upsample(scale_factor=2),
                                                 nn.Conv2d(i, o, 5, padding=2), nn.ReLU()),
     "it holds Conv2d, ReLU, Upsample"),
    ("doubling_padding", lambda k: ((k - 1) / 2, 2 + 2 * ((k - 1) / 2) - k), "integers"),
    ("doubling_padding", lambda k: k // 2, "two integers"),
    ("doubling_padding", lambda k: (k // 2, k % 2), "odd and even"),
    ("doubling_padding", lambda k: ((k - 2) // 2, 2 + 2 * ((k - 2) // 2) - k), ">= 0"),
    # 04
    ("training_step", _step_with_l1, "the loss should be the MSE"),
    ("training_step", _step_returning_the_tensor, "loss.item()"),
    ("training_step", _step_twice, "two steps in one call"),
    ("validation_psnr", _validation_pooled_without_rounding, "pooled MSE, without rounding"),
    ("validation_psnr", _validation_pooled, "mean of the images' PSNRs"),
    ("validation_psnr", _validation_clamped, "quantize_8bit"),
    ("validation_psnr", lambda model, x: torch.tensor([30.0, 31.0]), "one number"),
    # 05
    ("predicted_ratio", lambda h, w, c, k: 48.0, "expected"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * round(h / 2**k) * round(w / 2**k)),
     "height 100 and width 75 the latent is 13 x 10"),  # round(12.5) is 12
    ("predicted_ratio", lambda h, w, c, k: 3 * 2**k * 2**k / c, "holds only when 2^k divides"),
    ("halving_effect", _halving_hard_coded, "compute the gain"),
    ("halving_effect", _halving_float_latents_8bit_pixels, "float latents"),
    ("halving_effect", _halving_upside_down, "upside down"),
    ("halving_effect", lambda big, small, x: {"ratio_gain": 2.0, "psnr_drop": 1.0}, "a pair"),
    ("receptive_field", lambda k, kernel: (kernel - 1) * 2**k, "gradient probe"),
    ("receptive_field", lambda k, kernel: 1 + (kernel - 1) * 2**k, "gradient probe"),
    ("receptive_field", lambda k, kernel: 2**k, "gradient probe"),
    # 06
    ("entropy_bits", lambda v: math.log2(len(torch.unique(v))), "expected"),
    ("entropy_bits", lambda v: float((lambda p: (p * torch.log2(p)).sum())(
        torch.unique(v, return_counts=True)[1].double() / len(v))), "negative"),
    ("entropy_bits", lambda v: float(-(torch.log2(torch.unique(v, return_counts=True)[1]
                                                  .double())).mean()), "expected"),
    ("measured_bpp", lambda data, h, w: 8 * len(data) / (h + w), "height"),
    ("measured_bpp", lambda data, h, w: len(data) * 8 / (h * w * 8), "a byte has 8 bits"),
    ("measured_bpp", lambda data, h, w: 8 * len(data), "bpp"),
    # 07
    ("rd_loss", lambda mse, rate, lmbda: lmbda * 255 * mse + rate, "255 is not squared"),
    ("rd_loss", lambda mse, rate, lmbda: lmbda * 255**2 * mse - rate, "do not subtract"),
    ("rd_loss", lambda mse, rate, lmbda: 255**2 * mse + rate, "lambda is missing"),
    ("pick_lambda", _pick_most_bits_that_fit, "most bits that fits"),
    ("pick_lambda", _pick_the_point, "not the whole point"),
    ("pick_lambda", _pick_strictly_below, "is <=, not <"),
    ("pick_lambda", _pick_last_that_fits, "expected lambda"),
    ("noise_quantize", _round_straight_through_with_jitter, "rounding error"),
    ("noise_quantize", _two_point_noise, "not the right shape"),
    ("noise_quantize", lambda y: y + torch.rand(1) - 0.5, "same noise"),
    ("noise_quantize", lambda y: torch.round(y) + torch.rand_like(y) - 0.5, "rounds y, then adds"),
    ("noise_quantize", _clamped_gaussian_noise, "standard deviation"),
    ("noise_quantize", _triangular_noise, "beyond 1/2"),
    # 08
    ("gaussian_pmf", lambda n, mean, scale: torch.distributions.Normal(mean, scale**2).cdf(
        n + 0.5) - torch.distributions.Normal(mean, scale**2).cdf(n - 0.5), "wide as scale^2"),
    ("table_index", lambda scale, ladder: min(range(len(ladder)),
                                              key=lambda i: abs(ladder[i] - scale)),
     "at least as wide"),
    ("table_index", lambda scale, ladder: __import__("bisect").bisect_right(ladder, scale),
     ">=, not >"),
    ("table_index", lambda scale, ladder: next((r for r in ladder if r >= scale), ladder[-1]),
     "as an int"),
    ("file_bits", lambda ly, lz: float(-torch.log2(ly).mean() - torch.log2(lz).mean()),
     "not .mean()"),
    # 09
    ("file_objective", lambda b, m, h, w, lm: lm * 255 * m + 8 * b / (h * w),
     "multiplied the MSE by 255"),
    ("round_up_probability", lambda f, tau: torch.sigmoid((f - 0.5) / tau),
     "logistic curve in frac"),
    ("temperature", lambda step, steps: refine.TAU_START * math.exp(-refine.TAU_DECAY * step
                                                                    / steps), "one too many"),
    ("temperature", lambda step, steps: refine.TAU_START, "expected"),
    # more of our own, for the checks with fewer than three above
    ("noise_psnr", lambda sigma: 10 * math.log10(sigma**2), "sign is wrong"),
    ("parameter_count", lambda c, k, n: 4 * _count(c, k, n), "bytes"),
    ("parameter_count", lambda c, k, n: _count(c, k, n) - 3, "there are"),  # no output bias
    ("parameter_count", lambda c, k, n: sum(
        a * b * 5 + b for a, b in zip([3] + [n] * (k - 1), [n] * (k - 1) + [c])) * 2, "there are"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).sum()) / (3 * h * w),
     "per colour value"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).sum())
     / (p.shape[-2] * p.shape[-1]), "the rate is"),
    ("rate_from_likelihoods", lambda p, h, w: float(p.sum()) / (h * w), "the rate is"),
    ("gaussian_pmf", lambda n, mean, scale: torch.distributions.Normal(mean, scale).cdf(n + 0.5),
     "CDF(n + 1/2) alone"),
    ("gaussian_pmf", lambda n, mean, scale: (lambda d: d / d.sum())(
        torch.distributions.Normal(mean, scale).cdf(n + 0.5)
        - torch.distributions.Normal(mean, scale).cdf(n - 0.5)), "normalised over the n given"),
    ("file_bits", lambda ly, lz: float(-torch.log2(lz).sum()), "z's bits alone"),
    ("file_bits", lambda ly, lz: float(-torch.log2(ly).sum() + torch.log2(lz).sum()),
     "came out negative"),
    ("file_objective", lambda b, m, h, w, lm: 255**2 * m + lm * 8 * b / (h * w),
     "weights the distortion"),
    ("file_objective", lambda b, m, h, w, lm: lm * 255**2 * m + 8 * b / (3 * h * w),
     "3 * height * width"),
    ("round_up_probability", lambda f, tau: 1 - f, "linear in frac"),
    ("round_up_probability", lambda f, tau: torch.softmax(torch.stack(
        [-torch.atanh(f) / tau, -torch.atanh(1 - f) / tau]), dim=1)[1], "add up to 1 across"),
    ("temperature", lambda step, steps: math.exp(-refine.TAU_DECAY * step / (steps - 1)),
     "starts at TAU_START"),
    ("latent_values", lambda h, w, c, k: math.ceil(h / 2**k) * math.ceil(w / 2**k),
     "one channel's positions"),
    # --- review 13b (second expert review of 01-03): misdirected or bare diagnoses, and
    # wrong answers that got through
    ("doubling_padding", lambda k: (k // 2, 2 + 2 * (k // 2) - k), "use less padding"),
    ("doubling_padding", lambda k: ((k - 2) // 2, 2 + 2 * ((k - 2) // 2) - k),
     "use more padding"),
    ("encoder_block", lambda i, o: nn.ModuleList([nn.Conv2d(i, o, 5, 2, 2), nn.ReLU()]),
     "it returns an nn.ModuleList"),
    ("decoder_block", lambda i, o: nn.ModuleList([nn.ConvTranspose2d(i, o, 5, 2, 2, 1),
                                                  nn.ReLU()]), "nn.Sequential(...) of the same"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2, bias=False),
                                                 nn.ReLU()), "no bias (bias=False)"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, 2, 1,
                                                                    bias=False), nn.ReLU()),
     "no bias (bias=False)"),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, padding=1), nn.ReLU()),
     "padding 1: too little"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, padding=1),
                                                 nn.ReLU()), "so h becomes 2h + 1"),
    ("decoder_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 5, 2, 3, 1),
                                                 nn.ReLU()), "so h becomes 2h - 2"),
    ("psnr_int", lambda a, b, bits: 28.653, "you give 28.6530 dB, the right value is 28.6532"),
    ("psnr_int", lambda a, b, bits: round(10 * math.log10(
        (2**bits - 1) ** 2 / float(((a / 1.0 - b) ** 2).mean())), 1), "rounded to 1 decimal"),
    ("psnr_int", lambda a, b, bits: _first_psnr_int(), "again for a different pair"),
    ("psnr_int", lambda a, b, bits: 20 * math.log10((2**bits - 1)
                                                    / float(((a / 1.0 - b) ** 2).mean())),
     "20 log10 goes with the root of the MSE"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        float(2 ** (bits - 1)) ** 2 / float(((a / 1.0 - b) ** 2).mean())), "2^(8 - 1) = 128"),
    ("to_batch", lambda p: (torch.from_numpy(p).permute(2, 0, 1)[None] // 255).float(),
     "integer division"),
    ("noise_prediction", lambda: {s: -10 * math.log10(3 * s**2) for s in (0.1, 0.01)},
     "summed over the 3 channels"),
    ("noise_prediction", lambda: {0.1: 40.0, 0.01: 80.0}, "-40 log10(sigma)"),
    ("latent_values", lambda h, w, c, k: c * round(h / 2**k) * round(w / 2**k),
     "round() goes to the nearest"),
    ("latent_values", lambda h, w, c, k: c * math.ceil(h * w / 4**k), "rounds up on its own"),
    ("latent_values", lambda h, w, c, k: 3 * c * math.ceil(h / 2**k) * math.ceil(w / 2**k),
     "3 colour channels"),
    ("latent_values", lambda h, w, c, k: c * math.ceil(h / 2) * math.ceil(w / 2),
     "That halves once"),
    ("transposed_size_prediction", lambda: {"A": 7, "B": 13, "C": 14, "D": 12, "E": 14},
     "it adds none"),  # padding added instead of cropped
    ("transposed_size_prediction", lambda: {"A": 7, "B": 11, "C": 12, "D": 12, "E": 14},
     "The padding counts too"),
    ("transposed_size_prediction", lambda: {"A": 7, "B": 9, "C": 10, "D": 12, "E": 11},
     "one side only"),
    ("transposed_size_prediction", lambda: {"A": 7, "B": 9, "C": 10, "D": 10, "E": 10},
     "Count the stamps: 4 stamps 3 pixels apart"),  # no rule: the stamps, not "the formula"
    ("transposed_size_prediction", lambda: {"A": 5, "B": 10, "C": 10, "D": 12, "E": 10},
     "adds a whole kernel, not one stride"),
    ("decoder_block", lambda i, o: _CroppingBlock(nn.ConvTranspose2d(i, o, 5, 2, 2, 1)),
     "Something besides the transposed convolution"),  # output_padding is there already
    ("encoder_block", lambda i, o: _CroppingBlock(nn.Conv2d(i, o, 5, 2, 2)),
     "Something besides the convolution"),
]


class _CroppingBlock(nn.Module):
    """The right layer and ReLU, then one row and one column cut off."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return F.relu(self.layer(x))[..., :-1, :-1]


def _first_psnr_int() -> float:
    """The right PSNR of the first case of check_psnr_int, hard-coded by a learner."""
    a, b, bits = exercises._psnr_int_cases()[0]
    return 10 * math.log10((2**bits - 1) ** 2 / float(((a / 1.0 - b) ** 2).mean()))


@pytest.mark.parametrize("name, wrong, explanation", ATTACK,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK)])
def test_the_attack_on_every_check_is_rejected_with_a_reason(name, wrong, explanation, capsys):
    assert_rejected(name, wrong, explanation, capsys)


def test_every_check_is_attacked_at_least_three_times():
    """Three new wrong answers per check in this attack, beside the older ones above."""
    tried = [name for name, _, _ in ATTACK + ATTACK_08_09 + ATTACK_R3B]
    assert {name: tried.count(name) for name in EXERCISES if tried.count(name) < 3} == {}


@pytest.mark.parametrize("name, block", [
    ("encoder_block", lambda i, o: nn.Sequential(nn.Identity(), nn.Conv2d(i, o, 5, 2, 2),
                                                 nn.ReLU(), nn.Identity())),
    ("encoder_block", lambda i, o: _FunctionalBlock(nn.Conv2d(i, o, 5, 2, 2))),
    ("decoder_block", lambda i, o: _FunctionalBlock(nn.ConvTranspose2d(i, o, 5, 2, 2, 1))),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ReLU(inplace=True))),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, 2, 2), nn.ReLU(), nn.ReLU())),
], ids=["identities around", "F.relu in forward", "F.relu in forward, transposed",
        "in-place relu", "relu twice"])
def test_a_block_written_differently_passes(name, block, capsys):
    """The exercises ask for ReLU; how the block is written is the learner's choice."""
    assert check_for(name)(block) is True, capsys.readouterr().out


class _FunctionalBlock(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return F.relu(self.layer(x))


def test_the_doubling_padding_check_does_not_give_the_formula_away(capsys):
    check_for("doubling_padding")(lambda k: (k // 2, 1))
    out = capsys.readouterr().out
    assert "2 + 2 * padding" not in out and "output_padding =" not in out, out


def test_a_correct_validation_that_puts_the_model_back_in_training_mode_passes(capsys):
    """As the notebook's own test_photo does: eval, measure, then train() again."""

    def validation_then_train(model, x):
        model.eval()
        with torch.no_grad():
            value = psnr(x, quantize_8bit(model(x)))
        model.train()
        return value

    assert check_for("validation_psnr")(validation_then_train) is True
    assert capsys.readouterr().out.startswith("Correct.")


@pytest.mark.parametrize("weird", [
    lambda *a: "a string", lambda *a: [1, 2, 3], lambda *a: torch.zeros(2, 2),
    lambda *a: nn.Identity(), lambda *a: float("nan"), lambda *a: object(), lambda *a: None,
    lambda *a: True,
], ids=["str", "list", "tensor", "module", "nan", "object", "None", "bool"])
@pytest.mark.parametrize("name", EXERCISES)
def test_no_check_raises_whatever_it_is_given(name, weird, capsys):
    """And says what it found, not only that the check could not use it."""
    assert check_for(name)(weird) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and out.count("\n") == 1, out
    assert "could not use" not in out, out


def test_an_error_inside_the_check_itself_becomes_a_verdict(monkeypatch, capsys):
    """The last net: whatever goes wrong in a check is reported, never raised."""
    monkeypatch.setattr(exercises, "num_latent_values", lambda *a: 1 / 0)
    assert check_for("latent_values")(solutions()["latent_values"]) is False
    out = capsys.readouterr().out
    assert out.startswith("Wrong: latent_values: the check could not use") and \
        "ZeroDivisionError" in out, out


def _validation_per_image_in_inference_mode(model, x):
    model.eval()
    values = []
    with torch.inference_mode():
        for image in x:
            x_hat = quantize_8bit(model(image[None]))[0]
            values.append(10 * math.log10(1 / ((x_hat - image) ** 2).mean().item()))
    return sum(values) / len(values)


def _halving_with_own_psnr(big, small, x):
    h, w = x.shape[-2:]
    own = lambda a, b: 10 * math.log10(1 / ((a - b) ** 2).mean().item())  # noqa: E731
    x_big = reconstruct_8bit(big, x[None])[0][0]
    x_small = reconstruct_8bit(small, x[None])[0][0]
    return big.latent_shape(h, w)[0] * 1.0 / small.latent_shape(h, w)[0] * \
        (math.prod(big.latent_shape(h, w)[1:]) / math.prod(small.latent_shape(h, w)[1:])), \
        own(x, x_big) - own(x, x_small)


def _pick_by_sorting(points, max_bpp):
    for p in sorted(points, key=lambda p: -p["psnr"]):
        if p["bpp"] <= max_bpp:
            return p["lmbda"]
    return None


CORRECT_ALTERNATIVES = [
    ("to_batch", lambda p: torch.tensor(np.transpose(p, (2, 0, 1)), dtype=torch.float32)
     .unsqueeze(0) / 255.0),
    ("my_psnr", lambda x, y: 20 * math.log10(1 / math.sqrt(F.mse_loss(y, x).item()))),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Conv2d(i, o, (5, 5), (2, 2), (2, 2)),
                                                 nn.ReLU(inplace=True))),
    ("encoder_block", lambda i, o: nn.Sequential(nn.Sequential(nn.Conv2d(i, o, 5, 2, 2)),
                                                 nn.ReLU())),  # review 13b: nested
    ("decoder_block", lambda i, o: nn.Sequential(nn.Sequential(
        nn.ConvTranspose2d(i, o, 5, 2, 2, 1)), nn.ReLU())),
    ("doubling_padding", lambda k: (k // 2 - 1 + k % 2, k % 2)),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(1 / float(
        ((a / (2**bits - 1) - b / (2**bits - 1)) ** 2).mean()))),  # scaled to [0, 1], peak 1
    ("psnr_int", lambda a, b, bits: float(20 * np.log10((2**bits - 1) / np.sqrt(np.mean(
        (a.astype(np.int64) - b.astype(np.int64)) ** 2))))),
    ("validation_psnr", _validation_per_image_in_inference_mode),
    ("halving_effect", _halving_with_own_psnr),
    ("pick_lambda", _pick_by_sorting),
    ("noise_quantize", lambda y: y + torch.empty_like(y).uniform_(-0.5, 0.5)),
    ("noise_quantize", lambda y: y + (torch.rand(y.shape, dtype=torch.float64) - 0.5).float()),
    ("table_index", lambda scale, ladder: min(__import__("bisect").bisect_left(ladder, scale),
                                              len(ladder) - 1)),
]


@pytest.mark.parametrize("name, answer", CORRECT_ALTERNATIVES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CORRECT_ALTERNATIVES)])
def test_a_correct_answer_written_differently_passes(name, answer, capsys):
    assert check_for(name)(answer) is True, capsys.readouterr().out


# --- notebooks 08-09, third edition (issue 23): the predictions, and the second
# edition's checks of 08-09 that stay in the package; more wrong answers, each diagnosed --

REFINED = (14_901, 14_617, 29.97, 30.94)  # bytes and PSNR before and after, notebook 09's coffee


def _rung_float32(scale, ratio, mask=True):
    """cheaper_rung in float32 with gaussian_pmf's formula: far-tail probabilities round to 0,
    and without `mask` 0 * log2(0) makes the averages nan (then every answer is "wider")."""
    n = torch.arange(-60, 61, dtype=torch.float32)

    def mass(s):
        normal = torch.distributions.Normal(0.0, s)
        return normal.cdf(n + 0.5) - normal.cdf(n - 0.5)

    own = mass(scale)
    keep = own > 0 if mask else torch.ones_like(own, dtype=torch.bool)

    def bits(t):
        return float(-(own[keep] * torch.log2(mass(t)[keep])).sum())

    return "narrower" if bits(scale / ratio) < bits(scale * ratio) else "wider"


def _rung_floored(scale, ratio, floor):
    """cheaper_rung computed right but with floored tables: gaussian_likelihood's (1e-9,
    float32) or a CompressAI-style clamp at `floor` (review r4-D's correct computations)."""
    n = torch.arange(-50, 51, dtype=torch.float32)

    def mass(s):
        if floor == "gaussian_likelihood":
            return gaussian_likelihood(n, torch.full_like(n, s))
        normal = torch.distributions.Normal(0.0, s)
        return (normal.cdf(n + 0.5) - normal.cdf(n - 0.5)).clamp_min(floor)

    own = mass(scale)

    def bits(t):
        return float(-(own * torch.log2(mass(t))).sum())

    return "narrower" if bits(scale / ratio) < bits(scale * ratio) else "wider"


def _rung_by_table_entropy(scale, ratio):
    """The mistake of weighing each integer by the table's own probabilities."""
    n = torch.arange(-200, 201, dtype=torch.float64)

    def entropy(s):
        normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), s)
        p = (normal.cdf(n + 0.5) - normal.cdf(n - 0.5)).clamp_min(1e-300)
        return float(-(p * torch.log2(p)).sum())

    return "narrower" if entropy(scale / ratio) < entropy(scale * ratio) else "wider"


def _pmf(mean_sign=1.0, width=1.0, low=-0.5, high=0.5):
    """gaussian_pmf with one mistake: the mean's sign, the scale's power or the bin's edges."""
    def pmf(n, mean, scale):
        normal = torch.distributions.Normal(mean_sign * mean, scale**width)
        return normal.cdf(n + high) - normal.cdf(n + low)
    return pmf


ATTACK_08_09 = [
    # gaussian_pmf (transcription): the mistakes the review listed, each named
    ("gaussian_pmf", _pmf(mean_sign=-1.0), "the mean has the wrong sign"),
    ("gaussian_pmf", _pmf(width=0.5), "do not take its square root"),
    ("gaussian_pmf", _pmf(low=0.0, high=1.0), "the mass over [n, n + 1]"),
    ("gaussian_pmf", _pmf(low=-1.0, high=0.0), "the mass over [n - 1, n]"),
    ("gaussian_pmf", lambda n, mean, scale: 1.01 * _pmf()(n, mean, scale),
     "the largest error is at n = 0"),
    ("gaussian_pmf", lambda n, mean, scale: 0.5 * (torch.erf((n + 0.5 - mean) / scale)
                                                  - torch.erf((n - 0.5 - mean) / scale)),
     "sqrt(2) times too narrow"),  # erf without its sqrt(2)
    ("gaussian_pmf", lambda n, mean, scale: torch.distributions.Normal(mean, scale).cdf(n - 0.5)
     - torch.distributions.Normal(mean, scale).cdf(n + 0.5), "the wrong way round"),
    ("gaussian_pmf", lambda n, mean, scale: _pmf()(n, mean, scale) - 0.001,
     "some of your probabilities are negative"),
    # cheaper_rung (mechanism): the shortcuts, each named
    ("cheaper_rung", lambda scale, ratio: "wider", "you answered 'wider' for every case"),
    ("cheaper_rung", lambda scale, ratio: "narrower", "you answered 'narrower' for every case"),
    ("cheaper_rung", lambda scale, ratio: "narrower" if scale < 1 else "wider",
     "For scale 0.5 and ratio 1.2"),
    # review r3-D: a threshold on the scale read off ratio 1.2 (the notebook's printed turn);
    # near 0.25 it gives the answers of a probability floor, and the message names both
    ("cheaper_rung", lambda scale, ratio: "narrower" if scale < 0.215 else "wider",
     "a threshold read off ratio 1.2"),
    ("cheaper_rung", lambda scale, ratio: "narrower" if scale < 0.25 else "wider",
     "A threshold on the scale alone, read off ratio 1.2, gives your answers"),
    ("cheaper_rung", lambda scale, ratio: "narrower" if scale < 0.3 else "wider",
     "tables with a large probability floor"),
    # review r4-D: a rule fitted to the cases, and correct computations with a floor
    ("cheaper_rung", lambda scale, ratio: "narrower" if scale < 0.25 and ratio < 2 else "wider",
     "The turn moves with the ratio"),  # review r6-D's cases: its answers turn at one scale
    # (review r6-D: a tiny floor, gaussian_likelihood's 1e-9 or 1e-12, now passes; the
    # coder's 2^-16 is still named)
    ("cheaper_rung", lambda scale, ratio: _rung_floored(scale, ratio, 2.0**-16),
     "This exercise's tables are ideal, with no floor"),
    ("cheaper_rung", lambda scale, ratio: _rung_float32(scale, ratio, mask=False),
     "0 * log2(0) is nan"),
    ("cheaper_rung", _rung_by_table_entropy, "weighed by how often the value's own Gaussian"),
    ("cheaper_rung", lambda scale, ratio: scale / ratio, "as one of the strings"),
    ("cheaper_rung", lambda scale, ratio: "the wider one", "return one of"),
    # side_share (prediction: z's share on astronaut, a fraction)
    ("side_share", lambda: "lower", "return the share itself"),
    ("side_share", lambda: 0.3, "a small part of a file"),
    ("side_share", lambda: 0.005, "the side information is not free"),
    ("side_share", lambda: 0.1, "higher than measured"),
    ("side_share", lambda: 3.7, "a percentage"),
    ("side_share", lambda: None, "should return a number"),
    # review r3-D: coffee's own share (quoted in the prompt), and near misses either side
    # (review r6-D widened the window to 0.012: coffee's 0.048 and 0.03 now pass)
    ("side_share", lambda: 0.059, "that is z's share of the values"),
    ("side_share", lambda: 0.05, "higher than measured"),
    ("side_share", lambda: 0.02, "lower than measured"),
    # up_share (prediction at tau = 0.2)
    ("up_share", lambda: 0.5, "soft does not mean 50/50"),
    ("up_share", lambda: 25, "a percentage"),
    ("up_share", lambda: 0.0, "still soft"),
    ("up_share", lambda: 0.3, "plain stochastic rounding"),  # P(up) = f, no temperature
    ("up_share", lambda: 0.25, "P(up) at tau = 0.5"),  # the warmest temperature's answer
    ("up_share", lambda: 0.94, "the share that goes down"),  # up and down swapped
    ("up_share", lambda: 0.75, "the farther integer"),
    ("up_share", lambda: -0.2, "between 0 and 1"),
    # review r3-D: almost rounding, and a share falling in proportion to tau
    ("up_share", lambda: 0.02, "still soft"),
    ("up_share", lambda: 0.09, "in proportion to the temperature"),
    ("up_share", lambda: 0.1, "in proportion to the temperature"),
    # refinement_gain (prediction)
    ("refinement_gain", lambda: "a smaller file", "which is 'a better picture'"),
    ("refinement_gain", lambda: "both", "bytes -1.9%, PSNR +0.97 dB"),
    ("refinement_gain", lambda: "neither", "you predicted 'neither'"),
    # review r3-D: each wrong outcome names the belief behind it
    ("refinement_gain", lambda: "both", "lower both terms of the loss"),
    ("refinement_gain", lambda: "a smaller file", "as if the rate were the term that gives way"),
    ("refinement_gain", lambda: "neither", "one network for all images (amortized)"),
    ("refinement_gain", lambda: "Smaller file", "you predicted 'a smaller file'"),
    ("refinement_gain", lambda: "quality", "return one of"),
    # the second edition's checks, still in the package
    ("table_index", lambda scale, ladder: next((i for i, r in enumerate(ladder) if r > scale),
                                               len(ladder) - 1), ">=, not >"),
    ("table_index", lambda scale, ladder: next((i + 1 for i, r in enumerate(ladder)
                                                if r >= scale), len(ladder)), "counts from 0"),
    ("table_index", lambda scale, ladder: min(range(len(ladder)), key=lambda i: abs(
        math.log(ladder[i] / scale))), "CompressAI's convention"),
    ("table_index", lambda scale, ladder: 2, "the first rung at least as wide is"),
    ("file_bits", lambda ly, lz: float(-torch.log10(ly).sum() - torch.log10(lz).sum()),
     "log base 10"),
    ("file_bits", lambda ly, lz: float(torch.log2(ly).sum() + torch.log2(lz).sum()),
     "the bits are negative"),
    ("file_bits", lambda ly, lz: 2 * float(-torch.log2(ly).sum() - torch.log2(lz).sum()),
     "neither stream's bits"),
    ("file_objective", lambda b, m, h, w, lm: lm * 255**2 * m + 8 * b // (h * w),
     "integer division"),
    ("file_objective", lambda b, m, h, w, lm: lm * 256**2 * m + 8 * b / (h * w), "you used 256^2"),
    ("file_objective", lambda b, m, h, w, lm: lm * (255 * m)**2 + 8 * b / (h * w),
     "you squared the MSE"),
    ("file_objective", lambda b, m, h, w, lm: lm * 255**2 * m, "the rate term is missing"),
    ("file_objective", lambda b, m, h, w, lm: lm * 255**2 * m + 8 * b / (h * w) + 0.01,
     "Compute the two terms apart"),
    ("round_up_probability", lambda f, tau: torch.sigmoid(
        (torch.atanh(f) - torch.atanh(1 - f)) * tau), "multiplied the logits by tau"),
    ("round_up_probability", lambda f, tau: torch.sigmoid(
        (torch.atanh(f) - torch.atanh(1 - f)) / tau**2), "exactly 0.5 for every tau"),
    ("temperature", lambda step, steps: refine.TAU_START * math.exp(
        -refine.TAU_DECAY * step / (steps - 1)), "max(steps - 1, 1)"),  # the old solution
    ("temperature", lambda step, steps: refine.TAU_START * math.exp(
        refine.TAU_DECAY * step / max(steps - 1, 1)), "grows"),
    ("temperature", lambda step, steps: 0.5 * 0.98**step, "expected tau"),
]


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_08_09,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_08_09)])
def test_the_attack_on_the_checks_of_08_09(name, wrong, explanation, capsys):
    assert_rejected(name, wrong, explanation, capsys)


@pytest.mark.parametrize("name", ["gaussian_pmf", "cheaper_rung", "side_share", "file_objective",
                                  "up_share", "refinement_gain", "table_index", "file_bits",
                                  "round_up_probability", "temperature"])
def test_each_check_of_08_09_meets_at_least_three_wrong_answers(name):
    tried = [n for n, _, _ in ATTACK + ATTACK_08_09 + WRONG_ANSWERS]
    assert tried.count(name) >= 3


def test_no_rejection_of_08_09_is_a_bare_expected_got(capsys):
    """Every wrong answer above gets a sentence beyond "expected X, got Y"."""
    for name, wrong, _ in ATTACK_08_09:
        check_for(name)(wrong)
        out = capsys.readouterr().out
        assert not ("expected" in out and re.search(r"\bgot [^ ]+\.?$", out.strip())), out


@pytest.mark.parametrize("name, answer", [
    ("side_share", lambda: torch.tensor(0.038)),  # within 0.012 of astronaut's 3.7%
    ("up_share", lambda: 0.06),
    ("up_share", lambda: torch.tensor(0.061)),  # review r10-D: within 0.004 of the exact 0.058
    ("refinement_gain", lambda: "better picture"),
    ("cheaper_rung", _rung_float32),  # float32, the integers that never occur left out
    ("temperature", lambda step, steps: refine.TAU_START * math.exp(
        -refine.TAU_DECAY * step / max(steps - 1, 1))),
], ids=["side_share", "up_share", "up_share-tensor", "refinement_gain", "cheaper_rung",
        "temperature"])
def test_a_right_prediction_written_differently_passes(name, answer, capsys):
    assert check_for(name)(answer) is True, capsys.readouterr().out


def test_the_refinement_prediction_follows_the_measurement(capsys):
    """The same answer is right or wrong depending on what the files measured."""
    smaller = (10_000, 9_000, 30.0, 30.05)
    assert exercises.check_refinement_gain(lambda: "a smaller file", *smaller, grade=True)
    assert not exercises.check_refinement_gain(lambda: "a better picture", *smaller, grade=True)
    out = capsys.readouterr().out
    assert "which is 'a smaller file'" in out and "changed since" in out, out


def test_which_rung_is_cheaper_turns_with_the_scale():
    """What the second review measured: at the same distance on a log scale the too-narrow
    table costs more from a scale of about 0.25 up, the too-wide one below; between rungs at
    different distances (0.25 and 0.5 around 0.3) the much nearer one wins; and no table beats
    a value's own (Gibbs' inequality). The check's cases are on both sides of the turn."""
    assert exercises.cheaper_side(0.3, 1.2) == "wider"
    assert exercises.cheaper_side(0.2, 1.2) == "narrower"
    assert {exercises.cheaper_side(*case) for case in exercises.CHEAPER_RUNG_CASES} == {
        "narrower", "wider"}
    assert exercises.table_cost(0.3, 0.25) < exercises.table_cost(0.3, 0.5)
    for scale in (0.2, 1.0, 7.0):
        own = exercises.table_cost(scale, scale)
        assert all(own <= exercises.table_cost(scale, other) + 1e-9
                   for other in (scale / 1.5, scale * 1.131, scale * 2))


def test_table_cost_is_exact_far_into_a_narrow_tables_tail():
    """The ideal tables have no floor: the table of 0.04 gives the value 1 about 4e-36, which
    1 - 1 in float64 would make 0 (review r4-D); table_cost agrees with a log-space sum."""
    n = torch.arange(-400, 401, dtype=torch.float64)
    for scale, table_scale in ((0.2, 0.04), (0.16, 0.032), (0.21, 0.21 / 2.2), (2.0, 3.0)):
        v = n.abs()
        upper = torch.special.log_ndtr((0.5 - v) / table_scale)
        lower = torch.special.log_ndtr((-0.5 - v) / table_scale)
        log_table = upper + torch.log1p(-torch.exp(lower - upper))   # ln P_table(n), no floor
        normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), scale)
        true = normal.cdf(n + 0.5) - normal.cdf(n - 0.5)
        keep = true > 0
        exact = float(-(true[keep] * log_table[keep]).sum() / math.log(2))
        assert math.isclose(exercises.table_cost(scale, table_scale), exact, rel_tol=1e-9)


def test_only_the_separating_cases_turn_under_a_large_floor_or_the_coders_tables():
    """With a large probability floor (1e-6, 2^-16) or the coder's real integer tables (every
    count at least 1 of 2^16, an escape beyond), every case keeps its answer but the two at
    ratios 2.5 and 2.7, where the ideal tables' 23 and 28 bits for the value 1 are capped: the
    exercise says its tables are ideal, and the check names the floor. A tiny floor (1e-9,
    1e-12) turns none (review r6-D: the old case (0.2, 5.0) hung on a probability of 4e-36)."""
    from aecodec.entropy import _to_counts

    def coder_table_cost(scale, table_scale):  # the kit's tables, as GaussianConditional builds
        reach = int(math.ceil(table_scale * 4.5)) + 1
        m = torch.arange(-reach, reach + 1, dtype=torch.float64)
        pmf = exercises._gaussian_bin_mass(m, 0.0, table_scale)
        counts = _to_counts(torch.cat([pmf, (1 - pmf.sum()).clamp_min(0).view(1)])).double()
        n = torch.arange(-400, 401, dtype=torch.float64)
        bits = torch.full_like(n, -math.log2(counts[-1] / 2**16) + 32)   # the escape, then 32
        inside = n.abs() <= reach
        bits[inside] = -torch.log2(counts[:-1] / 2**16)
        return float((exercises._gaussian_bin_mass(n, 0.0, scale) * bits).sum())

    ideal = [exercises.cheaper_side(*case) for case in exercises.CHEAPER_RUNG_CASES]
    turned = [k for k, case in enumerate(exercises.CHEAPER_RUNG_CASES) if case[1] >= 2.5]
    assert [ideal[k] for k in turned] == ["wider", "wider"]
    assert all(case[0] < 0.25 for case in (exercises.CHEAPER_RUNG_CASES[k] for k in turned))
    for floor in (1e-9, 1e-12):
        assert [exercises.cheaper_side(s, r, floor=floor)
                for s, r in exercises.CHEAPER_RUNG_CASES] == ideal, floor
    for floor in exercises.CHEAPER_RUNG_FLOORS:
        floored = [exercises.cheaper_side(s, r, floor=floor)
                   for s, r in exercises.CHEAPER_RUNG_CASES]
        assert [k for k in range(len(ideal)) if floored[k] != ideal[k]] == turned, floor
    coder = ["narrower" if coder_table_cost(s, s / r) < coder_table_cost(s, s * r) else "wider"
             for s, r in exercises.CHEAPER_RUNG_CASES]
    assert [k for k in range(len(ideal)) if coder[k] != ideal[k]] == turned


def test_table_cost_refuses_scales_its_sum_would_truncate():
    """Its sum over -400..400 misses mass above a scale of about 100: a clear error there
    (review r3-D found cheaper_side(200, 1.2) silently wrong)."""
    assert exercises.cheaper_side(100.0, 1.2) == "wider"
    with pytest.raises(ValueError, match="integers -400 to 400"):
        exercises.cheaper_side(200.0, 1.2)
    with pytest.raises(ValueError, match="scale"):
        exercises.table_cost(0.0, 1.0)


def test_the_soft_rounding_share_is_the_probability_of_going_up():
    """For two choices, a Gumbel-softmax sample leans up exactly when its hard choice is
    up, so the share above 2.5 estimates P(up)."""
    exact = float(refine.round_up_probability(torch.tensor([0.3]), 0.5))
    assert abs(exercises.measured_up_share(samples=20_000) - exact) < 0.015
    cold = float(refine.round_up_probability(torch.tensor([0.3]), exercises.UP_SHARE_TAU))
    assert abs(exercises.measured_up_share(tau=exercises.UP_SHARE_TAU) - cold) < 0.01
    assert abs(0.3 - cold) > 2 * exercises.UP_SHARE_TOLERANCE  # plain stochastic rounding fails


def test_the_grid_measurement_counts_the_stamps_and_measures_shares_per_seed():
    """What notebook 03's grid prediction is compared with: the same stamp counts as here,
    and one period-2 share (a fraction) per seed for the untrained kernel-3 and kernel-4
    decoders; an image with no period-2 content gives decoders that still print one."""
    x = torch.rand(1, 3, 192, 192, generator=torch.Generator().manual_seed(0))
    measured = exercises.grid_measurement(x, seeds=2)
    assert measured["stamps"] == _grid_measured()["stamps"]
    assert {k: len(v) for k, v in measured["share"].items()} == {3: 2, 4: 2}
    assert all(0 <= v <= 1 for v in measured["share"][3] + measured["share"][4])
    flat = torch.full((1, 3, 192, 192), 0.5)
    assert min(exercises.grid_measurement(flat, seeds=2)["share"][3]) > exercises.GRID_SHARE


# --- notebooks 04-06, third edition (issue 23): the readers' wrong answers and our own -----


def _step_with_a_new_optimizer(model, x, optimizer):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # forgets Adam's averages
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_with_a_summed_loss(model, x, optimizer):
    loss = F.mse_loss(model(x), x, reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _validation_rounding_x_too(model, x):
    model.eval()
    with torch.no_grad():
        return psnr(quantize_8bit(x), quantize_8bit(model(x)))


def _halving_with_shape_first_two(big, small, x):
    height, width = x.shape[:2]  # (3, H): channels and height
    _, drop = _halving_effect_reference(big, small, x)
    return small.compression_ratio(height, width) / big.compression_ratio(height, width), drop


def _entropy_by_bincount(values):
    counts = torch.bincount(values - values.min()).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * torch.log2(p)).sum())


def _entropy_by_histc(values):
    """Counting with 256 bins of torch.histc: right while the values span under 256 levels."""
    counts = torch.histc(values.double(), bins=256, min=float(values.min()),
                         max=float(values.max()))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * torch.log2(p)).sum())


ATTACK_04_06 = [
    # the readers' (issue 23, second review)
    ("training_step", _step_with_a_new_optimizer, "new torch.optim.Adam"),
    ("training_step", _step_with_a_summed_loss, "reduction='sum'"),
    ("validation_psnr", _validation_rounding_x_too, "rounded x to 8-bit values as well"),
    ("receptive_field", lambda k, kernel: 1 + (kernel - 1) * (2**k - 1) + 0.4, "whole number"),
    ("halving_effect", _halving_with_shape_first_two, "x.shape[-2:]"),
    ("entropy_bits", _entropy_by_bincount, "torch.unique"),
    ("entropy_bits", _entropy_by_histc, "600 and 601 share a bin"),
    ("measured_bpp", lambda data, h, w: 8 * len(data) // (h * w), "integer division"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).sum()) / (h * w),
     "N * height * width"),
    # the new prediction checks: three or more plausible wrong predictions each
    ("loss_curve_prediction", lambda: ("a", "b"), "adds each gradient to the stored ones"),
    ("loss_curve_prediction", lambda: ("d", "b"), "Adam's steps stay about lr wide: no nan"),
    # (b) without zero_grad and (a) with a 10x rate are partly right (two seeds show each,
    # most show another; reviews r9-B, r10-B), so these pair one with a letter no two seeds
    # show: the verdict is "Wrong"
    ("loss_curve_prediction", lambda: ("a", "a"), "a push that goes on after the loss"),
    ("loss_curve_prediction", lambda: ("b", "c"), "passes no gradient back"),
    ("loss_curve_prediction", lambda: ("c", "c"), "the average colour"),
    ("loss_curve_prediction", lambda: ("c", "d"), "no nan"),
    ("loss_curve_prediction", lambda: ("c", "slower"), "one of the letters"),
    ("loss_curve_prediction", lambda: "cb", "a pair of letters"),
    ("receptive_field", lambda k, kernel: kernel * 2**k, "steps span 2^(k-1) pixels"),
    ("receptive_field", lambda k, kernel: (kernel - 1) * 2**k + 1, "steps span 2^(k-1)"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * math.ceil(h / (2 * k))
                                                        * math.ceil(w / (2 * k))), "2 * k"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * math.ceil(h / (2 ^ k))
                                                        * math.ceil(w / (2 ^ k))), "XOR"),
    ("halving_prediction", lambda: 2.0, "the next 8 add less"),
    ("halving_prediction", lambda: 0.0, "half the numbers per 8x8 block"),
    ("halving_prediction", lambda: 3.0, "the error doubles"),
    ("halving_prediction", lambda: 6.0, "one bit per value"),
    ("halving_prediction", lambda: -1.2, "negative drop"),
    ("lzma_prediction", lambda: 60_000, "find nothing"),
    ("lzma_prediction", lambda: 30_000, "repeats whole strings"),
    ("lzma_prediction", lambda: 7_500, "repeats whole strings"),
    ("lzma_prediction", lambda: 56_000, "without the one before (lc=0)"),
    ("lzma_prediction", lambda: 40_000, "less predictable"),  # inside the old 15%
    ("lzma_prediction", lambda: 52_500, "top 3 bits of the byte before"),  # no context
    ("lzma_prediction", lambda: 54_000, "top 3 bits of the byte before"),
    ("file_size_prediction", lambda: 20_527, "cannot beat -sum log2 P"),
    ("file_size_prediction", lambda: 24_300, "At or below the estimate"),  # the bare estimate
    ("file_size_prediction", lambda: 24_150, "cannot beat -sum log2 P"),  # beats the estimate
    ("file_size_prediction", lambda: 24_556, "the file does not carry them"),  # tables inside
    ("file_size_prediction", lambda: 24_305, "a header the decoder must read first"),
    ("file_size_prediction", lambda: 240_000, "one byte per latent value"),
    ("file_size_prediction", lambda: 30_000, "one bit per latent value"),  # review r10-C
    ("file_size_prediction", lambda: 24_300 * 8, "bits, not bytes"),  # the estimate in bits
    # review r4-C: unit mistakes got a reason that did not fit; a guess that counted a small
    # header was told it counted none
    ("entropy_bits", lambda v: float((lambda p: -(p * torch.log2(p)).mean())(
        torch.unique(v, return_counts=True)[1].double() / v.numel())), "the mean of -p log2 p"),
    ("lzma_prediction", lambda: 46_936 * 8, "in bits"),
    ("lzma_prediction", lambda: 0.78, "a fraction of the input"),
    ("lzma_prediction", lambda: 78, "a percentage of the input"),
    ("file_size_prediction", lambda: 0.812, "bits per pixel"),
    ("file_size_prediction", lambda: 24_347 * 8, "bits, not bytes"),
    ("file_size_prediction", lambda: 24_305, "together come to a few dozen bytes"),
]


# counted by test_every_check_is_attacked_at_least_three_times (rebound, not extended: the
# parametrised test above keeps its own cases)
ATTACK = ATTACK + ATTACK_04_06


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_04_06,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_04_06)])
def test_the_attack_on_the_checks_of_04_to_06_is_rejected_with_a_reason(name, wrong,
                                                                         explanation, capsys):
    assert_rejected(name, wrong, explanation, capsys)


@pytest.mark.parametrize("name", PREDICTIONS_04_06)
def test_a_prediction_is_attacked_at_least_three_times(name):
    assert sum(tried == name for tried, _, _ in ATTACK_04_06) >= 3


@pytest.mark.parametrize("name, answer", [
    ("rate_from_likelihoods",  # CompressAI's convention: bits / (N * H * W)
     lambda p, h, w: float(-torch.log2(p).sum()) / (p.shape[0] * h * w)),
    ("halving_effect", _halving_effect_reference),
    ("loss_curve_prediction", lambda: ["C ", "b"]),  # a list, a capital and a space: fine
    # within 8%, and nearer the measurement (46,936) than lzma without context (51,468)
    ("lzma_prediction", lambda: torch.tensor(48_500)),
    ("file_size_prediction", lambda: 24_360),  # the estimate + tens of bytes
    ("halving_prediction", lambda: np.float64(1.0)),  # within 0.3 dB (review r6-B)
], ids=["compressai-rate", "halving-reference", "letters-list", "lzma-tensor",
        "file-near", "halving-numpy"])
def test_a_right_answer_to_04_to_06_passes(name, answer, capsys):
    assert check_for(name)(answer) is True, capsys.readouterr().out


def test_a_prediction_check_says_the_measurement_and_why(capsys):
    check_for("lzma_prediction")(lambda: 48_000)
    out = capsys.readouterr().out
    assert out.startswith("Correct. You predicted 48,000 bytes; lzma makes ") and "context" in out
    assert out.count("\n") == 1


def test_the_parameter_count_check_gives_no_count_away(capsys):
    """Its failure names the direction, not the number (05 prints the parameters of its
    models, 04 those of the model it trains: no check case is one of them)."""
    check_for("parameter_count")(lambda c, k, n: 1000)
    out = capsys.readouterr().out
    expected = sum(p.numel() for p in Autoencoder(12, 3, 40).parameters())
    assert out.startswith("Wrong: ") and f"{expected:,}" not in out and "more" in out, out
    for shown in [(c, 3, 64) for c in (2, 4, 8, 16, 32)] + [(16, 3, 32)]:
        count = sum(p.numel() for p in Autoencoder(*shown).parameters())
        assert f"{count:,}" not in out


def test_the_halving_check_still_works_through_its_spies(capsys):
    """The spies that catch x.shape[:2] let a model through to reconstruct_8bit unchanged."""
    assert check_for("halving_effect")(_halving_effect_reference) is True


# --- notebook 07, fourth edition (review rev5): the attack, and right answers --------------


def _pick_lambda_reference(points, max_bpp):
    """The retired exercise's solution, as notebook 07 gives it."""
    fitting = [p for p in points if p["bpp"] <= max_bpp]
    return max(fitting, key=lambda p: p["psnr"])["lmbda"] if fitting else None


def _straight_through(y):
    return y + (torch.round(y) - y).detach()


def _fit(points, max_bpp):
    return [p for p in points if p["bpp"] <= max_bpp]


def _four_point_noise(y):
    """Noise of +-1/8 and +-3/8 only: the right mean, nearly the right spread, half of it
    within +-1/4, yet not spread evenly (review rev10)."""
    return y + (torch.randint(0, 4, y.shape) / 4 - 0.375)


def _even_quartiles_noise(y):
    """Continuous noise in [-1/2, 1/2] with mean 0, spread 1/sqrt(12) and half of it within
    +-1/4, as a uniform one, but piled up near 0 and towards +-1/2."""
    inner = 0.25 * torch.rand_like(y) ** 2
    outer = 0.25 + 0.25 * torch.rand_like(y) ** 0.83
    size = torch.where(torch.rand_like(y) < 0.5, inner, outer)
    return y + torch.where(torch.rand_like(y) < 0.5, size, -size)


ATTACK_07 = [
    # rd_loss: every usual mistake gets its diagnosis, not only "should be X, got Y"
    ("rd_loss", lambda m, b, lm: lm * 255 * m + b, "255 is not squared"),
    ("rd_loss", lambda m, b, lm: 255**2 * m + lm * b, "not the rate"),
    ("rd_loss", lambda m, b, lm: 255**2 * m + b / lm, "dividing the rate"),
    ("rd_loss", lambda m, b, lm: lm * (255 * m) ** 2 + b, "do not square 255 times the MSE"),
    ("rd_loss", lambda m, b, lm: lm * 255**2 * m + 8 * b, "without multiplying by 8"),
    ("rd_loss", lambda m, b, lm: lm * m + b, "scale it by 255^2"),
    ("rd_loss", lambda m, b, lm: 3.0, "should be 1.15025, got 3"),
    # review rev10: these four got only "should be X, got Y"
    ("rd_loss", lambda m, b, lm: lm * 256**2 * m + b, "not 256"),
    ("rd_loss", lambda m, b, lm: lm * 255**2 * b + m, "mse and bpp are swapped"),
    ("rd_loss", lambda m, b, lm: lm * 255**2 * math.sqrt(m) + b, "(the RMSE)"),
    ("rd_loss", lambda m, b, lm: lm * 255**2 * m + (1 - lm) * b, "not weighted by (1 - lambda)"),
    # review r4-C: these three got only "should be X, got Y"
    ("rd_loss", lambda m, b, lm: lm * m / 255**2 + b, "it does not divide it"),
    ("rd_loss", lambda m, b, lm: (lm * 255) ** 2 * m + b, "lambda is squared along with 255"),
    ("rd_loss", lambda m, b, lm: 0.01 * 255**2 * m + b, "the loss with lambda = 0.01"),
    # noise_quantize on (N, C, h, w) latents: shared draws, straight-through, the wrong width
    ("noise_quantize", lambda y: y + (torch.rand(y.shape[0]) - 0.5), "varies only along w"),
    ("noise_quantize", lambda y: y + (torch.rand(y.shape[-1]) - 0.5), "varies only along w"),
    ("noise_quantize", _straight_through, "straight-through gradient"),
    ("noise_quantize", lambda y: y + 0.5 * (torch.rand_like(y) - 0.5), "spans only 0.50"),
    ("noise_quantize", lambda y: (y + torch.rand_like(y) - 0.5).half(), "keep y's dtype"),
    ("noise_quantize", lambda y: y + torch.randn_like(y) / 12**0.5, "beyond 1/2"),
    ("noise_quantize", lambda y: y.detach() + (torch.rand_like(y) - 0.5), "gradient"),
    ("noise_quantize", lambda y: y + 2 * (torch.rand_like(y) - 0.5), "beyond 1/2"),
    # review rev10: rounding after the noise was told "beyond 1/2"; a noise of four values
    # was told that half of it lies within +-1/4, where half should
    ("noise_quantize", lambda y: torch.round(y + torch.rand_like(y) - 0.5),
     "every output is an integer"),
    ("noise_quantize", _four_point_noise, "it takes only 4 values"),
    ("noise_quantize", _even_quartiles_noise, "not the right shape"),
    # overcount_prediction: below, about equal, far too much, a fraction for a percentage
    ("rate_gap_prediction", lambda: -20, "cost more, not less"),
    ("rate_gap_prediction", lambda: 0, "much more than a little"),
    ("rate_gap_prediction", lambda: 3, "much more than a little"),
    ("rate_gap_prediction", lambda: 100, "stays well below that"),
    ("rate_gap_prediction", lambda: 0.27, "looks like a fraction"),
    ("rate_gap_prediction", lambda: "above", "should return a number"),
    # review rev10: a ratio, or a percentage of the file, is recognised as such; a small
    # negative answer is told its sign is wrong
    ("rate_gap_prediction", lambda: 1.27, "the ratio estimate / file"),
    ("rate_gap_prediction", lambda: 127.0, "a percentage of the file"),
    ("rate_gap_prediction", lambda: -0.5, "Negative means below the file"),
    # pick_lambda (retired, still checked): the readers' wrong answers
    ("pick_lambda", lambda pts, m: max(_fit(pts, m), key=lambda p: p["bpp"],
                                       default={"lmbda": None})["lmbda"], "most bits"),
    ("pick_lambda", lambda pts, m: max([p for p in pts if p["bpp"] < m], key=lambda p: p["psnr"],
                                       default={"lmbda": None})["lmbda"], "is <=, not <"),
    ("pick_lambda", lambda pts, m: max(_fit(pts, m), key=lambda p: p["psnr"], default=None),
     "not the whole point"),
    ("pick_lambda", lambda pts, m: max(pts, key=lambda p: p["psnr"])["lmbda"], "does not fit"),
    ("pick_lambda", lambda pts, m: max([p["lmbda"] for p in _fit(pts, m)], default=None),
     "most bits"),  # the largest lambda that fits
]
ATTACK = ATTACK + ATTACK_07


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_07,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_07)])
def test_the_attack_on_the_checks_of_07_is_rejected_with_a_reason(name, wrong, explanation,
                                                                  capsys):
    assert_rejected(name, wrong, explanation, capsys)


@pytest.mark.parametrize("guess", [-0.5, -27, -100.5])
def test_the_overcount_check_says_its_negative_diagnosis_whole(guess, capsys):
    """Not cut by the 600-character limit (review r4-C), and the charge is -log2 of the
    height, so a lower height costs more (not "a lower height" alone)."""
    check_for("rate_gap_prediction")(lambda: guess)
    out = capsys.readouterr().out
    assert out.rstrip().endswith("with a much narrower one.)") and " ..." not in out, out
    assert "-log2 of the height" in out, out


def test_the_noise_check_says_nothing_false_about_a_straight_through_answer(capsys):
    """Its gradient is 1: the verdict must not say it is 0 (review rev5)."""
    check_for("noise_quantize")(_straight_through)
    out = capsys.readouterr().out
    assert "gradient is 0" not in out and "reaches y" in out, out


def test_the_noise_check_gives_no_code_away(capsys):
    """A mechanism: its messages explain, they never print the solution's recipe."""
    for _, wrong, _ in [a for a in ATTACK_07 + ATTACK if a[0] == "noise_quantize"]:
        check_for("noise_quantize")(wrong)
    out = capsys.readouterr().out
    assert "rand_like" not in out and "uniform_(" not in out, out


@pytest.mark.parametrize("name, answer", [
    ("rd_loss", lambda m, b, lm: lm * 255**2 * torch.as_tensor(m) + b),  # float32 tensor
    ("rd_loss", lambda m, b, lm: torch.tensor(lm * 65025.0 * m + b, dtype=torch.float32)),
    ("pick_lambda", lambda pts, m: None if _pick_lambda_reference(pts, m) is None
     else torch.tensor(_pick_lambda_reference(pts, m))),  # a float32 tensor
    ("pick_lambda", _pick_lambda_reference),
    ("noise_quantize", lambda y: y + torch.empty_like(y).uniform_(-0.5, 0.5)),
    ("noise_quantize", lambda y: y - torch.rand_like(y) + 0.5),  # (-1/2, 1/2]: as good
    ("rate_gap_prediction", lambda: np.float64(30.0)),  # within 10 points
    ("rate_gap_prediction", lambda: torch.tensor(20.0)),
], ids=["rd-float32", "rd-tensor", "pick-tensor", "pick-reference", "noise-uniform_",
        "noise-flipped", "overcount-numpy", "overcount-tensor"])
def test_a_right_answer_to_07_passes(name, answer, capsys):
    assert check_for(name)(answer) is True, capsys.readouterr().out


def test_the_overcount_check_measures_the_notebooks_codec_itself(capsys):
    """Without a measurement it measures notebook 07's codec and photo, as the notebook
    calls it; the estimate at the rounded values is within a few percent of the file."""
    measured = exercises._overcount_measurement()
    assert measured["noisy"] > measured["file"] > 0
    assert abs(measured["rounded"] / measured["file"] - 1) < 0.03
    assert exercises.check_rate_gap_prediction(solutions()["rate_gap_prediction"],
                                                grade=True) is True
    out = capsys.readouterr().out
    assert out.startswith("Correct. You predicted +25%; measured: training's estimate ")


# --- 04: the loss-curve prediction does not depend on the machine's thread count ----------

@pytest.mark.parametrize("threads", [1, 2, 4])
def test_the_loss_curve_solution_passes_on_any_thread_count(threads, capsys):
    """The check measures on one thread (a sum over threads adds in another order, and the
    swinging curve without zero_grad amplifies that), and gives the caller's count back."""
    before = torch.get_num_threads()
    exercises._RUNS.clear()
    try:
        torch.set_num_threads(threads)
        assert check_for("loss_curve_prediction")(solutions()["loss_curve_prediction"]) is True
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    assert out.startswith("Correct. As you predicted: without zero_grad (c)"), out


@pytest.mark.parametrize("threads", [2, 4])
def test_the_curve_shapes_do_not_hang_on_the_last_step(threads):
    """Without the one-thread pin, on 2 or 4 threads the curve without zero_grad ends
    elsewhere (0.21 on one thread, 0.06-0.09 on more, measured); its shape, judged from
    the last 20 steps against the steps before, is the same."""
    batch, before = exercises._notebook_04_batch(), torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        normal = exercises._overfit_curve(batch, 2e-3, True, 60, (16, 3, 32))
        shapes = [exercises._shape_of(exercises._overfit_curve(batch, lr, zero, 60, (16, 3, 32)),
                                      normal) for lr, zero in [(2e-3, False), (2e-2, True)]]
    finally:
        torch.set_num_threads(before)
    assert shapes == ["c", "b"]


def test_each_curve_shape_has_an_explanation_for_each_run():
    runs = ["without zero_grad", "10x learning rate"]
    assert {(run, shape) for run in runs for shape in exercises.CHOICES_04} == set(
        exercises._WHY_04)


@pytest.mark.parametrize("curve, shape", [
    ([0.1] * 30 + [float("nan")] * 30, "d"),
    ([0.1 - 0.001 * i for i in range(40)] + [0.2] + [0.06] * 19, "c"),   # one late spike
    ([0.1 - 0.001 * i for i in range(40)] + [0.061] * 20, "b"),           # flat, far above
    ([0.1 - 0.0015 * i for i in range(60)], "a"),                          # falls steadily
    ([0.1 - 0.001 * i for i in range(40)] + [0.03 - 0.0005 * i for i in range(20)], "a"),
])
def test_the_shape_of_a_curve(curve, shape):
    normal = [0.1 * 0.97**i for i in range(60)]  # ends near 0.016
    assert exercises._shape_of(curve, normal) == shape


def test_the_ten_times_rate_kills_relus_and_the_normal_run_is_the_control():
    """The mechanism the check names, measured on the notebook's batch: after 60 steps at
    10x the rate, (almost) no unit of the encoder's last ReLU layer is active on any input;
    in the normal run from the same seed, a large share is."""
    active = exercises.relu_activity()
    assert active["10x learning rate"]["encoder.layers.3"] < 0.001
    assert active["normal"]["encoder.layers.3"] > 0.2


# --- the second expert review of 04-06 (review 46b): each wrong answer it found misjudged --


def _step_detached(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()  # a 0-d tensor, not the Python float the exercise asks for


def _step_on_l1_returning_the_mse(model, x, optimizer):
    x_hat = model(x)
    mse = F.mse_loss(x_hat, x).item()
    loss = F.l1_loss(x_hat, x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return mse


def _step_on_log_mse_returning_the_mse(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    mse = loss.item()
    optimizer.zero_grad()
    (10 * torch.log10(loss)).backward()
    optimizer.step()
    return mse


def _entropy_dividing_by_len(values):
    _, counts = torch.unique(values, return_counts=True)
    p = counts.double() / len(values)  # the rows of a 2-D channel, not its values
    return float(-(p * torch.log2(p)).sum())


def _entropy_by_raw_bincount(values):
    counts = torch.bincount(values)  # fails on negative values and on floats
    p = counts[counts > 0].double() / counts.sum()
    return float(-(p * torch.log2(p)).sum())


ATTACK_46B = [
    ("training_step", _step_detached, "0-d tensor"),
    ("training_step", _step_on_l1_returning_the_mse, "call backward() on that same MSE"),
    ("training_step", _step_on_log_mse_returning_the_mse, "call backward() on that same MSE"),
    ("predicted_ratio", lambda h, w, c, k: 3 * 4**k / c, "holds only when 2^k divides"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (4 * c * math.ceil(h / 2**k)
                                                        * math.ceil(w / 2**k)), "4 bytes"),
    ("receptive_field", lambda k, kernel: 1 + (kernel - 1) * ((2 ^ k) - 1), "bitwise XOR"),
    ("receptive_field", lambda k, kernel: (kernel - 1) * (2**k - 1), "n + 1 pixels wide"),
    ("halving_prediction", lambda: 0.6, "Even the photo that loses least"),
    ("halving_prediction", lambda: 50, "If that is a percentage"),
    ("lzma_prediction", lambda: 58_000, "less than that even coding each byte without"),
    ("file_size_prediction", lambda: 60_000, "plain autoencoder's latent"),
    ("file_size_prediction", lambda: 24_500, "tens of bytes"),  # 200 above the estimate
    ("entropy_bits", _entropy_dividing_by_len, "number of rows"),
    ("entropy_bits", _entropy_by_raw_bincount, "torch.unique"),
]


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_46B,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_46B)])
def test_the_second_review_of_04_to_06_is_answered(name, wrong, explanation, capsys):
    assert_rejected(name, wrong, explanation, capsys)


def test_the_loss_curve_check_reports_both_wrong_letters_and_labels_the_normal_curve(capsys):
    check_for("loss_curve_prediction")(lambda: ("a", "d"))
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and "Also: 10x learning rate" in out, out
    assert "the normal curve's median there" in out and not out.rstrip().endswith("...")


def test_the_loss_curve_check_says_each_sentence_once(capsys):
    check_for("loss_curve_prediction")(lambda: ("c", "b"))
    out = capsys.readouterr().out
    assert out.startswith("Correct. ") and out.count("no nan") == 1, out


def test_a_crash_names_the_optimizer_without_its_whole_repr(capsys):
    def crashes(model, x, optimizer):
        raise ValueError("boom")
    check_for("training_step")(crashes)
    out = capsys.readouterr().out
    assert "(Autoencoder, Tensor, Adam)" in out and "lr:" not in out, out


def test_the_halving_check_hedges_its_reason(capsys):
    check_for("halving_prediction")(lambda: 1.2)
    out = capsys.readouterr().out
    assert out.startswith("Correct. ") and "One likely reason" in out, out
    assert "half the quality" not in out and "added almost nothing" not in out


def test_the_receptive_field_check_keeps_its_formula_to_itself():
    """`check_receptive_field?` in a notebook shows this docstring."""
    doc = exercises.check_receptive_field.__doc__
    assert "2^k - 1" not in doc and "2**k - 1" not in doc and "(K - 1) *" not in doc, doc


@pytest.mark.parametrize("guess", [24_325, 24_347, 24_375])  # 24_315 until r7-C, 24_395 until r12-C
def test_the_file_size_check_grades_reasoning_not_the_headers_size(guess, capsys):
    """The estimate is 24,300 bytes: FILE_SIZE_OVERHEAD above it is right, whatever the
    header."""
    assert check_for("file_size_prediction")(lambda: guess) is True, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "a little above or below" in out, out


def test_the_file_size_check_says_the_coder_can_beat_the_estimate_by_a_few_bytes(capsys):
    check_for("file_size_prediction")(lambda: 24_150)
    out = capsys.readouterr().out
    assert "cannot beat -sum log2 P by more than a few bytes" in out, out


def _psnr_int_right(a, b, bits) -> float:
    return 10 * math.log10((2**bits - 1) ** 2 / float(((a / 1.0 - b) ** 2).mean()))


ATTACK_R3A = [  # review r3-A of 00 to 02: wrong answers rejected with a wrong or empty reason
    ("to_batch", lambda p: torch.from_numpy(p).permute(2, 0, 1)[None].float() / p.max(),
     "this image's own brightest value"),
    ("to_batch", lambda p: (torch.from_numpy(p).permute(2, 0, 1)[None].float() / 255 * 100)
     .round() / 100, "rounded to 2 decimals"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        float(a.max()) ** 2 / float(((a / 1.0 - b) ** 2).mean())),
     "the brightest value in the first image"),
    ("psnr_int", lambda a, b, bits: 10 * math.log10(
        float(max(a.max(), b.max())) ** 2 / float(((a / 1.0 - b) ** 2).mean())),
     "the peak is fixed by the format"),
    ("psnr_int", lambda a, b, bits: np.array([_psnr_int_right(a, b, bits)]),
     "the value is right but it is a ndarray"),  # like a tensor: one number, not a float
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 3, "D": 5, "E": 26},
     "Halving and rounding down is not the rule for kernel 5"),  # 10 / 2 rounded down
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 4, "D": 5, "E": 14},
     "Halving and rounding down is not the rule for kernel 3"),
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 3, "D": 4, "E": 14},
     "This layer has stride 1"),  # every convolution halves
    ("conv_size_prediction", lambda: {"A": 3, "B": 4, "C": 3, "D": 3, "E": 26},
     "You left out the padding"),
    ("latent_values", lambda h, w, c, k: 64 * math.ceil(h / 2**k) * math.ceil(w / 2**k),
     "hidden layers' width"),  # HIDDEN_CHANNELS in place of C
    ("latent_values", lambda h, w, c, k: c * math.ceil(h / 2 ** (k - 1))
     * math.ceil(w / 2 ** (k - 1)), "one too few"),  # the same count as 64 channels at first
    ("latent_values", lambda h, w, c, k: c * math.ceil(h / 2 ** (k + 1))
     * math.ceil(w / 2 ** (k + 1)), "one too many"),
    ("latent_values", lambda h, w, c, k: c * (h // 2**k + 1) * (w // 2**k + 1),
     "added 1 to each side even where"),
]


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_R3A,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_R3A)])
def test_review_r3a_of_00_to_02_is_answered(name, wrong, explanation, capsys):
    assert_rejected(name, wrong, explanation, capsys)


def test_a_hard_coded_latent_count_gets_no_made_up_diagnosis(capsys):
    """81,920 (the first case's count) read as '320 channels' would be a guess: a mistake
    is named only when it gives the learner's answers in more than one case."""
    assert check_for("latent_values")(lambda h, w, c, k: 81920) is False
    out = capsys.readouterr().out
    assert out.rstrip().endswith("expected 2048."), out


@pytest.mark.parametrize("one", [lambda v: np.array([v]), lambda v: torch.tensor([v]),
                                 lambda v: np.float32(v)], ids=["ndarray", "tensor", "float32"])
def test_a_prediction_of_one_element_arrays_counts_as_numbers(one, capsys):
    """np.array([40.]) is accepted as torch.tensor([40.]) is (review r3-A)."""
    predict = lambda: {0.1: one(20.0), 0.01: one(40.0)}  # noqa: E731
    assert check_for("noise_prediction")(predict) is True, capsys.readouterr().out


# --- the expert review r3-C of 06 and 07: wrong answers it found misjudged or accepted ------


def _noise_in_training_only(y):
    """Noise when y needs a gradient, rounding otherwise (review r3-C)."""
    return y + (torch.rand_like(y) - 0.5) if y.requires_grad else torch.round(y)


def _noise_while_grad_is_on(y):
    return y + (torch.rand_like(y) - 0.5) if torch.is_grad_enabled() else torch.round(y)


ATTACK_R3C = [
    # accepted before: noise only away from 0 (the one-value y sat at 0.3)
    ("noise_quantize", lambda y: y + (torch.rand_like(y) - 0.5) * (y.detach().abs() > 0.05),
     "the noise depends on y: where y is 0"),
    ("noise_quantize", lambda y: y + (torch.rand_like(y) - 0.5) * y.detach().abs().clamp(max=1),
     "the noise depends on y"),
    # misdiagnosed before: each now gets its own message
    ("noise_quantize", lambda y: torch.rand_like(y) - 0.5, "the output hardly follows y"),
    ("noise_quantize", lambda y: y, "it adds no noise"),
    ("noise_quantize", _noise_in_training_only, "it rounds instead of adding noise"),
    ("noise_quantize", _noise_while_grad_is_on, "it rounds instead of adding noise"),
    # the loss is 1/lambda times too large, not lambda times
    ("rd_loss", lambda m, b, lm: 255**2 * m + b / lm, "1/lambda times too large"),
]
ATTACK = ATTACK + ATTACK_R3C


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_R3C,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_R3C)])
def test_the_review_r3c_wrong_answers_are_rejected_with_their_own_reason(name, wrong,
                                                                        explanation, capsys):
    out = assert_rejected(name, wrong, explanation, capsys)
    assert "same noise" not in out, out  # the old misdiagnoses of the three above


def test_the_overcount_check_does_not_say_the_noise_is_rounding_error(capsys):
    """For latents packed near 0 the real rounding error is much narrower than the noise."""
    check_for("rate_gap_prediction")(lambda: -20)
    out = capsys.readouterr().out
    assert "does imitate rounding's error" not in out and "widely spread" in out, out


def test_the_file_size_docstring_gives_no_window_away():
    """Shift-Tab in notebook 06 shows it, right below the printed estimate."""
    doc = exercises.check_file_size_prediction.__doc__
    low, high = exercises.FILE_SIZE_OVERHEAD
    assert str(low) not in doc and str(high) not in doc and "bytes above" not in doc, doc


def test_the_overcount_measurement_is_the_checks_own():
    """It computes exercise 3's answer: not public, so a learner's dir() or help() of the
    module does not offer it."""
    assert not hasattr(exercises, "overcount_measurement")
    assert "overcount_measurement" not in exercises.check_rate_gap_prediction.__doc__


def test_the_noise_check_docstring_keeps_the_answer_to_itself():
    """Shift-Tab on check_noise_quantize in notebook 07 must not name the distribution."""
    doc = exercises.check_noise_quantize.__doc__
    assert "uniform" not in doc and "1/2" not in doc and "rand" not in doc, doc


# --- review r3-B of notebooks 03 to 05: its wrong answers, each rejected with a diagnosis ---


def _step_on_the_rounded_output(model, x, optimizer):
    """Notebook 04 teaches "round before measuring"; rounding before training kills every
    gradient."""
    optimizer.zero_grad()
    loss = F.mse_loss(quantize_8bit(model(x)), x)
    loss.backward()
    optimizer.step()
    return loss.item()


def _footprint(k, kernel):
    return 1 + (kernel - 1) * (2**k - 1)


def _receptive_field_doubling_all(k, kernel):
    """A wrong recursion: the whole patch doubled at each layer, r = 2 r + K - 1 from 1."""
    r = 1
    for _ in range(k):
        r = 2 * r + kernel - 1
    return r


def _doubling_padding(kernel):
    padding = (kernel - 1) // 2
    return padding, 2 + 2 * padding - kernel


ATTACK_R3B = [
    ("training_step", _step_on_the_rounded_output, "every gradient is 0"),
    ("training_step", _step_on_the_rounded_output, "rounded output"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w // (c * math.ceil(h / 2**k)
                                                         * math.ceil(w / 2**k)), "`//`"),
    ("predicted_ratio", lambda h, w, c, k: round(3 * h * w / (c * math.ceil(h / 2**k)
                                                              * math.ceil(w / 2**k))),
     "return it unrounded"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * (int(h / 2**k) + 1)
                                                        * (int(w / 2**k) + 1)),
     "rounds up a size that needs no rounding"),
    ("latents_per_pixel", lambda k, kernel: kernel**k, "K ** k"),
    ("latents_per_pixel", lambda k, kernel: math.ceil(kernel / 2)**k, "counts paths"),
    ("latents_per_pixel", lambda k, kernel: math.ceil(kernel / 2), "one layer's count"),
    ("latents_per_pixel", lambda k, kernel: 1 + (math.ceil(kernel / 2) - 1) * k,
     "count in pixels of x_hat first"),
    ("latents_per_pixel", _footprint, "not a count of latent positions"),
    ("latents_per_pixel", lambda k, kernel: _footprint(k, kernel) // 2**k, "the fewest"),
    ("latents_per_pixel", lambda k, kernel: round(_footprint(k, kernel) / 2**k),
     "rounding to the nearest"),
    ("latents_per_pixel", lambda k, kernel: math.ceil(_footprint(k, kernel) / 2**k) + 1,
     "one too many"),
    ("latents_per_pixel", lambda k, kernel: math.ceil((_footprint(k, kernel) - 1) / 2**k),
     "n + 1 pixels wide"),
    ("latents_per_pixel", lambda k, kernel: kernel - 1, "K - 1 is close"),
    ("latents_per_pixel", lambda k, kernel: math.ceil(_footprint(k, kernel) / 2**k)**2,
     "along one row"),
    ("latents_per_pixel", lambda k, kernel: _footprint(k, kernel) / 2**k, "whole number"),
    ("latents_per_pixel", lambda k, kernel: {(1, 3): 2}.get((k, kernel), 4),
     "Work it out in two steps"),  # a lookup table being filled in
    ("receptive_field", lambda k, kernel: kernel**k, "K ** k"),
    ("receptive_field", _receptive_field_doubling_all, "2 * (n - 1) + K"),
    # review r6-B: notebook 03's exercise 4 takes the stride (more in test_review_r6_b.py)
    ("upsampling_padding", lambda k, s: ((k - 1) // 2, 2 + 2 * ((k - 1) // 2) - k),
     "that is the stride-2 answer"),
    ("upsampling_padding", lambda k, s: ((k - 1) // 2, max(0, s + 2 * ((k - 1) // 2) - k)),
     "return None there"),
    ("upsampling_padding", lambda k, s: None, "a pair exists"),
]


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_R3B,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_R3B)])
def test_review_r3b_wrong_answers_are_rejected_with_a_diagnosis(name, wrong, explanation,
                                                                 capsys):
    assert_rejected(name, wrong, explanation, capsys)


@pytest.mark.parametrize("wrong", [lambda k, kernel: 3, lambda k, kernel: kernel**k,
                                   lambda k, kernel: _footprint(k, kernel) // 2**k])
def test_the_latents_per_pixel_check_never_prints_the_probe_count(wrong, monkeypatch, capsys):
    """No lookup table can be filled one failure at a time: a message names the case and
    the learner's number, never the probe's (here made recognisable: 1000 + the count)."""
    measured = exercises.measured_latents_per_pixel
    monkeypatch.setattr(exercises, "measured_latents_per_pixel",
                        lambda k, kernel: 1000 + measured(k, kernel))
    check_for("latents_per_pixel")(wrong)
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and not re.search(r"\b10\d\d\b", out), out


def test_the_latents_per_pixel_probe_matches_a_trained_decoders_phases():
    """The probe's count is the most over the 2^k phases: for k = 1 and K = 5, 3 (notebook
    03 counts 2 or 3 stamps per pixel)."""
    assert exercises.measured_latents_per_pixel(1, 5) == 3
    assert exercises.measured_latents_per_pixel(3, 5) == 4


def test_the_predicted_ratio_check_does_not_print_the_expected_ratio(capsys):
    check_for("predicted_ratio")(lambda h, w, c, k: 48.0)
    out = capsys.readouterr().out
    assert out.startswith("Wrong: ") and "12.000" not in out and "expected 12" not in out, out


@pytest.mark.parametrize("container", [np.array, torch.tensor, list])
def test_doubling_padding_accepts_a_pair_in_an_array(container, capsys):
    assert check_for("doubling_padding")(lambda k: container(_doubling_padding(k))) is True
    assert capsys.readouterr().out.startswith("Correct. ")


def test_doubling_padding_still_wants_integers_in_an_array(capsys):
    check_for("doubling_padding")(lambda k: np.array(_doubling_padding(k), dtype=float))
    assert "integers" in capsys.readouterr().out


# --- review r4-B (notebooks 03-05): answers whose message misdiagnosed them


def _step_returning_float32(model, x, optimizer):
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return np.float32(loss.item())  # a NumPy scalar, not the Python float asked for


_RIGHT_TRANSPOSED = {"A": 7, "B": 9, "C": 10, "D": 12, "E": 10}

ATTACK_R4B = [
    # ticks the even kernels for their borders: told that the check counts the middle
    ("grid_prediction", lambda: {"uneven": [3, 4, 5, 6], "random_kernel_4_grid": True},
     "away from the borders"),
    ("grid_prediction", lambda: {"uneven": ("3", "5"), "random_kernel_4_grid": True},
     "a kernel size in \"uneven\" is the string '3'"),
    ("transposed_size_prediction", lambda: {k: str(v) for k, v in _RIGHT_TRANSPOSED.items()},
     "your size for 'A' is the string '7'"),
    ("transposed_size_prediction", lambda: {**_RIGHT_TRANSPOSED, "B": [9]},
     "your size for 'B' should be an int, got list"),
    ("transposed_size_prediction", lambda: {**_RIGHT_TRANSPOSED, "C": 10.5}, "not an int"),
    ("training_step", _step_returning_float32, "NumPy float32"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * round(h / 2**k) * round(w / 2**k)),
     "to the nearest (//, int() or round())"),
    ("predicted_ratio", lambda h, w, c, k: 3 * h * w / (c * (h // 2**k) * (w // 2**k)),
     "is rounded up (math.ceil)"),
    ("latents_per_pixel", lambda k, kernel: math.ceil(kernel * (1 - 2**-k)),
     "K (2^k - 1) pixels of x_hat wide"),
]


@pytest.mark.parametrize("name, wrong, explanation", ATTACK_R4B,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ATTACK_R4B)])
def test_review_r4b_wrong_answers_are_rejected_with_a_diagnosis(name, wrong, explanation,
                                                                 capsys):
    assert_rejected(name, wrong, explanation, capsys)


def test_the_latents_per_pixel_k_per_layer_slip_is_not_called_one_too_many(capsys):
    check_for("latents_per_pixel")(lambda k, kernel: math.ceil(kernel * (1 - 2**-k)))
    assert "one too many" not in capsys.readouterr().out


def test_the_predicted_ratio_check_does_not_call_round_a_rounding_down(capsys):
    check_for("predicted_ratio")(lambda h, w, c, k: 3 * h * w / (c * round(h / 2**k)
                                                                 * round(w / 2**k)))
    assert "round()" in capsys.readouterr().out


@pytest.mark.parametrize("name, prediction", [
    ("transposed_size_prediction", {**_RIGHT_TRANSPOSED, "A": 7.0}),
    ("transposed_size_prediction", {k: float(v) for k, v in _RIGHT_TRANSPOSED.items()}),
    ("conv_size_prediction", {"A": 3, "B": 4, "C": 3, "D": 4, "E": np.float64(26.0)}),
])
def test_a_size_predicted_as_a_whole_float_is_right(name, prediction, capsys):
    """7.0 is a fine way to write a predicted size of 7; 7.5 is not a size."""
    assert check_for(name)(lambda: prediction) is True, capsys.readouterr().out
