"""Bjøntegaard deltas on curves whose answer is known, and the evaluation run end to end."""

import json
import math

import pytest
import torch

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
        m.update_tables()
        models[f"lambda={lmbda}"] = m
    images = {"a": torch.rand(3, 40, 48), "b": torch.rand(3, 32, 32)}
    results = evaluate_codecs(images, models, jpeg_qualities=(20, 80), webp_qualities=(20, 80),
                              progress=False)
    assert set(results["curves"]) == {"JPEG", "WebP", "aecodec"}
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
