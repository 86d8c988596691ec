"""Every exercise check passes the notebook's own solution and fails plausible wrong answers.

The solutions are read from the notebooks themselves (the code cells holding
`### BEGIN SOLUTION`), so a test fails if a notebook's solution and its check drift apart.
"""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aecodec import refine
from aecodec.course import exercises
from aecodec.latents8bit import reconstruct_8bit
from aecodec.metrics import psnr, quantize_8bit
from aecodec.models import Autoencoder
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))


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


def check_for(name):
    """The check of exercise `name`, called the way its notebook calls it."""
    if name == "halving_effect":
        big, small, x = tiny_models()
        return lambda fn: exercises.check_halving_effect(fn, big, small, x)
    names = {"my_psnr": "check_psnr"}
    return getattr(exercises, names.get(name, f"check_{name}"))


EXERCISES = ["to_batch", "my_psnr", "noise_psnr", "conv_output_size", "encoder_block",
             "latent_values", "conv_transpose_output_size", "decoder_block", "doubling_padding",
             "training_step", "validation_psnr", "parameter_count", "predicted_ratio",
             "halving_effect", "receptive_field", "entropy_bits", "measured_bpp",
             "rate_from_likelihoods", "rd_loss", "pick_lambda", "noise_quantize",
             "gaussian_pmf", "table_index", "file_bits", "file_objective",
             "round_up_probability", "temperature"]


def test_notebooks_have_at_least_three_exercises_each_from_01():
    per_notebook = {}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        count = sum("### BEGIN SOLUTION" in "".join(c["source"]) for c in cells)
        per_notebook[path.name[:2]] = count
        assert count == sum("### END SOLUTION" in "".join(c["source"]) for c in cells)
    assert all(per_notebook[f"0{n}"] >= 3 for n in range(1, 10)), per_notebook
    assert sorted(solutions()) == sorted(EXERCISES)


@pytest.mark.parametrize("name", EXERCISES)
def test_check_passes_the_notebook_solution(name, capsys):
    assert check_for(name)(solutions()[name]) is True
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize("name", EXERCISES)
def test_check_reports_not_implemented_plainly(name, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError("write your code here")

    assert check_for(name)(stub) is False
    assert "not implemented yet" in capsys.readouterr().out


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
    return solutions()[name]


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
     - torch.distributions.Normal(mean, scale).cdf(n - 1), "P(0) should be"),
    ("table_index", lambda scale, ladder: max([i for i, r in enumerate(ladder) if r <= scale],
                                              default=0), "at least as wide"),
    ("table_index", lambda scale, ladder: sum(rung < scale for rung in ladder),
     "expected index 6"),  # no table wider than 100: the last one, not one past it
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
    ("round_up_probability", lambda f, tau: f, "expected"),
    ("temperature", lambda step, steps: 0.5 * (1 - step / (steps - 1)), "straight line"),
    ("temperature", lambda step, steps: 0.5 * math.exp(-4.0 * step), "steps - 1"),
    ("noise_psnr", lambda sigma: -10 * math.log10(sigma), "sigma squared"),
    ("noise_psnr", lambda sigma: 20 * math.log10(255 / sigma), "peak is 1"),
    ("noise_psnr", lambda sigma: 20 * math.log10(sigma), "sign is wrong"),
    ("noise_psnr", lambda sigma: -20 * math.log(sigma), "mean of noise^2"),
    ("doubling_padding", lambda k: (k // 2, 1), "output_padding = 2 + 2 * padding"),
    ("doubling_padding", lambda k: (k // 2, 2), "must be 0 or 1"),
    ("doubling_padding", lambda k: (-1, 0), ">= 0"),
    ("parameter_count", lambda c, k, n: _count(c, k, n, biases=False), "bias"),
    ("parameter_count", lambda c, k, n: _count(c, k, n, decoder=False), "encoder only"),
    ("parameter_count", lambda c, k, n: 2 * _count(c, k, n, decoder=False), "same biases"),
    ("parameter_count", lambda c, k, n: _count(c, k, n, kernel=3), "there are"),
    ("receptive_field", lambda k, kernel: 1 + (kernel - 1) * k, "2^(i-1)"),
    ("receptive_field", lambda k, kernel: kernel * k, "overlap"),
    ("receptive_field", lambda k, kernel: kernel * 2**k, "gradient probe reaches"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log(p).sum()) / (h * w), "nats"),
    ("rate_from_likelihoods", lambda p, h, w: float(torch.log2(p).sum()) / (h * w), "negative"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).mean()), "per latent value"),
    ("rate_from_likelihoods", lambda p, h, w: float(-torch.log2(p).sum()), "total bits"),
    ("noise_quantize", torch.round, "that is rounding"),
    ("noise_quantize", lambda y: y + torch.rand_like(y), "subtract 0.5"),
    ("noise_quantize", lambda y: y + 0.29 * torch.randn_like(y), "stay within"),
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


@pytest.mark.parametrize("name, wrong, explanation", WRONG_ANSWERS,
                         ids=[f"{n}-{e[:20]}" for n, _, e in WRONG_ANSWERS])
def test_check_fails_a_plausible_wrong_answer_and_says_why(name, wrong, explanation, capsys):
    assert check_for(name)(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("❌") and explanation in out, out


def test_a_crashing_answer_is_explained(capsys):
    assert exercises.check_conv_output_size(lambda *a: undefined_name) is False  # noqa: F821
    assert "raised NameError" in capsys.readouterr().out


def test_the_teachers_page_lists_every_exercise_with_what_it_assesses():
    text = (REPO / "docs" / "teachers.md").read_text()
    table = text[text.index("## What each exercise assesses"):]
    for name in EXERCISES:
        rows = [line for line in table.splitlines() if line.startswith("|")
                and f"| `{name}` |" in line]
        assert len(rows) == 1, f"{name}: {len(rows)} rows in the teachers' table"
        assert len([cell for cell in rows[0].split("|") if cell.strip()]) == 4
