"""Encode-time refinement: soft rounding, latents that lower this image's own loss, and
ordinary files for the unchanged decoder."""

import pytest
import torch

from aecodec import zoo
from aecodec.checkpoint import load_model
from aecodec.cli import main
from aecodec.codec import CodecError, compress, decode_symbols, decompress
from aecodec.images import load_image
from aecodec.losses import rd_loss
from aecodec.metrics import bpp, mse, quantize_8bit
from aecodec.refine import REFINE_MAX_PIXELS, refine_latents, soft_round


def test_soft_round_goes_to_a_neighbour_and_becomes_rounding_as_tau_falls():
    torch.manual_seed(0)
    y = torch.randn(10_000) * 3
    for tau in (0.5, 0.05):
        y_hat = soft_round(y, tau)
        assert ((y_hat >= torch.floor(y) - 1e-6) & (y_hat <= torch.ceil(y) + 1e-6)).all()
    near = (y - torch.round(y)).abs() < 0.4  # not at a tie
    assert torch.allclose(soft_round(y, 1e-3)[near], torch.round(y)[near], atol=1e-3)
    assert (soft_round(y, 0.5) - torch.round(y)).abs().mean() > 0.05  # blurred when warm
    y = torch.tensor([1.2, -0.7], requires_grad=True)
    soft_round(y, 0.3).sum().backward()
    assert torch.isfinite(y.grad).all() and (y.grad != 0).all()  # unlike round


def objective(model, x, data) -> float:
    """lambda * 255^2 * MSE + bpp of a real file."""
    return float(rd_loss(mse(x, decompress(model, data)), bpp(len(data), *x.shape[-2:]),
                         model.config.lmbda))


@pytest.fixture(scope="module")
def crop(kodak_dir):
    return load_image(kodak_dir / "kodim23.png")[:, 200:296, 300:428]  # (3, 96, 128)


@pytest.mark.parametrize("family", ["factorized", "hyperprior"])
def test_refined_latents_make_a_better_file_for_the_same_decoder(family, crop):
    model = load_model(zoo.codec_path(0.0067, family))
    plain = compress(model, crop)
    torch.manual_seed(0)
    latents = refine_latents(model, crop, 40, progress=False)
    refined = compress(model, crop, latents=latents)
    assert refined != plain
    assert objective(model, crop, refined) < 0.97 * objective(model, crop, plain)
    # an ordinary file: the decoder turns its integers into the model's own reconstruction
    decoded = decode_symbols(model, refined)
    y_hat = (decoded["y_hat"] if "y_hat" in decoded
             else decoded["symbols"] + decoded["means_hat"][0])[None].float()
    with torch.no_grad():
        expected = quantize_8bit(model.decode(y_hat, crop.shape[-2:]))[0]
    assert torch.equal(decompress(model, refined), expected)
    assert all(p.requires_grad for p in model.parameters())  # the weights are left as they were


def test_zero_steps_are_the_encoders_own_latents(crop):
    model = zoo.load_codec(2, "hyperprior")
    assert compress(model, crop, latents=refine_latents(model, crop, 0)) == compress(model, crop)


def test_latents_of_the_wrong_shape_and_images_too_big_are_refused(crop):
    model = zoo.load_codec(2, "hyperprior")
    latents = refine_latents(model, crop, 0)
    with pytest.raises(ValueError, match="latents for a 128x96 image"):
        compress(model, crop, latents={"y": latents["y"]})
    with pytest.raises(ValueError, match="latents for a 64x96 image"):
        compress(model, crop[..., :64], latents=latents)
    side = int(REFINE_MAX_PIXELS**0.5) + 1
    with pytest.raises(CodecError, match="at most"):
        refine_latents(model, torch.zeros(3, side, side), 1)


def test_the_command_line_refines_on_request(tmp_path, crop, capsys):
    from aecodec.images import save_image

    image, plain, refined = tmp_path / "crop.png", tmp_path / "a.aec", tmp_path / "b.aec"
    save_image(crop, image)
    assert main(["compress", str(image), str(plain)]) == 0
    assert main(["compress", str(image), str(refined), "--refine", "5"]) == 0
    assert "refining" in capsys.readouterr().err  # the progress bar
    assert plain.read_bytes() != refined.read_bytes()
    assert main(["decompress", str(refined), str(tmp_path / "out.png")]) == 0
    with pytest.raises(SystemExit):
        main(["compress", str(image), str(refined), "--refine", "-1"])
