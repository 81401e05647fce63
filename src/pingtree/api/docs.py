"""``/docs`` (Swagger UI) with its files served by us, so it works with no internet (DESIGN
§6: "works with no internet").

The files come from the installed ``fastapi-offline`` package (Swagger UI 5, which reads
OpenAPI 3.1), mounted at :data:`ASSETS`; the page is FastAPI's own, pointed at those files
instead of a CDN. The app is made with ``docs_url=None, redoc_url=None``. ReDoc is not
served: its bundle still loads its logo from redocly's CDN.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "install_docs"]

#: where Swagger UI's files are served
ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs`` and its files to ``app``."""
    folder = Path(str(files("fastapi_offline") / "static"))
    app.mount(ASSETS, StaticFiles(directory=folder), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # no badge from validator.swagger.io, which a public host's page would load
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
