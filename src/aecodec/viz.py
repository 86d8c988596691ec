"""Matplotlib pictures: image grids, original / reconstruction / error, loss curves.

Every function returns a `matplotlib.figure.Figure` built without pyplot's global state,
so it shows once in a notebook (as the cell's value), never leaks open figures, and can
be saved with `fig.savefig(...)`. Widgets call these; they draw nothing themselves.
"""

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure

from aecodec.metrics import psnr


def _to_hwc(x: torch.Tensor):
    """(3, H, W) or (1, 3, H, W) tensor in [0, 1] -> (H, W, 3) numpy array for imshow."""
    if x.dim() == 4:
        x = x[0]
    return x.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()  # (H, W, 3)


def show_images(
    images: Sequence[torch.Tensor], titles: Sequence[str] | None = None, ncols: int = 4,
    size: float = 3.0,
) -> Figure:
    """A grid of images (each (3, H, W) in [0, 1]) with optional titles.

    Args:
        images: the images.
        titles: one title per image, or None.
        ncols: images per row.
        size: inches per grid cell.
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
    return fig


def error_map(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per-pixel absolute error, averaged over colour channels: (3, H, W) -> (H, W)."""
    if x.dim() == 4:
        x, x_hat = x[0], x_hat[0]
    return (x.float() - x_hat.float()).abs().mean(dim=0)  # (H, W)


def compare(
    x: torch.Tensor, x_hat: torch.Tensor, title: str | None = None, size: float = 4.0
) -> Figure:
    """Original, reconstruction and error map side by side, PSNR in the titles.

    Args:
        x: the original (3, H, W).
        x_hat: the reconstruction (3, H, W).
        title: a title over the whole figure.
        size: inches per panel.
    """
    height, width = x.shape[-2:]
    fig = Figure(figsize=(3 * size, size * height / width + 0.6), layout="constrained")
    ax_x, ax_hat, ax_err = fig.subplots(1, 3)
    ax_x.imshow(_to_hwc(x))
    ax_x.set_title("original x")
    ax_hat.imshow(_to_hwc(x_hat))
    ax_hat.set_title(f"reconstruction x_hat: {psnr(x, x_hat):.2f} dB")
    err = error_map(x, x_hat)
    shown = ax_err.imshow(err.cpu().numpy(), cmap="magma", vmin=0, vmax=max(float(err.max()), 1e-6))
    ax_err.set_title("|x - x_hat| (mean over RGB)")
    fig.colorbar(shown, ax=ax_err, fraction=0.046, pad=0.02)
    for ax in (ax_x, ax_hat, ax_err):
        ax.axis("off")
    if title:
        fig.suptitle(title)
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
