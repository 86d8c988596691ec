"""The explorers: ipywidgets controls wired to trained models and to `viz`.

Holds: `LatentExplorer` (plain autoencoders of several latent sizes, notebook 05) and
`RateDistortionExplorer` (a family of codecs, one per lambda, or one variable-rate codec
with a continuous slider, with real files and where their bits go, notebooks 07 to 09,
beside JPEG, WebP and AVIF), on a shared base that offers the images (embedded
photos, Kodak images if their folder is known, or an uploaded file) and caches every
result. They draw nothing themselves: files come from `latents8bit`, `codec` and `baselines`,
their scores from `evaluation.measure` (as the benchmarks' do), pictures from
`viz.explorer_figure`. Sliders act on release; going back to a
setting already seen is instant. While an update computes, the explorer says "computing…"
and greys its picture; while it builds, a progress bar counts its first results. Shown in
a notebook, an explorer also leaves a still picture of its figure (`image/png` beside the
widget), which viewers that cannot run widgets (GitHub, an HTML export) show instead.
"""

import html
import io
import math
import os
from collections.abc import Callable
from functools import partial

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from aecodec import zoo
from aecodec.baselines import (
    AVIF_EXPLORER_QUALITIES,
    avif_curve,
    jpeg_at_most,
    jpeg_curve,
    webp_curve,
)
from aecodec.codec import compress, decompress
from aecodec.data import SAMPLE_IMAGES, load_sample
from aecodec.errors import AecodecError, ImageError
from aecodec.evaluation import bits_map, measure
from aecodec.images import decode_image, load_image
from aecodec.kodak import KODAK_ENV, KODAK_SHA256
from aecodec.latents8bit import reconstruct_8bit
from aecodec.models import Autoencoder, VariableRateHyperprior
from aecodec.viz import explorer_figure, figure_to_png
from aecodec.zoo import PLAIN_LATENT_CHANNELS

# the picture is greyed while an update computes (the class is set on it meanwhile)
BUSY_STYLE = "<style>.aecodec-busy {opacity: 0.35; transition: opacity 0.2s;}</style>"


def shrink(x: torch.Tensor, max_side: int) -> torch.Tensor:
    """Scale x (3, H, W) down (antialiased) so its longer side is at most `max_side`."""
    height, width = x.shape[-2:]
    scale = max_side / max(height, width)
    if scale >= 1:
        return x
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(x[None], size=size, mode="bilinear", antialias=True)[0].clamp(0, 1)


class _ExplorerBox(widgets.VBox):
    """The explorer's widget; in a notebook it also leaves a still picture of its figure
    (`image/png`) and a one-line summary (`text/plain`) for viewers without widgets."""

    def __init__(self, children: list, explorer: "_Explorer"):
        super().__init__(children)
        self._explorer = explorer

    def _repr_mimebundle_(self, **kwargs) -> dict:
        data = super()._repr_mimebundle_(**kwargs)
        if data and self._explorer.picture.value:
            data.update(self._explorer.still())
        return data


