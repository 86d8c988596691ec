"""Matplotlib pictures: image grids, maps on one scale, original / reconstruction / error,
loss curves, rate-distortion curves (`rd_figure`, of `aecodec.evaluation.evaluate_codecs`'
results).

Every function returns a `matplotlib.figure.Figure` built without pyplot's global state,
so it shows once in a notebook (as the cell's value), never leaks open figures, and can
be saved with `fig.savefig(...)`. Widgets call these; they draw nothing themselves.
Importing this module inside Jupyter tells it to show such figures as PNG pictures (what
`%matplotlib inline` does for pyplot figures).
"""

import io
import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from aecodec.metrics import psnr


def figure_to_png(fig: Figure, dpi: int = 80, fast: bool = False) -> bytes:
    """Render a figure to PNG bytes (for notebooks, image widgets and files).

    Args:
        fig: the figure.
        dpi: pixels per inch.
        fast: lighter PNG compression (quicker, bigger), for interactive widgets.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi,
                pil_kwargs={"compress_level": 1 if fast else 6})
    return buffer.getvalue()


def _show_figures_in_jupyter() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_to_png)


_show_figures_in_jupyter()


def _to_hwc(x: torch.Tensor):
    """(3, H, W) or (1, 3, H, W) tensor in [0, 1] -> (H, W, 3) numpy array for imshow."""
    if x.dim() == 4:
        x = x[0]
    return x.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()  # (H, W, 3)


def show_images(
    images: Sequence[torch.Tensor], titles: Sequence[str] | None = None, ncols: int = 4,
    size: float = 3.0, frame: bool = False,
) -> Figure:
    """A grid of images (each (3, H, W) in [0, 1]) with optional titles.

    Args:
        images: the images.
        titles: one title per image, or None.
        ncols: images per row.
        size: inches per grid cell.
        frame: draw a thin grey frame around each image, so that white pixels at its edge
            do not merge with the page.
    """
    ncols = max(1, min(ncols, len(images)))
    nrows = -(-len(images) // ncols)
    fig = Figure(figsize=(size * ncols, size * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(images):
            ax.imshow(_to_hwc(images[i]))
            if titles is not None:
                ax.set_title(titles[i], fontsize=10)
            if frame:  # the axes' spines, without ticks, are the frame
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_color("0.5")
    return fig


def error_map(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per-pixel absolute error, averaged over colour channels: (3, H, W) -> (H, W)."""
    if x.dim() == 4:
        x, x_hat = x[0], x_hat[0]
    return (x.float() - x_hat.float()).abs().mean(dim=0)  # (H, W)


