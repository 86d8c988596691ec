"""The entropy model against numerical integration, its coding tables, and quantization."""

import pytest
import torch

from aecodec.entropy import FactorizedPrior, estimated_bits, quantize


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


def test_the_prior_owns_its_coding_tables_and_they_load_at_their_size():
    prior = random_prior(seed=4)
    assert not prior.has_tables()  # empty until built
    prior.update_tables()
    assert prior.has_tables()
    for c in range(3):
        offset, counts = prior.table(c)
        assert int(counts.sum()) == 2**16 and int(counts.min()) >= 1
        # the table follows the density: its most likely value is the density's mode
        values = torch.arange(offset, offset + len(counts) - 1, dtype=torch.float32)
        p = prior.likelihood(values.view(1, 1, -1, 1).expand(1, 3, -1, 1).contiguous())[0, c, :, 0]
        assert int(counts[:-1].argmax()) == int(p.argmax())
    fresh = FactorizedPrior(3)  # tables of another size, replaced by the saved ones
    fresh.load_state_dict(prior.state_dict())
    for c in range(3):
        assert fresh.table(c)[0] == prior.table(c)[0]
        assert torch.equal(fresh.table(c)[1], prior.table(c)[1])
