"""Honest comparisons: codecs on a folder of images, real bytes, Bjøntegaard deltas.

Holds: `bd_rate` and `bd_psnr` (Bjøntegaard's deltas, with the piecewise cubic
interpolation of the method's later revision rather than one cubic fit: a single cubic
through four points swings wildly where a codec's curve flattens), `evaluate_codecs` (each
model, and Pillow's JPEG, WebP and AVIF over sweeps of qualities, per image and averaged),
`codec_runs` (models as extra curves), all scored by `score`, the one scoring harness (a
codec model, a Pillow `baseline` or any run, on a set of images; `measure` scores one
decoded image, for it and for the explorers), and `results_markdown`
to report them (their figure is `aecodec.viz.rd_figure`, also importable from here).
Every bpp here is measured from `len(bytes)` of a real file; nothing is estimated. Also
`evaluate_plain_models` (`score` of each model's `plain_run`) and `plain_markdown`: the
plain autoencoders with 8-bit latents, beside the best JPEG no larger (`aecodec evaluate
--plain`). And `bits_map`: where a file's bits go, position by position, counted with the
file's own coding tables.
"""

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
from tqdm.auto import tqdm

from aecodec.baselines import (
    AVIF_QUALITIES,
    JPEG_QUALITIES,
    WEBP_QUALITIES,
    decode_image_bytes,
    encode_avif,
    encode_jpeg,
    encode_webp,
    jpeg_at_most,
)
from aecodec.codec import compress, decoded_latents, decompress, read_header
from aecodec.latents8bit import reconstruct_8bit
from aecodec.losses import rd_loss
from aecodec.metrics import MS_SSIM_MIN_SIDE, bpp, ms_ssim, mse, psnr
from aecodec.models import Autoencoder, Codec, latent_shape

AVIF_SUBSAMPLINGS = ("4:4:4", "4:2:0")  # 4:4:4 for the RGB comparison; 4:2:0 is the default


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes at the points for a monotone piecewise cubic (Fritsch and Carlson, 1980):
    the curve through the points never overshoots them, even where a curve flattens."""
    h, delta = np.diff(x), np.diff(y) / np.diff(x)
    if len(x) == 2:
        return np.array([delta[0], delta[0]])
    d = np.zeros(len(x))
    for k in range(1, len(x) - 1):
        if delta[k - 1] * delta[k] > 0:  # a weighted harmonic mean of the two secants
            w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])
    d[0] = _end_slope(h[0], h[1], delta[0], delta[1])
    d[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _end_slope(h0: float, h1: float, delta0: float, delta1: float) -> float:
    d = ((2 * h0 + h1) * delta0 - h0 * delta1) / (h0 + h1)
    if np.sign(d) != np.sign(delta0):
        return 0.0
    if np.sign(delta0) != np.sign(delta1) and abs(d) > 3 * abs(delta0):
        return 3 * delta0
    return d


def _mean_of_curve(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Mean over [lo, hi] of the monotone piecewise cubic through the points (x, y)."""
    d = _pchip_slopes(x, y)
    t = np.linspace(lo, hi, 2001)
    k = np.clip(np.searchsorted(x, t) - 1, 0, len(x) - 2)  # the piece each t falls in
    h = x[k + 1] - x[k]
    s = (t - x[k]) / h  # 0 -> 1 along the piece
    curve = ((2 * s**3 - 3 * s**2 + 1) * y[k] + (s**3 - 2 * s**2 + s) * h * d[k]
             + (-2 * s**3 + 3 * s**2) * y[k + 1] + (s**3 - s**2) * h * d[k + 1])  # Hermite
    return float((curve[1:] + curve[:-1]).mean() / 2)  # trapezoid rule on an even grid


