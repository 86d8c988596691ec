"""The entropy model against numerical integration, and quantization and GDN by hand."""

import pytest
import torch

from aecodec.entropy import GDN, FactorizedPrior, estimated_bits, quantize


def random_prior(channels=3, seed=0):
    """A prior with scrambled parameters, so tests do not pass only at initialisation."""
    torch.manual_seed(seed)
    prior = FactorizedPrior(channels)
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(torch.randn_like(p))
    return prior


def density(prior, v):
    """p(v) = d c(v) / dv by autograd, for v (C, 1, M)."""
    v = v.clone().requires_grad_(True)
    c = torch.sigmoid(prior.cumulative_logits(v))
    (grad,) = torch.autograd.grad(c.sum(), v)
    return grad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_likelihood_equals_the_integral_of_the_density(seed):
    prior = random_prior(seed=seed)
    values = torch.tensor([-7.0, -2.0, -1.0, 0.0, 1.0, 3.0, 12.0])
    # trapezoid rule on 2001 points over [n - 0.5, n + 0.5] for every value and channel
    offsets = torch.linspace(-0.5, 0.5, 2001)
    grid = (values[:, None] + offsets[None, :]).reshape(1, 1, -1).expand(3, 1, -1)
    p = density(prior, grid.contiguous()).reshape(3, len(values), -1)  # (C, values, points)
    integral = torch.trapezoid(p, offsets, dim=-1)  # (C, values)
    y_hat = values.view(1, 1, -1, 1).expand(1, 3, -1, 1)
    likelihood = prior.likelihood(y_hat.contiguous())[0, :, :, 0]  # (C, values)
    assert torch.allclose(likelihood, integral.clamp_min(1e-9), rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1])
def test_probabilities_of_all_integers_sum_to_one(seed):
    prior = random_prior(seed=seed)
    v = torch.arange(-3000, 3001, dtype=torch.float32).view(1, 1, -1, 1).expand(1, 3, -1, 1)
    total = prior.likelihood(v.contiguous()).sum(dim=(0, 2, 3))
    assert torch.allclose(total, torch.ones(3), atol=1e-4)


def test_cumulative_is_increasing():
    prior = random_prior(seed=3)
    v = torch.linspace(-50, 50, 5001).view(1, 1, -1).expand(3, 1, -1).contiguous()
    logits = prior.cumulative_logits(v)
    assert torch.all(logits[..., 1:] >= logits[..., :-1])


def test_quantize_modes():
    y = torch.tensor([-1.7, -0.5, 0.2, 0.5, 2.49], requires_grad=True)
    assert torch.equal(quantize(y, "round"), torch.round(y))
    torch.manual_seed(0)
    noisy = quantize(y, "noise")
    assert torch.all((noisy - y).abs() <= 0.5)
    noisy.sum().backward()
    assert torch.equal(y.grad, torch.ones(5))  # noise lets the gradient through unchanged
    y.grad = None
    ste = quantize(y, "ste")
    assert torch.equal(ste, torch.round(y))
    ste.sum().backward()
    assert torch.equal(y.grad, torch.ones(5))  # rounding forward, identity backward
    with pytest.raises(ValueError, match="unknown quantization mode"):
        quantize(y, "floor")


def test_prior_rounds_in_eval_mode_and_counts_bits():
    prior = random_prior().eval()
    y = torch.randn(2, 3, 4, 5) * 3
    y_hat, likelihoods = prior(y)
    assert torch.equal(y_hat, torch.round(y))
    assert likelihoods.shape == y.shape and torch.all(likelihoods <= 1)
    bits = estimated_bits(likelihoods)
    assert bits.item() == pytest.approx(-torch.log2(likelihoods).sum().item())
    assert bits.item() > 0


def test_gdn_formula_by_hand():
    torch.manual_seed(0)
    gdn, igdn = GDN(3), GDN(3, inverse=True)
    gamma_root = torch.rand(3, 3)
    with torch.no_grad():
        for layer in (gdn, igdn):  # the same parameters in both
            layer.beta_root.copy_(torch.tensor([1.0, 0.5, 2.0]))
            layer.gamma_root.copy_(gamma_root)
    x = torch.randn(2, 3, 4, 4)
    beta = gdn.beta_root**2 + 1e-6
    gamma = gdn.gamma_root**2
    expected = torch.empty_like(x)
    for i in range(3):
        norm = beta[i] + sum(gamma[i, j] * x[:, j] ** 2 for j in range(3))
        expected[:, i] = x[:, i] / torch.sqrt(norm)
    assert torch.allclose(gdn(x), expected, atol=1e-6)
    assert torch.allclose(igdn(x) * gdn(x), x**2, atol=1e-5)  # (x * s) * (x / s) = x^2
