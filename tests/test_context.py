"""The checkerboard context model (`aecodec.models.context`): it starts as good as the codec it is
warm-started from, its coding mirrors its loss's rounding, its streams decode alike on 1, 2
and 3 threads, and damaged streams raise `CodecError`, nothing else.

Run as a script (`python tests/test_context.py digests THREADS`) it codes one image in a
fresh Python with THREADS threads and prints the digests of the stream and of y_hat.
"""

import hashlib
import json
import subprocess
import sys

import pytest
import torch

from aecodec import zoo
from aecodec.errors import CodecError
from aecodec.models.context import DEFAULT_LAMBDAS, VariableRateCheckerboard, anchor_mask
from aecodec.recipes import default_codec_from


def context_codec(variable_rate, seed: int = 0) -> VariableRateCheckerboard:
    """A context codec warm-started from `variable_rate`, its new layers drawn with `seed`
    (the same in every process), with a context that does something (its last layer
    starts at zero), and coding tables, in eval mode."""
    torch.manual_seed(seed)
    model = default_codec_from(variable_rate)
    generator = torch.Generator().manual_seed(seed)
    last = model.parameters_net[-1]
    with torch.no_grad():
        last.weight.copy_(0.02 * torch.randn(last.weight.shape, generator=generator))
        last.bias.copy_(0.1 * torch.randn(last.bias.shape, generator=generator))
    model.z_prior.update_tables()
    model.gaussian.update_tables()
    return model.eval()


def sample_image(height: int = 128, width: int = 192, seed: int = 0) -> torch.Tensor:
    """A (1, 3, H, W) image with edges and texture: smooth ramps plus seeded noise."""
    generator = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, height).view(height, 1).expand(height, width)
    xs = torch.linspace(0, 1, width).view(1, width).expand(height, width)
    x = torch.stack([xs, ys, (xs > 0.5).float()])  # (3, H, W)
    return (0.8 * x + 0.2 * torch.rand(x.shape, generator=generator))[None]


@pytest.fixture(scope="module")
def shipped_variable_rate():
    return zoo.load_variable_rate()


@pytest.fixture(scope="module")
def context_model(shipped_variable_rate):
    return context_codec(shipped_variable_rate)


def test_anchor_mask_is_a_checkerboard():
    mask = anchor_mask(3, 4)[0, 0]
    assert mask.tolist() == [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]


def test_warm_start_codes_exactly_as_the_variable_rate_codec(shipped_variable_rate):
    """The context's last layer starts at zero: same reconstructions and likelihoods."""
    model = default_codec_from(shipped_variable_rate).eval()
    assert model.config.lambdas == DEFAULT_LAMBDAS
    x = sample_image()
    with torch.no_grad():
        expected = shipped_variable_rate.forward_with_likelihoods(x)
        got = model.forward_with_likelihoods(x)
    for a, b in zip(expected, got):
        assert torch.equal(a, b)


def test_new_lambdas_start_from_scaled_neighbouring_gains(shipped_variable_rate):
    model = default_codec_from(shipped_variable_rate)
    old = shipped_variable_rate.config.lambdas
    for i, lmbda in enumerate(DEFAULT_LAMBDAS):
        if lmbda in old:
            j = old.index(lmbda)
            assert torch.equal(model.log_gains[i], shipped_variable_rate.log_gains[j])
    # the lowest new lambda is half the lowest trained one: gains lower by sqrt(2)
    shift = model.log_gains[0] - shipped_variable_rate.log_gains[0]
    assert torch.allclose(shift, torch.full_like(shift, 0.5 * torch.log(torch.tensor(0.5))))


def test_the_context_sees_only_decoded_anchors(context_model):
    """Changing y_hat at a non-anchor must not move any non-anchor's parameters; changing
    an anchor must move its neighbours'."""
    hyper = torch.randn(1, 128, 8, 8)
    y_hat = torch.randn(1, 64, 8, 8)
    with torch.no_grad():
        means, scales = context_model.context_parameters(hyper, y_hat, anchors=False)
        moved = y_hat.clone()
        moved[..., 3, 4] += 5  # (3 + 4) odd: a non-anchor
        means2, scales2 = context_model.context_parameters(hyper, moved, anchors=False)
        assert torch.equal(means, means2) and torch.equal(scales, scales2)
        moved = y_hat.clone()
        moved[..., 3, 3] += 5  # an anchor
        means3, _ = context_model.context_parameters(hyper, moved, anchors=False)
    assert not torch.equal(means[..., 3, 4], means3[..., 3, 4])


def test_training_view_uses_noise_and_the_same_parameters(context_model):
    """In training the non-anchors see the anchors' noisy values, in one pass."""
    context_model.train()
    try:
        x = sample_image(64, 64)
        loss, values = context_model.loss(x)
        loss.backward()
        assert context_model.context.weight.grad is not None
        assert context_model.context.weight.grad.abs().sum() > 0
        assert values["bpp"] > values["bpp_z"] > 0
    finally:
        context_model.zero_grad(set_to_none=True)
        context_model.eval()