def bd_rate(anchor: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]]) -> float:
    """Bjøntegaard delta rate in percent: how many more bits `test` needs than `anchor`
    for the same PSNR, averaged over the PSNR range both curves cover (negative: `test`
    saves bits). NaN when the curves share no PSNR range. Dominated points are dropped
    first (see `pareto_front`).

    Args:
        anchor, test: (bpp, psnr) points of two curves, at least 2 each.
    """
    (ra, pa), (rt, pt) = _as_arrays(anchor), _as_arrays(test)
    lo, hi = max(pa.min(), pt.min()), min(pa.max(), pt.max())
    if lo >= hi:
        return math.nan  # the curves do not overlap in quality
    diff = _mean_of_curve(pt, np.log(rt), lo, hi) - _mean_of_curve(pa, np.log(ra), lo, hi)
    return (math.exp(diff) - 1) * 100


def bd_psnr(anchor: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]]) -> float:
    """Bjøntegaard delta PSNR in dB: how much higher `test`'s PSNR is than `anchor`'s at
    the same rate, averaged over the (log) rate range both curves cover."""
    (ra, pa), (rt, pt) = _as_arrays(anchor), _as_arrays(test)
    lo, hi = max(np.log(ra).min(), np.log(rt).min()), min(np.log(ra).max(), np.log(rt).max())
    if lo >= hi:
        return math.nan
    diff = _mean_of_curve(np.log(rt), pt, lo, hi) - _mean_of_curve(np.log(ra), pa, lo, hi)
    return float(diff)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (bpp, psnr) points no other point beats: drop any point for which a cheaper one
    is at least as good. What is left rises in PSNR as the rate grows, as Bjøntegaard's
    interpolation assumes."""
    front = []
    for rate, quality in sorted(points):
        if not front or quality > front[-1][1]:
            front.append((rate, quality))
    return front


def _as_arrays(points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    if len(points) < 2:
        raise ValueError("a rate-distortion curve needs at least 2 points")
    front = pareto_front(points)
    if len(front) < 2:
        return np.array([front[0][0]] * 2), np.array([front[0][1]] * 2)  # no range: NaN later
    return np.array([p[0] for p in front]), np.array([p[1] for p in front])


Run = Callable[[torch.Tensor], tuple]  # x (3, H, W) -> (bytes, x_hat (3, H, W)[, extras])

BASELINES = {"JPEG": encode_jpeg, "WebP": encode_webp,
             **{f"AVIF {sampling}": partial(encode_avif, subsampling=sampling)
                for sampling in AVIF_SUBSAMPLINGS}}  # Pillow's codecs, by curve name


def baseline(name: str, quality: int) -> Run:
    """Pillow's codec `name` (a key of `BASELINES`) at `quality`, as a run for `score`."""
    encode = BASELINES[name]

    def run(x: torch.Tensor) -> tuple[int, torch.Tensor]:
        data = encode(x, quality)
        return len(data), decode_image_bytes(data)
    return run


def file_run(model: Codec) -> Run:
    """A codec model as a run for `score`: a real .aec file, written and decoded."""
    def run(x: torch.Tensor) -> tuple[int, torch.Tensor]:
        data = compress(model, x)
        return len(data), decompress(model, data)
    return run


def measure(x: torch.Tensor, x_hat: torch.Tensor, num_bytes: int,
            with_ms_ssim: bool = True) -> dict[str, float]:
    """The scores of one decoded image, as `score` and the explorers report them.

    Args:
        x, x_hat: the image and its decoding, (3, H, W) in [0, 1].
        num_bytes: the size of the file x_hat was decoded from.
        with_ms_ssim: also MS-SSIM (the slowest of the three; NaN for an image too small).

    Returns:
        {"bpp" (from num_bytes), "psnr" (dB)[, "ms_ssim"]}.
    """
    height, width = x.shape[-2:]
    scores = dict(bpp=bpp(num_bytes, height, width), psnr=psnr(x, x_hat))
    if with_ms_ssim:
        small = min(height, width) < MS_SSIM_MIN_SIDE
        scores["ms_ssim"] = math.nan if small else ms_ssim(x, x_hat)
    return scores


