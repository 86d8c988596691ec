"""The default codec on Kodak with real files, beside the codec it was warm-started from and
JPEG, WebP and AVIF; one row of the training campaign's trajectory.

    .venv/bin/python benchmarks/default_codec.py --kodak ../shared/kodak \
        [--model runs/default/default_codec.pt] [--threads 1] \
        [--out benchmarks/results/default_codec.md]

The default codec (`aecodec.models.context.VariableRateCheckerboard`, trained by
`aecodec.recipes.train_default_codec`) is scored at every lambda it was trained at; the
variable-rate hyperprior it started from (the shipped vr_hyperprior.pt) at its four. Every
point is the mean over the Kodak images of real .aec files: bpp from len(bytes), PSNR of
the 8-bit decoded image. JPEG, WebP and AVIF are the curves `aecodec evaluate` stored in
data/results/results.json for the same images, with Pillow's best ordinary settings
(optimized JPEG Huffman tables, WebP method 6, AVIF 4:4:4 for RGB PSNR). BD-rates are over
each pair's common PSNR range (`aecodec.evaluation.bd_rate`, PCHIP).

The training behind the model is counted along its whole warm-start chain (factorized ->
hyperprior -> variable rate -> default), in CPU-hours from the checkpoints' own records;
each run appends a row to `<out>_trajectory.json` (cumulative hours -> BD-rates), from
which docs/training.md's trajectory table is written (`--table`).

Holds only the measurement.
"""

import argparse
import json
import platform
from pathlib import Path

import torch
from matplotlib.figure import Figure

from aecodec import zoo
from aecodec._atomic import atomic_write
from aecodec.checkpoint import load_checkpoint, load_model
from aecodec.evaluation import bd_rate, bd_table, results_markdown, score
from aecodec.kodak import load_kodak
from aecodec.recipes import default_codec_seconds
from aecodec.viz import figure_to_png

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BASELINES = ("JPEG", "WebP", "AVIF 4:4:4")
# the warm-start chain behind the shipped variable-rate codec, oldest first
CHAIN = ("rd_lambda0.013.pt", "rd_lambda0.0067.pt", "hp_lambda0.0067.pt", "vr_hyperprior.pt")


def write(path: Path, data: str | bytes) -> None:
    """Write a results file atomically: a crash leaves the old file, never half a new one."""
    with atomic_write(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)


def training_hours(path: Path) -> float:
    """Hours of training recorded in a checkpoint (0 if it keeps no record)."""
    return ((load_checkpoint(path).get("training") or {}).get("seconds") or 0) / 3600


def curve(model, images: dict, lambdas) -> dict[float, dict]:
    """`score` at each lambda: means and per-image scores, from real files."""
    points = {}
    for lmbda in lambdas:
        with model.at_lambda(lmbda):
            points[lmbda] = score(model, images, progress=True)
        means = {k: round(v, 4) for k, v in points[lmbda].items() if k != "images"}
        print(f"{type(model).__name__}, lambda {lmbda}: {means}", flush=True)
    return points


