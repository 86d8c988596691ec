"""The latent-size explorer, driven from Python: controls change what is shown, to the
values the Python API gives."""

import io
import math
from datetime import UTC, datetime

import pytest
import torch
from PIL import Image

from aecodec.data import load_sample
from aecodec.latents8bit import reconstruct_8bit
from aecodec.metrics import psnr
from aecodec.models import Autoencoder
from aecodec.widgets import LatentExplorer, shrink


@pytest.fixture(scope="module")
def explorer():
    torch.manual_seed(0)
    models = {(c, 2): Autoencoder(c, 2, 8).eval() for c in (2, 4, 8)}
    return LatentExplorer(models, max_side=160)


def expected(explorer, name, c):
    """PSNR and ratio text that the Python API gives for this model and image."""
    x = shrink(load_sample(name), 160)[None]
    model = explorer.models[(c, 2)]
    x_hat, _ = reconstruct_8bit(model, x)
    return f"{psnr(x, x_hat):.2f} dB", f"{model.compression_ratio(*x.shape[-2:]):.1f}:1"


def test_controls_drive_the_view(explorer):
    assert explorer.channels.options == (2, 4, 8)
    assert explorer.channels.continuous_update is False  # updates on release
    explorer.image.value = "coffee"
    explorer.channels.value = 2
    first_picture, first_readout = explorer.picture.value, explorer.readout.value
    psnr_text, ratio_text = expected(explorer, "coffee", 2)
    assert psnr_text in first_readout and ratio_text in first_readout
    explorer.channels.value = 8
    assert explorer.picture.value != first_picture
    psnr_text_8, ratio_text_8 = expected(explorer, "coffee", 8)
    assert psnr_text_8 in explorer.readout.value and ratio_text_8 in explorer.readout.value
    assert ratio_text_8 != ratio_text
    explorer.image.value = "rocket"
    assert expected(explorer, "rocket", 8)[0] in explorer.readout.value


def test_results_are_cached(explorer):
    first = explorer.result("coffee", (4, 2))
    assert explorer.result("coffee", (4, 2)) is first


def test_jpeg_gets_the_same_bytes(explorer):
    r = explorer.result("coffee", (4, 2))
    assert r["jpeg_bytes"] <= r["bytes"] or r["jpeg_quality"] == 1
    assert f"{r['jpeg_psnr']:.2f} dB" in explorer.readout_html(r, explorer.load("coffee"))


def test_ms_ssim_is_filled_in_after_the_picture(explorer):
    from aecodec.metrics import ms_ssim

    explorer.image.value = "astronaut"  # 160x160 after shrinking: just under MS-SSIM's minimum
    assert "n/a (image too small)" in explorer.readout.value
    big = LatentExplorer(explorer.models, max_side=300)  # coffee becomes 200x300
    big.image.value = "coffee"
    x = big.load("coffee")
    expected = ms_ssim(x, big.result("coffee", (4, 2))["x_hat"])
    assert f"{expected:.4f}" in big.readout.value and "…" not in big.readout.value


def upload(explorer, name, content):
    explorer.upload.value = ({"name": name, "type": "image/png", "size": len(content),
                              "content": memoryview(content),
                              "last_modified": datetime.now(UTC)},)


def test_upload_an_image(explorer):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    upload(explorer, "red.png", buffer.getvalue())
    assert explorer.image.value == "upload: red.png"
    assert "image 40×30 px" in explorer.readout.value


def test_upload_a_broken_file_says_so(explorer):
    before = explorer.image.value
    upload(explorer, "notes.png", b"not an image at all")
    assert "Cannot use notes.png" in explorer.readout.value
    assert explorer.image.value == before


def test_kodak_images_are_offered(kodak_dir):
    models = {(2, 2): Autoencoder(2, 2, 8).eval()}
    explorer = LatentExplorer(models, kodak=kodak_dir, max_side=96)
    assert "Kodak kodim01" in explorer.image.options
    assert explorer.image.value == "Kodak kodim23"
    assert explorer.load("Kodak kodim04").shape == (3, 96, 64)  # portrait, shrunk


def test_rate_distortion_explorer_shows_real_files():
    from aecodec.codec import compress, decompress
    from aecodec.models import RateDistortionAutoencoder
    from aecodec.widgets import RateDistortionExplorer

    models = {}
    for lmbda in (0.001, 0.01):
        torch.manual_seed(0)
        m = RateDistortionAutoencoder(4, 2, 8, lmbda=lmbda).eval()
        m.prior.update_tables()
        models[lmbda] = m
    explorer = RateDistortionExplorer(models, max_side=120)
    assert explorer.lmbda.options == (0.001, 0.01)
    assert explorer.lmbda.continuous_update is False
    for lmbda in (0.001, 0.01):
        explorer.lmbda.value = lmbda
        x = shrink(load_sample(explorer.image.value), 120)
        data = compress(models[lmbda], x)
        expected = psnr(x, decompress(models[lmbda], data))
        assert f"{len(data):,} bytes" in explorer.readout.value
        assert f"{expected:.2f} dB" in explorer.readout.value
    webp = explorer.webp_points(explorer.image.value)
    assert len(webp) > 3 and webp[0]["bpp"] < webp[-1]["bpp"]