def score(codec: Codec | Run, images: dict[str, torch.Tensor], progress: bool = False,
          bar: tqdm | None = None) -> dict:
    """The scoring harness: one codec at one setting on every image, from real bytes.

    Args:
        codec: a trained codec model (each image becomes a real .aec file), or a run
            x -> (bytes, x_hat) or (bytes, x_hat, extras): a baseline (`baseline("JPEG",
            50)`) or any other codec (`benchmarks/`).
        images: {name: x (3, H, W)}.
        progress: show a progress bar.
        bar: a progress bar to advance by one per image instead.

    Returns:
        {"bpp" (from len(bytes)), "psnr" (dB, of the decoded 8-bit image), "ms_ssim" (NaN
        for images too small for it), the run's extras, and for a codec model "objective"
        (its training loss, lambda * 255^2 * MSE + bpp: lower is better, compares models
        of one lambda): means over the images; "images": {name: the same, per image}}.
    """
    run = file_run(codec) if isinstance(codec, Codec) else codec
    per_image = {}
    for name, x in tqdm(images.items(), desc="scoring", leave=False, disable=not progress):
        num_bytes, x_hat, *extra = run(x)
        scores = per_image[name] = dict(measure(x, x_hat, num_bytes), **(extra[0] if extra else {}))
        if isinstance(codec, Codec):
            scores["objective"] = float(rd_loss(mse(x, x_hat), scores["bpp"], codec.lmbda))
        if bar is not None:
            bar.update(1)
    mean = {k: float(np.mean([s[k] for s in per_image.values()]))
            for k in next(iter(per_image.values()))}
    return dict(**mean, images=per_image)


def codec_runs(models: dict[str, Codec]) -> dict[str, Run]:
    """{label: run} for `evaluate_codecs`'s `others`: run(x) -> (bytes, x_hat) of a real
    .aec file written by the model; for a model with side information also
    {"side_bpp_estimated"}, the share of its side latents (from their likelihoods,
    `Codec.estimated_latent_bits`: the file has one stream)."""
    def runner(model: Codec) -> Run:
        def run(x: torch.Tensor) -> tuple:
            num_bytes, x_hat = file_run(model)(x)
            if set(model.latent_shapes(*x.shape[-2:])) == {"y"}:  # no side information
                return num_bytes, x_hat
            bits = model.estimated_latent_bits(x[None])
            side = sum(b for name, b in bits.items() if name != "y")
            return num_bytes, x_hat, {"side_bpp_estimated": bpp(side / 8, *x.shape[-2:])}
        return run
    return {label: runner(model) for label, model in models.items()}


def file_scores(model: Codec, images: dict[str, torch.Tensor], progress: bool = True) -> dict:
    """One codec's means over `images` {name: x (3, H, W)}, with real files: "bpp",
    "psnr" and "objective", as `score` gives them."""
    result = score(model, images, progress=progress)
    return {key: result[key] for key in ("bpp", "psnr", "objective")}


def bits_map(model: Codec, data: bytes) -> dict[str, torch.Tensor]:
    """Where the bits of an .aec file go: the bits of y's values at each latent position,
    summed over the channels, counted with the very integer tables the file was coded with
    (`Codec.latent_bits`: the range coder spends these bits, give or take a few bytes for
    the whole stream).

    Args:
        model: the model that wrote the file.
        data: the file's bytes.

    Returns:
        {"y": (h, w) bits per latent position, cropped to the image's own positions;
         "per_channel": (C,) bits of each channel of y over the whole latent;
         "z": total bits of the side latent (0 for a factorized file);
         "total": bits of y and z over the whole latent, padding included}.
    """
    header = read_header(data)
    bits = model.latent_bits(decoded_latents(model, data))
    _, h, w = latent_shape(header["height"], header["width"], model.config)  # unpadded
    bits_y = bits["y"]  # (C, h', w')
    bits_z = float(sum(float(b.sum()) for name, b in bits.items() if name != "y"))
    return {"y": bits_y.sum(dim=0)[:h, :w], "per_channel": bits_y.sum(dim=(1, 2)),
            "z": bits_z, "total": float(bits_y.sum()) + bits_z}


