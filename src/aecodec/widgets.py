"""The latent-size explorer: ipywidgets controls wired to the shipped models and to `viz`.

Holds: `LatentExplorer`. It draws nothing itself: results come from `aecodec.quantize`
and `aecodec.jpeg`, pictures from `aecodec.viz.explorer_figure`.

Controls: latent channels C (a slider over the shipped sizes), downsamplings k (where
models exist), the image (embedded photos, Kodak images if their folder is known, or an
uploaded file). Sliders act on release; every result is cached, so going back to a
setting already seen is instant.
"""

import html
import io
import os

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from PIL import Image

from aecodec.data import SAMPLE_IMAGES, load_sample
from aecodec.errors import AecodecError, ImageError
from aecodec.images import image_to_tensor, load_image
from aecodec.jpeg import jpeg_at_most, jpeg_curve
from aecodec.kodak import KODAK_ENV, KODAK_SHA256
from aecodec.metrics import ms_ssim, psnr
from aecodec.models import Autoencoder
from aecodec.quantize import reconstruct_8bit
from aecodec.viz import explorer_figure, figure_to_png


def shrink(x: torch.Tensor, max_side: int) -> torch.Tensor:
    """Scale x (3, H, W) down (antialiased) so its longer side is at most `max_side`."""
    height, width = x.shape[-2:]
    scale = max_side / max(height, width)
    if scale >= 1:
        return x
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(x[None], size=size, mode="bilinear", antialias=True)[0].clamp(0, 1)


