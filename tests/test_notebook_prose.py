"""Numbers in the notebooks' prose come from their outputs.

A measured number quoted in a markdown cell (a value with a unit: dB, bpp, bytes, %, s,
MiB) must appear in the saved outputs of the same notebook, so that prose cannot drift
from what the code printed when the notebook was re-run. Numbers that are definitions,
not measurements, are listed in DEFINITIONS.
"""

import json
import re

import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
QUOTED = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(dB|bpp|bytes|%|s\b|MiB)")
DEFINITIONS = {("01", "10 dB")}  # "each +10 dB is 10x less squared error": the definition


def outputs_text(cells: list[dict]) -> str:
    parts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for kind in ("text/plain", "text/html", "text/markdown"):
                parts.append("".join(output.get("data", {}).get(kind, "")))
    return "\n".join(parts)


def quoted_numbers(cells: list[dict]) -> list[tuple[str, str]]:
    """(number, the quote with its unit) for every measured value in the markdown."""
    found = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            found += [(m.group(1), m.group(0)) for m in QUOTED.finditer("".join(cell["source"]))]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_numbers_in_the_prose_are_in_the_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    printed = outputs_text(cells)
    stale = [quote for number, quote in quoted_numbers(cells)
             if number not in printed and (path.name[:2], quote) not in DEFINITIONS]
    assert not stale, f"{path.name}: quoted in prose but not in any output: {stale}"


def test_the_check_finds_a_stale_number():
    cells = [{"cell_type": "markdown", "source": ["The codec reaches 31.42 dB at 0.5 bpp."]},
             {"cell_type": "code", "source": [], "outputs": [
                 {"output_type": "stream", "text": ["PSNR 31.40 dB, 0.5 bpp\n"]}]}]
    printed = outputs_text(cells)
    assert [q for n, q in quoted_numbers(cells) if n not in printed] == ["31.42 dB"]


def test_the_environment_check_reports_a_missing_package(monkeypatch, capsys):
    """Notebook 00's first code cell names a missing package instead of crashing."""
    import importlib

    cells = json.loads((REPO / "notebooks/00_what_is_image_compression.ipynb").read_text())
    check = next("".join(c["source"]) for c in cells["cells"]
                 if c["cell_type"] == "code" and "MISSING" in "".join(c["source"]))
    real = importlib.import_module

    def without_ipywidgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("No module named 'ipywidgets'")
        return real(name, *args, **kwargs)

    import torch  # noqa: F401  (imported first: its own lazy imports use import_module)

    monkeypatch.setattr(importlib, "import_module", without_ipywidgets)
    exec(compile(check, "00 environment check", "exec"), {})
    printed = capsys.readouterr().out
    assert "ipywidgets   MISSING" in printed and "missing: ipywidgets." in printed
    assert "torch        2." in printed
