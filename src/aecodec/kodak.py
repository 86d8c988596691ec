"""The Kodak test set: where it lives, how to download it safely, how to load it.

Holds: `KODAK_URL`, `KODAK_SHA256`, `kodak_root`, `download_kodak`, `load_kodak`.

The 24 Kodak images (768x512 or 512x768, 24-bit RGB PNG) are the standard benchmark of
image compression. `download_kodak` fetches them from their usual home, checks the
SHA-256 of every file, resumes a broken download where it stopped, and only ever moves
complete, verified files to their final names.
"""

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from aecodec.errors import DownloadError, ImageError

if TYPE_CHECKING:
    import torch

KODAK_URL = "http://r0k.us/graphics/kodak/kodak/"
KODAK_ENV = "AECODEC_KODAK"
CHUNK = 1 << 16
TIMEOUT_S = 30

# SHA-256 of each file, as published with the kit (the bytes of the PNG files).
KODAK_SHA256 = {
    "kodim01.png": "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd",
    "kodim02.png": "4f4b74a79237e311d72cad958237b5f7088d8bce1c82305ebefe1a70e3022dfd",
    "kodim03.png": "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db",
    "kodim04.png": "e3b946107c5d3441c022f678d0c3caf1e224d81b1604ba840a4f88e562de61aa",
    "kodim05.png": "10349e963c5c813d327852f82c1795fa4148d69fedffc4c589bee458e3ac3d53",
    "kodim06.png": "363510303b715d4cbc384e1ce227e466b613a09e1b71ae985882bf8e7fbd9b18",
    "kodim07.png": "b77d3f006f42414bb242222e0482e750c0fb9e5ee8d4bed2f6f11c5605fe54a4",
    "kodim08.png": "ba23983c76b4832ee0e8af0592664756841a16779acd69f792e268fb6d13d6e7",
    "kodim09.png": "6a4361c2fc194feb4edaa9f9a4a0620fb9943e460ac7fdf037fb0f6dd6607a7d",
    "kodim10.png": "9dfb70f5867c29ff9ed6313683f19b3d867849e40fbc0c4c54a4a89df341cf23",
    "kodim11.png": "7936814b58b5387fce2e4e2488b4ec830dadd95fa9520f358ddb30990b50f2b6",
    "kodim12.png": "d78c37c2f04f23761ed2367dd77e2db584ddd4c3950833fecf89f199a8126980",
    "kodim13.png": "bc34a3ce58dea09dce1704c997171602de90cb34d0c8503a988b77f473d39b08",
    "kodim14.png": "55a94550ff18f3246c4074fd32b77b0c74447c26b6ad274d564d999c0450ba6e",
    "kodim15.png": "7538cbb80cb9103606c48b806eae57d56c885c7f90b9b3be70a41160f9cbb683",
    "kodim16.png": "a89c7268ccd4718ba424a99fc4643c572cf692ca6eae887185ceb4e9f11d2e54",
    "kodim17.png": "37afcc89fbdcb76d9518e04b2fc011027e2f4cd14b3b2f83cefd721641a47c5b",
    "kodim18.png": "1a9258c365988961d87a0598725b609139c303ad48a5aad6c503c3b1a87849aa",
    "kodim19.png": "b7450b264b1b0a411390d8931b112c27905a992520fc90569dc4b920aa32bbdc",
    "kodim20.png": "3b46c71e3b92a563820ba32936be8330c586c41f938efd94be938386aae4328a",
    "kodim21.png": "ac958597c82073f6bb65129c68f72b651db5b9efd82e11547d07350214bc268b",
    "kodim22.png": "1cee58eb1f2d9c7ebb254d208a03c783ce6cf2c4d8c2cf45e235dd23b4ce1b29",
    "kodim23.png": "e3111a2fd4da24af15d6459ef9eacfe54106b38e27b4a21821b75c3f5d2d5baf",
    "kodim24.png": "1071c68372cc5a01435c2c225a5cf7d4bb803846ec08bb6b3d6721b156d7cb96",
}


def kodak_root(root: str | os.PathLike | None = None) -> Path:
    """The Kodak folder: `root` if given, else $AECODEC_KODAK.

    Args:
        root: a folder holding kodim01.png .. kodim24.png, or None.
    """
    if root is None:
        env = os.environ.get(KODAK_ENV)
        if not env:
            raise ImageError(
                f"where is Kodak? pass its folder, or set {KODAK_ENV}; "
                "`aecodec download-kodak data/kodak` fetches it"
            )
        root = env
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"{root}: Kodak folder does not exist")
    return root


def load_kodak(root: str | os.PathLike | None = None) -> "dict[str, torch.Tensor]":
    """Load the 24 Kodak images as {"kodim01": x (3, H, W) in [0, 1], ...}.

    Args:
        root: the folder, or None to use $AECODEC_KODAK.
    """
    from aecodec.images import load_image  # PyTorch: not needed to download

    root = kodak_root(root)
    missing = [name for name in KODAK_SHA256 if not (root / name).is_file()]
    if missing:
        raise ImageError(f"{root}: Kodak is incomplete, missing {', '.join(missing)}")
    return {Path(name).stem: load_image(root / name) for name in sorted(KODAK_SHA256)}


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, part: Path) -> None:
    """Download `url` into `part`, continuing after the bytes `part` already holds.

    Raises DownloadError if the transfer stops early; `part` keeps what arrived, so the
    next call resumes from there.
    """
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            resumed = response.status == 206  # 200 means the server sent the whole file
            expected = response.headers.get("Content-Length")
            with open(part, "ab" if resumed else "wb") as f:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    f.write(chunk)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the part is already complete
            return
        raise DownloadError(f"{url}: server answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise DownloadError(f"{url}: download failed ({e}); run again to resume") from None
    if expected is not None:
        total = (have if resumed else 0) + int(expected)
        if part.stat().st_size < total:
            raise DownloadError(f"{url}: transfer stopped early; run again to resume")


def _download_one(base_url: str, name: str, dest: Path) -> None:
    """Fetch one file into dest/name.part, check its SHA-256, then rename it into place."""
    final, part = dest / name, dest / (name + ".part")
    _fetch(base_url + name, part)
    if sha256_of(part) != KODAK_SHA256[name]:
        part.unlink()
        raise DownloadError(f"{name}: SHA-256 mismatch, file discarded; run again")
    os.replace(part, final)  # atomic: the final name only ever holds a verified file


def download_kodak(
    dest: str | os.PathLike, base_url: str = KODAK_URL, progress: bool = True
) -> Path:
    """Download the 24 Kodak images into `dest`, verified and resumable.

    Files already present with the right SHA-256 are kept; a partial `.part` file from an
    interrupted run is continued with an HTTP Range request.

    Args:
        dest: the folder to fill (created if missing).
        base_url: where the files are, ending in "/" (tests use a local server).
        progress: show a tqdm progress bar.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if not base_url.endswith("/"):
        base_url += "/"
    names = sorted(KODAK_SHA256)
    for name in tqdm(names, desc="Kodak", unit="file", disable=not progress):
        final = dest / name
        if final.is_file() and sha256_of(final) == KODAK_SHA256[name]:
            continue
        _download_one(base_url, name, dest)
    return dest
