"""``/docs`` works with no internet: every file it loads is ours, served from the installed
package with a JS or CSS type. ReDoc is not served (its bundle loads a logo from a CDN)."""

from __future__ import annotations

import re

from tests.api.market import Market

_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_the_api_docs_load_only_same_origin_files(market: Market) -> None:
    answer = market.http.get("/docs")
    assert answer.status_code == 200
    html = answer.text
    assert "http://" not in html
    assert "https://" not in html
    references = [a or b for a, b in _REFERENCES.findall(html)]
    assets = [r for r in references if r != "/openapi.json"]
    assert any(r.endswith(".js") for r in assets), references
    assert any(r.endswith(".css") for r in assets), references
    for reference in references:
        assert reference.startswith("/"), reference
        assert not reference.startswith("//"), reference
    for asset in assets:
        served = market.http.get(asset)
        assert served.status_code == 200, asset
        suffix = asset[asset.rindex(".") :]
        assert served.headers["content-type"].startswith(_TYPES[suffix]), asset
        assert len(served.content) > 1000, asset
    assert market.http.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert market.http.get("/redoc").status_code == 404
