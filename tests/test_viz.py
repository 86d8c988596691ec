"""The figures draw what they say."""

import io

import pytest
import torch
from matplotlib.figure import Figure

from aecodec.viz import compare, error_map, plot_loss, show_images


def test_show_images_grid(tmp_path):
    images = [torch.rand(3, 8, 10) for _ in range(5)]
    fig = show_images(images, titles=[f"image {i}" for i in range(5)], ncols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6  # 2 rows of 3, the last cell left empty
    assert [ax.get_title() for ax in fig.axes[:5]] == [f"image {i}" for i in range(5)]
    fig.savefig(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_compare_titles_show_psnr():
    x = torch.zeros(3, 16, 16)
    fig = compare(x, x + 0.1, title="test")
    titles = [ax.get_title() for ax in fig.axes]
    assert "original x" in titles
    assert any("20.00 dB" in t for t in titles)


def test_error_map_by_hand():
    x = torch.zeros(3, 2, 2)
    x_hat = x.clone()
    x_hat[0, 1, 1] = 0.3  # one channel of one pixel off by 0.3
    err = error_map(x, x_hat)
    assert err.shape == (2, 2)
    assert abs(err[1, 1].item() - 0.1) < 1e-6 and err[0, 0].item() == 0


def test_plot_loss_with_and_without_evaluation():
    history = {"step": [1, 2, 3], "loss": [0.3, 0.2, 0.1], "eval_step": [], "eval_psnr": []}
    assert len(plot_loss(history).axes) == 1
    history.update(eval_step=[3], eval_psnr=[25.0])
    fig = plot_loss(history)
    assert len(fig.axes) == 2
    assert list(fig.axes[0].lines[0].get_ydata()) == [0.3, 0.2, 0.1]


def test_plot_rd_training():
    from aecodec.viz import plot_rd_training

    fig = plot_rd_training({"step": [1, 2], "bpp": [2.0, 1.5], "psnr": [20.0, 22.0]})
    assert len(fig.axes) == 2
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.5]


def test_the_pipeline_diagram_states_the_shapes_and_the_rate():
    from aecodec.viz import pipeline_diagram

    fig = pipeline_diagram(512, 768, 16, 3)
    texts = [t.get_text() for t in fig.axes[0].texts] + [fig.axes[0].get_title()]
    joined = "\n".join(texts)
    assert "(3, 512, 768)" in joined and "(16, 64, 96)" in joined
    assert "98,304 values" in joined and "2.00 bpp at 8 bits" in joined
    assert "12.0 times fewer" in joined
    odd = "\n".join(t.get_text() for t in pipeline_diagram(100, 30, 4, 2).axes[0].texts)
    assert "(4, 25, 8)" in odd  # sides that do not divide by 2^k are rounded up


@pytest.mark.parametrize("size, kernel, stride, padding", [(7, 5, 2, 2), (8, 5, 2, 2),
                                                           (6, 3, 1, 1), (9, 4, 3, 0)])
def test_conv1d_diagram_has_as_many_outputs_and_windows_as_pytorch(size, kernel, stride,
                                                                   padding):
    from aecodec.viz import conv1d_diagram

    out = torch.nn.Conv1d(1, 1, kernel, stride, padding)(torch.zeros(1, 1, size)).shape[-1]
    fig = conv1d_diagram(size, kernel, stride, padding)
    ax = fig.axes[0]
    assert f"{out} outputs" in ax.get_title()
    assert len(ax.lines) == out  # one window per output
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("0") == 2 * padding and f"x{size - 1}" in labels


@pytest.mark.parametrize("kernel, padding, output_padding", [(5, 2, 1), (4, 1, 0), (3, 1, 1)])
def test_transposed_stamps_diagram_counts_the_stamps_as_pytorch_adds_them(kernel, padding,
                                                                          output_padding):
    """The counts under the kept pixels are what a transposed convolution with all-ones
    weights outputs for an all-ones input."""
    from aecodec.viz import transposed_stamps_diagram

    layer = torch.nn.ConvTranspose1d(1, 1, kernel, 2, padding, output_padding, bias=False)
    torch.nn.init.ones_(layer.weight)
    expected = layer(torch.ones(1, 1, 4))[0, 0].round().int().tolist()
    fig = transposed_stamps_diagram(4, kernel, 2, padding, output_padding)
    bold = [int(t.get_text()) for t in fig.axes[0].texts if t.get_fontweight() == "bold"]
    assert bold == expected
    assert f"-> {len(expected)} pixels" in fig.axes[0].get_title()


def test_compare_scales_the_error_to_its_99th_percentile_not_its_largest_value():
    """One extreme pixel does not turn the rest of the error map black."""
    x = torch.zeros(3, 40, 40)
    x_hat = x + 0.05
    x_hat[:, 0, 0] = 1.0  # one pixel off by everything
    fig = compare(x, x_hat)
    error_image = fig.axes[2].images[0]
    assert error_image.get_clim() == pytest.approx((0, 0.05), abs=1e-4)
    assert "99th percentile" in fig.axes[3].get_ylabel()  # the colour bar says so
    fixed = compare(x, x_hat, error_max=0.2)
    assert fixed.axes[2].images[0].get_clim() == pytest.approx((0, 0.2))
    with pytest.raises(ValueError, match="error_max"):
        compare(x, x_hat, error_max=0)


def test_error_scale_pools_the_maps_and_rejects_a_bad_percentile():
    from aecodec.viz import error_scale

    maps = [torch.zeros(10, 10), torch.ones(10, 10)]
    assert error_scale(maps, 50) == pytest.approx(0.5)
    assert error_scale(maps, 100) == 1.0
    assert error_scale([torch.zeros(4, 4)]) == pytest.approx(1e-6)  # never an empty scale
    with pytest.raises(ValueError, match="percentile"):
        error_scale(maps, 0)


def test_show_maps_draws_every_map_on_one_scale_in_a_frame():
    """A constant map (kernel 4's stamp counts) is not drawn white on white."""
    from aecodec.viz import show_maps

    maps = [torch.tensor([[1.0, 2.0], [2.0, 4.0]]), torch.full((2, 2), 4.0),
            torch.tensor([[4.0, 6.0], [6.0, 9.0]])]
    fig = show_maps(maps, ["k3", "k4", "k5"], label="stamps")
    images = [ax.images[0] for ax in fig.axes[:3]]
    assert all(image.get_clim() == (0, 9.0) for image in images)
    assert all(ax.spines["left"].get_visible() for ax in fig.axes[:3])
    assert len(fig.axes) == 4 and fig.axes[3].get_ylabel() == "stamps"  # one colour bar
    assert show_maps(maps, vmax=20).axes[1].images[0].get_clim() == (0, 20)
    with pytest.raises(ValueError, match="at least one"):
        show_maps([])


# --- the explorers' figure: its size and its labels --------------------------------------

# a variable-rate codec's curve on a 768 px photo (notebook 09): seven points close together
# beside the baselines; and a plain autoencoder family (notebook 05), spread out
CLUSTER = [(0.278, 29.01), (0.306, 29.64), (0.342, 30.25), (0.376, 30.77), (0.419, 31.33),
           (0.462, 31.72), (0.51, 32.05)]
CLUSTER_LAMBDAS = [0.0018, 0.0025, 0.0035, 0.0048, 0.0067, 0.0094, 0.013]
JPEG = [(0.181, 24.11), (0.298, 26.84), (0.471, 29.31), (0.611, 30.54), (0.827, 32.06),
        (1.107, 33.52), (1.623, 35.51), (2.916, 38.28)]
WEBP = [(0.236, 28.3), (0.279, 29.2), (0.35, 30.46), (0.423, 31.51), (0.562, 33.0),
        (0.71, 34.28), (1.134, 36.4), (2.264, 38.82)]
AVIF = [(0.14, 27.05), (0.253, 30.13), (0.503, 33.72), (0.983, 37.24), (2.121, 40.89)]
SPREAD = [(0.125, 22.1), (0.25, 24.0), (0.5, 25.9), (1.0, 27.6), (2.0, 29.0), (4.0, 29.8)]


def _points(pairs, labels=None):
    return [dict(bpp=b, psnr=p, **({} if labels is None else {"label": label}))
            for (b, p), label in zip(pairs, labels or [None] * len(pairs))]


def explorer(kind: str) -> Figure:
    from aecodec.viz import explorer_figure

    torch.manual_seed(0)
    x = torch.rand(3, 512, 768)
    if kind == "variable-rate":
        ae = _points(CLUSTER, [f"λ={lm:.2g}" for lm in CLUSTER_LAMBDAS])
        current, bits = ae[4], torch.rand(32, 48) * 100
        baselines = {"WebP (Pillow)": _points(WEBP), "AVIF 4:4:4 (Pillow)": _points(AVIF)}
    else:
        ae = _points(SPREAD, [f"C={c}" for c in (1, 2, 4, 8, 16, 32)])
        current, bits, baselines = ae[3], None, None
    return explorer_figure(x, x.flip(-1), x.flip(-2), "aecodec λ=0.0067\n13,693 B: 31.33 dB",
                           "JPEG q=16\n13,359 B: 28.53 dB", ae, _points(JPEG), current,
                           baselines=baselines, bits=bits)


@pytest.mark.parametrize("kind", ["variable-rate", "plain"])
def test_the_explorer_figure_fits_jupyterlab_with_readable_text(kind):
    """JupyterLab gives an output about 900 to 960 px: the explorers' PNG (80 dpi) must fit
    unscaled, and no text may be under 10 px."""
    from PIL import Image

    from aecodec.viz import figure_to_png

    fig = explorer(kind)
    width, height = Image.open(io.BytesIO(figure_to_png(fig))).size
    assert 880 <= width <= 960 and height < width
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_visible() and t.get_text().strip()]
    assert len(texts) > 20
    small = {t.get_text(): t.get_fontsize() for t in texts if t.get_fontsize() * 80 / 72 < 10}
    assert not small, f"text under 10 px at 80 dpi: {small}"


