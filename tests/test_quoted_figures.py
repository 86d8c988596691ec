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
    rows.append(("README.md", f"its {ours['own_cpu_hours']:.1f} hours of further training (wall "
                 "clock, one thread)"))
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


# --- tables: each table of measured figures names the results file it comes from ----------
# A comment `<!-- figures from: PATH [PATH ...] -->` stands above every table of the pages
# below that holds a decimal figure; every decimal figure of each of its rows must be, as
# rounded, a number of one of those files. A table that no results file holds says so and
# why: `<!-- figures not from a results file: REASON -->`.
PAGES = ["README.md", "docs/codec.md", "docs/training.md", "docs/limits.md",
         "docs/teachers.md", "docs/testing.md", "docs/conventions.md", "benchmarks/README.md"]
MARKER = re.compile(r"<!-- figures (from: (?P<paths>[^>]*?)|not from a results file: [^>]+?) -->")
NUMBER = re.compile(r"(?<![\w.])[-−+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def numbers(text: str) -> list[float]:
    return [float(n.replace("−", "-").replace(",", "")) for n in NUMBER.findall(text)]


def figures(row: str) -> list[tuple[str, float, int]]:
    """The decimal figures of a table row: (as written, value, decimals)."""
    found = []
    for token in NUMBER.findall(row):
        if "." in token:
            found.append((token, float(token.replace("−", "-").replace(",", "")),
                          len(token.split(".")[1])))
    return found


def tables(page: str) -> list[tuple[int, str | None, list[str]]]:
    """(line number, the marker above it or None, data rows) of each table with decimals."""
    lines = (REPO / page).read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            rows = lines[i + 2:j]
            if any(figures(row) for row in rows):
                above = "\n".join(lines[max(0, i - 3):i])
                marker = MARKER.search(above)
                found.append((i + 1, marker.group(0) if marker else None, rows))
            i = j
        else:
            i += 1
    return found


def is_rounding_of(value: float, decimals: int, candidates: list[float]) -> bool:
    half = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(c - value) <= half for c in candidates)


TABLES = [(page, line, marker, rows) for page in PAGES for line, marker, rows in tables(page)]


@pytest.mark.parametrize("page, line, marker, rows", TABLES,
                         ids=[f"{page}:{line}" for page, line, _, _ in TABLES])
def test_a_table_of_figures_comes_from_its_results_file(page, line, marker, rows):
    assert marker, (f"{page}:{line}: a table of figures with no `<!-- figures from: PATH -->` "
                    "above it")
    paths = MARKER.search(marker).group("paths")
    if paths is None:
        return  # says why no results file holds it
    sources = [REPO / path for path in paths.split()]
    for source in sources:
        assert source.is_file(), f"{page}:{line}: {source} is not a file"
    candidates = [n for source in sources for n in numbers(source.read_text())]
    for row in rows:
        wrong = [token for token, value, decimals in figures(row)
                 if not is_rounding_of(value, decimals, candidates)]
        assert not wrong, f"{page}:{line}: {wrong} of {row!r} are in none of {paths}"


def test_the_table_check_catches_a_figure_typed_wrong():
    candidates = numbers("| variable rate | 0.00180 | 0.2792 | 28.23 | -6.5% |")
    assert is_rounding_of(0.279, 3, candidates) and is_rounding_of(-6.5, 1, candidates)
    assert not is_rounding_of(0.278, 3, candidates)  # a typo
    assert not is_rounding_of(6.5, 1, candidates)  # the sign lost
    assert [t for t, _, _ in figures("| 0.279 bpp, −4.4% | 12 min | 4,962 ms |")] == [
        "0.279", "−4.4%"[:-1]]


# --- prose: every decimal figure of these pages' sentences is in a results file ------------
# A weaker check than the tables' (any results file, and a figure without a sign may be the
# size of a signed one: "6.5% fewer bits" is the −6.5% of a BD-rate), but a figure typed
# wrong or left behind by a new measurement fails it. The figures below are not in a results
# file, each for the reason given.
RESULTS_FILES = sorted([*RESULTS.glob("*.md"), *RESULTS.glob("*.json"),
                        *(REPO / "data" / "results").glob("*.md"),
                        *(REPO / "data" / "results").glob("*.json")])
NOT_IN_RESULTS = {
    "README.md": {"6.2": "the .venv's size, measured with du -sh (docs: the install)",
                  "1603.07285": "an arXiv number",
                  "7.2": "context_control.md's 435 training seconds, in minutes"},
    "docs/codec.md": {"0.0042": "the λ of the variable-rate golden file, a setting",
                      "19.2": "the size of four model files, from the files",
                      "7.2": "large-image timing, printed by tests/test_hardening.py",
                      "11.5": "large-image timing, printed by tests/test_hardening.py"},
    "docs/training.md": {"0.05": "the spread of an untrained encoder's latents, an example",
                         "5.1": "a loss value read from the training logs",
                         "47.5": "training minutes recorded in the shipped checkpoints",
                         "15.8": "training minutes recorded in the shipped checkpoints",
                         "11.4": "a difference of two columns of data/results/plain.md",
                         "−10.6": "a BD-rate between two results files' curves, not saved",
                         "−3.6": "a BD-rate between two results files' curves, not saved"},
    "benchmarks/README.md": {"9.1": "a difference of two BD-rates of the same table",
                             "1.423": "a loss of a throwaway batch-size run, not kept"},
    "docs/testing.md": {"47.1": "make test's time, measured by hand (docs/testing.md says how)",
                        "48.8": "the whole CI run's time, measured by hand",
                        "11.7": "a timing measured by hand"},
}


def prose(page: str) -> list[str]:
    """The paragraphs of a page that are not tables, code or comments."""
    blocks = re.split(r"\n\s*\n", re.sub(r"```.*?```", "", (REPO / page).read_text(), flags=re.S))
    return [b for b in blocks if not b.lstrip().startswith(("|", "<!--"))]


@pytest.mark.parametrize("page", PAGES)
def test_every_decimal_figure_of_the_prose_is_in_a_results_file(page):
    candidates = [n for f in RESULTS_FILES for n in numbers(f.read_text())]
    sizes = [abs(n) for n in candidates]
    allowed = NOT_IN_RESULTS.get(page, {})
    wrong = []
    for paragraph in prose(page):
        paragraph = re.sub(r"\d+\.\d+\.\d+(\.\d+)*", "", paragraph)  # 127.0.0.1, versions
        for token, value, decimals in figures(paragraph):
            unsigned = token[0] not in "+-−"
            if not (is_rounding_of(value, decimals, candidates)
                    or (unsigned and is_rounding_of(value, decimals, sizes))
                    or token in allowed):
                wrong.append(token)
    assert not wrong, f"{page}: {wrong} are in no results file"
