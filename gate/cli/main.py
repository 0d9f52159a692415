"""The `eval-gate` command line: argument parsing and wiring only."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate import __version__
from gate.core.errors import ConfigError, ExitCode, GateError, internal_error_message

if TYPE_CHECKING:
    from gate.cli.settings import CheckSettings

EPILOG = """\
exit codes: 0 pass or warn, 1 fail (or warn with --fail-on warning), 2 usage or config error,
3 results unavailable (network, auth, eval not found, eval failed, still running).
environment: ROBOFLOW_API_KEY (required to fetch), ROBOFLOW_WORKSPACE, ROBOFLOW_API_URL."""


SERVE_EPILOG = """\
environment: EVAL_GATE_TOKENS or EVAL_GATE_TOKENS_FILE (required unless --insecure-no-auth),
ROBOFLOW_API_KEY (else each request sends X-Roboflow-Api-Key), ROBOFLOW_API_URL,
ROBOFLOW_WORKSPACE, EVAL_GATE_HOST, EVAL_GATE_PORT, EVAL_GATE_MAX_BODY (bytes, default 1048576),
EVAL_GATE_REQUEST_DEADLINE (s, 120), EVAL_GATE_MAX_CONCURRENT_GATES (16),
EVAL_GATE_UPSTREAM_CONCURRENCY (32), EVAL_GATE_UPSTREAM_TIMEOUT (s, 30),
EVAL_GATE_POLL_INTERVAL (s, 5), EVAL_GATE_CACHE_BYTES (268435456), EVAL_GATE_GRACE (s, 30),
EVAL_GATE_GITHUB_API_URL (https://api.github.com)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a GateError (exit 2, one line), not a SystemExit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageExitError(f"{message} (see eval-gate {self.prog.split()[-1]} --help)")


class _UsageExitError(GateError):
    exit_code = ExitCode.USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="eval-gate",
        description="Gate computer-vision models on their Roboflow evaluation metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"eval-gate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check",
        help="fetch results, check thresholds, print the report, exit with the verdict",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = check.add_argument_group("what to gate")
    src.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: eval-gate.yml, then .github/eval-gate.yml)",
    )
    src.add_argument(
        "--eval",
        dest="eval_ids",
        metavar="ID",
        action="append",
        default=[],
        help="evaluation id to gate (repeatable); adds to evals: in the config",
    )
    src.add_argument(
        "--baseline", metavar="ID|auto", help="baseline for the evals given with --eval"
    )
    src.add_argument(
        "--results",
        metavar="[ID=]PATH",
        action="append",
        default=[],
        help="saved map-results JSON instead of the API (repeatable); "
        "the file's stem is the eval id unless ID= is given",
    )
    src.add_argument("--workspace", help="Roboflow workspace (env ROBOFLOW_WORKSPACE)")
    src.add_argument(
        "--api-url",
        help="Roboflow API base (env ROBOFLOW_API_URL, default https://api.roboflow.com)",
    )
    net = check.add_argument_group("fetching")
    net.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    net.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    net.add_argument(
        "--wait",
        type=float,
        default=600.0,
        help="seconds to wait for a running evaluation (default 600)",
    )
    net.add_argument(
        "--poll-interval",
        type=float,
        default=10.0,
        help="seconds between looks at a running evaluation (default 10)",
    )
    net.add_argument(
        "--deadline", type=float, help="overall seconds for all fetching (default: --wait + 120)"
    )
    out = check.add_argument_group("output")
    out.add_argument("--report", metavar="PATH", help="write the full Markdown report here")
    out.add_argument("--json", metavar="PATH", help="write every check as JSON here")
    out.add_argument("--junit", metavar="PATH", help="write JUnit XML (one test case a check)")
    out.add_argument(
        "--max-chars",
        type=int,
        default=65_000,
        help="shorten the printed report to this many characters (default 65000)",
    )
    out.add_argument("--title", default="eval-gate", help="report title")
    out.add_argument("--quiet", "-q", action="store_true", help="do not print the report")
    out.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="which verdict exits 1: error (default: fail only), warning (warn too) or never",
    )
    _logging_flags(check)

    validate = commands.add_parser("validate", help="check a config file without fetching")
    validate.add_argument("--config", metavar="PATH", help="config file (default as for check)")
    _logging_flags(validate)

    commands.add_parser("schema", help="print the config's JSON Schema")

    serve = commands.add_parser(
        "serve",
        help="run the gate as an HTTP service (POST /v1/gate; see the README's deployment)",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--host", help="address to listen on (env EVAL_GATE_HOST, default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, help="port to listen on (env EVAL_GATE_PORT, default 8080)"
    )
    serve.add_argument(
        "--tokens-file",
        metavar="PATH",
        help="bearer tokens, one per line (env EVAL_GATE_TOKENS_FILE; or EVAL_GATE_TOKENS)",
    )
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve WITHOUT authentication (never on a shared network)",
    )
    _logging_flags(serve, default_format="json")
    return parser


def _logging_flags(parser: argparse.ArgumentParser, *, default_format: str = "console") -> None:
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        default=default_format,
        help=f"stderr log format (default {default_format})",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="stderr log level (default info)",
    )


def _print_error(error: GateError, fmt: str, secrets: Sequence[str], err: TextIO) -> None:
    from gate.logs import error_line  # noqa: PLC0415 - keep `--help` and `schema` light

    lines = error.lines() if isinstance(error, ConfigError) else [str(error)]
    err.writelines(error_line(line, fmt=fmt, secrets=secrets) + "\n" for line in lines)