@pytest.mark.parametrize("kind", ["variable-rate", "plain"])
def test_the_curve_labels_do_not_overlap(kind):
    """Drawn by matplotlib's renderer: no two labels of the curve intersect, none covers the
    current model's star or the legend, and all stay inside the curve's axes."""
    from aecodec.viz import figure_to_png

    fig = explorer(kind)
    figure_to_png(fig)  # draws it
    renderer = fig.canvas.get_renderer()
    ax = next(a for a in fig.get_axes() if a.get_title() == "quality against size")
    labels = [t for t in ax.texts if t.get_text()]
    assert len(labels) == (7 if kind == "variable-rate" else 6)
    boxes = [t.get_window_extent(renderer) for t in labels]
    star = next(line for line in ax.lines if line.get_label() == "current model")
    others = {"the star": star.get_window_extent(renderer),
              "the legend": ax.get_legend().get_window_extent(renderer)}
    area = ax.get_window_extent(renderer)
    for i, (label, box) in enumerate(zip(labels, boxes)):
        assert area.contains(box.x0, box.y0) and area.contains(box.x1, box.y1), label
        for other, other_box in zip(labels[i + 1:], boxes[i + 1:]):
            assert not box.overlaps(other_box), f"{label.get_text()} on {other.get_text()}"
        for name, other_box in others.items():
            assert not box.overlaps(other_box), f"{label.get_text()} on {name}"