class LatentExplorer:
    """Explore how the latent size trades file size for quality.

    Args:
        models: {(latent_channels, downsamplings): model}; default: the shipped family.
        kodak: a Kodak folder to offer its images (default: $AECODEC_KODAK, if set).
        max_side: images are shrunk to this longer side to keep the explorer quick.
    """

    def __init__(self, models: dict[tuple[int, int], Autoencoder] | None = None,
                 kodak: str | os.PathLike | None = None, max_side: int = 768):
        if models is None:
            from aecodec.zoo import SHIPPED, load_shipped
            models = {key: load_shipped(*key) for key in SHIPPED}
        self.models = {key: model.eval() for key, model in models.items()}
        self.max_side = max_side
        self.sources = {name: (load_sample, name) for name in SAMPLE_IMAGES}
        kodak = kodak or os.environ.get(KODAK_ENV)
        if kodak:
            for name in sorted(KODAK_SHA256):
                self.sources[f"Kodak {name[:-4]}"] = (load_image, os.path.join(kodak, name))
        self._images: dict[str, torch.Tensor] = {}
        self._results: dict[tuple, dict] = {}
        self._jpeg_curves: dict[str, list[dict]] = {}
        self._build_controls()
        self.update()

    # --- controls -------------------------------------------------------------------

    def _build_controls(self) -> None:
        channels = sorted({c for c, _ in self.models})
        downsamplings = sorted({k for _, k in self.models})
        self.channels = widgets.SelectionSlider(
            options=channels, value=channels[len(channels) // 2], description="latent C",
            continuous_update=False)
        self.downsamplings = widgets.Dropdown(
            options=downsamplings, value=downsamplings[0], description="downsamplings k",
            disabled=len(downsamplings) == 1, style={"description_width": "initial"})
        first = "Kodak kodim23" if "Kodak kodim23" in self.sources else "astronaut"
        self.image = widgets.Dropdown(options=list(self.sources), value=first,
                                      description="image")
        self.upload = widgets.FileUpload(accept="image/*", multiple=False,
                                         description="your image")
        self.readout = widgets.HTML()
        self.picture = widgets.Image(format="png")
        for control in (self.channels, self.downsamplings, self.image):
            control.observe(self.update, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.image, self.upload]),
            widgets.HBox([self.channels, self.downsamplings]),
            self.readout, self.picture,
        ])

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    def _on_upload(self, change) -> None:
        if not change["new"]:
            return
        item = change["new"][0]
        name = f"upload: {item['name']}"
        try:
            x = image_to_tensor(Image.open(io.BytesIO(bytes(item["content"]))))
        except (AecodecError, OSError, SyntaxError, ValueError) as e:
            self.readout.value = f"<b>Cannot use {html.escape(item['name'])}:</b> " \
                                 f"{html.escape(str(e))}"
            return
        self._images[name] = shrink(x, self.max_side)
        self.sources[name] = (None, None)
        self.image.options = list(self.sources)
        self.image.value = name

    # --- results (cached) -----------------------------------------------------------

    def load(self, name: str) -> torch.Tensor:
        """The image called `name`, shrunk to `max_side`, as x (3, H, W)."""
        if name not in self._images:
            loader, arg = self.sources[name]
            self._images[name] = shrink(loader(arg), self.max_side)
        return self._images[name]

    def point(self, name: str, c: int, k: int) -> dict:
        """Model (C, k) on image `name` with 8-bit latents: x_hat, PSNR, bytes, bpp."""
        key = ("point", name, c, k)
        if key not in self._results:
            x = self.load(name)
            x_hat, num_bytes = reconstruct_8bit(self.models[(c, k)], x[None])  # (1, 3, H, W)
            height, width = x.shape[-2:]
            self._results[key] = dict(x_hat=x_hat[0], psnr=psnr(x[None], x_hat),
                                      bytes=num_bytes, bpp=8 * num_bytes / (height * width))
        return self._results[key]

    def result(self, name: str, c: int, k: int) -> dict:
        """`point` plus latent size, ratio, and JPEG at the same bytes."""
        key = ("result", name, c, k)
        if key not in self._results:
            x, r = self.load(name), dict(self.point(name, c, k))
            x_jpeg, jpeg_bytes, quality = jpeg_at_most(x, r["bytes"])
            height, width = x.shape[-2:]
            r.update(latent_shape=self.models[(c, k)].latent_shape(height, width),
                     ratio=self.models[(c, k)].compression_ratio(height, width),
                     x_jpeg=x_jpeg, jpeg_bytes=jpeg_bytes, jpeg_quality=quality,
                     jpeg_psnr=psnr(x, x_jpeg))
            self._results[key] = r
        return self._results[key]

    def similarity(self, name: str, c: int, k: int) -> dict:
        """MS-SSIM of the autoencoder and of JPEG (the slowest numbers, cached apart)."""
        key = ("similarity", name, c, k)
        if key not in self._results:
            x, r = self.load(name), self.result(name, c, k)
            self._results[key] = dict(ms_ssim=_ms_ssim_or_none(x, r["x_hat"]),
                                      jpeg_ms_ssim=_ms_ssim_or_none(x, r["x_jpeg"]))
        return self._results[key]

    def jpeg_points(self, name: str) -> list[dict]:
        if name not in self._jpeg_curves:
            x = self.load(name)
            pixels = x.shape[-2] * x.shape[-1]
            self._jpeg_curves[name] = [dict(bpp=8 * size / pixels, psnr=psnr(x, x_hat),
                                            quality=q) for q, size, x_hat in jpeg_curve(x)]
        return self._jpeg_curves[name]

    # --- drawing --------------------------------------------------------------------

    def update(self, change=None) -> None:
        """Recompute (or fetch from the cache) and redraw for the current controls."""
        name, c, k = self.image.value, self.channels.value, self.downsamplings.value
        if (c, k) not in self.models:
            self.readout.value = f"<b>No model with C={c}, k={k}.</b>"
            return
        try:
            x = self.load(name)
        except ImageError as e:
            self.readout.value = f"<b>Cannot load {html.escape(name)}:</b> {html.escape(str(e))}"
            return
        r = self.result(name, c, k)
        curve = [dict(self.point(name, cc, kk), label=f"C={cc}")
                 for cc, kk in sorted(self.models) if kk == k]
        similarity = self._results.get(("similarity", name, c, k))
        self.readout.value = self.readout_html(r, x, similarity)
        fig = explorer_figure(
            x, r["x_hat"], r["x_jpeg"],
            ae_title=f"autoencoder C={c}, k={k}: {r['psnr']:.2f} dB",
            jpeg_title=f"JPEG q={r['jpeg_quality']}, {r['jpeg_bytes']} B: {r['jpeg_psnr']:.2f} dB",
            ae_points=curve, jpeg_points=self.jpeg_points(name),
            current=dict(bpp=r["bpp"], psnr=r["psnr"]))
        self.picture.value = figure_to_png(fig, fast=True)
        if similarity is None:  # shown first without MS-SSIM, which takes longest
            self.readout.value = self.readout_html(r, x, self.similarity(name, c, k))

    @staticmethod
    def readout_html(r: dict, x: torch.Tensor, similarity: dict | None = None) -> str:
        """The numbers under the controls, as an HTML table (MS-SSIM "…" until known)."""
        c, h, w = r["latent_shape"]

        def fmt(key: str) -> str:
            if similarity is None:
                return "…"
            value = similarity[key]
            return "n/a (image too small)" if value is None else f"{value:.4f}"

        cells = [
            ("PSNR", f"{r['psnr']:.2f} dB"), ("MS-SSIM", fmt("ms_ssim")),
            ("latent y", f"{c}×{h}×{w} = {c * h * w:,} values"),
            ("compression ratio", f"{r['ratio']:.1f}:1"),
            ("latent bytes (8-bit)", f"{r['bytes']:,} B = {r['bpp']:.3f} bpp"),
            ("JPEG at ≤ same bytes",
             f"q={r['jpeg_quality']}, {r['jpeg_bytes']:,} B: {r['jpeg_psnr']:.2f} dB, "
             f"MS-SSIM {fmt('jpeg_ms_ssim')}"),
        ]
        rows = "".join(f"<tr><td><b>{k}</b></td><td class='aecodec-{k.split()[0].lower()}'>"
                       f"{v}</td></tr>" for k, v in cells)
        size = f"image {x.shape[-1]}×{x.shape[-2]} px"
        return f"<table class='aecodec-readout'>{rows}</table><small>{size}</small>"


def _ms_ssim_or_none(x: torch.Tensor, x_hat: torch.Tensor) -> float | None:
    try:
        return ms_ssim(x, x_hat)
    except ValueError:
        return None  # smaller than MS-SSIM's 161 px minimum
