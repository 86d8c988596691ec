"""The codec's command line end to end: train --lambda, compress, decompress, evaluate."""

import json

import pytest

from aecodec.checkpoint import load_model
from aecodec.cli import main
from aecodec.codec import decompress
from aecodec.images import load_image
from aecodec.metrics import bpp, psnr


@pytest.fixture(scope="module")
def codec_model(tmp_path_factory, kodak_dir):
    """A small rate-distortion model trained by the CLI (a few seconds)."""
    data = tmp_path_factory.mktemp("data")
    (data / "kodim05.png").write_bytes((kodak_dir / "kodim05.png").read_bytes())
    out = tmp_path_factory.mktemp("models") / "codec.pt"
    assert main(["train", "--lambda", "0.01", "--data", str(data), "--latent-channels", "8",
                 "--downsamplings", "3", "--hidden-channels", "8", "--steps", "20",
                 "--batch-size", "4", "--patch-size", "32", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("image", ["kodim01.png", "kodim04.png"])  # landscape and portrait
def test_compress_then_decompress_a_kodak_image(codec_model, kodak_dir, tmp_path, capsys, image):
    aec, png = tmp_path / "x.aec", tmp_path / "x.png"
    assert main(["compress", str(kodak_dir / image), str(aec), "--model", str(codec_model)]) == 0
    x = load_image(kodak_dir / image)
    size = aec.stat().st_size
    printed = capsys.readouterr().out
    assert f"{size:,} bytes" in printed and f"{bpp(size, *x.shape[-2:]):.4f} bpp" in printed
    assert main(["decompress", str(aec), str(png), "--model", str(codec_model)]) == 0
    x_hat = load_image(png)
    assert x_hat.shape == x.shape
    expected = decompress(load_model(codec_model), aec.read_bytes())
    assert psnr(x, x_hat) == pytest.approx(psnr(x, expected), abs=1e-9)


def test_decompress_mistakes(codec_model, tmp_path, kodak_dir, capsys):
    (tmp_path / "bad.aec").write_bytes(b"AECZ this is not a real file at all")
    assert main(["decompress", str(tmp_path / "bad.aec"), str(tmp_path / "o.png"),
                 "--model", str(codec_model)]) == 1
    assert "aecodec: error:" in capsys.readouterr().err
    assert main(["decompress", str(tmp_path / "missing.aec"), str(tmp_path / "o.png")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    aec = tmp_path / "x.aec"
    main(["compress", str(kodak_dir / "kodim03.png"), str(aec), "--model", str(codec_model)])
    assert main(["decompress", str(aec), str(tmp_path / "o.png")]) == 1  # not a shipped model
    assert "pass the one that did with --model" in capsys.readouterr().err


def test_evaluate_writes_json_markdown_and_plot(codec_model, kodak_dir, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    (images / "kodim23.png").write_bytes((kodak_dir / "kodim23.png").read_bytes())
    out = tmp_path / "results"
    assert main(["evaluate", "--images", str(images), "--models", str(codec_model),
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert {"JPEG", "WebP", "aecodec"} <= set(results["curves"])
    assert "| WebP |" in (out / "results.md").read_text()
    assert (out / "rd.png").read_bytes()[:4] == b"\x89PNG"
    assert "BD-rate" in capsys.readouterr().out


def test_train_with_lambda_takes_unset_options_from_the_recipe():
    from dataclasses import replace

    from aecodec.cli import build_parser, recipe_from_args
    from aecodec.recipes import PLAIN, RD_SMALL

    def parse(*options):
        return recipe_from_args(build_parser().parse_args(["train", "--out", "m.pt", *options]))

    assert parse("--lambda", "0.01") == replace(RD_SMALL, model=replace(RD_SMALL.model,
                                                                        lmbda=0.01))
    # an option that is given wins; without --lambda the plain recipe holds
    recipe = parse("--lambda", "0.01", "--latent-channels", "5", "--lr", "0.5")
    assert recipe.model.latent_channels == 5 and recipe.lr == 0.5
    assert recipe.model.hidden_channels == RD_SMALL.model.hidden_channels
    assert parse() == PLAIN
    assert parse("--no-gdn", "--batch-size", "3").model.gdn is False


def test_train_help_gives_both_defaults_and_never_none():
    from aecodec.cli import build_parser
    from aecodec.recipes import RD_SMALL

    subparsers = build_parser()._subparsers._group_actions[0].choices
    text = " ".join(subparsers["train"].format_help().split())
    assert "(default: None)" not in text
    assert f"(default: 16, or RD_SMALL's {RD_SMALL.model.latent_channels} with --lambda)" in text
    assert f"RD_SMALL's {RD_SMALL.lr} with --lambda" in text


def test_zoo_train_rd_trains_the_wide_recipe_with_the_sizes_given(monkeypatch, tmp_path):
    from dataclasses import replace

    from aecodec import cli, recipes, zoo
    from aecodec.recipes import RD_MINUTES, RD_WIDE

    calls = []  # the command imports train_rd_family when it runs: replaced in its module
    monkeypatch.setattr(recipes, "train_rd_family",
                        lambda data, out_dir, minutes, recipe: calls.append(
                            (out_dir, minutes, recipe)))
    assert cli.main(["zoo-train-rd", "--data", str(tmp_path)]) == 0
    assert calls[-1] == (zoo.models_dir(), RD_MINUTES, RD_WIDE)  # the shipped family
    assert cli.main(["zoo-train-rd", "--data", str(tmp_path), "--minutes", "3", "--out-dir",
                     str(tmp_path), "--latent-channels", "8", "--downsamplings", "2"]) == 0
    out_dir, minutes, recipe = calls[-1]
    assert (out_dir, minutes) == (str(tmp_path), 3)
    assert recipe == replace(RD_WIDE, model=replace(RD_WIDE.model, latent_channels=8,
                                                    downsamplings=2))


def test_zoo_train_hp_warm_starts_from_the_shipped_factorized_codecs(monkeypatch, tmp_path):
    from aecodec import cli, recipes, zoo

    calls = []
    monkeypatch.setattr(recipes, "train_hyperprior_family",
                        lambda data, factorized_dir, out_dir, minutes: calls.append(
                            (data, factorized_dir, out_dir, minutes)))
    assert cli.main(["zoo-train-hp", "--data", str(tmp_path), "--minutes", "8"]) == 0
    assert calls[-1] == (str(tmp_path), zoo.models_dir(), zoo.models_dir(), 8)