class _Explorer:
    """What both explorers share: the image chooser, uploads, the cache, the display,
    "computing…" while an update works and a progress bar while the explorer builds."""

    def __init__(self, kodak: str | os.PathLike | None, max_side: int, image: str | None = None):
        self.max_side = max_side
        self.sources = {name: (load_sample, name) for name in SAMPLE_IMAGES}
        kodak = kodak or os.environ.get(KODAK_ENV)
        if kodak:
            for name in sorted(KODAK_SHA256):
                self.sources[f"Kodak {name[:-4]}"] = (load_image, os.path.join(kodak, name))
        self._images: dict[str, torch.Tensor] = {}
        self._results: dict[tuple, dict] = {}
        if image is not None and image not in self.sources:
            raise ValueError(f"no image {image!r} to explore: choose one of {sorted(self.sources)}")
        first = image or ("Kodak kodim23" if "Kodak kodim23" in self.sources else "astronaut")
        self.image = widgets.Dropdown(options=list(self.sources), value=first,
                                      description="image")
        self.upload = widgets.FileUpload(accept="image/*", multiple=False,
                                         description="your image")
        self.readout = widgets.HTML()
        self.status = widgets.HTML(BUSY_STYLE)
        # at its own size (920 px, what JupyterLab gives), not stretched to the output's width
        self.picture = widgets.Image(format="png", layout=widgets.Layout(
            align_self="flex-start", max_width="100%", height="auto"))
        self.upload.observe(self._on_upload, names="value")
        self._working: bool | None = None  # in an update: whether "computing…" is shown
        self._built = False

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    def _on_upload(self, change) -> None:
        if not change["new"]:
            return
        item = change["new"][0]
        name = f"upload: {item['name']}"
        try:
            x = decode_image(bytes(item["content"]), item["name"])
        except AecodecError as e:
            self.readout.value = f"<b>Cannot use {html.escape(item['name'])}:</b> " \
                                 f"{html.escape(str(e))}"
            return
        self._images[name] = shrink(x, self.max_side)
        self.sources[name] = (None, None)
        self.image.options = list(self.sources)
        self.image.value = name

    def load(self, name: str) -> torch.Tensor:
        """The image called `name`, shrunk to `max_side`, as x (3, H, W)."""
        if name not in self._images:
            loader, arg = self.sources[name]
            self._images[name] = shrink(loader(arg), self.max_side)
        return self._images[name]

    def _cached(self, key: tuple, compute) -> dict:
        if key not in self._results:
            if self._working is False:  # the first result an update has to compute
                self._busy(True)
            self._results[key] = compute()
        return self._results[key]

    def _busy(self, busy: bool) -> None:
        """Say "computing…" and grey the picture (or stop saying so)."""
        self._working = busy
        self.status.value = BUSY_STYLE + ("<i>computing…</i>" if busy else "")
        if busy:
            self.picture.add_class("aecodec-busy")
        else:
            self.picture.remove_class("aecodec-busy")

    def _compute(self, steps: list[Callable[[], object]]) -> None:
        """Run an update's steps (each fills the cache), saying "computing…" if one has
        work to do, and counting them on a progress bar the first time (the build)."""
        self._working = False
        if not self._built:
            steps = tqdm(steps, desc="building the explorer", unit="result", leave=False)
        for step in steps:
            step()
        self._built = True

    def update(self, change=None) -> None:
        """Recompute (or fetch from the cache) and redraw for the current controls."""
        try:
            self._update()
        finally:
            if self._working:
                self._busy(False)
            self._working = None

    def still(self) -> dict[str, bytes | str]:
        """The explorer as it stands, for viewers without widgets: its figure (`image/png`,
        recompressed) and a line saying what it is (`text/plain`)."""
        buffer = io.BytesIO()
        Image.open(io.BytesIO(self.picture.value)).save(buffer, format="PNG")
        return {"image/png": buffer.getvalue(),
                "text/plain": f"{type(self).__name__} on {self.image.value} (run the notebook "
                              "to move its controls)"}

    def similarity(self, name: str, setting) -> dict:
        """MS-SSIM of the model and of JPEG (the slowest numbers, cached apart)."""
        def compute():
            x, r = self.load(name), self.result(name, setting)
            return dict(ms_ssim=_ms_ssim_or_none(x, r["x_hat"], r["bytes"]),
                        jpeg_ms_ssim=_ms_ssim_or_none(x, r["x_jpeg"], r["jpeg_bytes"]))
        return self._cached(("similarity", name, setting), compute)

    def jpeg_points(self, name: str) -> list[dict]:
        return self._cached(("jpeg", name), lambda: self._baseline_points(name, jpeg_curve))

    def webp_points(self, name: str) -> list[dict]:
        return self._cached(("webp", name), lambda: self._baseline_points(name, webp_curve))

    def avif_points(self, name: str) -> list[dict]:
        """AVIF (4:4:4) on a short sweep: its encoder is the slowest of the three."""
        curve = partial(avif_curve, qualities=AVIF_EXPLORER_QUALITIES)
        return self._cached(("avif", name), lambda: self._baseline_points(name, curve))

    def _baseline_points(self, name: str, curve) -> list[dict]:
        """(bpp, PSNR) of a Pillow codec's quality sweep on image `name`."""
        x = self.load(name)
        return [dict(measure(x, x_hat, size, with_ms_ssim=False), quality=q)
                for q, size, x_hat in curve(x)]

    def _show(self, name: str, setting, r: dict, fig_args: dict) -> None:
        """Draw the picture, with MS-SSIM filled in after it (it takes longest)."""
        x = self.load(name)
        similarity = self._results.get(("similarity", name, setting))
        self.readout.value = self.readout_html(r, x, similarity)
        self.picture.value = figure_to_png(explorer_figure(x, r["x_hat"], r["x_jpeg"],
                                                           **fig_args), fast=True)
        if self._working:
            self._busy(False)
        self._working = None  # MS-SSIM comes after the picture, without greying it
        if similarity is None:
            self.readout.value = self.readout_html(r, x, self.similarity(name, setting))

    def _safe_load(self, name: str) -> bool:
        try:
            self.load(name)
            return True
        except ImageError as e:
            self.readout.value = f"<b>Cannot load {html.escape(name)}:</b> {html.escape(str(e))}"
            return False

    @staticmethod
    def _table(cells: list[tuple[str, str]], x: torch.Tensor) -> str:
        rows = "".join(f"<tr><td><b>{k}</b></td><td class='aecodec-{k.split()[0].lower()}'>"
                       f"{v}</td></tr>" for k, v in cells)
        size = f"image {x.shape[-1]}×{x.shape[-2]} px"
        return f"<table class='aecodec-readout'>{rows}</table><small>{size}</small>"


