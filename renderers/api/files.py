"""`/api/files`: upload a file (multipart field `file`) and download it by id."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from engine.errors import ValidationFailed, field_error
from engine.files import blob_path, file_info, store_file
from engine.records.attachments import require_file_access
from renderers.api.requests import TooLarge, principal_of
from renderers.api.responses import JSON

MAX_FILE = 50 * 1024 * 1024


async def upload_file(request: Request) -> Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILE:
        raise TooLarge(f"files may be at most {MAX_FILE} bytes")
    runtime = request.app.state.runtime
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "no file", [field_error("file", "send the file in a multipart field named file")]
            )
        data = await upload.read()
        name, content_type = upload.filename or "file", upload.content_type or ""
    row = await run_in_threadpool(
        store_file,
        runtime.engine,
        runtime.settings.files_dir,
        name,
        content_type,
        data,
        principal_of(request),
    )
    return JSON(
        {k: row[k] for k in ("id", "name", "content_type", "size", "sha256")}, status_code=201
    )


async def download_file(request: Request) -> Response:
    """The file, to its uploader and to whoever may read a record holding it; else 404."""
    runtime = request.app.state.runtime
    principal = principal_of(request)

    def run() -> dict:
        with runtime.engine.connect() as conn:
            info = file_info(conn, request.path_params["file_id"])
            require_file_access(conn, runtime.require_catalog(), principal, info)
            return info

    info = await run_in_threadpool(run)
    path = blob_path(runtime.settings.files_dir, info["sha256"])
    return FileResponse(path, media_type=info["content_type"], filename=info["name"])
