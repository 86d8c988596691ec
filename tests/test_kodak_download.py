"""The Kodak downloader, against a local HTTP server on 127.0.0.1 serving ../shared/kodak.

The server understands Range requests (to test resuming) and can be told to cut a
transfer short or to corrupt a file, so every path of the downloader is exercised.
"""

import http.server
import threading
from pathlib import Path

import pytest

from aecodec.errors import DownloadError
from aecodec.kodak import KODAK_SHA256, download_kodak, sha256_of


class KodakHandler(http.server.BaseHTTPRequestHandler):
    root: Path
    cut_once: set  # names whose next transfer stops half-way
    corrupt: set  # names served with one byte flipped
    requests: list

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        folder, _, name = self.path.rpartition("/")
        path = self.root / name
        if folder != "/kodak" or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if name in self.corrupt:
            data = bytes([data[0] ^ 1]) + data[1:]
        start = 0
        range_header = self.headers.get("Range")
        self.requests.append((name, range_header))
        if range_header:
            start = int(range_header.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.cut_once:
            self.cut_once.discard(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-file
            return
        self.wfile.write(body)


@pytest.fixture
def server(kodak_dir):
    handler = type("Handler", (KodakHandler,), dict(
        root=kodak_dir, cut_once=set(), corrupt=set(), requests=[]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/kodak/"
    httpd.shutdown()
    httpd.server_close()


def test_download_all_and_verify(server, tmp_path):
    handler, url = server
    dest = download_kodak(tmp_path / "kodak", base_url=url, progress=False)
    files = sorted(p.name for p in dest.iterdir())
    assert files == sorted(KODAK_SHA256)
    assert all(sha256_of(dest / n) == KODAK_SHA256[n] for n in files)
    # a second run finds everything verified and downloads nothing
    handler.requests.clear()
    download_kodak(dest, base_url=url, progress=False)
    assert handler.requests == []


def test_interrupted_download_resumes_with_range(server, tmp_path):
    handler, url = server
    handler.cut_once.add("kodim05.png")
    dest = tmp_path / "kodak"
    with pytest.raises(DownloadError):
        download_kodak(dest, base_url=url, progress=False)
    assert not (dest / "kodim05.png").exists(), "no half file under the final name"
    part = dest / "kodim05.png.part"
    assert 0 < part.stat().st_size < (handler.root / "kodim05.png").stat().st_size
    kept = part.stat().st_size
    handler.requests.clear()
    download_kodak(dest, base_url=url, progress=False)
    assert ("kodim05.png", f"bytes={kept}-") in handler.requests, "resumed where it stopped"
    assert sha256_of(dest / "kodim05.png") == KODAK_SHA256["kodim05.png"]
    assert not part.exists()


def test_checksum_mismatch_is_refused_and_discarded(server, tmp_path):
    handler, url = server
    handler.corrupt.add("kodim01.png")
    dest = tmp_path / "kodak"
    with pytest.raises(DownloadError, match="kodim01.png: SHA-256 mismatch"):
        download_kodak(dest, base_url=url, progress=False)
    assert not (dest / "kodim01.png").exists()
    assert not (dest / "kodim01.png.part").exists()


def test_wrong_file_under_final_name_is_replaced(server, tmp_path):
    _, url = server
    dest = tmp_path / "kodak"
    dest.mkdir()
    (dest / "kodim03.png").write_bytes(b"stale")
    download_kodak(dest, base_url=url, progress=False)
    assert sha256_of(dest / "kodim03.png") == KODAK_SHA256["kodim03.png"]


def test_missing_files_on_server(server, tmp_path):
    _, url = server
    with pytest.raises(DownloadError, match="404"):
        download_kodak(tmp_path, base_url=url.replace("/kodak/", "/nothing-here/x"),
                       progress=False)


def test_unreachable_server(tmp_path):
    with pytest.raises(DownloadError, match="download failed"):
        download_kodak(tmp_path, base_url="http://127.0.0.1:9/", progress=False)
