"""The benchmark scripts behind `make bench` still run against the shipped models.

Only that they run and report every shipped model: their numbers are measurements for
benchmarks/README.md, not test targets.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aecodec.recipes import RD_LAMBDAS, RD_SMALL, RD_WIDE

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


TIMEOUT_S = 900  # a hang fails; a machine busy with other work (load 8 on 2 cores) does not


def run(script: str, *args: str, env: dict | None = None) -> str:
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args],
                            capture_output=True, text=True, timeout=TIMEOUT_S,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_codec_speed_reports_every_shipped_codec(kodak_dir, tmp_path):
    out = tmp_path / "codec_speed.md"
    run("codec_speed.py", "--kodak", str(kodak_dir), "--limit", "1", "--out", str(out))
    table = out.read_text()
    for lmbda in RD_LAMBDAS:
        assert f"| aecodec lambda={lmbda} |" in table
    assert "| JPEG q75 |" in table and "| WebP q75 |" in table


def test_training_speed_names_the_recipe_it_times(kodak_dir, tmp_path):
    out = tmp_path / "training_speed.md"
    run("training_speed.py", "--kodak", str(kodak_dir), "--steps", "1", "--out", str(out))
    table = out.read_text()
    for r in (RD_SMALL.model, RD_WIDE.model):
        name = f"C={r.latent_channels}, k={r.downsamplings}, N={r.hidden_channels}"
        assert f"| RateDistortionAutoencoder {name} |" in table


def test_explorer_speed_moves_through_the_shipped_settings(kodak_dir):
    printed = run("explorer_speed.py", env={"AECODEC_KODAK": str(kodak_dir)})
    for lmbda in (RD_LAMBDAS[1], RD_LAMBDAS[-1]):
        assert f"lmbda -> {lmbda}:" in printed
    assert printed.count("new image (coffee)") == 2


def test_cli_startup_times_each_command_against_import_torch(tmp_path):
    out = tmp_path / "cli_startup.md"
    run("cli_startup.py", "--repeat", "1", "--out", str(out))
    table = out.read_text()
    for command in ("aecodec --help", 'python -c "import torch"', "aecodec compress --help"):
        assert f"| `{command}` |" in table
    reference = next(line for line in table.splitlines() if "import torch\"` |" in line)
    assert reference.endswith("| 1.00 |")


def small_train_folder(kodak_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "train"
    folder.mkdir()
    for name in ("kodim01.png", "kodim02.png"):
        (folder / name).write_bytes((kodak_dir / name).read_bytes())
    return folder


def test_hyperprior_variants_compares_both_at_equal_steps(kodak_dir, tmp_path):
    out = tmp_path / "variants.md"
    run("hyperprior_variants.py", "--train", str(small_train_folder(kodak_dir, tmp_path)),
        "--kodak", str(kodak_dir), "--steps", "2", "--limit", "1", "--work",
        str(tmp_path / "work"), "--out", str(out))
    table = out.read_text()
    assert "| scale-only |" in table and "| mean-scale |" in table and "2 steps" in table


def test_bf16_training_times_every_recipe_and_trains_both_precisions(kodak_dir, tmp_path):
    out = tmp_path / "bf16.md"
    run("bf16_training.py", "--train", str(small_train_folder(kodak_dir, tmp_path)),
        "--kodak", str(kodak_dir), "--steps", "2", "--timed", "1", "--limit", "1",
        "--out", str(out))
    table = out.read_text()
    for name in ("RD_SMALL", "RD_WIDE", "HYPERPRIOR"):
        assert f"| {name} |" in table
    assert "| float32 |" in table and "| bfloat16 |" in table


def test_refine_gain_measures_every_family(kodak_dir, tmp_path):
    out = tmp_path / "refine.md"
    run("refine_gain.py", "--kodak", str(kodak_dir), "--limit", "1", "--steps", "1",
        "--out", str(out))
    table = out.read_text()
    for family in ("factorized", "hyperprior"):
        assert f"| {family} | 0 |" in table and f"| {family} | 1 |" in table


def test_refine_vs_baselines_places_every_refined_curve(kodak_dir, tmp_path):
    out = tmp_path / "vs.md"
    run("refine_vs_baselines.py", "--kodak", str(kodak_dir), "--out", str(out))
    table = out.read_text()
    for family in ("factorized", "hyperprior"):
        for steps in (0, 20, 80):
            assert f"| {family} {steps} | " in table


def test_variable_rate_scores_every_setting_beside_the_family(kodak_dir, tmp_path):
    out = tmp_path / "variable_rate.md"
    run("variable_rate.py", "--kodak", str(kodak_dir), "--limit", "1", "--out", str(out))
    table = out.read_text()
    assert table.count("| variable rate |") == 4 and table.count("(between) |") == 3
    for lmbda in RD_LAMBDAS:
        assert f"| family, hp_lambda{lmbda}.pt |" in table
    assert "against the family:" in table
    for suffix in (".png", ".json"):
        assert (tmp_path / f"variable_rate{suffix}").is_file()


def test_rd_recipe_trains_every_curve_and_compares_them(kodak_dir, tmp_path):
    out = tmp_path / "bench_recipe"
    run("rd_recipe.py", "--data", str(small_train_folder(kodak_dir, tmp_path)),
        "--kodak", str(kodak_dir), "--limit", "1", "--minutes", "0.02", "--threads", "1",
        "--refine", "1", "--reference", "none", "--out", str(out))
    table = (out / "results.md").read_text()
    for curve in ("aecodec", "aecodec + refine 1", "aecodec previous"):
        for lmbda in RD_LAMBDAS:
            assert f"| {curve} | lambda={lmbda} |" in table
    assert "| aecodec vs JPEG |" in table and "| aecodec previous vs JPEG |" in table
    assert sorted(p.name for p in (out / "aecodec").iterdir()) == sorted(
        f"rd_lambda{lmbda}.pt" for lmbda in RD_LAMBDAS)
    assert (out / "results.png").is_file()


def test_learning_rate_scores_every_rate(kodak_dir, tmp_path):
    out = tmp_path / "learning_rate.md"
    run("learning_rate.py", "--train", str(small_train_folder(kodak_dir, tmp_path)),
        "--kodak", str(kodak_dir), "--minutes", "0.01", "--lrs", "2e-3", "7e-3",
        "--threads", "1", "--limit", "1", "--out", str(out))
    table = out.read_text()
    assert "| 0.002 |" in table and "| 0.007 |" in table


def test_the_default_codec_trains_resumably_and_its_output_verifies(kodak_dir, tmp_path):
    """`make train-device`'s command, on the CPU with a tiny budget, then `make
    verify-codec`'s check of what it wrote."""
    from PIL import Image

    data = tmp_path / "photos"
    data.mkdir()
    for i, name in enumerate(["kodim01.png", "kodim23.png"]):
        with Image.open(kodak_dir / name) as im:
            im.crop((0, 0, 160, 160)).save(data / f"p{i}.png")
    out = tmp_path / "codec.pt"
    command = [sys.executable, "-m", "aecodec", "zoo-train-default", "--data", str(data),
               "--minutes", "0.02", "--device", "cpu", "--threads", "1", "--batch-size", "2",
               "--patch-size", "64", "--out", str(out)]
    for _ in range(2):  # the second run finds the budget spent and only writes the weights
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    assert Path(str(out) + ".training").is_file()
    printed = run("verify_codec.py", str(out), "--image", str(data / "p0.png"))
    assert '"model": "VariableRateCheckerboard"' in printed
    assert "on 1 and 2 threads: True" in printed


def test_default_codec_scores_it_beside_its_start_and_the_baselines(kodak_dir, tmp_path):
    from aecodec import zoo

    out = tmp_path / "default.md"
    run("default_codec.py", "--kodak", str(kodak_dir), "--limit", "1", "--model",
        str(zoo.default_path()), "--out", str(out))
    table = out.read_text()
    for lmbda in zoo.DEFAULT_QUALITIES.values():
        assert f"| default (context) | {lmbda:.5g} |" in table
    assert "against WebP" in table and "against AVIF 4:4:4" in table
    assert (tmp_path / "default_trajectory.json").is_file()


def test_context_control_trains_both_at_equal_cpu_time(kodak_dir, tmp_path):
    out = tmp_path / "control.md"
    run("context_control.py", "--kodak", str(kodak_dir), "--steps", "1", "--images", "1",
        "--data", str(kodak_dir), "--out", str(out))
    table = out.read_text()
    assert "| context | 1 |" in table and "| no context |" in table
    assert "BD-rate of the context model against the control" in table


def test_context_correlation_measures_both_candidates(kodak_dir, tmp_path):
    out = tmp_path / "corr.md"
    run("context_correlation.py", "--kodak", str(kodak_dir), "--images", "2", "--out", str(out))
    table = out.read_text()
    for lmbda in ("0.0018", "0.0067", "0.013"):  # one row per lambda
        assert f"\n| {lmbda} | " in table


def test_the_default_codec_fine_tunes_at_the_learning_rate_given(kodak_dir, tmp_path):
    """`--start` a trained default codec and `--lr` lower than the recipe's: the campaign's
    fine-tuning, and the class's own five-minute run."""
    import torch

    from aecodec import zoo
    from aecodec.recipes import DEFAULT_CODEC, default_codec_seconds, train_default_codec
    from aecodec.training import load_checkpoint

    data = tmp_path / "photos"
    data.mkdir()
    from PIL import Image
    with Image.open(kodak_dir / "kodim23.png") as im:
        im.crop((0, 0, 96, 96)).save(data / "p.png")
    out = tmp_path / "tuned.pt"
    threads = torch.get_num_threads()
    try:
        train_default_codec(data, out, minutes=0.01, start=zoo.default_path(), batch_size=1,
                            patch_size=64, lr=DEFAULT_CODEC.lr / 10, progress=False)
    finally:
        torch.set_num_threads(threads)
    training = load_checkpoint(str(out) + ".training")["training"]
    recipe = training["recipe"]
    assert recipe["lr"] == DEFAULT_CODEC.lr / 10
    assert recipe["warm_start"] == str(zoo.default_path())
    # the hours behind it count the shipped codec's, which it went on from
    shipped = default_codec_seconds(zoo.default_path())
    assert shipped > 3600 and recipe["prior_seconds"] == shipped
    assert default_codec_seconds(out) == pytest.approx(shipped + training["seconds"])
    assert default_codec_seconds(zoo.variable_rate_path()) == 0.0  # counted in the chain


def test_the_default_codec_takes_a_budget_in_steps(kodak_dir, tmp_path):
    """A step budget gives short runs the same work whatever the machine's load; no budget
    at all is a clear error, not a run that never ends."""
    import torch
    from PIL import Image

    from aecodec.recipes import train_default_codec
    from aecodec.training import load_checkpoint

    data = tmp_path / "photos"
    data.mkdir()
    with Image.open(kodak_dir / "kodim23.png") as im:
        im.crop((0, 0, 96, 96)).save(data / "p.png")
    with pytest.raises(ValueError, match="needs a budget"):
        train_default_codec(data, tmp_path / "none.pt")
    threads = torch.get_num_threads()
    try:
        train_default_codec(data, tmp_path / "two.pt", steps=2, batch_size=1, patch_size=64,
                            progress=False)
    finally:
        torch.set_num_threads(threads)
    assert load_checkpoint(str(tmp_path / "two.pt") + ".training")["training"]["step"] == 2
    assert load_checkpoint(tmp_path / "two.pt")["training"]["recipe"]["steps"] == 2


def test_default_recipe_gives_every_variant_the_same_training_pixels(kodak_dir, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from default_recipe import VARIANTS, run_steps
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert run_steps({}, 1000) == 1000
    assert run_steps({"batch_size": 16}, 1000) == 500
    assert run_steps({"patch_size": 256, "batch_size": 2}, 1000) == 1000
    assert "recipe" in VARIANTS and "recipe, seed 1" in VARIANTS  # the chance control
    from PIL import Image

    data = tmp_path / "photos"
    data.mkdir()
    with Image.open(kodak_dir / "kodim23.png") as im:
        im.crop((0, 0, 160, 160)).save(data / "p.png")
    out = tmp_path / "recipe.md"
    run("default_recipe.py", "--train", str(data), "--kodak", str(kodak_dir), "--steps", "2",
        "--limit", "1", "--runs", str(tmp_path / "runs"), "--out", str(out),
        "--only", "batch 16", "lambdas log-uniform")
    table = out.read_text()
    assert "| batch 16 | 1 |" in table  # half the steps of the recipe's batches
    assert "| lambdas log-uniform | 2 |" in table


def test_finetune_exercise_scores_both_codecs_on_seen_and_held_out_photos(kodak_dir, tmp_path):
    from PIL import Image

    photos = tmp_path / "class"
    photos.mkdir()
    for name in ("kodim01", "kodim02", "kodim23"):
        with Image.open(kodak_dir / f"{name}.png") as im:
            im.crop((0, 0, 128, 128)).save(photos / f"{name}.png")
    out = tmp_path / "exercise.md"
    run("finetune_exercise.py", "--photos", str(photos), "--seen", "2", "--steps", "1",
        "--out", str(out))
    table = out.read_text()
    assert "| seen |" in table and "| held out |" in table and "(1 steps) on 2 photos" in table
    result = subprocess.run([sys.executable, str(BENCHMARKS / "finetune_exercise.py"),
                             "--photos", str(photos), "--seen", "3", "--steps", "1"],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode != 0 and "--seen must leave photos on both sides" in result.stderr


def test_refine_default_resumes_and_refuses_another_step_count(kodak_dir, tmp_path):
    import json

    out = tmp_path / "refine_default.md"
    run("refine_default.py", "--kodak", str(kodak_dir), "--limit", "1", "--steps", "1",
        "--out", str(out))
    table = out.read_text()
    assert "| the encoder's latents | +0.0% |" in table and "| refined, 1 steps |" in table
    results = json.loads(out.with_suffix(".json").read_text())
    assert len(results["pairs"]) == 6  # the default codec's 6 qualities x 1 image
    pair = next(iter(results["pairs"].values()))
    assert pair["plain"]["bpp"] > 0 and pair["refined"]["psnr"] > 20
    # resumed: every pair is already in, so nothing is measured again
    marked = {k: dict(v, mark=True) for k, v in results["pairs"].items()}
    out.with_suffix(".json").write_text(json.dumps(dict(results, pairs=marked)))
    run("refine_default.py", "--kodak", str(kodak_dir), "--limit", "1", "--steps", "1",
        "--out", str(out))
    again = json.loads(out.with_suffix(".json").read_text())
    assert all(p.get("mark") for p in again["pairs"].values())
    result = subprocess.run([sys.executable, str(BENCHMARKS / "refine_default.py"),
                             "--kodak", str(kodak_dir), "--limit", "1", "--steps", "2",
                             "--out", str(out)], capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode != 0 and "holds a run of 1 steps, not 2" in result.stderr