def score_change(base: dict, test: dict) -> str:
    """How `test`'s `file_scores` differ from `base`'s, in words for a report."""
    return (f"objective {100 * (test['objective'] / base['objective'] - 1):+.1f}%, "
            f"bpp {100 * (test['bpp'] / base['bpp'] - 1):+.1f}%, "
            f"PSNR {test['psnr'] - base['psnr']:+.2f} dB")


def evaluate_codecs(
    images: dict[str, torch.Tensor],
    models: dict[str, Codec],
    jpeg_qualities: Sequence[int] = JPEG_QUALITIES,
    webp_qualities: Sequence[int] = WEBP_QUALITIES,
    avif_qualities: Sequence[int] = AVIF_QUALITIES,
    progress: bool = True,
    others: dict[str, dict[str, Callable[[torch.Tensor], tuple[int, torch.Tensor]]]] | None = None,
) -> dict:
    """Run every codec setting on every image and average.

    Args:
        images: {name: x (3, H, W)}, e.g. Kodak.
        models: {label: trained codec}; together they form the curve "aecodec".
        jpeg_qualities, webp_qualities, avif_qualities: Pillow settings to sweep (AVIF
            both in 4:4:4 and in 4:2:0; see `aecodec.baselines` for the settings).
        progress: show a progress bar.
        others: more codecs, {codec: {setting: run}}, where run(x) -> (bytes, x_hat) of a
            real file (e.g. another project's model, in `benchmarks/`).

    Returns:
        {"curves": {codec: [point, ...]}, "bd": {...}} where each point has the setting,
        per-image scores and their means ("bpp", "psnr", "ms_ssim").
    """
    qualities = {"JPEG": jpeg_qualities, "WebP": webp_qualities,
                 **{f"AVIF {sampling}": avif_qualities for sampling in AVIF_SUBSAMPLINGS}}
    runs = [(name, q, baseline(name, q)) for name, settings in qualities.items() for q in settings]
    others = {"aecodec": codec_runs(models), **(others or {})}
    runs += [(codec, setting, run) for codec, settings in others.items()
             for setting, run in settings.items()]
    curves: dict[str, list] = {}
    bar = tqdm(total=len(runs) * len(images), desc="evaluating", disable=not progress)
    for codec, setting, run in runs:
        curves.setdefault(codec, []).append(dict(setting=setting, **score(run, images, bar=bar)))
    bar.close()
    return dict(curves=curves, bd=bd_table(curves))


def bd_table(curves: dict[str, list]) -> dict:
    """BD-rate and BD-PSNR of each codec against each other, from the mean points."""
    points = {c: [(p["bpp"], p["psnr"]) for p in pts] for c, pts in curves.items() if len(pts) > 1}
    table = {}
    for test in points:
        for anchor in points:
            if test != anchor:
                table[f"{test} vs {anchor}"] = dict(
                    bd_rate_percent=bd_rate(points[anchor], points[test]),
                    bd_psnr_db=bd_psnr(points[anchor], points[test]),
                    psnr_overlap_db=_overlap(points[anchor], points[test]))
    return table


def _overlap(anchor, test) -> float:
    """Width in dB of the PSNR range both curves cover (what BD-rate averages over)."""
    (_, pa), (_, pt) = _as_arrays(anchor), _as_arrays(test)
    return float(max(0.0, min(pa.max(), pt.max()) - max(pa.min(), pt.min())))


