"""The history pages of `eval-gate serve` (`/ui/`): every durable gate, newest first, filtered;
a gate's report and its repository's trend; a login with the service's bearer tokens.

Server-rendered (jinja2, templates/ui/), no script at all. The pure parts: `views` (rows to what
a page shows), `chart` (the trend's coordinates), `report_html` (Markdown to sanitised HTML),
`session` (cookies, CSRF tokens, login throttle); `routes` wires them to aiohttp.
"""

from __future__ import annotations

from gate.server.ui.routes import UI, setup_ui, ui_middleware

__all__ = ["UI", "setup_ui", "ui_middleware"]