def test_labels_placed_without_the_layout_would_overlap():
    """The test above can fail: the same cluster labelled at one fixed offset overlaps."""
    from aecodec.viz import _renderer

    fig = Figure(figsize=(5.75, 3.5))
    ax = fig.subplots()
    ax.plot(*zip(*CLUSTER, *JPEG[-1:]))
    labels = [ax.annotate(f"λ={lm:.2g}", p, textcoords="offset points", xytext=(4, -10),
                          fontsize=9) for lm, p in zip(CLUSTER_LAMBDAS, CLUSTER)]
    renderer = _renderer(fig)
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_the_explorers_bits_map_is_scaled_to_its_99th_percentile():
    """One costly latent position (notebook 09's maps have one at 185 bits, most under 60)
    does not set the bits map's colour scale."""
    from aecodec.viz import explorer_figure

    torch.manual_seed(0)
    x = torch.rand(3, 64, 96)
    bits = torch.full((32, 48), 20.0)
    bits[0, 0] = 185.0
    ae = _points(SPREAD, [f"C={c}" for c in (1, 2, 4, 8, 16, 32)])
    fig = explorer_figure(x, x, x, "aecodec", "JPEG", ae, _points(JPEG), ae[3], bits=bits)
    [image] = [im for ax in fig.axes if "where the bits go" in ax.get_title() for im in ax.images]
    assert image.get_clim() == pytest.approx((0, 20.0), abs=1e-3)
    assert any("99th" in ax.get_xlabel() for ax in fig.axes)


def test_a_point_with_an_empty_label_gets_no_label():
    from aecodec.viz import plot_tradeoff

    points = [{"bpp": 0.2 * i, "psnr": 26.0 + 2 * i, "label": label}
              for i, label in enumerate(["", "λ=0.0067", ""], start=1)]
    ax = plot_tradeoff(points).axes[0]
    assert [t.get_text() for t in ax.texts if t.get_text()] == ["λ=0.0067"]
    points = [dict(p, label="") for p in points]
    assert not [t for t in plot_tradeoff(points).axes[0].texts if t.get_text()]


@pytest.mark.parametrize("kind", ["variable-rate", "plain"])
def test_the_explorer_legend_covers_no_curve_and_the_axis_fits_the_models(kind):
    """The legend stands beside the curve's axes, and the bpp axis ends at 1.6 times the
    models' top rate, so baselines' high rates do not squeeze the models into a corner."""
    from aecodec.viz import figure_to_png

    fig = explorer(kind)
    figure_to_png(fig)
    renderer = fig.canvas.get_renderer()
    ax = next(a for a in fig.get_axes() if a.get_title() == "quality against size")
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))
    models = CLUSTER if kind == "variable-rate" else SPREAD
    assert ax.get_xlim() == pytest.approx((0, 1.6 * max(b for b, _ in models)))
    low, high = ax.get_ylim()
    assert all(low < p < high for _, p in models)


def test_the_error_maps_colour_bar_is_labelled_and_right_under_the_maps():
    from aecodec.viz import figure_to_png

    fig = explorer("variable-rate")
    figure_to_png(fig)
    renderer = fig.canvas.get_renderer()
    maps = [a for a in fig.get_axes() if "error" in a.get_title()]
    [bar] = [a for a in fig.get_axes() if "|x - x_hat|" in a.get_xlabel()]
    under = min(a.get_window_extent(renderer).y0 for a in maps)
    gap = under - bar.get_window_extent(renderer).y1  # display pixels
    assert 0 < gap < 40, f"the colour bar is {gap:.0f} px under the error maps"
    assert "99th" in bar.get_xlabel()
