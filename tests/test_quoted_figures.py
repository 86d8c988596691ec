"""Figures quoted in README and docs are the ones in the results files they were measured
into: each quoted figure is formatted here from its results file and must appear in the
text. Re-run a benchmark and this test says which sentences to update."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def signed(value: float, unit: str = "%", digits: int = 1) -> str:
    """+16.4% / −22.9% as the docs write them (a real minus sign)."""
    return f"{value:+.{digits}f}{unit}".replace("-", "−")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def shipped_bd() -> dict:
    return load(REPO / "data" / "results" / "results.json")["bd"]


def default_codec() -> dict:
    return load(RESULTS / "default_codec.json")


def quoted() -> list[tuple[str, str]]:
    """(file, the text that must appear in it)."""
    bd = shipped_bd()
    rows = []
    for name, label in (("aecodec hyperprior", "hyperprior"), ("aecodec", "factorized")):
        for anchor in ("JPEG", "WebP", "AVIF 4:4:4", "AVIF 4:2:0"):
            result = bd[f"{name} vs {anchor}"]
            rows.append(("docs/codec.md", f"| {label} vs {anchor} | "
                         f"{signed(result['bd_rate_percent'])} | "
                         f"{signed(result['bd_psnr_db'], ' dB', 2)} |"))
    hp = {anchor: bd[f"aecodec hyperprior vs {anchor}"]["bd_rate_percent"]
          for anchor in ("JPEG", "WebP", "AVIF 4:4:4")}
    rows.append(("README.md", f"{abs(hp['JPEG']):.1f}% fewer bits than JPEG but "
                 f"{abs(hp['WebP']):.1f}% more than WebP"))
    for doc in ("docs/limits.md", "docs/codec.md"):
        rows += [(doc, f"{abs(hp['WebP']):.1f}% more"), (doc, f"{abs(hp['JPEG']):.1f}%")]
    ours = default_codec()
    for anchor in ("JPEG", "WebP", "AVIF 4:4:4"):
        rows.append(("README.md", f"{signed(ours['bd_rate_vs'][anchor])} against {anchor}"))
    rows.append(("README.md", f"{ours['cumulative_cpu_hours']:.1f} hours of training (wall clock"))
    rows.append(("README.md", f"that is {abs(ours['bd_rate_vs']['WebP']):.1f}% fewer bits"))
    rows.append(("README.md", f"default codec's {signed(ours['bd_rate_vs_start'])} against its "
                 "start"))
    rows.append(("README.md", f"its {ours['own_cpu_hours']:.1f} CPU-hours of further training"))
    rates = [point["bpp"] for point in ours["default"].values()]
    rows.append(("README.md", f"{min(rates):.2f} to {max(rates):.2f} bpp on Kodak"))
    speed = (RESULTS / "codec_speed_default.md").read_text()  # the default codec, measured
    rows.append(("benchmarks/README.md",
                 f"at most {re.search(r'slowest here: ([0-9.]+ s)', speed).group(1)}"))
    rows.append(("benchmarks/README.md",
                 f"at most {re.search(r'largest here: ([0-9]+ MiB)', speed).group(1)}"))
    control = load(RESULTS / "context_control.json")
    rows.append(("README.md", f"{signed(control['bd_rate_context_vs_no_context'])} at the same "
                 "CPU time"))
    return rows


@pytest.mark.parametrize("doc, text", quoted())
def test_the_figure_is_quoted_as_measured(doc, text):
    said = " ".join((REPO / doc).read_text().split())  # line breaks are spaces
    assert text in said, f"{doc} should say {text!r} (from the results)"


def test_the_trajectory_table_is_the_trajectory_file():
    spec = importlib.util.spec_from_file_location("default_codec",
                                                  REPO / "benchmarks" / "default_codec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = load(RESULTS / "default_codec_trajectory.json")
    assert module.trajectory_table(rows) in (REPO / "docs" / "training.md").read_text()


def test_signed_writes_a_real_minus():
    assert signed(-22.94) == "−22.9%" and signed(16.44) == "+16.4%"
    assert signed(-0.756, " dB", 2) == "−0.76 dB"
