"""Map tiles from ``[web] tile_url`` when the tile server answers (a tile server on 127.0.0.1
serving a plain PNG): the page asks for tiles, shows them under the outlines, and its
Content-Security-Policy lets that host's images in; with no tile_url it asks for none."""

from __future__ import annotations

import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .conftest import HOST, Page, serve


def png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (40, 60, 90)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class TileServer:
    def __init__(self) -> None:
        body = png()
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_tiles_are_shown_when_the_tile_server_answers(fleet_db, browser):
    tiles = TileServer()
    s = serve(fleet_db, tile_url=f"http://{HOST}:{tiles.port}/{{z}}/{{x}}/{{y}}.png")
    page = Page(browser)
    try:
        status, headers, _b = s.client.request("/")
        assert f"img-src 'self' data: http://{HOST}:{tiles.port}" in headers["content-security-policy"]
        p = page.open(s.client.base + "/")
        p.wait_for_function("() => [...document.querySelectorAll('img.leaflet-tile')].some(i => i.complete "
                            "&& i.naturalWidth === 256)")
        assert tiles.paths and all(path.endswith(".png") and path.count("/") == 3 for path in tiles.paths)
        assert not page.errors, page.errors
    finally:
        page.close()
        s.runtime.stop()
        tiles.stop()


def test_without_tile_url_no_tile_is_asked_for(served, page):
    p = page.open(served.client.base + "/")
    p.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane canvas').length >= 1")  # outlines
    p.wait_for_timeout(300)
    assert p.locator("img.leaflet-tile").count() == 0
    assert not page.errors, page.errors
