"""`baton run`: start the web app."""

from __future__ import annotations

import argparse


def cmd_run(args: argparse.Namespace) -> None:
    """Serve the Chainlit app on `--host` and `--port` until stopped."""
    from app.server import serve

    serve(host=args.host, port=args.port)
