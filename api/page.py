"""The progress page and its static files, served without a token.

The page is plain HTML and JavaScript under api/static/; it calls the
API with the token the user pastes, so nothing here needs one.
"""

from pathlib import Path

import falcon

STATIC = Path(__file__).parent / "static"
HTML = "text/html; charset=utf-8"
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
# The page loads nothing from elsewhere, and no script from anywhere but
# its own files.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _send(req, resp, path: Path, content_type: str) -> None:
    """The file, or 304 when the browser's copy is current."""
    stat = path.stat()
    etag = falcon.ETag(f"{stat.st_mtime_ns:x}-{stat.st_size:x}")
    resp.etag = etag
    resp.cache_control = ["no-cache"]
    resp.set_header("X-Content-Type-Options", "nosniff")
    if etag in (req.if_none_match or []):
        resp.status = falcon.HTTP_304
        return
    resp.content_type = content_type
    resp.data = path.read_bytes()


class ProgressPage:
    def on_get(self, req, resp):
        resp.set_header("Content-Security-Policy", POLICY)
        resp.set_header("Referrer-Policy", "no-referrer")
        _send(req, resp, STATIC / "index.html", HTML)


class PageRedirect:
    def on_get(self, req, resp):
        raise falcon.HTTPMovedPermanently("/progress/")


class StaticFiles:
    """The page's scripts and style sheets, by name; nothing else."""

    def __init__(self, folder: Path = STATIC):
        self._files = {
            path.name: path
            for path in folder.iterdir()
            if path.is_file() and path.suffix in TYPES
        }

    def on_get(self, req, resp, name: str):
        path = self._files.get(name)
        if path is None:
            raise falcon.HTTPNotFound(description=f"no static file {name}")
        _send(req, resp, path, TYPES[path.suffix])
