"""GDN by hand, and Upsample2x against PyTorch's own transposed convolution."""

import pytest
import torch
from torch import nn

from aecodec.layers import GDN, Upsample2x


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


@pytest.mark.parametrize("kernel, padding", [(5, 2), (3, 1), (4, 1)])
@pytest.mark.parametrize("size", [(1, 1), (3, 5), (8, 8)])
def test_upsample2x_equals_a_transposed_convolution(kernel, padding, size):
    torch.manual_seed(0)
    layer = Upsample2x(4, 6, kernel, padding=padding)
    reference = nn.ConvTranspose2d(4, 6, kernel, stride=2, padding=padding,
                                   output_padding=2 + 2 * padding - kernel)
    reference.load_state_dict(layer.state_dict())  # the same weights, the same names
    y = torch.randn(2, 4, *size)
    x = layer(y)
    assert x.shape == (2, 6, 2 * size[0], 2 * size[1])  # exactly doubles
    assert torch.allclose(x, reference(y), atol=1e-5)
    x.sum().backward()  # trains like any layer
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
