"""``/docs``: an interactive reference of the bundled specs (Swagger UI), fully offline.

Swagger UI's JavaScript and CSS come from the ``swagger-ui-py`` wheel, which bundles them, and
are served from ``/docs/assets/``; nothing is fetched from a CDN. The page has no inline script
(its initialiser is ``/docs/init.js``), and sets its own Content-Security-Policy: the app-wide one
plus ``style-src 'self'`` for Swagger UI's stylesheet, and without remote images.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute

from passbox.core.routing import Route

DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

# The files of the bundle the page uses (the wheel also carries swagger-editor and source maps).
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}

# (spec name, label in the top bar's selector), in selector order.
SPECS = (("seekpass", "SEEK Pass"), ("verifypass", "VerifyPass"), ("sandbox", "Control plane"))

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>passbox API reference</title>
<link rel="icon" type="image/png" sizes="32x32" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<style>
  body { margin: 0; background: #fafafa; }
  .passbox-bar { display: flex; gap: 1.25rem; align-items: baseline; padding: .6rem 1.25rem;
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #fff3c4;
    border-bottom: 1px solid #e6d48a; }
  .passbox-bar h1 { font-size: 1rem; margin: 0; }
  .passbox-bar a { color: #2e3849; }
</style>
</head>
<body>
<header class="passbox-bar">
  <h1>passbox API reference</h1>
  <nav><a href="/">Home</a> · <a href="/_sandbox/">Sandbox dashboard</a></nav>
  <span>Specs: SEEK Pass, VerifyPass and the sandbox control plane.</span>
</header>
<noscript><p>The reference needs JavaScript. The raw specs:
  <a href="/specs/seekpass.openapi.yaml">SEEK Pass</a>, <a href="/specs/verifypass.openapi.yaml">VerifyPass</a>,
  <a href="/specs/sandbox.openapi.yaml">control plane</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""


def _init_script() -> str:
    urls = ",\n".join(f'      {{ url: "/specs/{name}.openapi.json", name: "{label}" }}' for name, label in SPECS)
    return f"""// Builds the Swagger UI of /docs (a file of its own: the page allows no inline script).
window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    urls: [
{urls}
    ],
    "urls.primaryName": "{SPECS[0][1]}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  }});
}});
"""


def assets_dir() -> Path:
    """Where the installed ``swagger-ui-py`` keeps Swagger UI's built files."""
    import importlib.resources

    return Path(str(importlib.resources.files("swagger_ui").joinpath("static")))


async def docs_page(request: Request) -> Response:
    return HTMLResponse(
        PAGE,
        headers={
            "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        },
    )


async def docs_init(request: Request) -> Response:
    return Response(_init_script(), media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


async def docs_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404)
    return FileResponse(assets_dir() / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


def routes() -> list[BaseRoute]:
    """``/docs``, its initialiser and Swagger UI's files."""
    return [
        Route("/docs", docs_page, methods=["GET"]),
        Route("/docs/init.js", docs_init, methods=["GET"]),
        Route("/docs/assets/{name}", docs_asset, methods=["GET"]),
    ]