def run(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str],
    cwd: Path,
    out: TextIO,
    err: TextIO,
) -> int:
    """The command line with its I/O passed in; returns the exit code."""
    fmt = "console"
    secrets: tuple[str, ...] = tuple(
        v for k in ("ROBOFLOW_API_KEY",) if (v := environ.get(k, "").strip())
    )
    try:
        args = build_parser().parse_args(list(argv))
        fmt = getattr(args, "log_format", "console")
        if args.command == "schema":
            from gate.config.schema import schema_json  # noqa: PLC0415 - per-command imports

            out.write(schema_json())
            return ExitCode.OK
        if args.command is None:
            build_parser().print_help(err)
            return ExitCode.USAGE
        if args.command == "serve":
            return _serve(args, environ, cwd, err)
        from gate.logs import configure_logging  # noqa: PLC0415

        configure_logging(err, fmt=fmt, secrets=secrets, level=args.log_level)
        if args.command == "validate":
            return _validate(args, cwd, out)
        return _check(args, environ, cwd, out, err)
    except GateError as error:
        _print_error(error, fmt, secrets, err)
        return error.exit_code
    except KeyboardInterrupt:
        err.write("eval-gate: interrupted\n")
        return 130
    except Exception as error:
        if environ.get("EVAL_GATE_DEBUG"):
            raise
        from gate.logs import error_line  # noqa: PLC0415

        err.write(error_line(internal_error_message(error), fmt=fmt, secrets=secrets) + "\n")
        return ExitCode.INTERNAL


def _validate(args: argparse.Namespace, cwd: Path, out: TextIO) -> int:
    from gate.cli.settings import find_config  # noqa: PLC0415
    from gate.local_files import read_config  # noqa: PLC0415

    path = find_config(args.config, cwd)
    config = read_config(path)
    out.write(f"{path}: valid ({len(config.rules)} rules, {len(config.evals)} evals)\n")
    return ExitCode.OK


def _serve(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path, err: TextIO) -> int:
    import structlog  # noqa: PLC0415 - per-command imports keep the other commands light
    from aiohttp import web  # noqa: PLC0415

    from gate.server.app import configure_server_logging, create_app  # noqa: PLC0415
    from gate.server.settings import build_server_settings  # noqa: PLC0415

    settings = build_server_settings(
        environ,
        host=args.host,
        port=args.port,
        tokens_file=args.tokens_file,
        insecure_no_auth=args.insecure_no_auth,
        cwd=cwd,
    )
    configure_server_logging(
        err, fmt=args.log_format, level=args.log_level, secrets=settings.secrets
    )
    log = structlog.get_logger("gate.cli.main")
    if settings.insecure_no_auth:
        log.warning(
            "server.insecure_no_auth",
            message="AUTHENTICATION IS DISABLED (--insecure-no-auth): anyone who can reach "
            f"{settings.host}:{settings.port} can run gates"
            + (" with this server's Roboflow key" if settings.roboflow_api_key else ""),
        )
    log.info("server.starting", host=settings.host, port=settings.port)
    try:
        web.run_app(
            create_app(settings, drain_on_signal=True),
            host=settings.host,
            port=settings.port,
            shutdown_timeout=settings.grace,
            print=None,
            handle_signals=True,
            access_log=None,
        )
    except OSError as error:
        raise _UsageExitError(
            f"cannot listen on {settings.host}:{settings.port}: {error.strerror or error}; "
            "pick another --port or --host"
        ) from None
    return ExitCode.OK


def _print_warning(message: str, fmt: str, secrets: Sequence[str], err: TextIO) -> None:
    """One line on stderr, shaped like the error lines (`eval-gate: warning: ...`, or JSON)."""
    from gate.core.redact import redact  # noqa: PLC0415

    clean = " ".join(redact(message, secrets).split())
    if fmt == "json":
        import json  # noqa: PLC0415 - only needed on this path

        line = json.dumps({"event": "gate.warning", "level": "warning", "message": clean})
    else:
        line = f"eval-gate: warning: {clean}"
    err.write(line + "\n")


def _check(
    args: argparse.Namespace, environ: Mapping[str, str], cwd: Path, out: TextIO, err: TextIO
) -> int:
    from gate.cli.settings import build_settings  # noqa: PLC0415

    settings = build_settings(
        environ=environ,
        cwd=cwd,
        config=args.config,
        eval_ids=args.eval_ids,
        baseline=args.baseline,
        results=args.results,
        workspace=args.workspace,
        api_url=args.api_url,
        concurrency=args.concurrency,
        timeout=args.timeout,
        wait=args.wait,
        poll_interval=args.poll_interval,
        deadline=args.deadline,
        max_chars=args.max_chars,
        report=args.report,
        json=args.json,
        junit=args.junit,
        quiet=args.quiet,
        fail_on=args.fail_on,
        title=args.title,
    )
    if args.log_level in ("debug", "info", "warning"):
        for warning in settings.warnings:
            _print_warning(warning, args.log_format, settings.secrets, err)
    return asyncio.run(_exit_code(settings, out))


async def _exit_code(settings: CheckSettings, out: TextIO) -> int:
    # Only the exit code leaves the loop: asyncio.run's clean-up reprs the main task's result,
    # which for a large outcome costs a third of a second.
    from gate.cli.run import check  # noqa: PLC0415

    return int((await check(settings, out)).exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: wires the real process I/O into `run`."""
    return run(
        sys.argv[1:] if argv is None else argv,
        environ=os.environ,
        cwd=Path.cwd(),
        out=sys.stdout,
        err=sys.stderr,
    )
