"""`baton`: the headless face of the service API (DESIGN 10). Its JSON is a public contract."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from app.cli.errors import AuditBroken
from app.cli.parser import build_parser
from db.errors import BatonError


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a refusal prints one sentence on stderr and returns a non-zero code.

    The process is meant to exit when it returns (the `baton` script, `python -m app.cli`).
    """
    args = build_parser().parse_args(argv)
    # Imported once the arguments parse: `baton --help` and usage errors never load pydantic.
    from pydantic import ValidationError

    try:
        args.func(args)
    except AuditBroken as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 1
    except BatonError as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"baton: {where}: {first['msg']}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        # The process exits next. Without this, the interpreter's last garbage collections
        # walk every object SQLAlchemy and pydantic built (~0.2 s of CPU) only to free
        # memory that the exit frees anyway.
        gc.freeze()
    return 0
