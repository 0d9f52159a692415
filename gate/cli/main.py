"""The `eval-gate` command line: argument parsing and wiring only."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gate import __version__
from gate.core.errors import ConfigError, ExitCode, FaceWords, GateError, internal_error_message
from gate.local.options import Option, Read, read_options

if TYPE_CHECKING:
    from gate.cli.settings import CheckSettings
    from gate.store.settings import DatabaseSettings

EPILOG = """\
exit codes: 0 pass or warn, 1 fail (or warn with --fail-on warning), 2 usage or config error,
3 results unavailable (network, auth, eval not found, eval failed, still running).
environment: ROBOFLOW_API_KEY (required to fetch), ROBOFLOW_WORKSPACE, ROBOFLOW_API_URL."""


DB_EPILOG = """\
environment: EVAL_GATE_DATABASE_URL (default sqlite:///eval-gate.db: a file in the working
directory; or postgresql://user:password@host:port/db), EVAL_GATE_DATABASE_PASSWORD_FILE.
exit codes: 0 done, 2 bad setting, 3 database unavailable (unreachable, not writable, not
migrated)."""

REMOTE_EPILOG = """\
exit codes: as check's (0 pass or warn, 1 fail, 2 usage or config error, or a request the
service refuses, or no such gate; 3 the service unavailable: network, auth, a bad answer);
status also: 4 still queued or waiting, 5 timed_out, 6 cancelled (or superseded), 7 error.
environment: EVAL_GATE_TOKEN (the service's bearer token; never a flag, never printed)."""

# How the command line names what fixes an engine's error (`GateError.worded`).
WORDS = FaceWords(
    wait="--wait",
    evals="pass --eval ID (or --results PATH)",
    workspace="pass --workspace, set ROBOFLOW_WORKSPACE",
    base="baseline: base only works in the GitHub Action on pull requests (the base branch's "
    "config names the baselines); name an eval id, auto or champion instead",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a GateError (exit 2, one line), not a SystemExit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageExitError(f"{message} (see eval-gate {self.prog.split()[-1]} --help)")


class _UsageExitError(GateError):
    exit_code = ExitCode.USAGE


def _serve_epilog(argv: Sequence[str]) -> str:
    """`eval-gate serve --help`'s list of settings, from the service's declaration (imported
    only when the command line names `serve`)."""
    if "serve" not in argv:
        return ""
    from gate.server.settings import settings_help  # noqa: PLC0415 - only for `serve`

    return settings_help()


def build_parser(*, serve_epilog: str = "") -> argparse.ArgumentParser:
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
    from gate.cli.settings import FLAGS  # noqa: PLC0415 - the parser is built on every run

    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in FLAGS:
        if option.group not in groups:
            groups[option.group] = check.add_argument_group(option.group)
        _add_flag(groups[option.group], option)
    _logging_flags(check)

    validate = commands.add_parser("validate", help="check config files without fetching")
    validate.add_argument("--config", metavar="PATH", help="config file (default as for check)")
    validate.add_argument(
        "configs",
        nargs="*",
        metavar="PATH",
        help="more config files, each checked (as pre-commit passes them); exit status of the "
        "first that fails",
    )
    _logging_flags(validate)

    commands.add_parser("schema", help="print the config's JSON Schema")

    from gate.cli.remote_flags import STATUS_FLAGS, SUBMIT_FLAGS  # noqa: PLC0415

    submit = commands.add_parser(
        "submit",
        help="submit a durable gate to an eval-gate service; print its id and URL",
        epilog=REMOTE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status = commands.add_parser(
        "status",
        help="a durable gate's status (waiting up to --wait for it), its report once done; "
        "exit with its verdict",
        epilog=REMOTE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("gate_id", metavar="ID", help="the gate's id, as submit prints it")
    for command, flags in ((submit, SUBMIT_FLAGS), (status, STATUS_FLAGS)):
        remote_groups: dict[str, argparse._ArgumentGroup] = {}
        for option in flags:
            if option.group not in remote_groups:
                remote_groups[option.group] = command.add_argument_group(option.group)
            _add_flag(remote_groups[option.group], option)
        _logging_flags(command)

    serve = commands.add_parser(
        "serve",
        help="run the gate as an HTTP service (POST /v1/gate, durable gates; see "
        "docs/service/deployment.md)",
        epilog=serve_epilog or None,
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

    db = commands.add_parser(
        "db",
        help="the durable gates' database: migrate it (upgrade) or check it",
        epilog=DB_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    db_actions = db.add_subparsers(
        dest="db_action", metavar="ACTION", parser_class=_Parser, required=True
    )
    db_actions.add_parser(
        "upgrade",
        help="migrate the database to this eval-gate's schema (safe to repeat, and from replicas "
        "at once)",
        epilog=DB_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    db_actions.add_parser(
        "check",
        help="exit 0 when the database is reachable, migrated and writable; else say why (exit 3)",
        epilog=DB_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _help(option: Option[Any]) -> str:
    """--help's line for a declared option: its help, then its default (Markdown removed)."""
    shown = option.shown()
    text = option.help if shown == "—" else f"{option.help} (default: {shown})"
    return text.replace("`", "").replace("%", "%%")


def _add_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, option: Option[Any]
) -> None:
    names = (option.name, option.also) if option.also else (option.name,)
    if option.action == "store_true":
        parser.add_argument(*names, dest=option.field, action="store_true", help=_help(option))
        return
    parser.add_argument(
        *names,
        dest=option.field,
        action=option.action,
        default=[] if option.action == "append" else None,  # raw: converted by read_options
        metavar=option.metavar or option.field.split("_")[-1].upper(),
        help=_help(option),
    )


def _logging_flags(parser: argparse.ArgumentParser, *, default_format: str = "console") -> None:
    from gate.cli.settings import log_flags  # noqa: PLC0415 - the parser is built on every run

    for option in log_flags(default_format):
        _add_flag(parser, option)


def _read_flags(options: Sequence[Option[Any]], args: argparse.Namespace) -> Read:
    """The declared single-valued flags of `args`, converted; every problem collected."""
    return read_options(
        (o for o in options if o.action == "store"),
        lambda name: next(getattr(args, o.field) for o in options if o.name == name),
    )


def _log_settings(args: argparse.Namespace) -> tuple[str, str]:
    """--log-format and --log-level, checked (a wrong one is a usage error on the console)."""
    from gate.cli.settings import log_flags  # noqa: PLC0415

    default = "json" if args.command == "serve" else "console"
    read = _read_flags(log_flags(default), args)
    if read.problems:
        raise _UsageExitError("; ".join(read.problems))
    return read["log_format"], read["log_level"]


def _print_error(error: GateError, fmt: str, secrets: Sequence[str], err: TextIO) -> None:
    from gate.logs import error_line  # noqa: PLC0415 - keep `--help` and `schema` light

    error = error.worded(WORDS)
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
        v for k in ("ROBOFLOW_API_KEY", "EVAL_GATE_TOKEN") if (v := environ.get(k, "").strip())
    )
    try:
        args = build_parser(serve_epilog=_serve_epilog(argv)).parse_args(list(argv))
        if hasattr(args, "log_format"):
            fmt, args.log_level = _log_settings(args)
            args.log_format = fmt
        if args.command == "schema":
            from gate.config.schema import schema_json  # noqa: PLC0415 - per-command imports

            out.write(schema_json())
            return ExitCode.OK
        if args.command is None:
            build_parser().print_help(err)
            return ExitCode.USAGE
        if args.command == "serve":
            return _serve(args, environ, cwd, err)
        if args.command == "db":
            return _db(args.db_action, environ, cwd, out, err)
        from gate.logs import configure_logging  # noqa: PLC0415

        configure_logging(err, fmt=fmt, secrets=secrets, level=args.log_level)
        if args.command == "validate":
            return _validate(args, cwd, out, err, fmt=fmt, secrets=secrets)
        if args.command in ("submit", "status"):
            return _remote(args, environ, cwd, out, err)
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

        message = internal_error_message(error, secrets)
        err.write(error_line(message, fmt=fmt, secrets=secrets) + "\n")
        return ExitCode.INTERNAL


def _validate(
    args: argparse.Namespace,
    cwd: Path,
    out: TextIO,
    err: TextIO,
    *,
    fmt: str,
    secrets: Sequence[str],
) -> int:
    """Each config named (--config, then the positional ones; the default config when none),
    its problems printed; the exit status of the first that fails."""
    from gate.cli.settings import find_config  # noqa: PLC0415
    from gate.local.files import read_config, shown_path  # noqa: PLC0415

    named: list[str | None] = [args.config] if args.config is not None else []
    named += args.configs
    status = int(ExitCode.OK)
    for name in named or [None]:
        try:
            path = find_config(name, cwd)
            config = read_config(path, shown=shown_path(path, cwd))
        except GateError as error:
            _print_error(error, fmt, secrets, err)
            status = status or error.exit_code
            continue
        out.write(f"{path}: valid ({len(config.rules)} rules, {len(config.evals)} evals)\n")
    return status


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


def _db(action: str, environ: Mapping[str, str], cwd: Path, out: TextIO, err: TextIO) -> int:
    """`eval-gate db upgrade|check` on EVAL_GATE_DATABASE_URL. The store (SQLAlchemy, Alembic,
    the drivers) is imported here only: no other command loads it."""
    from gate.store.settings import database_settings  # noqa: PLC0415 - per-command imports

    settings = database_settings(environ, cwd=cwd)
    secrets = tuple(p for p in (settings.url.password,) if p)
    try:
        return asyncio.run(_db_action(action, settings, out))
    except GateError as error:  # a password from the file is redacted by the store itself
        _print_error(error, "console", secrets, err)
        return error.exit_code


async def _db_action(action: str, settings: DatabaseSettings, out: TextIO) -> int:
    from gate.store import open_store  # noqa: PLC0415

    store = open_store(settings)
    try:
        if action == "upgrade":
            before = await store.current()
            after = await store.upgrade()
            change = "already at" if before == after else f"upgraded from {before or 'empty'} to"
            out.write(f"{store.shown_url}: {change} revision {after} (this eval-gate's head)\n")
        else:
            await store.check()
            out.write(f"{store.shown_url}: ok (revision {await store.current()}, writable)\n")
    finally:
        await store.close()
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
    from gate.cli.settings import FLAGS, build_settings  # noqa: PLC0415

    read = _read_flags(FLAGS, args)
    settings = build_settings(
        environ=environ,
        cwd=cwd,
        eval_ids=args.eval_ids,
        models=args.models,
        versions=args.versions,
        results=args.results,
        quiet=args.quiet,
        problems=read.problems,
        **read.values,
    )
    if args.log_level in ("debug", "info", "warning"):
        for warning in settings.warnings:
            _print_warning(warning, args.log_format, settings.secrets, err)
    return asyncio.run(_exit_code(settings, out))


def _remote(
    args: argparse.Namespace, environ: Mapping[str, str], cwd: Path, out: TextIO, err: TextIO
) -> int:
    """`eval-gate submit` and `eval-gate status`, on the service --server names."""
    from gate.cli import remote  # noqa: PLC0415 - per-command imports
    from gate.cli.remote_flags import STATUS_FLAGS, SUBMIT_FLAGS  # noqa: PLC0415

    flags = SUBMIT_FLAGS if args.command == "submit" else STATUS_FLAGS
    read = _read_flags(flags, args)
    if read.problems:
        raise _UsageExitError("; ".join(read.problems))
    settings = remote.remote_settings(read["server"], environ, as_json=args.as_json)
    if args.log_level in ("debug", "info", "warning"):
        for warning in settings.warnings:
            _print_warning(warning, args.log_format, settings.secrets, err)
    if args.command == "status":
        return asyncio.run(
            remote.run_status(
                settings,
                args.gate_id,
                wait=read["wait"],
                interval=read["poll_interval"],
                quiet=args.quiet,
                out=out,
            )
        )
    values = {
        **read.values,
        "eval_ids": args.eval_ids,
        "models": args.models,
        "versions": args.versions,
    }
    body = remote.submission(values, cwd=cwd, config=read["config"], environ=environ)
    return asyncio.run(remote.run_submit(settings, body, read["idempotency_key"], out))


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
