"""The `aecodec` command end to end: train, reconstruct a Kodak image, info, bad input."""

import subprocess
import sys

import pytest
import torch
from PIL import Image

from aecodec.checkpoint import load_checkpoint
from aecodec.cli import main
from aecodec.images import load_image
from aecodec.metrics import psnr


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, kodak_dir):
    """A tiny model trained by the CLI on two Kodak images (a few seconds)."""
    data = tmp_path_factory.mktemp("data")
    for name in ("kodim05.png", "kodim09.png"):
        (data / name).write_bytes((kodak_dir / name).read_bytes())
    out = tmp_path_factory.mktemp("models") / "tiny.pt"
    status = main(["train", "--data", str(data), "--latent-channels", "8", "--downsamplings",
                   "2", "--hidden-channels", "16", "--steps", "30", "--batch-size", "4",
                   "--patch-size", "32", "--out", str(out)])
    assert status == 0 and out.is_file()
    return out


@pytest.mark.parametrize("image", ["kodim01.png", "kodim04.png"])  # landscape and portrait
def test_reconstruct_a_kodak_image(checkpoint, kodak_dir, tmp_path, capsys, image):
    out = tmp_path / "rec.png"
    assert main(["reconstruct", "--model", str(checkpoint), str(kodak_dir / image), str(out)]) == 0
    x, x_hat = load_image(kodak_dir / image), load_image(out)
    assert x_hat.shape == x.shape
    printed = capsys.readouterr().out
    assert f"PSNR {psnr(x, x_hat):.2f} dB" in printed
    assert "compression ratio 6.0:1" in printed  # 3 * (4 * 4) pixel values / 8 latent values


def test_info(checkpoint, capsys):
    assert main(["info", str(checkpoint)]) == 0
    printed = capsys.readouterr().out
    assert "latent_channels: 8" in printed and "trained steps: 30" in printed
    assert "8x128x192" in printed