def error_scale(errors: Sequence[torch.Tensor], percentile: float = 99.0) -> float:
    """The top of a colour scale for error maps: the `percentile` of all their values.

    Scaled to the single largest error, a map with a few extreme pixels comes out nearly
    black everywhere else; at the 99th percentile, 1% of the pixels saturate instead.

    Args:
        errors: the error maps, (H, W) each.
        percentile: in (0, 100].
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    values = torch.cat([e.detach().float().flatten().cpu() for e in errors]).numpy()
    return max(float(np.percentile(values, percentile)), 1e-6)  # numpy: no size limit


def compare(
    x: torch.Tensor, x_hat: torch.Tensor, title: str | None = None, size: float = 4.0,
    error_max: float | None = None,
) -> Figure:
    """Original, reconstruction and error map side by side, PSNR in the titles.

    The error map's colour scale runs from 0 to `error_max`, by default the error's 99th
    percentile (`error_scale`), so that a few extreme pixels do not turn the rest black;
    larger errors show in the top colour, and the colour bar says where the scale ends.

    Args:
        x: the original (3, H, W).
        x_hat: the reconstruction (3, H, W).
        title: a title over the whole figure.
        size: inches per panel.
        error_max: the top of the error's colour scale (in pixel units, 0-1), or None.
    """
    if error_max is not None and not error_max > 0:
        raise ValueError(f"error_max must be positive, got {error_max}")
    height, width = x.shape[-2:]
    fig = Figure(figsize=(3 * size, size * height / width + 0.6), layout="constrained")
    ax_x, ax_hat, ax_err = fig.subplots(1, 3)
    ax_x.imshow(_to_hwc(x))
    ax_x.set_title("original x")
    ax_hat.imshow(_to_hwc(x_hat))
    ax_hat.set_title(f"reconstruction x_hat: {psnr(x, x_hat):.2f} dB")
    err = error_map(x, x_hat)  # (H, W)
    top = error_scale([err]) if error_max is None else error_max
    shown = ax_err.imshow(err.cpu().numpy(), cmap="magma", vmin=0, vmax=top)
    ax_err.set_title("|x - x_hat| (mean over RGB)")
    scale = "99th percentile" if error_max is None else "fixed scale"
    fig.colorbar(shown, ax=ax_err, fraction=0.046, pad=0.02, extend="max",
                 label=f"error, {scale} {top:.3f} at the top")
    for ax in (ax_x, ax_hat, ax_err):
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig


def show_maps(
    maps: Sequence[torch.Tensor], titles: Sequence[str] | None = None, size: float = 2.6,
    vmax: float | None = None, label: str = "",
) -> Figure:
    """2-D maps (each (H, W)) side by side on ONE grey scale from 0 to `vmax` (default:
    the largest value of all maps), each in a frame, with one colour bar.

    One scale keeps the maps comparable: a constant map shows as its grey, not as white on
    white (which per-map scaling would make of it).

    Args:
        maps: the maps, (H, W) each.
        titles: one title per map, or None.
        size: inches per map.
        vmax: the top of the scale, or None.
        label: the colour bar's label.
    """
    if not maps:
        raise ValueError("show_maps needs at least one map")
    if vmax is None:
        vmax = max(float(m.max()) for m in maps)
    vmax = max(vmax, 1e-6)
    fig = Figure(figsize=(size * len(maps) + 0.8, size), layout="constrained")
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for i, (ax, m) in enumerate(zip(axes, maps)):
        shown = ax.imshow(m.detach().float().cpu().numpy(), cmap="gray", vmin=0, vmax=vmax,
                          interpolation="nearest")
        ax.set(xticks=[], yticks=[])  # no ticks, but the frame (the spines) stays
        for spine in ax.spines.values():
            spine.set(visible=True, color="black", linewidth=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    fig.colorbar(shown, ax=list(axes), fraction=0.05, pad=0.02, label=label)
    return fig


def plot_loss(history: dict[str, list], log_scale: bool = True) -> Figure:
    """Training loss against step (and evaluation PSNR, if the history has it).

    Args:
        history: as returned by `fit`: {"step", "loss", "eval_step", "eval_psnr"}.
        log_scale: draw the loss on a log axis.
    """
    has_eval = bool(history.get("eval_step"))
    fig = Figure(figsize=(10 if has_eval else 6, 3.5), layout="constrained")
    axes = fig.subplots(1, 2 if has_eval else 1, squeeze=False)[0]
    axes[0].plot(history["step"], history["loss"], lw=1)
    axes[0].set(xlabel="step", ylabel="training loss (MSE)", title="loss")
    if log_scale:
        axes[0].set_yscale("log")
    axes[0].grid(alpha=0.3)
    if has_eval:
        axes[1].plot(history["eval_step"], history["eval_psnr"], "o-")
        axes[1].set(xlabel="step", ylabel="PSNR (dB)", title="validation PSNR")
        axes[1].grid(alpha=0.3)
    return fig


EXPLORER_WIDTH = 11.5  # inches: 920 px at the explorers' 80 dpi, what JupyterLab gives
SMALL_FONT = 9  # points: 10 px at 80 dpi, the smallest text the explorers draw


def plot_tradeoff(
    ae_points: Sequence[dict],
    jpeg_points: Sequence[dict] = (),
    current: dict | None = None,
    ax=None,
    baselines: dict[str, Sequence[dict]] | None = None,
    ae_label: str = "autoencoder, 8-bit latents",
    max_bpp: float | None = None,
) -> Figure:
    """PSNR against bits per pixel: the models, JPEG (and other baselines), the current
    model marked. The models' labels are placed so that no two overlap, nor cover the
    current model's star or the legend (see `place_labels`).

    Args:
        ae_points: dicts with "bpp", "psnr" and "label" (e.g. "C=16"; "" for none), one per
            model.
        jpeg_points: dicts with "bpp" and "psnr", one per JPEG quality.
        current: the point to mark, or None.
        ax: draw into this axes (the figure is returned either way).
        baselines: more curves {name: points}, e.g. {"WebP": [...]}.
        ae_label: legend of the models' curve.
        max_bpp: show bpp from 0 to this only (and the PSNR of what is shown), so that
            baselines' high rates do not squeeze the models' curve, with the legend beside
            the axes, where it covers no curve; None: everything, the legend inside.
    """
    if ax is None:
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
    ae_points = sorted(ae_points, key=lambda p: p["bpp"])
    ax.plot([p["bpp"] for p in ae_points], [p["psnr"] for p in ae_points], "o-", label=ae_label)
    curves = {"JPEG (Pillow)": jpeg_points, **(baselines or {})}
    for (name, points), style in zip(curves.items(), ["s--", "^--", "v--"]):
        if points:
            points = sorted(points, key=lambda p: p["bpp"])
            ax.plot([p["bpp"] for p in points], [p["psnr"] for p in points], style, label=name,
                    alpha=0.8)
    star = None
    if current is not None:
        (star,) = ax.plot([current["bpp"]], [current["psnr"]], "*", color="tab:red",
                          markersize=16, label="current model", zorder=5)
    ax.set(xlabel="bits per pixel (bpp)", ylabel="PSNR (dB)", title="quality against size")
    ax.grid(alpha=0.3)
    if max_bpp is not None:
        shown = [p["psnr"] for points in (ae_points, *curves.values()) for p in points
                 if p["bpp"] <= max_bpp]
        shown += [current["psnr"]] if current is not None else []
        shown = [v for v in shown if math.isfinite(v)]  # a lossless point has PSNR inf
        ax.set_xlim(0, max_bpp)
        if shown:
            ax.set_ylim(min(shown) - 1, max(shown) + 1)
        legend = ax.legend(fontsize=SMALL_FONT, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        legend = ax.legend(fontsize=SMALL_FONT, loc="best")
    place_labels(ax, [p for p in ae_points if p.get("label")],  # an empty label: no label
                 avoid=[a for a in (star, legend) if a is not None])
    return ax.get_figure(root=True)


def _renderer(fig: Figure):
    """A renderer for measuring text (an Agg canvas is attached if the figure has none)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _overlap(a, b) -> float:
    """Area shared by two display boxes (0 if they do not intersect)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0) * max(height, 0)


def place_labels(ax, points: Sequence[dict], avoid: Sequence = ()) -> list:
    """Label each point {"bpp", "psnr", "label"} so that no two labels overlap, and none
    covers an artist of `avoid` (the star, the legend) or leaves the axes.

    Each label takes the first free spot around its point, near ones first (a label put
    farther away gets a thin line to its point). If one finds no free spot, or more than one
    has to go far (a tight cluster, as a variable-rate codec's curve is), all are set in a
    column beside the curve instead, as far apart as their height, each with its line. The
    figure's layout is done first (the labels are placed in display pixels) and then kept
    as it is. Returns the annotations.
    """
    fig = ax.get_figure(root=True)
    renderer = _renderer(fig)
    if fig.get_layout_engine() is not None:
        fig.get_layout_engine().execute(fig)
        fig.set_layout_engine("none")  # keep the geometry the labels were placed in
    area = ax.get_window_extent(renderer)
    taken = [a.get_window_extent(renderer) for a in avoid]
    xy = [ax.transData.transform((p["bpp"], p["psnr"])) for p in points]
    pt = fig.dpi / 72  # display pixels per point
    labels = []
    for p in points:  # placed below
        labels.append(ax.annotate(p["label"], (p["bpp"], p["psnr"]), textcoords="offset points",
                                  xytext=(0, 0), fontsize=SMALL_FONT, va="center"))

    def box(label):
        return label.get_window_extent(renderer).padded(1)

    def cost(label, others) -> float:
        b, inside = box(label), area.padded(-1)
        outside = b.width * b.height - _overlap(b, inside)
        return outside + sum(_overlap(b, o) for o in others)

    near = [(6, 0, "left"), (-6, 0, "right"), (6, -9, "left"), (-6, 9, "right"),
            (6, 9, "left"), (-6, -9, "right"), (0, 11, "center"), (0, -11, "center")]
    candidates = [(k * dx, k * dy, ha) for k in (1, 1.6, 2.4) for dx, dy, ha in near]
    placed, far = [], 0
    for label in labels:
        scored = []
        for index, (dx, dy, ha) in enumerate(candidates):  # the first free spot, or the
            label.set(position=(dx, dy), ha=ha)             # least covered one
            scored.append((cost(label, taken + placed), index))
        index = min(scored)[1]
        dx, dy, ha = candidates[index]
        label.set(position=(dx, dy), ha=ha)
        placed.append(box(label))
        if index >= len(near):  # away from its point: a thin line shows whose it is
            far += 1
            _leader(ax, label)
    clean = all(cost(label, taken + placed[:i] + placed[i + 1:]) == 0
                for i, label in enumerate(labels))
    if clean and far <= 1:
        return labels
    for line in ax.texts[len(ax.texts) - far:] if far else []:
        line.remove()
    _column(ax, labels, xy, renderer, pt)
    return labels


def _leader(ax, label) -> None:
    """A thin grey line from `label` to its point."""
    ax.annotate("", label.xy, xytext=label.get_position(), textcoords="offset points",
                arrowprops=dict(arrowstyle="-", color="0.5", lw=0.6, shrinkA=0, shrinkB=4))


def _column(ax, labels: list, xy: list, renderer, pt: float) -> None:
    """Set the labels in a column beside the points (right if there is room), spaced by
    their height, each with a thin line to its point."""
    area = ax.get_window_extent(renderer)
    sizes = [label.get_window_extent(renderer) for label in labels]
    height = max(s.height for s in sizes) + 2
    width = max(s.width for s in sizes)
    right = max(x for x, _ in xy) + 14 * pt
    ha = "left" if right + width < area.x1 - 2 else "right"
    column_x = right if ha == "left" else min(x for x, _ in xy) - 14 * pt
    order = sorted(range(len(labels)), key=lambda i: xy[i][1])
    ys, y = {}, -float("inf")
    for i in order:  # from the bottom up: at its point's height, or just above the last
        y = max(xy[i][1], y + height)
        ys[i] = y
    shift = min(0, area.y1 - 2 - height / 2 - y)  # keep the top one inside the axes
    for i, label in enumerate(labels):
        dx, dy = (column_x - xy[i][0]) / pt, (ys[i] + shift - xy[i][1]) / pt
        label.set(position=(dx, dy), ha=ha)
        _leader(ax, label)


def explorer_figure(
    x: torch.Tensor, x_hat: torch.Tensor, x_jpeg: torch.Tensor, ae_title: str, jpeg_title: str,
    ae_points: Sequence[dict], jpeg_points: Sequence[dict], current: dict,
    baselines: dict[str, Sequence[dict]] | None = None,
    ae_label: str = "autoencoder, 8-bit latents", ae_name: str = "autoencoder",
    bits: torch.Tensor | None = None,
) -> Figure:
    """The explorers' picture: original, model and JPEG at the same bytes (top), their
    error maps on one colour scale (the 99th percentile of both errors, so that a few
    extreme pixels do not turn the rest black) and the trade-off curve (bottom). With
    `bits` (h, w), the bits of the file at each latent position (`evaluation.bits_map`),
    a fourth column shows where the bits go, on a scale up to the map's 99th percentile.

    Sized for a notebook's output area: `EXPLORER_WIDTH` inches, 920 px at the 80 dpi of
    `figure_to_png`, so that JupyterLab shows it unscaled, and no text under 10 px there."""
    height, width = x.shape[-2:]
    columns = 3 if bits is None else 4
    panel = EXPLORER_WIDTH / columns  # inches per image column
    image_height = panel * height / width
    fig = Figure(figsize=(EXPLORER_WIDTH, 2 * image_height + 1.3), layout="constrained")
    # two rows laid out apart, so that the curve's axis labels leave the top row alone
    top_row, bottom_row = fig.subfigures(2, 1, height_ratios=[image_height + 0.6,
                                                               image_height + 0.7])
    top = ["x", "ae", "jpeg"] + ([] if bits is None else ["bits"])
    bottom = ["e_ae", "e_jpeg"] + ["curve"] * (columns - 2)
    axes = {**top_row.subplot_mosaic([top]), **bottom_row.subplot_mosaic([bottom])}
    shown = [(x, "original x", "x"), (x_hat, ae_title, "ae"), (x_jpeg, jpeg_title, "jpeg")]
    for image, title, key in shown:
        axes[key].imshow(_to_hwc(image))
        axes[key].set_title(title, fontsize=10)
        axes[key].axis("off")
    errors = {ae_name: error_map(x, x_hat), "JPEG": error_map(x, x_jpeg)}  # (H, W) each
    vmax = max(error_scale([e]) for e in errors.values())  # the larger of the two
    for key, (name, error) in zip(("e_ae", "e_jpeg"), errors.items()):
        shown = axes[key].imshow(error.cpu().numpy(), cmap="magma", vmin=0, vmax=vmax)
        axes[key].set_title(f"{name} error\n|x - x_hat|", fontsize=10)
        axes[key].axis("off")
    error_bar = bottom_row.colorbar(shown, ax=[axes["e_ae"], axes["e_jpeg"]], location="bottom",
                                    fraction=0.04, pad=0.01, shrink=0.8, extend="max")
    error_bar.set_label("|x - x_hat| of both maps (top: 99th pct.)", fontsize=SMALL_FONT)
    error_bar.ax.tick_params(labelsize=SMALL_FONT)
    if bits is not None:
        bits_top = error_scale([bits])  # the 99th percentile: one costly position does not set it
        shown = axes["bits"].imshow(bits.cpu().numpy(), cmap="magma", vmin=0, vmax=bits_top,
                                    interpolation="nearest")
        axes["bits"].set_title(f"where the bits go:\n{float(bits.sum()) / 8:,.0f} bytes of y",
                               fontsize=10)
        axes["bits"].axis("off")
        colorbar = top_row.colorbar(shown, ax=axes["bits"], location="bottom", fraction=0.04,
                                pad=0.01, shrink=0.9, extend="max")
        colorbar.set_label("bits per latent position (top: 99th pct.)", fontsize=SMALL_FONT)
        colorbar.ax.tick_params(labelsize=SMALL_FONT)
    axes["curve"].tick_params(labelsize=SMALL_FONT)
    rates = [r for r in [p["bpp"] for p in ae_points] + [current["bpp"]] if math.isfinite(r)]
    plot_tradeoff(ae_points, jpeg_points, current, ax=axes["curve"], baselines=baselines,
                  ae_label=ae_label, max_bpp=1.6 * max(rates) if rates else None)  # lays out
    # the layout is done (plot_tradeoff placed its labels on it): move the error maps' colour
    # bar up, right under the maps as drawn (an image keeps its aspect inside a taller cell,
    # and the bar, placed under the cell, would float far below the images)
    to_figure = bottom_row.transSubfigure.inverted()  # the bar is the bottom row's
    boxes = []
    for key in ("e_ae", "e_jpeg"):
        axes[key].apply_aspect()
        boxes.append(to_figure.transform(axes[key].get_window_extent()))  # [[x0, y0], [x1, y1]]
    left, right = boxes[0][0][0], boxes[1][1][0]
    bottom, height = min(box[0][1] for box in boxes), error_bar.ax.get_position().height
    error_bar.ax.set_position((left + 0.15 * (right - left), bottom - 0.03 - height,
                              0.7 * (right - left), height))
    return fig


def plot_rd_training(history: dict[str, list]) -> Figure:
    """Rate (estimated bpp) and distortion (PSNR) against step, for rate-distortion training.

    Args:
        history: {"step": [...], "bpp": [...], "psnr": [...]}.
    """
    fig = Figure(figsize=(10, 3.3), layout="constrained")
    ax_rate, ax_psnr = fig.subplots(1, 2)
    ax_rate.plot(history["step"], history["bpp"], color="tab:orange", lw=1)
    ax_rate.set(xlabel="step", ylabel="estimated bpp", title="rate (from the entropy model)")
    ax_psnr.plot(history["step"], history["psnr"], color="tab:blue", lw=1)
    ax_psnr.set(xlabel="step", ylabel="PSNR (dB)", title="distortion (training batches)")
    for ax in (ax_rate, ax_psnr):
        ax.grid(alpha=0.3)
    return fig


def pipeline_diagram(height: int, width: int, latent_channels: int, downsamplings: int,
                     latent_bits: float = 8.0) -> Figure:
    """The autoencoder as a picture: x -> encoder -> y -> decoder -> x_hat, each tensor with
    its shape and size, and the bits per pixel the latent costs at `latent_bits` per value.

    Args:
        height, width: the image size in pixels.
        latent_channels, downsamplings: C and k of the model.
        latent_bits: bits per latent value (8 for a plain autoencoder's 8-bit latents).
    """
    scale = 2**downsamplings
    h, w = -(-height // scale), -(-width // scale)  # ceil: the encoder pads
    values = latent_channels * h * w
    bpp = latent_bits * values / (height * width)
    fig = Figure(figsize=(11, 2.6), layout="constrained")
    ax = fig.subplots()
    ax.set(xlim=(0, 11), ylim=(0, 2.6))
    ax.axis("off")
    x_label = f"x\n(3, {height}, {width})\n{3 * height * width:,} values\n24 bpp"
    y_label = (f"y\n({latent_channels}, {h}, {w})\n{values:,} values\n"
               f"{bpp:.2f} bpp at {latent_bits:g} bits")
    boxes = [  # (centre x, label, width, height, colour)
        (1.0, x_label, 1.7, 1.9, "#dbe9f6"),
        (3.4, f"encoder\n{downsamplings} stride-2\nconvolutions", 1.6, 1.3, "#f2f2f2"),
        (5.5, y_label, 1.9, 1.2, "#fde7c8"),  # drawn smaller than x: the bottleneck
        (7.6, f"decoder\n{downsamplings} transposed\nconvolutions", 1.6, 1.3, "#f2f2f2"),
        (10.0, f"x_hat\n(3, {height}, {width})", 1.7, 1.9, "#dbe9f6"),
    ]
    for x, label, bw, bh, colour in boxes:
        ax.add_patch(_box(x - bw / 2, 1.3 - bh / 2, bw, bh, colour))
        ax.text(x, 1.3, label, ha="center", va="center", fontsize=9)
    for (x0, _, w0, _, _), (x1, _, w1, _, _) in zip(boxes, boxes[1:]):
        ax.annotate("", xy=(x1 - w1 / 2, 1.3), xytext=(x0 + w0 / 2, 1.3),
                    arrowprops=dict(arrowstyle="->", lw=1.5))
    ratio = 3 * height * width / values
    ax.set_title(f"y holds {ratio:.1f} times fewer values than x", fontsize=10)
    return fig


def _box(x: float, y: float, width: float, height: float, colour: str):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.05", facecolor=colour,
                          edgecolor="#555555")


def conv1d_diagram(size: int = 7, kernel: int = 5, stride: int = 2, padding: int = 2) -> Figure:
    """A 1-D convolution as a picture: the input row with its zero padding (grey), the
    output row below, and above the input the window each output value reads (one colour
    per output). Shows why out = floor((size + 2 * padding - kernel) / stride) + 1, without
    writing that formula (notebook 02's exercise 1 asks students to find it).

    Args:
        size, kernel, stride, padding: the input length and the convolution's settings.
    """
    out = (size + 2 * padding - kernel) // stride + 1
    positions = range(-padding, size + padding)
    fig = Figure(figsize=(0.55 * (size + 2 * padding) + 1.5, 1.2 + 0.28 * out),
                 layout="constrained")
    ax = fig.subplots()
    colours = [f"C{j % 10}" for j in range(out)]
    for p in positions:  # the input row, padding grey
        padded = p < 0 or p >= size
        ax.add_patch(_box(p - 0.45, 0, 0.9, 0.9, "#e6e6e6" if padded else "#dbe9f6"))
        ax.text(p, 0.45, "0" if padded else f"x{p}", ha="center", va="center", fontsize=8)
    for j in range(out):  # each output's window, stacked above the input
        start = j * stride - padding
        level = 1.15 + 0.28 * j
        ax.plot([start - 0.4, start + kernel - 1 + 0.4], [level, level], color=colours[j], lw=4,
                solid_capstyle="butt")
        ax.text(start + kernel - 1 + 0.6, level, f"y{j}", va="center", fontsize=8,
                color=colours[j])
    offset = (size - 1) / 2 - (out - 1) * stride / 2  # centre the output row under the input
    for j in range(out):
        centre = offset + j * stride
        ax.add_patch(_box(centre - 0.45, -1.5, 0.9, 0.9, "#fde7c8"))
        ax.text(centre, -1.05, f"y{j}", ha="center", va="center", fontsize=8, color=colours[j])
    ax.set(xlim=(-padding - 1, size + padding + 1.5), ylim=(-1.7, 1.45 + 0.28 * out))
    ax.axis("off")
    # the title gives the sizes only: notebook 02 asks students to find the formula
    ax.set_title(f"size {size}, kernel {kernel}, stride {stride}, padding {padding}: "
                 f"{out} outputs", fontsize=10)
    return fig


def transposed_stamps_diagram(size: int = 4, kernel: int = 5, stride: int = 2,
                              padding: int = 2, output_padding: int = 1) -> Figure:
    """A 1-D transposed convolution as a picture: each input value stamps the kernel onto
    the output, `stride` pixels after the previous one (one colour per input value); the
    stamps that reach each output pixel are counted below it. Uneven counts are the
    checkerboard. In the order PyTorch's sizes follow: `padding` cuts that many pixels from
    each end of the stamps (grey), and `output_padding` gives back that many of those cut at
    the end (green), stamps included; only where it gives back more than `padding` cut does
    it reach past the last stamp, to pixels that get the bias alone (0 stamps).

    Args:
        size, kernel, stride, padding, output_padding: the input length and the layer's
            settings.
    """
    stamped = (size - 1) * stride + kernel  # the pixels the stamps cover
    out = stamped - 2 * padding + output_padding
    full = max(stamped, padding + out)  # past `stamped`: pixels that get the bias alone
    fig = Figure(figsize=(0.6 * full + 1.7, 2.6 + 0.28 * size), layout="constrained")
    ax = fig.subplots()
    counts = [0] * full
    for i in range(size):  # the input row, and each value's stamp above the output
        ax.add_patch(_box(i * stride + (kernel - 1) / 2 - 0.45, 1.2 + 0.28 * size, 0.9, 0.9,
                          "#fde7c8"))
        ax.text(i * stride + (kernel - 1) / 2, 1.65 + 0.28 * size, f"y{i}", ha="center",
                va="center", fontsize=SMALL_FONT, color=f"C{i % 10}")
        level = 1.0 + 0.28 * i
        ax.plot([i * stride - 0.4, i * stride + kernel - 1 + 0.4], [level, level],
                color=f"C{i % 10}", lw=4, solid_capstyle="butt")
        for t in range(kernel):
            counts[i * stride + t] += 1
    kinds = []  # per pixel: cut, kept, given back or bias only
    for p in range(full):
        if not padding <= p < padding + out:
            kinds.append("cut")
        elif p >= stamped:
            kinds.append("bias")
        elif p >= stamped - padding:
            kinds.append("back")
        else:
            kinds.append("kept")
    colours = {"cut": "#e6e6e6", "kept": "#dbe9f6", "back": "#cdeac3", "bias": "#fff3b0"}
    for p, kind in enumerate(kinds):  # the output row and the stamp counts
        ax.add_patch(_box(p - 0.45, 0, 0.9, 0.9, colours[kind]))
        ax.text(p, 0.45, "" if kind == "cut" else f"x{p - padding}", ha="center",
                va="center", fontsize=SMALL_FONT)
        ax.text(p, -0.35, str(counts[p]), ha="center", va="center", fontsize=11,
                fontweight="normal" if kind == "cut" else "bold",
                color="grey" if kind == "cut" else "black")
    labels = {"cut": "cut by\npadding", "back": "given back by\noutput_padding",
              "bias": "past the last\nstamp: bias only"}
    p, row, last = 0, 0, -3  # last: where the previous label's run ended
    while p < full:  # one label under each run of cut, given-back or bias-only pixels
        q = p
        while q < full and kinds[q] == kinds[p]:
            q += 1
        if kinds[p] in labels:
            row = 1 - row if p <= last + 2 else 0  # neighbours on alternate rows: no overlap
            ax.text((p + q - 1) / 2, -0.8 - 0.95 * row, labels[kinds[p]], ha="center",
                    va="top", fontsize=10, color="dimgrey")
            last = q - 1
        p = q
    ax.text(-1.2, -0.35, "stamps", ha="right", va="center", fontsize=10)
    ax.set(xlim=(-2.8, full + 0.5), ylim=(-2.9, 2.3 + 0.28 * size))
    ax.axis("off")
    ax.set_title(f"kernel {kernel}, stride {stride}, padding {padding}, output_padding "
                 f"{output_padding}: {size} values -> {out} pixels", fontsize=11)
    return fig


def rd_figure(results: dict, title: str = "") -> Figure:
    """PSNR and MS-SSIM against bpp for every codec."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_psnr, ax_ssim = fig.subplots(1, 2)
    styles = {"JPEG": "s--", "WebP": "^--", "AVIF 4:4:4": "v--", "AVIF 4:2:0": "v:",
              "aecodec": "o-"}
    for codec, pts in results["curves"].items():
        pts = sorted(pts, key=lambda p: p["bpp"])
        rates = [p["bpp"] for p in pts]
        ax_psnr.plot(rates, [p["psnr"] for p in pts], styles.get(codec, "o-"), label=codec)
        ax_ssim.plot(rates, [-10 * math.log10(max(1 - p["ms_ssim"], 1e-12)) for p in pts],
                     styles.get(codec, "o-"), label=codec)
    ax_psnr.set(xlabel="bits per pixel (from file sizes)", ylabel="PSNR (dB)", title="PSNR")
    ax_ssim.set(xlabel="bits per pixel (from file sizes)", ylabel="-10 log10(1 - MS-SSIM) (dB)",
                title="MS-SSIM, in dB (equal steps near 1 matter)")
    for ax in (ax_psnr, ax_ssim):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig
