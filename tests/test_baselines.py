"""The JPEG, WebP and AVIF baselines: real bytes at their best ordinary settings, and the best
JPEG under a budget."""

import pytest
import torch

from aecodec.baselines import (
    decode_image_bytes,
    encode_avif,
    encode_jpeg,
    encode_webp,
    jpeg_at_most,
    jpeg_curve,
)
from aecodec.data import load_sample
from aecodec.images import tensor_to_image
from aecodec.metrics import psnr


@pytest.fixture(scope="module")
def x():
    return load_sample("coffee")[:, :200, :300]


def test_jpeg_webp_and_avif_round_trip(x):
    for data in (encode_jpeg(x, 90), encode_webp(x, 90), encode_avif(x, 90),
                 encode_avif(x, 90, subsampling="4:2:0")):
        x_hat = decode_image_bytes(data)
        assert x_hat.shape == x.shape
        assert psnr(x, x_hat) > 30


def test_best_jpeg_under_a_budget(x):
    budget = 6000
    x_hat, size, quality = jpeg_at_most(x, budget)
    assert size <= budget
    assert len(encode_jpeg(x, quality + 1)) > budget, "the next quality up would not fit"
    assert size == len(encode_jpeg(x, quality))
    assert psnr(x, x_hat) == pytest.approx(psnr(x, decode_image_bytes(encode_jpeg(x, quality))))


def test_budget_below_quality_1(x):
    _, size, quality = jpeg_at_most(x, 10)
    assert quality == 1 and size > 10  # reported honestly, not hidden


def test_curve_grows_with_quality(x):
    curve = jpeg_curve(x, qualities=(10, 50, 90))
    sizes = [size for _, size, _ in curve]
    quality = [psnr(x, x_hat) for _, _, x_hat in curve]
    assert sizes == sorted(sizes) and quality == sorted(quality)
    assert torch.all(curve[0][2] >= 0)


def test_jpeg_uses_optimized_huffman_tables(x):
    """The same pixels as Pillow's default standard tables, in fewer bytes."""
    import io

    for quality in (5, 50):
        buffer = io.BytesIO()
        tensor_to_image(x).save(buffer, format="JPEG", quality=quality)
        plain = buffer.getvalue()
        optimized = encode_jpeg(x, quality)
        assert len(optimized) < len(plain)
        assert torch.equal(decode_image_bytes(optimized), decode_image_bytes(plain))


def test_avif_in_444_keeps_the_colour_that_420_halves(x):
    full, half = encode_avif(x, 60), encode_avif(x, 60, subsampling="4:2:0")
    assert psnr(x, decode_image_bytes(full)) > psnr(x, decode_image_bytes(half))
