"""Server-rendered HTML pages (the hosted vendor pages), with Jinja2 autoescaping.

The environment is built once per app, on first use (so a server that serves no page never
imports Jinja2); templates are compiled on first use and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    import jinja2

CORE_TEMPLATES = Path(__file__).resolve().parent / "templates"


class Pages:
    def __init__(self, directories: Sequence[Path]) -> None:
        self._directories = [*directories, CORE_TEMPLATES]
        self._built: jinja2.Environment | None = None

    @property
    def _env(self) -> jinja2.Environment:
        if self._built is None:
            import jinja2

            self._built = jinja2.Environment(
                loader=jinja2.FileSystemLoader(self._directories),
                autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=False,  # templates never change under a running app (--reload restarts it)
            )
        return self._built

    def render_text(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(**context)

    def render(
        self, name: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        response = HTMLResponse(self.render_text(name, **context), status_code=status, headers=headers)
        # Hosted pages are never cached and never framed by another origin.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response