def results_markdown(results: dict) -> str:
    """Markdown: the mean point of every codec setting, then the Bjøntegaard deltas."""
    lines = ["| codec | setting | bpp | PSNR (dB) | MS-SSIM | of the bpp, side information "
             "(estimated) |", "|---|---|---|---|---|---|"]
    for codec, pts in results["curves"].items():
        for p in sorted(pts, key=lambda p: p["bpp"]):
            side = f"{p['side_bpp_estimated']:.4f}" if "side_bpp_estimated" in p else ""
            lines.append(f"| {codec} | {p['setting']} | {p['bpp']:.3f} | {p['psnr']:.2f} "
                         f"| {p['ms_ssim']:.4f} | {side} |")
    lines += ["", "| comparison | BD-rate | BD-PSNR | PSNR range shared |", "|---|---|---|---|"]
    for name, d in results["bd"].items():
        rate = "n/a (no shared PSNR range)" if math.isnan(d["bd_rate_percent"]) \
            else f"{d['bd_rate_percent']:+.1f}%"
        gain = "n/a" if math.isnan(d["bd_psnr_db"]) else f"{d['bd_psnr_db']:+.2f} dB"
        lines.append(f"| {name} | {rate} | {gain} | {d['psnr_overlap_db']:.2f} dB |")
    return "\n".join(lines)


def plain_run(model: Autoencoder) -> Run:
    """A plain model as a run for `score`: its latents stored in 8 bits (the bytes), and
    beside them the best JPEG no larger ("jpeg_bytes", "jpeg_quality", "jpeg_psnr",
    "jpeg_ms_ssim"), with the model's "ratio" and "latent_bytes"."""
    def run(x: torch.Tensor) -> tuple:
        x_hat, num_bytes = reconstruct_8bit(model, x[None])  # (1, 3, H, W)
        jpeg_hat, jpeg_bytes, quality = jpeg_at_most(x, num_bytes)
        jpeg = measure(x, jpeg_hat, jpeg_bytes)
        return num_bytes, x_hat[0], dict(
            ratio=model.compression_ratio(*x.shape[-2:]), latent_bytes=num_bytes,
            jpeg_bytes=jpeg_bytes, jpeg_quality=quality, jpeg_psnr=jpeg["psnr"],
            jpeg_ms_ssim=jpeg["ms_ssim"])
    return run


def evaluate_plain_models(images: dict[str, torch.Tensor], models: dict[str, Autoencoder],
                          progress: bool = True) -> list[dict]:
    """Each plain model's scores averaged over `images` (`score` of its `plain_run`), one
    dict per model.

    Args:
        images: {name: x (3, H, W)}, e.g. Kodak.
        models: {label: trained Autoencoder}.
        progress: show a progress bar.
    """
    rows = []
    for label, model in tqdm(models.items(), desc="models", disable=not progress):
        mean = score(plain_run(model), images)
        del mean["images"]
        c, k = model.config.latent_channels, model.config.downsamplings
        rows.append(dict(model=label, latent_channels=c, downsamplings=k,
                         images=len(images), **mean))
    return rows


def plain_markdown(rows: list[dict]) -> str:
    """A markdown table of `evaluate_plain_models`."""
    lines = [
        "| model | latent y (768x512 image) | ratio | bpp (8-bit y) | PSNR (dB) | MS-SSIM "
        "| JPEG, same bytes: PSNR | JPEG MS-SSIM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c, k = r["latent_channels"], r["downsamplings"]
        lines.append(
            f"| C={c}, k={k} | {c}x{512 >> k}x{768 >> k} | {r['ratio']:.0f}:1 | {r['bpp']:.3f} "
            f"| {r['psnr']:.2f} | {r['ms_ssim']:.4f} | {r['jpeg_psnr']:.2f} "
            f"| {r['jpeg_ms_ssim']:.4f} |"
        )
    return "\n".join(lines)


def __getattr__(name: str):
    """`rd_figure` lives in `aecodec.viz` (figures import matplotlib); it is still
    importable from here, where notebooks and scripts have always found it."""
    if name == "rd_figure":
        from aecodec.viz import rd_figure

        return rd_figure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