@pytest.mark.parametrize("lmbda", [DEFAULT_LAMBDAS[0], 0.005, DEFAULT_LAMBDAS[-1]])
def test_coding_round_trip_matches_the_models_rounding(context_model, lmbda):
    x = sample_image()
    with torch.no_grad(), context_model.at_lambda(lmbda):
        y = context_model.encode(x)  # (1, C, h, w)
        stream = context_model.compress_latents(y)
        decoded = context_model.decompress_latents(
            stream, context_model.latent_shapes(*x.shape[-2:]))
        z_hat = torch.round(context_model.hyper_encode(y))
        y_hat, likelihoods = context_model.likelihoods(y, z_hat)
        _, likelihoods_z = context_model.z_prior(z_hat)
    # coding computes the context in integers (steps of 2^-10), the model in floats: the
    # means differ by about 2^-10, so a value that lies almost exactly halfway between two
    # integers may round the other way
    assert (decoded["y_hat"] - y_hat).abs().max() < 1.01
    assert (decoded["y_hat"] - y_hat).abs().lt(0.01).float().mean() > 0.999
    assert torch.equal(decoded["integers"]["z_hat"], z_hat[0].long())
    ideal = float(-torch.log2(likelihoods).sum() - torch.log2(likelihoods_z).sum())
    assert abs(8 * len(stream) - ideal) < 0.03 * ideal + 256  # tables of 2^16, a few words


def damaged(stream: bytes, seed: int) -> bytes:
    generator = torch.Generator().manual_seed(seed)
    data = bytearray(stream)
    kind = seed % 3
    if kind == 0:  # flip bytes
        for i in torch.randint(len(data), (3,), generator=generator).tolist():
            data[i] ^= 0xFF
    elif kind == 1:  # cut whole words
        data = data[: max(4, (len(data) // 2) // 4 * 4)]
    else:  # random words
        data = bytearray(torch.randint(256, (len(data),), generator=generator,
                                       dtype=torch.uint8).numpy().tobytes())
    return bytes(data)


def test_damaged_streams_raise_codec_error_or_decode(context_model):
    x = sample_image(64, 64)
    with torch.no_grad():
        y = context_model.encode(x)
        stream = context_model.compress_latents(y)
    shapes = context_model.latent_shapes(64, 64)
    refused = 0
    for seed in range(30):
        try:
            decoded = context_model.decompress_latents(damaged(stream, seed), shapes)
        except CodecError:
            refused += 1
        else:
            assert torch.isfinite(decoded["y_hat"]).all()
    assert refused > 0


def digests(threads: int) -> dict:
    torch.set_num_threads(threads)
    model = context_codec(zoo.load_variable_rate())
    x = sample_image(256, 384)
    with torch.no_grad():
        y = model.encode(x)
        stream = model.compress_latents(y)
        y_hat = model.decompress_latents(stream, model.latent_shapes(*x.shape[-2:]))["y_hat"]
    return {"stream": hashlib.sha256(stream).hexdigest(),
            "y_hat": hashlib.sha256(y_hat.numpy().tobytes()).hexdigest()}


def test_same_stream_and_latents_on_1_2_and_3_threads():
    """Each in a fresh Python, so that the thread count is set before any work."""
    results = []
    for threads in (1, 2, 3):
        out = subprocess.run([sys.executable, __file__, "digests", str(threads)],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1] == results[2]


if __name__ == "__main__":
    if sys.argv[1] == "digests":
        print(json.dumps(digests(int(sys.argv[2]))))


# --- files: the container frames the context codec's stream (format version 4) ---------


def test_files_round_trip_and_name_their_kind(context_model):
    from aecodec.codec import compress, decompress, read_header, synthesis

    x = sample_image()[0]
    with context_model.at_lambda(0.004):
        data = compress(context_model, x)
    header = read_header(data)
    assert header["kind"] == "context" and abs(header["lmbda"] - 0.004) < 1e-9
    x_hat = decompress(context_model, data)
    decoded = context_model.decompress_latents(header["stream"],
                                               context_model.latent_shapes(*x.shape[-2:]))
    with context_model.at_lambda(header["lmbda"]):
        expected = synthesis(context_model, decoded["y_hat"], tuple(x.shape[-2:]))[0]
    assert torch.equal(x_hat, expected)
    assert abs(context_model.lmbda - 0.0067) < 1e-9  # decoding left it unchanged (float32)


def test_a_context_file_is_refused_by_the_variable_rate_codec(context_model,
                                                              shipped_variable_rate):
    from aecodec.codec import compress, decompress

    data = compress(context_model, sample_image(64, 64)[0])
    with pytest.raises(CodecError, match="context"):
        decompress(shipped_variable_rate, data)


def test_refined_latents_code_and_decode(context_model):
    from aecodec.codec import compress, decompress
    from aecodec.refine import refine_latents

    x = sample_image(64, 64)[0]
    latents = refine_latents(context_model, x, steps=3)
    data = compress(context_model, x, latents=latents)
    assert decompress(context_model, data).shape == x.shape


def test_integer_layer_is_exact_and_takes_channels_last_weights():
    from aecodec.models.context import FIXED_BITS, WEIGHT_BITS, integer_layer

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 4, 3)
    columns = torch.round(torch.randn(6 * 9, 50, dtype=torch.float64) * 2**FIXED_BITS)
    out = integer_layer(conv, columns)
    weight = torch.round(conv.weight.detach().double() * 2**WEIGHT_BITS).view(4, -1)
    bias = torch.round(conv.bias.detach().double() * 2**(WEIGHT_BITS + FIXED_BITS))
    exact = (weight.long() @ columns.long() + bias.long()[:, None]) // 2**WEIGHT_BITS
    assert torch.equal(out.long(), exact)  # float64 holds every partial sum exactly
    conv.to(memory_format=torch.channels_last)  # as training may leave it
    assert torch.equal(integer_layer(conv, columns), out)