def stored_start(names: list[str]) -> dict[float, dict] | None:
    """The starting codec's curve at its trained lambdas from benchmarks/variable_rate.py's
    results, if they cover the same images (its per-image scores are not kept: None if
    the images differ)."""
    path = RESULTS / "variable_rate.json"
    if not path.exists() or len(names) != 24:
        return None
    stored = json.loads(path.read_text())
    trained = zoo.load_variable_rate().config.lambdas
    return {lmbda: stored["variable"][f"{lmbda:.6g}"] for lmbda in trained}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", default=None, help="Kodak folder ($AECODEC_KODAK)")
    parser.add_argument("--model", default=str(REPO / "runs/default/default_codec.pt"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=24, help="the first N Kodak images only")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/default_codec.md"))
    parser.add_argument("--no-control", action="store_true",
                        help="skip the starting codec's curve (reuse the last run's, or "
                        "benchmarks/variable_rate.py's on all 24 images)")
    parser.add_argument("--ship", action="store_true",
                        help="also store the curve in data/results (results.json, .md, "
                        "rd.png) as 'aecodec context', for `aecodec models`")
    parser.add_argument("--table", action="store_true",
                        help="only write the trajectory table into docs/training.md")
    args = parser.parse_args()
    if args.table:
        write_table(Path(str(Path(args.out).with_suffix("")) + "_trajectory.json"))
        return
    torch.set_num_threads(args.threads)

    path = Path(args.model)
    model = load_model(path)
    images = dict(list(load_kodak(args.kodak).items())[: args.limit])
    names = [Path(name).stem for name in images]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ours = curve(model, images, model.config.lambdas)
    previous = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(
        ".json").exists() else {}
    if args.no_control and previous.get("start") and previous.get("images") == len(images):
        start = {float(k): v for k, v in previous["start"].items()}
    elif args.no_control and stored_start(names):
        start = stored_start(names)
    else:
        start_model = zoo.load_variable_rate()
        start = curve(start_model, images, start_model.config.lambdas)

    stored = json.loads((REPO / "data/results/results.json").read_text())["curves"]
    baselines = {name: [_mean_over(p["images"], names) for p in stored[name]]
                 for name in BASELINES}
    points = {"default": [(p["bpp"], p["psnr"]) for p in ours.values()],
              "start": [(p["bpp"], p["psnr"]) for p in start.values()]}
    chain = sum(training_hours(zoo.models_dir() / name) for name in CHAIN)
    own = default_codec_seconds(path) / 3600  # with the default codecs it went on from
    summary = dict(
        model=str(path), images=len(images), threads=args.threads,
        machine=platform.processor() or platform.machine(), torch=torch.__version__,
        own_cpu_hours=own, chain_cpu_hours=chain, cumulative_cpu_hours=chain + own,
        default={f"{k:.6g}": {m: v[m] for m in ("bpp", "psnr", "ms_ssim", "objective")}
                 for k, v in ours.items()},
        start={f"{k:.6g}": {m: v[m] for m in ("bpp", "psnr", "objective")}
               for k, v in start.items()},
        bd_rate_vs={name: bd_rate(c, points["default"]) for name, c in baselines.items()},
        start_bd_rate_vs={name: bd_rate(c, points["start"]) for name, c in baselines.items()},
        bd_rate_vs_start=bd_rate(points["start"], points["default"]),
    )
    write(out.with_suffix(".json"), json.dumps(summary, indent=1) + "\n")
    write(out.with_suffix(".png"), figure_to_png(_figure(points, baselines, summary), dpi=90))
    write(out, _markdown(summary, ours, start, args))
    if args.ship:
        ship(ours)
    trajectory = Path(str(out.with_suffix("")) + "_trajectory.json")
    rows = json.loads(trajectory.read_text()) if trajectory.exists() else [
        dict(model=f"{CHAIN[-1]} (the start, no context)", cumulative_cpu_hours=chain,
             own_cpu_hours=0.0, images=len(images), bd_rate_vs=summary["start_bd_rate_vs"],
             bd_rate_vs_start=0.0)]
    rows.append(dict(model=path.name, **{k: summary[k] for k in (
        "cumulative_cpu_hours", "own_cpu_hours", "images", "bd_rate_vs", "bd_rate_vs_start")}))
    write(trajectory, json.dumps(rows, indent=1) + "\n")
    print(out.read_text())


def ship(ours: dict[float, dict]) -> None:
    """Store the curve in data/results as "aecodec context" (the points `aecodec models`
    prints), and rewrite results.md, the BD table and rd.png from the stored curves."""
    from aecodec.viz import rd_figure

    folder = REPO / "data" / "results"
    results = json.loads((folder / "results.json").read_text())
    results["curves"][zoo.CURVES["context"]] = [
        dict(setting=f"lambda={lmbda}", **{k: v for k, v in p.items() if k != "images"},
             images={Path(name).stem: scores for name, scores in p["images"].items()})
        for lmbda, p in ours.items()]
    results["bd"] = bd_table(results["curves"])
    write(folder / "results.json", json.dumps(results, indent=1) + "\n")
    write(folder / "results.md", results_markdown(results))
    count = len(next(iter(ours.values()))["images"])
    write(folder / "rd.png", figure_to_png(rd_figure(results, f"{count} images"),
                                                  dpi=100))


TRAINING_DOC = REPO / "docs/training.md"
MARKERS = ("<!-- trajectory -->\n", "<!-- /trajectory -->\n")


def trajectory_table(rows: list[dict]) -> str:
    """The campaign's trajectory as a markdown table (docs/training.md)."""
    lines = ["| model | CPU-hours (cumulative) | of which its own run | Kodak images | "
             "BD-rate vs JPEG | vs WebP | vs AVIF 4:4:4 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        bd = r["bd_rate_vs"]
        lines.append(f"| {r['model']} | {r['cumulative_cpu_hours']:.2f} | "
                     f"{r['own_cpu_hours']:.2f} | "
                     f"{r['images']} | {bd['JPEG']:+.1f}% | {bd['WebP']:+.1f}% | "
                     f"{bd['AVIF 4:4:4']:+.1f}% |")
    return "\n".join(lines) + "\n"


def write_table(trajectory: Path, doc: Path = TRAINING_DOC) -> None:
    """Write the trajectory table between the markers of docs/training.md."""
    text = doc.read_text()
    start = text.index(MARKERS[0]) + len(MARKERS[0])
    end = text.index(MARKERS[1])
    table = trajectory_table(json.loads(trajectory.read_text()))
    write(doc, text[:start] + table + text[end:])


def _mean_over(per_image: dict, names: list[str]) -> tuple[float, float]:
    """(bpp, PSNR) of one baseline setting, averaged over the images `names`."""
    return (sum(per_image[n]["bpp"] for n in names) / len(names),
            sum(per_image[n]["psnr"] for n in names) / len(names))


def _figure(points, baselines, summary) -> Figure:
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.subplots()
    for name, c in baselines.items():
        ax.plot(*zip(*c), "--", marker=".", label=f"{name} (Pillow)", alpha=0.7)
    ax.plot(*zip(*points["start"]), "s-", label="variable-rate hyperprior (its start)")
    ax.plot(*zip(*points["default"]), "o-", linewidth=2,
            label=f"default codec: context ({summary['cumulative_cpu_hours']:.1f} CPU-hours)")
    ax.set(xlabel="bits per pixel (real files)", ylabel="PSNR (dB, RGB)", xlim=(0, 1.4),
           ylim=(23, 37), title=f"Kodak, {summary['images']} images")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    return fig


def _markdown(summary, ours, start, args) -> str:
    lines = [
        "# The default codec on Kodak (real files)",
        "",
        f"Command: `.venv/bin/python benchmarks/default_codec.py --threads {args.threads}"
        f"{'' if args.limit == 24 else f' --limit {args.limit}'}`; {summary['images']} images; "
        f"{summary['machine']}, torch {summary['torch']}.",
        "",
        f"Training behind it: {summary['cumulative_cpu_hours']:.2f} CPU-hours (one thread), "
        f"of which {summary['own_cpu_hours']:.2f} its own run and "
        f"{summary['chain_cpu_hours']:.2f} the warm-start chain {' -> '.join(CHAIN)}.",
        "",
        "| codec | lambda | bpp | PSNR (dB) |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in (("default (context)", ours), ("start: vr_hyperprior.pt", start)):
        for lmbda, p in runs.items():
            lines.append(f"| {name} | {lmbda:.5g} | {p['bpp']:.4f} | {p['psnr']:.2f} |")
    lines += ["", "BD-rate, negative = fewer bits for the same PSNR "
              "(JPEG optimized Huffman tables, WebP method 6, AVIF 4:4:4):", ""]
    for name, value in summary["bd_rate_vs"].items():
        lines.append(f"- default codec against {name}: {value:+.1f}% (its start: "
                     f"{summary['start_bd_rate_vs'][name]:+.1f}%)")
    lines.append(f"- default codec against its start: {summary['bd_rate_vs_start']:+.1f}%")
    lines += ["", f"![curves]({Path(args.out).with_suffix('.png').name})", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