def _fmt_similarity(similarity: dict | None, key: str) -> str:
    if similarity is None:
        return "…"
    value = similarity[key]
    return "n/a (image too small)" if value is None else f"{value:.4f}"


class LatentExplorer(_Explorer):
    """Explore how the latent size of a plain autoencoder trades size for quality.

    Args:
        models: {(latent_channels, downsamplings): model}; default: the shipped family.
        kodak: a Kodak folder to offer its images (default: $AECODEC_KODAK, if set).
        max_side: images are shrunk to this longer side to keep the explorer quick.
    """

    def __init__(self, models: dict[tuple[int, int], Autoencoder] | None = None,
                 kodak: str | os.PathLike | None = None, max_side: int = 768):
        super().__init__(kodak, max_side)
        if models is None:
            models = {(c, zoo.DOWNSAMPLINGS): zoo.load_plain(c) for c in PLAIN_LATENT_CHANNELS}
        self.models = {key: model.eval() for key, model in models.items()}
        channels = sorted({c for c, _ in self.models})
        downsamplings = sorted({k for _, k in self.models})
        self.channels = widgets.SelectionSlider(
            options=channels, value=channels[len(channels) // 2], description="latent C",
            continuous_update=False)
        self.downsamplings = widgets.Dropdown(
            options=downsamplings, value=downsamplings[0], description="downsamplings k",
            style={"description_width": "initial"})
        for control in (self.channels, self.downsamplings, self.image):
            control.observe(self.update, names="value")
        # k is offered only when the models differ in it (the shipped ones do not)
        knobs = [self.channels] + ([self.downsamplings] if len(downsamplings) > 1 else [])
        self.widget = _ExplorerBox([widgets.HBox([self.image, self.upload]),
                                    widgets.HBox(knobs), self.status, self.readout,
                                    self.picture], self)
        self.update()

    def point(self, name: str, c: int, k: int) -> dict:
        """Model (C, k) on image `name` with 8-bit latents: x_hat, PSNR, bytes, bpp."""
        def compute():
            x = self.load(name)
            x_hat, num_bytes = reconstruct_8bit(self.models[(c, k)], x[None])  # (1, 3, H, W)
            return dict(measure(x, x_hat[0], num_bytes, with_ms_ssim=False), x_hat=x_hat[0],
                        bytes=num_bytes)
        return self._cached(("point", name, c, k), compute)

    def result(self, name: str, setting: tuple[int, int]) -> dict:
        """`point` of model setting = (C, k), plus latent size, ratio, and JPEG at the same
        bytes."""
        c, k = setting

        def compute():
            x, r = self.load(name), dict(self.point(name, c, k))
            x_jpeg, jpeg_bytes, quality = jpeg_at_most(x, r["bytes"])
            height, width = x.shape[-2:]
            r.update(latent_shape=self.models[(c, k)].latent_shape(height, width),
                     ratio=self.models[(c, k)].compression_ratio(height, width),
                     x_jpeg=x_jpeg, jpeg_bytes=jpeg_bytes, jpeg_quality=quality,
                     jpeg_psnr=measure(x, x_jpeg, jpeg_bytes, with_ms_ssim=False)["psnr"])
            return r
        return self._cached(("result", name, c, k), compute)

    def _update(self) -> None:
        name, c, k = self.image.value, self.channels.value, self.downsamplings.value
        if (c, k) not in self.models:
            self.readout.value = f"<b>No model with C={c}, k={k}.</b>"
            return
        if not self._safe_load(name):
            return
        settings = [(cc, kk) for cc, kk in sorted(self.models) if kk == k]
        self._compute([partial(self.result, name, (c, k)), partial(self.jpeg_points, name)]
                      + [partial(self.point, name, cc, kk) for cc, kk in settings])
        r = self.result(name, (c, k))
        curve = [dict(self.point(name, cc, kk), label=f"C={cc}") for cc, kk in settings]
        self._show(name, (c, k), r, dict(
            ae_title=f"autoencoder C={c}, k={k}\n{r['bytes']:,} B: {r['psnr']:.2f} dB",
            jpeg_title=f"JPEG q={r['jpeg_quality']}\n{r['jpeg_bytes']:,} B: "
                       f"{r['jpeg_psnr']:.2f} dB",
            ae_points=curve, jpeg_points=self.jpeg_points(name),
            current=dict(bpp=r["bpp"], psnr=r["psnr"])))

    def readout_html(self, r: dict, x: torch.Tensor, similarity: dict | None = None) -> str:
        """The numbers under the controls, as an HTML table (MS-SSIM "…" until known)."""
        c, h, w = r["latent_shape"]
        return self._table([
            ("PSNR", f"{r['psnr']:.2f} dB"), ("MS-SSIM", _fmt_similarity(similarity, "ms_ssim")),
            ("latent y", f"{c}×{h}×{w} = {c * h * w:,} values"),
            ("compression ratio", f"{r['ratio']:.1f}:1"),
            ("latent bytes (8-bit)", f"{r['bytes']:,} B = {r['bpp']:.3f} bpp"),
            ("JPEG at ≤ same bytes",
             f"q={r['jpeg_quality']}, {r['jpeg_bytes']:,} B: {r['jpeg_psnr']:.2f} dB, "
             f"MS-SSIM {_fmt_similarity(similarity, 'jpeg_ms_ssim')}"),
        ], x)


class RateDistortionExplorer(_Explorer):
    """Pick lambda: real files, PSNR, the reconstruction, JPEG at the same bytes, where the
    file's bits go, and the curve against JPEG, WebP and AVIF.

    Two kinds of codec: a family of fixed-rate models, one per lambda (the slider steps
    between them), or one variable-rate model (`VariableRateHyperprior`: the slider is
    continuous over its trained range, and the curve is drawn at `CURVE_POINTS` lambdas).

    Args:
        models: {lmbda: model}, or one `VariableRateHyperprior`; default: a shipped family.
        kodak: a Kodak folder to offer its images (default: $AECODEC_KODAK, if set).
        max_side: images are shrunk to this longer side to keep the explorer quick.
        family: the shipped codecs to explore when `models` is not given: "context" (the
            default codec), "variable-rate", "hyperprior" or "factorized".
        image: the image shown first (a sample's name, e.g. "coffee"); default: Kodak's
            kodim23 if Kodak is offered, else astronaut.
    """

    CURVE_POINTS = 7  # lambdas on a variable-rate model's curve, evenly in log lambda
    SLIDER_STEPS = 40  # positions of the continuous slider

    def __init__(self, models: "dict[float, zoo.Codec] | VariableRateHyperprior | None" = None,
                 kodak: str | os.PathLike | None = None, max_side: int = 768,
                 family: str = zoo.DEFAULT_FAMILY, image: str | None = None):
        super().__init__(kodak, max_side, image)
        if models is None:
            models = (zoo.load_codec(family=family) if family in zoo.VARIABLE_FAMILIES else
                      {m.config.lmbda: m for m in zoo.load_codecs(family).values()})
        if not isinstance(models, dict):  # one variable-rate model
            self.variable = models.eval()
            low, high = (math.log10(v) for v in (models.config.lambdas[0],
                                                 models.config.lambdas[-1]))
            self.lmbda = widgets.FloatLogSlider(
                value=models.lmbda, base=10, min=low, max=high,
                step=(high - low) / self.SLIDER_STEPS, description="lambda",
                readout_format=".4f", continuous_update=False)
            self.curve_lambdas = [round(10 ** (low + (high - low) * i / (self.CURVE_POINTS - 1)),
                                        6) for i in range(self.CURVE_POINTS)]
        else:
            self.variable = None
            self.models = {lmbda: model.eval() for lmbda, model in sorted(models.items())}
            lambdas = list(self.models)
            self.lmbda = widgets.SelectionSlider(options=lambdas,
                                                 value=lambdas[len(lambdas) // 2],
                                                 description="lambda", continuous_update=False)
            self.curve_lambdas = lambdas
        for control in (self.lmbda, self.image):
            control.observe(self.update, names="value")
        self.widget = _ExplorerBox([widgets.HBox([self.image, self.upload]), self.lmbda,
                                    self.status, self.readout, self.picture], self)
        self.update()

    def _coded(self, x: torch.Tensor, lmbda: float) -> tuple[zoo.Codec, bytes]:
        """The model of `lmbda` and its file of x."""
        if self.variable is None:
            return self.models[lmbda], compress(self.models[lmbda], x)
        low, high = self.variable.config.lambdas[0], self.variable.config.lambdas[-1]
        with self.variable.at_lambda(min(max(lmbda, low), high)):  # slider rounding
            return self.variable, compress(self.variable, x)

    def point(self, name: str, lmbda: float) -> dict:
        """The model for `lmbda` on image `name`, through a real file: x_hat, bytes, PSNR,
        and the bits of y at each latent position (`evaluation.bits_map`)."""
        def compute():
            x = self.load(name)
            model, data = self._coded(x, lmbda)
            x_hat = decompress(model, data)  # (3, H, W)
            return dict(measure(x, x_hat, len(data), with_ms_ssim=False), x_hat=x_hat,
                        bytes=len(data), bits=bits_map(model, data)["y"])
        return self._cached(("point", name, round(lmbda, 6)), compute)

    def result(self, name: str, lmbda: float) -> dict:
        """`point` plus JPEG at the same bytes."""
        def compute():
            x, r = self.load(name), dict(self.point(name, lmbda))
            x_jpeg, jpeg_bytes, quality = jpeg_at_most(x, r["bytes"])
            r.update(x_jpeg=x_jpeg, jpeg_bytes=jpeg_bytes, jpeg_quality=quality,
                     jpeg_psnr=measure(x, x_jpeg, jpeg_bytes, with_ms_ssim=False)["psnr"])
            return r
        return self._cached(("result", name, round(lmbda, 6)), compute)

    def _update(self) -> None:
        name, lmbda = self.image.value, self.lmbda.value
        if not self._safe_load(name):
            return
        self._compute([partial(self.result, name, lmbda), partial(self.jpeg_points, name),
                       partial(self.webp_points, name), partial(self.avif_points, name)]
                      + [partial(self.point, name, lm) for lm in self.curve_lambdas])
        r = self.result(name, lmbda)
        # a variable-rate curve's points sit too close together for a label each, which
        # would cross the other curves: its legend gives their range, the star the slider's λ
        variable = self.variable is not None
        curve = [dict(self.point(name, lm), label="" if variable else f"λ={lm:.2g}")
                 for lm in self.curve_lambdas]
        ae_label = (f"aecodec files, λ = {self.curve_lambdas[0]:.2g} to "
                    f"{self.curve_lambdas[-1]:.2g}" if variable else "aecodec files")
        self._show(name, round(lmbda, 6), r, dict(
            ae_title=f"aecodec λ={lmbda:.4g}\n{r['bytes']:,} B: {r['psnr']:.2f} dB",
            jpeg_title=f"JPEG q={r['jpeg_quality']}\n{r['jpeg_bytes']:,} B: "
                       f"{r['jpeg_psnr']:.2f} dB",
            ae_points=curve, jpeg_points=self.jpeg_points(name),
            baselines={"WebP (Pillow)": self.webp_points(name),
                       "AVIF 4:4:4 (Pillow)": self.avif_points(name)},
            ae_label=ae_label, ae_name="aecodec", bits=r["bits"],
            current=dict(bpp=r["bpp"], psnr=r["psnr"])))

    def readout_html(self, r: dict, x: torch.Tensor, similarity: dict | None = None) -> str:
        """The numbers under the controls, as an HTML table (MS-SSIM "…" until known)."""
        pixels = x.shape[-2] * x.shape[-1]
        return self._table([
            ("PSNR", f"{r['psnr']:.2f} dB"), ("MS-SSIM", _fmt_similarity(similarity, "ms_ssim")),
            ("file size", f"{r['bytes']:,} bytes = {r['bpp']:.3f} bpp"),
            ("compression ratio", f"{3 * pixels / r['bytes']:.1f}:1 against raw 8-bit RGB"),
            ("JPEG at ≤ same bytes",
             f"q={r['jpeg_quality']}, {r['jpeg_bytes']:,} B: {r['jpeg_psnr']:.2f} dB, "
             f"MS-SSIM {_fmt_similarity(similarity, 'jpeg_ms_ssim')}"),
        ], x)


def _ms_ssim_or_none(x: torch.Tensor, x_hat: torch.Tensor, num_bytes: int) -> float | None:
    value = measure(x, x_hat, num_bytes)["ms_ssim"]
    return None if math.isnan(value) else value  # NaN: smaller than MS-SSIM's minimum