def test_train_on_embedded_photos_by_default(tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert main(["train", "--steps", "2", "--batch-size", "2", "--patch-size", "16",
                 "--hidden-channels", "8", "--out", str(out)]) == 0
    assert "embedded sample photos" in capsys.readouterr().err
    assert out.is_file()


def test_train_for_a_time_budget_saves_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert main(["train", "--minutes", "0.02", "--lambda", "0.01", "--batch-size", "2",
                 "--patch-size", "32", "--hidden-channels", "8", "--latent-channels", "8",
                 "--warmup", "0.1", "--out", str(out)]) == 0
    saved = load_checkpoint(out)
    assert saved["training"]["seconds"] >= 1.2 and saved["training"]["step"] >= 1
    assert saved["config"]["lmbda"] == 0.01


def run_cli(*args):
    """Run the installed console script in a fresh process, like a user would."""
    return subprocess.run([sys.executable, "-m", "aecodec", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("make_args, message", [
    (lambda t, c: ["reconstruct", "--model", str(t / "missing.pt"), "a.png", "b.png"],
     "no such checkpoint"),
    (lambda t, c: ["reconstruct", "--model", str(c), str(t / "missing.png"), str(t / "o.png")],
     "no such file"),
    (lambda t, c: ["reconstruct", "--model", str(c), str(t / "text.png"), str(t / "o.png")],
     "not an image"),
    (lambda t, c: ["reconstruct", "--model", str(t / "text.png"), str(t / "text.png"), "o.png"],
     "not a readable checkpoint"),
    (lambda t, c: ["info", str(t / "text.png")], "not a readable checkpoint"),
    (lambda t, c: ["train", "--data", str(t / "empty"), "--out", str(t / "m.pt")],
     "no .png/.jpg/.jpeg images"),
])
def test_user_mistakes_give_one_clear_line(tmp_path, checkpoint, make_args, message):
    (tmp_path / "text.png").write_text("this is text, not a picture")
    (tmp_path / "empty").mkdir()
    result = run_cli(*make_args(tmp_path, checkpoint))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("aecodec: error:") and message in result.stderr


def test_bad_option_values_are_argparse_errors():
    result = run_cli("train", "--steps", "-3", "--out", "x.pt")
    assert result.returncode == 2 and "must be a positive integer" in result.stderr


@pytest.mark.parametrize("command", [[], ["train"], ["reconstruct"], ["info"],
                                     ["download-kodak"]])
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: aecodec" in capsys.readouterr().out


HEAVY = ("torch", "numpy", "nbformat", "jsonschema", "aecodec.course.classroom")


@pytest.mark.parametrize("args", [
    ["--help"], [], ["no-such-command"], ["decompress", "--help"], ["decompress"],
    ["classroom", "build", "--help"], ["info", "--help"], ["evaluate", "--no-such-option"],
    ["compress", "--help"], ["compress"], ["compress", "in.png", "out.aec", "--quality", "9"],
    ["download-kodak", "--help"], ["train", "--help"], ["train", "--steps", "-3", "--out", "x.pt"],
    ["zoo-train", "--help"], ["zoo-train-rd", "--help"], ["zoo-train-hp", "--help"],
    ["zoo-train-vr", "--help"], ["zoo-train-default", "--help"],
])
def test_help_and_argument_errors_import_neither_torch_nor_the_course(args):
    """`aecodec --help` answers like a tool: PyTorch (seconds to import) and nbformat are
    imported by the commands that use them, when they run."""
    script = ("import sys\n"
              "from aecodec.cli import main\n"
              "try:\n"
              f"    main({args!r})\n"
              "except SystemExit as e:\n"
              "    print('exit', e.code)\n"
              f"print('imported', [m for m in {HEAVY!r} if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.splitlines()[-1] == "imported []", result.stdout + result.stderr
    assert result.stdout.splitlines()[-2] == f"exit {0 if '--help' in args else 2}"


def test_the_settings_help_shows_are_the_recipes():
    """catalogue's copies of the recipe settings (shown by --help without PyTorch) equal the
    recipes', and so do the budgets."""
    from aecodec import catalogue, recipes

    for name, settings in catalogue.RECIPE_SETTINGS.items():
        recipe = getattr(recipes, name)
        for key, value in settings.items():
            actual = getattr(recipe.model if hasattr(recipe.model, key) else recipe, key)
            assert actual == value, f"catalogue.RECIPE_SETTINGS[{name!r}][{key!r}]"
    for key in ("latent_channels", "downsamplings", "hidden_channels", "batch_size",
                "patch_size", "lr", "warmup"):  # every option `aecodec train` documents
        assert key in catalogue.RECIPE_SETTINGS["PLAIN"]
        assert key in catalogue.RECIPE_SETTINGS["RD_SMALL"]
    assert recipes.PLAIN_STEPS is catalogue.PLAIN_STEPS


def test_train_help_shows_the_recipe_defaults(capsys):
    from aecodec.recipes import PLAIN, RD_SMALL

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {PLAIN.lr}, or RD_SMALL's {RD_SMALL.lr} with --lambda)" in text
    assert (f"(default: {PLAIN.model.latent_channels}, or RD_SMALL's "
            f"{RD_SMALL.model.latent_channels} with --lambda)") in text


def test_the_console_script_module_imports_nothing_heavy():
    code = ("import sys, aecodec, aecodec.cli, aecodec.errors\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_the_package_names_are_imported_when_asked():
    import aecodec
    from aecodec import compress, decompress, load_image, psnr, zoo
    from aecodec.codec import compress as codec_compress

    assert compress is codec_compress and callable(decompress) and callable(load_image)
    assert aecodec.metrics.psnr is psnr and zoo.DEFAULT_QUALITY in zoo.QUALITIES
    assert set(aecodec.__all__) <= set(dir(aecodec))
    assert all(getattr(aecodec, name) is not None for name in aecodec.__all__)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        aecodec.no_such_name  # noqa: B018


def test_a_command_imports_what_it_uses(tmp_path):
    """The other side: a command that runs imports what it needs (here nbformat)."""
    code = ("import sys\n"
            "from aecodec.cli import main\n"
            f"main(['classroom', 'build', {str(tmp_path / 'student')!r}])\n"
            "print('nbformat' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.stdout.splitlines()[-1] == "True", result.stdout + result.stderr


def test_reconstruct_writes_nothing_on_failure(tmp_path, checkpoint):
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (3, 2), (10, 200, 30)).save(tiny)
    out = tmp_path / "out.png"
    assert main(["reconstruct", "--model", str(checkpoint), str(tiny), str(out)]) == 0
    assert load_image(out).shape == (3, 2, 3)  # even a 3x2 image works
    bad_out = tmp_path / "out.unknown"
    assert main(["reconstruct", "--model", str(checkpoint), str(tiny), str(bad_out)]) == 1
    assert not bad_out.exists()
    assert torch.all(load_image(out) >= 0)
