"""`GET /studio/diff`: the draft against the published version (`metamodel.diff`), path by
path with old → new values, and the dry run (what the draft would do to stored data), above
the publish form. Publishing re-renders this page with its errors (`publishing`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.dry_run import DryRunReport
from engine.errors import ValidationFailed
from engine.publishing import draft_contents, plan
from engine.runtime import Runtime
from metamodel.diff import DefinitionChange, diff_contents
from renderers.html.audit_diff import PathChange, path_change
from renderers.html.chrome import Chrome
from renderers.html.environment import render
from renderers.html.studio.browse import definition_url
from renderers.html.studio.context import (
    Problem,
    can_change,
    may_look,
    problems_of,
    runtime_of,
    studio_chrome,
)

SEVERITY_BADGES = {"info": "ok", "warning": "warn", "data_loss": "bad", "blocker": "bad"}


@dataclass(frozen=True)
class DefinitionDiff:
    """One definition the draft adds, removes or modifies, with its changed paths."""

    app: str
    kind: str
    name: str
    change: str  # added | removed | modified
    url: str
    paths: list[PathChange]


@dataclass(frozen=True)
class FindingRow:
    """One dry-run finding: how serious, where, and how many rows it concerns."""

    severity: str
    badge: str  # the badge class: ok, warn or bad
    entity: str
    field: str
    message: str
    rows: int | None


@dataclass(frozen=True)
class DryRunView:
    """The dry run's findings; `blocked` stops a publish, `loses_data` needs consent."""

    blocked: bool
    loses_data: bool
    findings: list[FindingRow]


@dataclass(frozen=True)
class Review:
    """What the studio knows of the draft: its changes, the dry run (None for readers, who
    may not run one, or when the draft does not check) and the draft's own errors."""

    version: int | None
    changes: list[DefinitionChange]
    report: DryRunReport | None
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class DiffPage:
    """The diff and dry run, with the publish form: `message` and `force` as typed,
    `problems` of a refused publish and the message's own error."""

    chrome: Chrome
    version: int | None
    definitions: list[DefinitionDiff]
    dry_run: DryRunView | None
    can_change: bool
    problems: list[Problem] = field(default_factory=list)
    problems_heading: str = ""
    message: str = ""
    message_error: str = ""
    force: bool = False


def build_diff_page(
    chrome: Chrome,
    review: Review,
    can_change: bool,
    problems: list[Problem] | None = None,
    message: str = "",
    message_error: str = "",
    force: bool = False,
) -> DiffPage:
    definitions = [
        DefinitionDiff(
            change.app,
            change.kind,
            change.name,
            change.change,
            definition_url((change.app, change.kind, change.name)),
            [path_change(c, limit=None) for c in change.changes],
        )
        for change in review.changes
    ]
    dry_run = None
    if review.report is not None:
        findings = [
            FindingRow(
                f.severity, SEVERITY_BADGES[f.severity], f.entity, f.field or "", f.message, f.rows
            )
            for f in review.report.findings
        ]
        dry_run = DryRunView(review.report.blocked, review.report.loses_data, findings)
    texts = chrome.texts
    heading = texts["publish_failed"] if problems else texts["draft_invalid"]
    return DiffPage(
        chrome=chrome,
        version=review.version,
        definitions=definitions,
        dry_run=dry_run,
        can_change=can_change,
        problems=problems or review.problems,
        problems_heading=heading if (problems or review.problems) else "",
        message=message,
        message_error=message_error,
        force=force,
    )


def review_draft(runtime: Runtime, with_dry_run: bool) -> Review:
    """The draft's diff against this worker's catalog, and its dry run when asked for."""
    base = runtime.catalog()
    published = base.definitions.contents if base else {}
    version = base.version if base else None
    with runtime.engine.connect() as conn:
        contents = draft_contents(conn, base)
        if not with_dry_run:
            return Review(version, diff_contents(published, contents), None)
        try:
            proposal = plan(conn, base, contents)
        except ValidationFailed as exc:
            return Review(version, diff_contents(published, contents), None, problems_of(exc))
    return Review(version, proposal.changes, proposal.report)


async def show_diff(
    request: Request,
    status: int = 200,
    problems: list[Problem] | None = None,
    message: str = "",
    message_error: str = "",
    force: bool = False,
) -> Response:
    writer = can_change(request)
    review = await run_in_threadpool(review_draft, runtime_of(request), writer)
    chrome = studio_chrome(request, "diff_title")
    page = build_diff_page(chrome, review, writer, problems, message, message_error, force)
    return render(request, "studio/diff.html", page, status)


async def diff(request: Request) -> Response:
    may_look(request)
    return await show_diff(request)


ROUTES: list[BaseRoute] = [Route("/studio/diff", diff, methods=["GET"])]
