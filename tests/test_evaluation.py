"""Bjøntegaard deltas on curves whose answer is known, and the evaluation run end to end."""

import json
import math

import numpy as np
import pytest
import torch

from aecodec.codec import compress
from aecodec.evaluation import bd_psnr, bd_rate, evaluate_codecs, rd_figure, results_markdown
from aecodec.models import RateDistortionAutoencoder

ANCHOR = [(0.25, 26.0), (0.5, 29.0), (1.0, 32.5), (2.0, 36.0)]


def test_bd_rate_of_a_curve_using_80_percent_of_the_bits_is_minus_20():
    test = [(r * 0.8, p) for r, p in ANCHOR]
    assert bd_rate(ANCHOR, test) == pytest.approx(-20.0, abs=1e-6)
    assert bd_rate(test, ANCHOR) == pytest.approx(25.0, abs=1e-6)  # 1 / 0.8 = 1.25


def test_bd_psnr_of_a_curve_one_db_higher_is_plus_one():
    test = [(r, p + 1.0) for r, p in ANCHOR]
    assert bd_psnr(ANCHOR, test) == pytest.approx(1.0, abs=1e-6)
    assert bd_rate(ANCHOR, ANCHOR) == pytest.approx(0.0, abs=1e-9)


def test_dominated_points_are_dropped_before_fitting():
    from aecodec.evaluation import pareto_front

    test = [(r * 0.8, p) for r, p in ANCHOR]
    dipping = test + [(0.9, 31.0)]  # more bits than (0.8, 32.5), less quality: dominated
    assert pareto_front(dipping) == sorted(test)
    assert bd_rate(ANCHOR, dipping) == pytest.approx(-20.0, abs=1e-6)
    assert bd_psnr(ANCHOR, dipping) == pytest.approx(bd_psnr(ANCHOR, test), abs=1e-9)


def test_curves_that_do_not_overlap():
    far = [(r, p + 20) for r, p in ANCHOR]
    assert math.isnan(bd_rate(ANCHOR, far))
    with pytest.raises(ValueError, match="at least 2 points"):
        bd_rate(ANCHOR, [(1.0, 30.0)])


def test_evaluate_codecs_end_to_end(tmp_path):
    torch.manual_seed(0)
    models = {}
    for lmbda in (0.001, 0.01):
        m = RateDistortionAutoencoder(4, 2, 8, lmbda=lmbda).eval()
        m.prior.update_tables()
        models[f"lambda={lmbda}"] = m
    images = {"a": torch.rand(3, 40, 48), "b": torch.rand(3, 32, 32)}
    results = evaluate_codecs(images, models, jpeg_qualities=(20, 80), webp_qualities=(20, 80),
                              avif_qualities=(30, 70), progress=False)
    assert set(results["curves"]) == {"JPEG", "WebP", "AVIF 4:4:4", "AVIF 4:2:0", "aecodec"}
    avif = results["curves"]["AVIF 4:4:4"]
    assert avif[0]["bpp"] < avif[1]["bpp"] and avif[0]["psnr"] < avif[1]["psnr"]
    jpeg = results["curves"]["JPEG"]
    assert jpeg[0]["bpp"] < jpeg[1]["bpp"] and jpeg[0]["psnr"] < jpeg[1]["psnr"]
    point = results["curves"]["aecodec"][0]
    per_image = point["images"]
    assert point["bpp"] == pytest.approx((per_image["a"]["bpp"] + per_image["b"]["bpp"]) / 2)
    assert "aecodec vs JPEG" in results["bd"]
    json.dumps(results)  # the whole result can be written as JSON
    table = results_markdown(results)
    assert "| JPEG | 20 |" in table and "BD-rate" in table
    rd_figure(results).savefig(tmp_path / "rd.png")


def test_other_codecs_are_scored_from_their_real_bytes():
    images = {"a": torch.rand(3, 40, 48)}

    def grey(x):  # a "codec" that writes 10 bytes and decodes to mid-grey
        return 10, torch.full_like(x, 0.5)

    results = evaluate_codecs(images, {}, jpeg_qualities=(20, 80), webp_qualities=(20,),
                              avif_qualities=(), progress=False, others={"grey": {"only": grey}})
    (point,) = results["curves"]["grey"]
    assert point["setting"] == "only"
    assert point["bpp"] == pytest.approx(8 * 10 / (40 * 48))
    expected = -10 * math.log10(float(((images["a"] - 0.5) ** 2).mean()))
    assert point["psnr"] == pytest.approx(expected, abs=1e-4)