def test_rate_distortion_explorer_of_a_variable_rate_codec_has_a_continuous_knob():
    """One variable-rate model: the slider covers its trained range continuously, every
    setting is a real file at that lambda, and the bits map is that file's."""
    from aecodec.codec import compress, decompress, read_header
    from aecodec.evaluation import bits_map
    from aecodec.models import VariableRateHyperprior
    from aecodec.widgets import RateDistortionExplorer

    torch.manual_seed(0)
    model = VariableRateHyperprior(4, 2, 8, side_channels=4).eval()
    model.z_prior.update_tables()
    model.gaussian.update_tables()
    explorer = RateDistortionExplorer(model, max_side=96)
    assert explorer.lmbda.min == pytest.approx(math.log10(0.0018))
    assert explorer.lmbda.max == pytest.approx(math.log10(0.013))
    assert explorer.lmbda.continuous_update is False
    assert len(explorer.curve_lambdas) == 7 and explorer.curve_lambdas[-1] == 0.013
    explorer.lmbda.value = 0.0042
    lmbda = explorer.lmbda.value  # where the slider's steps put it
    assert 0.0035 < lmbda < 0.0067 and lmbda not in (0.0035, 0.0067)
    x = shrink(load_sample(explorer.image.value), 96)
    with model.at_lambda(lmbda):
        data = compress(model, x)
    assert read_header(data)["lmbda"] == pytest.approx(lmbda, rel=1e-6)
    assert f"{len(data):,} bytes" in explorer.readout.value
    assert f"{psnr(x, decompress(model, data)):.2f} dB" in explorer.readout.value
    r = explorer.result(explorer.image.value, lmbda)
    assert torch.equal(r["bits"], bits_map(model, data)["y"])
    assert model.lmbda == pytest.approx(0.0067)  # the explorer leaves the model as it was


def test_rate_distortion_explorer_starts_on_the_image_asked_for():
    from aecodec.models import VariableRateHyperprior
    from aecodec.widgets import RateDistortionExplorer

    torch.manual_seed(0)
    model = VariableRateHyperprior(4, 2, 8, side_channels=4).eval()
    model.z_prior.update_tables()
    model.gaussian.update_tables()
    explorer = RateDistortionExplorer(model, max_side=64, image="coffee")
    assert explorer.image.value == "coffee"
    assert "image 64×" in explorer.readout.value  # coffee is wider than tall: 64 x 43
    with pytest.raises(ValueError, match="no image 'kodim99' to explore"):
        RateDistortionExplorer(model, max_side=64, image="kodim99")


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


def test_computing_is_shown_while_an_update_works(explorer):
    """A change that has to compute says "computing…" and greys the picture until the new
    picture is there; one already seen (cached) shows neither."""
    seen = []
    watch = lambda change: seen.append(  # noqa: E731
        ("computing…" in explorer.status.value, "aecodec-busy" in explorer.picture._dom_classes,
         change["owner"] is explorer.picture))
    explorer.status.observe(watch, names="value")
    explorer.picture.observe(watch, names="value")
    try:
        explorer.image.value = "chelsea"
        explorer.channels.value = 4 if explorer.channels.value != 4 else 2
        assert seen[0] == (True, False, False)  # said so before the work
        assert (True, True, True) in seen  # greyed until the new picture came
        assert "computing…" not in explorer.status.value  # and no longer once done
        assert "aecodec-busy" not in explorer.picture._dom_classes
        seen.clear()
        explorer.image.value = "coffee"
        explorer.image.value = "chelsea"  # seen before: instant, nothing to say
        assert not any(busy for busy, _, _ in seen)
    finally:
        explorer.status.unobserve(watch, names="value")
        explorer.picture.unobserve(watch, names="value")


def test_building_shows_a_progress_bar(capsys):
    torch.manual_seed(0)
    LatentExplorer({(c, 2): Autoencoder(c, 2, 8).eval() for c in (2, 4)}, max_side=64)
    assert "building the explorer" in capsys.readouterr().err  # tqdm, a bar in a notebook


def test_downsamplings_are_offered_only_when_the_models_differ_in_it(explorer):
    assert explorer.downsamplings not in list(_descendants(explorer.widget))  # all k = 2
    torch.manual_seed(0)
    two = LatentExplorer({(2, 2): Autoencoder(2, 2, 8).eval(),
                          (2, 3): Autoencoder(2, 3, 8).eval()}, max_side=64)
    assert two.downsamplings in list(_descendants(two.widget))
    assert two.downsamplings.options == (2, 3) and not two.downsamplings.disabled


def test_a_notebook_keeps_a_still_picture_of_the_explorer(explorer):
    """Viewers without widgets (GitHub, an HTML export) show the figure, not `VBox(...`."""
    bundle = explorer.widget._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == \
        explorer.widget.model_id
    still = Image.open(io.BytesIO(bundle["image/png"]))
    shown = Image.open(io.BytesIO(explorer.picture.value))
    assert still.size == shown.size and still.tobytes() == shown.convert(still.mode).tobytes()
    assert "VBox" not in bundle["text/plain"] and "LatentExplorer" in bundle["text/plain"]
