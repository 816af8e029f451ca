"""Anju's command line: `python run.py [serve|worker|check|publish|export|migrate|…]`."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time
from pathlib import Path

from engine.database import write_transaction
from engine.errors import AnjuError, BadRequest
from engine.principal import Principal
from engine.protection import KeyProblem
from engine.publishing import Plan
from engine.runtime import Runtime
from engine.settings import Settings
from iot.simulator import cli as simulator
from metamodel.canonical import canonical_yaml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run.py", description="Anju housing administration platform"
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the web server (the default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    worker = commands.add_parser(
        "worker", help="run background jobs until stopped (SIGTERM/SIGINT), with a scheduler"
    )
    worker.add_argument(
        "--queues", nargs="+", default=None, metavar="QUEUE", help="queues to serve (default: all)"
    )
    commands.add_parser(
        "check", help="check apps_config and show how it differs from what is published"
    )
    publish = commands.add_parser(
        "publish", help="publish apps_config as a new definitions version"
    )
    publish.add_argument("-m", "--message", required=True)
    publish.add_argument("--author", default=None)
    publish.add_argument(
        "--force", action="store_true", help="accept the data loss the dry run reports"
    )
    export = commands.add_parser("export", help="write a published version as canonical YAML")
    export.add_argument("--to", type=Path, default=None, help="folder (default: apps_config)")
    export.add_argument("--version", type=int, default=None)
    commands.add_parser("migrate", help="upgrade system tables and bring entity tables in line")
    demo = commands.add_parser("demo-data", help="load realistic housing demo data")
    demo.add_argument("--units", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument(
        "--device-share",
        type=float,
        default=0.25,
        help="share of the let units fitted with a lock, a breaker and meters (0 for none)",
    )
    verify = commands.add_parser(
        "verify-audit", help="prove no audit entry was edited, deleted or reordered"
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        type=_anchor,
        metavar="SEQ:HASH",
        help="a head recorded earlier (repeatable); it must still be in the chain",
    )
    _identity_commands(commands)
    simulator.add_arguments(
        commands.add_parser("simulate-devices", help="simulated devices: telemetry, commands")
    )
    args = parser.parse_args(argv)
    settings = Settings()
    handlers = {
        None: cmd_serve,
        "serve": cmd_serve,
        "worker": cmd_worker,
        "check": cmd_check,
        "publish": cmd_publish,
        "export": cmd_export,
        "migrate": cmd_migrate,
        "demo-data": cmd_demo_data,
        "verify-audit": cmd_verify_audit,
        "create-user": cmd_create_user,
        "create-org": cmd_create_org,
        "simulate-devices": simulator.run,
    }
    try:
        return handlers[args.command](settings, args)
    except AnjuError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            print(f"  {_detail(detail)}", file=sys.stderr)
        return 1
    except KeyProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _detail(detail: dict) -> str:
    if "file" in detail:
        where = f"{detail['file']}:{detail['line']}" if detail.get("line") else detail["file"]
        text = (
            f"{where}: {detail['path']}: {detail['message']}"
            if detail["path"]
            else f"{where}: {detail['message']}"
        )
        excerpt = detail.get("excerpt")
        return f"{text}\n  {excerpt.replace(chr(10), chr(10) + '  ')}" if excerpt else text
    return f"{detail.get('path')}: {detail.get('message')}"


def _runtime(settings: Settings) -> Runtime:
    """A started runtime for a command; one-shot commands run no job threads."""
    runtime = Runtime.create(settings.model_copy(update={"job_threads": False}))
    runtime.start()
    return runtime


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    _runtime(settings).dispose()  # migrate and import once, before any worker starts
    host, port = getattr(args, "host", "127.0.0.1"), getattr(args, "port", 8000)
    workers, log_level = getattr(args, "workers", 1), getattr(args, "log_level", "info")
    print(f"Anju on http://{host}:{port}  (data: {settings.resolved_database_url})")
    uvicorn.run(
        "renderers.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Serve job queues in the foreground: an RQ worker (`ANJU_JOBS_BACKEND=rq`) or the
    database-polling worker, each with a scheduler thread; stops cleanly on SIGTERM/SIGINT."""
    import logging

    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("anju").setLevel(logging.INFO)
    queues = [name for item in args.queues or [] for name in item.split(",") if name]
    unknown = sorted(set(queues) - set(settings.job_queues))
    if unknown:
        raise BadRequest(
            f"unknown queues {', '.join(unknown)}; ANJU_JOB_QUEUES has {settings.job_queues}"
        )
    runtime = _runtime(settings)
    served = ", ".join(queues or settings.job_queues)
    print(f"Anju worker ({settings.jobs_backend}) on queues {served}", flush=True)
    runtime.start_services()
    try:
        runtime.jobs.work(queues or None)
    finally:
        runtime.dispose()
    return 0


