"""README and docs/ as a newcomer meets them: every relative link leads to a file, and the
Python examples of README and docs/cli.md run as printed."""

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         REPO / "benchmarks" / "README.md", REPO / "data" / "README.md"]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def code_blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file(page):
    broken = [target for target in LINK.findall(page.read_text())
              if "://" not in target and not (page.parent / target).exists()]
    assert not broken, f"{page.relative_to(REPO)}: links to nothing: {broken}"


def test_the_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("see [the codec](codec.md) and [site](https://example.org)")
    assert LINK.findall(page.read_text()) == ["codec.md", "https://example.org"]
    assert not (page.parent / "codec.md").exists()


def test_the_python_examples_of_readme_and_the_cli_page_run(kodak_dir, tmp_path, monkeypatch):
    from PIL import Image

    with Image.open(kodak_dir / "kodim23.png") as im:
        im.crop((0, 0, 96, 64)).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    blocks = code_blocks(REPO / "README.md", "python") + code_blocks(REPO / "docs" / "cli.md",
                                                                     "python")
    assert len(blocks) == 3  # README's API in three lines; docs/cli.md's, and Pillow
    for block in blocks:
        exec(compile(block, "docs/cli.md", "exec"), {})
    assert sorted(os.listdir(tmp_path)) == ["copy.aec", "grey.aec", "photo.aec", "photo.png"]
    with Image.open(tmp_path / "grey.aec") as im:
        assert im.mode == "RGB" and im.size == (96, 64)