# Measured on Kodak: Pillow JPEG, and a codec trained for 12 minutes whose curve flattens
# at the top (its last two points are 0.02 dB apart).
JPEG_KODAK = [(0.173, 21.48), (0.182, 21.68), (0.200, 22.81), (0.221, 23.85), (0.327, 26.67),
              (0.508, 29.14), (0.660, 30.49), (0.786, 31.42)]
FLAT_TOP = [(0.214, 26.53), (0.338, 27.50), (0.476, 28.01), (0.607, 28.03)]


def test_a_curve_that_flattens_gets_a_bd_rate_that_agrees_with_its_bd_psnr():
    assert bd_psnr(JPEG_KODAK, FLAT_TOP) > 0.3  # above JPEG at equal rates
    assert -30 < bd_rate(JPEG_KODAK, FLAT_TOP) < 0  # so it saves bits at equal quality
    # one cubic fitted through each curve (the method's first version) says +190%
    lo, hi = 26.53, 28.03
    assert cubic_bd_rate(JPEG_KODAK, FLAT_TOP, lo, hi) > 100


def cubic_bd_rate(anchor, test, lo, hi):
    def mean_log_rate(points):
        x, y = np.array([p for _, p in points]), np.log([r for r, _ in points])
        integral = np.polyint(np.polyfit(x, y, 3))
        return (np.polyval(integral, hi) - np.polyval(integral, lo)) / (hi - lo)
    return (math.exp(mean_log_rate(test) - mean_log_rate(anchor)) - 1) * 100


def test_piecewise_cubic_passes_through_the_points_and_stays_monotone():
    from aecodec.evaluation import _mean_of_curve

    x, y = np.array([26.0, 29.0, 32.5, 36.0, 36.02]), np.log([0.2, 0.4, 0.8, 1.6, 2.08])
    for k in range(len(x) - 1):  # the mean over a tiny interval is the value at a point
        assert _mean_of_curve(x, y, x[k], x[k] + 1e-6) == pytest.approx(y[k], abs=1e-4)
    means = [_mean_of_curve(x, y, a, a + 0.01) for a in np.linspace(26, 36, 200)]
    assert means == sorted(means)  # no overshoot, no dip


# --- bits_map: where a file's bits go ------------------------------------------------------


@pytest.mark.parametrize("family", ["factorized", "hyperprior"])
def test_bits_map_adds_up_to_the_stream_and_puts_bits_where_the_detail_is(family):
    """Counted with the file's own tables, the bits must add up to the range-coded stream
    (which spends them, up to a few bytes); and a shipped codec spends more on noise than
    on a flat area."""
    from aecodec import zoo
    from aecodec.codec import read_header
    from aecodec.evaluation import bits_map

    model = zoo.load_codec(3, family)
    generator = torch.Generator().manual_seed(0)
    x = torch.full((3, 128, 192), 0.5)
    x[:, :, :96] = torch.rand(3, 128, 96, generator=generator)  # noise left, flat right
    data = compress(model, x)
    bits = bits_map(model, data)
    stream_bits = 8 * len(read_header(data)["stream"])
    assert abs(bits["total"] - stream_bits) <= 0.002 * stream_bits + 64
    assert bits["y"].shape == (16, 24) and bits["per_channel"].shape == (64,)
    assert float(bits["per_channel"].sum()) + bits["z"] == pytest.approx(bits["total"], rel=1e-5)
    assert (bits["z"] > 0) == (family == "hyperprior")
    left, right = bits["y"][:, :11].mean(), bits["y"][:, 13:].mean()
    assert left > 4 * right


def test_bits_map_counts_an_escaped_value_at_its_real_cost():
    """A value far outside its table costs the escape symbol and 32 bits more."""
    from aecodec.codec import read_header
    from aecodec.evaluation import bits_map
    from aecodec.models import RateDistortionAutoencoder

    torch.manual_seed(0)
    model = RateDistortionAutoencoder(latent_channels=4, downsamplings=2, hidden_channels=8)
    model.prior.update_tables()
    model.eval()
    latents = {"y": torch.zeros(1, 4, 4, 4)}
    x = torch.rand(3, 16, 16)
    plain = bits_map(model, compress(model, x, latents=latents))
    latents["y"][0, 1, 2, 3] = 5000.0
    escaped_file = compress(model, x, latents=latents)
    escaped = bits_map(model, escaped_file)
    assert escaped["y"][2, 3] - plain["y"][2, 3] > 32
    assert abs(escaped["total"] - 8 * len(read_header(escaped_file)["stream"])) <= 64
