"""Start the Chainlit web app with Baton's data directory, auth secret and hardened config."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from app.banner import announce_first_run

APP_ROOT = Path(__file__).resolve().parent.parent
"""Where `.chainlit/` and `public/` live: the repository root."""

EXTERNAL_LINK = re.compile(r'<link\b[^>]*\bhref="https?://[^"]*"[^>]*>\s*', re.IGNORECASE)
"""A `<link>` whose href is another host: Chainlit's page asks Google Fonts and a CDN."""


def local_only(template: Callable[[str], str]) -> Callable[[str], str]:
    """Wrap Chainlit's page template so the browser loads nothing from another host.

    Chainlit's page links Google Fonts and KaTeX's stylesheet from a CDN (Baton has no
    maths). A marketer's browser would tell those hosts who is using Baton and when, and an
    offline install logs failed loads. The page keeps its own assets; `public/baton.css`
    names a system font stack in place of the downloaded Inter.
    """

    def page(root_path: str) -> str:
        return EXTERNAL_LINK.sub("", template(root_path))

    return page


def serve(*, host: str, port: int) -> None:
    """Initialise the data directory, print the first-run login, then serve until stopped."""
    from agents.bootstrap import auth_secret
    from agents.service import Baton
    from db.settings import Settings

    settings = Settings.from_env()
    baton, first_run = Baton.open(settings)
    announce_first_run(first_run)
    os.environ["CHAINLIT_AUTH_SECRET"] = auth_secret(settings)
    os.environ["CHAINLIT_APP_ROOT"] = str(APP_ROOT)
    os.environ["CHAINLIT_HOST"] = host
    os.environ["CHAINLIT_PORT"] = str(port)
    print(f"Baton is running on http://{host}:{port}  ({baton.planner_label})", flush=True)

    # Chainlit reads CHAINLIT_APP_ROOT when it is first imported, so import it only now.
    import chainlit.config as chainlit_config
    import chainlit.server as chainlit_server
    from chainlit.cli import run_chainlit
    from chainlit.config import config

    # Session files default to <app root>/.files, shared by every server started from this
    # checkout, and Chainlit deletes that folder when a server stops: keep them per data dir.
    files = settings.home / "chat-files"
    files.mkdir(parents=True, exist_ok=True)
    chainlit_config.FILES_DIRECTORY = chainlit_server.FILES_DIRECTORY = files
    # The UI route looks the template function up on each request.
    chainlit_server.get_html_template = local_only(chainlit_server.get_html_template)

    config.run.headless = True
    config.project.allow_origins = [f"http://{host}:{port}"] + (
        [f"http://localhost:{port}"] if host in ("127.0.0.1", "localhost") else []
    )
    run_chainlit(str(APP_ROOT / "app" / "chat.py"))