def cmd_check(settings: Settings, _args: argparse.Namespace) -> int:
    from engine.publishing import plan

    runtime = _runtime(settings)
    contents = runtime.folder_contents()
    print(f"{settings.apps_config}: {len(contents)} definitions, all valid")
    with runtime.engine.connect() as conn:
        proposal = plan(conn, runtime.catalog(), contents)
    _print_plan(proposal)
    return 0


def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    runtime = _runtime(settings)
    author = args.author or getpass.getuser()
    result = runtime.publish_folder(author, args.message, args.force)
    _print_plan(result.plan)
    for step in result.log.steps:
        print(f"  migrated: {step}")
    print(f"published version {result.version.version} ({result.version.hash[:12]})")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from metamodel import store
    from metamodel.loader import display_file

    runtime = _runtime(settings)
    folder = args.to or settings.apps_config
    with runtime.engine.connect() as conn:
        version = args.version or store.latest_version(conn)
        contents = store.read_contents(conn, version)
    for (app, kind, name), content in contents.items():
        path = folder / display_file(app, kind, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {k: v for k, v in content.items() if k != "name"}
        path.write_text(canonical_yaml(body, width=80), encoding="utf-8")
    print(f"exported version {version}: {len(contents)} definitions to {folder}")
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from engine.schema_migration import migrate_schema

    runtime = _runtime(settings)
    catalog = runtime.require_catalog()
    with write_transaction(runtime.engine) as conn:
        log = migrate_schema(conn, catalog, catalog)
    for step in log.steps:
        print(f"  {step}")
    print(f"database is at definitions version {catalog.version}")
    return 0


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    runtime = _runtime(settings)
    try:
        return _load_demo_data(runtime, settings, args)
    finally:
        runtime.dispose()  # its connections closed, also when called from another program


def _load_demo_data(runtime: Runtime, settings: Settings, args: argparse.Namespace) -> int:
    from engine.auth.realm import Realm
    from engine.bulk import insert_rows, next_id, reset_sequence
    from engine.principal import SYSTEM
    from plugins.builtin import demo_identity, demo_suppliers
    from plugins.builtin.demo_devices import load_devices
    from plugins.builtin.demo_housing import generate

    catalog = runtime.require_catalog()
    started = time.perf_counter()
    with runtime.engine.connect() as conn:
        start_ids = {key: next_id(conn, entity) for key, entity in catalog.entities.items()}
    totals: dict[str, int] = {}
    kept: dict[str, list[dict]] = {"region": [], "enterprise": [], "supplier": []}  # organisations
    for app, name, rows in generate(args.units, start_ids, args.seed):
        entity = catalog.entity(app, name)
        assert entity is not None, f"demo data names an unknown entity {app}.{name}"
        if name in kept:
            kept[name].extend(rows)
        with write_transaction(runtime.engine) as conn:
            totals[entity.path] = totals.get(entity.path, 0) + insert_rows(
                conn, entity, rows, SYSTEM
            )
    with write_transaction(runtime.engine) as conn:
        for entity in catalog.entities.values():
            reset_sequence(conn, entity)
        conn.exec_driver_sql("ANALYZE")  # statistics for the planner, or it guesses indexes
    password = settings.demo_password or _generated_password()
    realm = Realm.create(settings, runtime.engine)
    orgs, users = demo_identity.load(realm, catalog, kept["region"], kept["enterprise"], password)
    supplier_orgs, supplier_users = demo_suppliers.load_identity(
        realm, catalog, kept["region"], kept["supplier"], password
    )
    orgs, users = orgs + supplier_orgs, users + supplier_users
    if args.device_share > 0:
        totals.update(load_devices(runtime, share=args.device_share, seed=args.seed))
    for path, count in totals.items():
        print(f"  {path}: {count}")
    print(f"  organisations: {orgs}, staff accounts: {users}")
    if not settings.demo_password:
        print(f"demo accounts' password: {password}")
    print(f"demo data loaded in {time.perf_counter() - started:.1f} s")
    return 0


def _generated_password() -> str:
    """A password every policy accepts: four character classes, 20 characters."""
    import secrets

    return f"Demo#{secrets.token_hex(6)}{secrets.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}a1"


def cmd_verify_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Read-only: no migration, import or purge, so an auditor's check changes nothing."""
    import sqlalchemy as sa

    from engine.audit.verify import verify_chain
    from engine.database import create_database_engine

    engine = create_database_engine(settings)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("anju_audit_head"):
                raise AnjuError("this database has no audit trail yet; run `run.py migrate`")
            result = verify_chain(conn, args.anchor)
    finally:
        engine.dispose()
    head = result.head
    print(f"checked {result.checked} entries after checkpoint {head.base_seq}")
    print(f"head: seq={head.seq} hash={head.hash}")
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(problem.line())
    if result.truncated:
        print(f"… and more problems than the {len(result.problems)} listed")
    print("audit chain intact" if result.ok else "audit chain BROKEN")
    return 0 if result.ok else 1


def _anchor(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdecimal() or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        raise argparse.ArgumentTypeError(f"expected SEQ:HASH (a head line's values), not {text!r}")
    return int(seq), digest.lower()


def _identity_commands(commands: argparse._SubParsersAction) -> None:
    user = commands.add_parser("create-user", help="create a user with roles")
    user.add_argument("username")
    user.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    user.add_argument("--org", default=None, help="the code of the user's organisation")
    user.add_argument("--display-name", default=None)
    user.add_argument("--phone", default=None, help="mobile number for SMS notifications")
    user.add_argument("--email", default=None, help="address for e-mail notifications")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    org = commands.add_parser("create-org", help="create an organisation")
    org.add_argument("code")
    org.add_argument("name")
    org.add_argument("--kind", required=True, help="city, district, street, community, ...")
    org.add_argument("--parent", default=None, help="the code of the parent organisation")


def _cli_actor() -> Principal:
    """Who the audit trail names for command-line changes: the operating-system user."""
    return Principal(f"cli:{getpass.getuser()}", roles=("system",))


def _org_id(runtime: Runtime, code: str | None, name: str) -> int | None:
    from engine.auth.organisations import org_by_code
    from engine.errors import ValidationFailed, field_error

    if code is None:
        return None
    with runtime.engine.connect() as conn:
        org = org_by_code(conn, code)
    if org is None:
        raise ValidationFailed(f"no organisation {code}", [field_error(name, "unknown code")])
    return int(org["id"])


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first, second = getpass.getpass("Password: "), getpass.getpass("Password again: ")
    if first != second:
        raise BadRequest("the two passwords differ")
    return first


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from engine.auth.realm import Realm
    from engine.auth.roles import known_roles
    from engine.auth.users import UserCreate, create_user
    from renderers.api.bodies import parse_model

    runtime = _runtime(settings)
    try:
        data = {
            "username": args.username,
            "display_name": args.display_name,
            "org_id": _org_id(runtime, args.org, "--org"),
            "roles": [{"role": role} for role in args.role],
            "phone": args.phone,
            "email": args.email,
            "password": _new_password(args.password_stdin),
        }
        realm = Realm.create(settings, runtime.engine)
        roles = known_roles(runtime.catalog())
        user = create_user(realm, parse_model(UserCreate, data), roles, _cli_actor())
    finally:
        runtime.dispose()
    held = ", ".join(r["role"] for r in user["roles"]) or "none"
    print(f"created user {user['username']} (id {user['id']}), roles: {held}")
    return 0


def cmd_create_org(settings: Settings, args: argparse.Namespace) -> int:
    from engine.auth.organisations import OrgCreate, create_org
    from engine.auth.realm import Realm
    from engine.records.orgs import assign_all_orgs
    from renderers.api.bodies import parse_model

    runtime = _runtime(settings)
    try:
        data = {
            "code": args.code,
            "name": args.name,
            "kind": args.kind,
            "parent_id": _org_id(runtime, args.parent, "--parent"),
        }
        realm = Realm.create(settings, runtime.engine)
        org = create_org(realm, parse_model(OrgCreate, data), _cli_actor())
        with write_transaction(runtime.engine) as conn:
            assign_all_orgs(conn, runtime.require_catalog(), only_unassigned=True)
    finally:
        runtime.dispose()
    print(f"created organisation {org['code']} {org['name']} (id {org['id']}, path {org['path']})")
    return 0


def _print_plan(proposal: Plan) -> None:
    base = proposal.base.version if proposal.base else "nothing"
    if not proposal.changes:
        print(f"no changes against published version {base}")
        return
    print(f"changes against published version {base}:")
    for change in proposal.changes:
        print(f"  {change.change:9} {change.app}/{change.kind}/{change.name}")
        for item in change.changes:
            print(f"      {item.change:9} {item.path}")
    for finding in proposal.report.findings:
        rows = f" ({finding.rows} rows)" if finding.rows is not None else ""
        field = f".{finding.field}" if finding.field else ""
        print(f"  [{finding.severity}] {finding.entity}{field}: {finding.message}{rows}")


if __name__ == "__main__":
    sys.exit(main())
