"""OpenAPI 3.1 of the whole API, generated from the catalog of the current version."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from engine.catalog import Catalog, CompiledEntity
from engine.validation import field_annotation
from metamodel.labels import pick
from renderers.api.alerts import openapi_paths as alert_paths
from renderers.api.reports import openapi_paths as report_paths

REF = "#/components/schemas/{model}"
SYSTEM_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "created_at": {"type": "string", "format": "date-time"},
    "created_by": {"type": ["string", "null"]},
    "updated_at": {"type": "string", "format": "date-time"},
    "updated_by": {"type": ["string", "null"]},
    "row_version": {"type": "integer"},
    "org_id": {"type": ["integer", "null"]},
    "def_version": {"type": "integer"},
}
OPERATORS = ("ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "isnull")


def openapi_document(catalog: Catalog) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _error_schema()}
    paths: dict[str, Any] = {**_system_paths()}
    paths.update(alert_paths())
    paths.update(report_paths(catalog))
    for entity in catalog.entities.values():
        base = _schema_name(entity)
        schemas[f"{base}Create"] = _input_schema(entity.create_model, schemas)
        schemas[f"{base}Patch"] = _input_schema(entity.patch_model, schemas)
        schemas[base] = _record_schema(entity)
        schemas[f"{base}Page"] = {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{base}"}},
                "next_cursor": {"type": ["string", "null"]},
                "count": {"type": ["integer", "null"]},
            },
            "required": ["items", "next_cursor", "count"],
        }
        paths.update(_entity_paths(entity, base))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Anju",
            "version": str(catalog.version),
            "description": "Housing administration API, generated from definitions version "
            f"{catalog.version}.",
        },
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearer": []}, {"session": []}],
    }


SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "POST /api/auth/token",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "anju_session",
        "description": "browser session (POST /login); unsafe methods need X-CSRF-Token",
    },
}


def _schema_name(entity: CompiledEntity) -> str:
    return "".join(part.title() for part in f"{entity.app}_{entity.name}".split("_"))


def _input_schema(model: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _record_schema(entity: CompiledEntity) -> dict[str, Any]:
    properties = dict(SYSTEM_PROPERTIES)
    for name, spec in entity.fields.items():
        field_schema = TypeAdapter(field_annotation(spec)).json_schema(mode="serialization")
        field_schema.pop("$defs", None)
        properties[name] = {"anyOf": [field_schema, {"type": "null"}]}
        if spec.computed is not None:
            properties[name] |= {"readOnly": True, "description": f"computed: {spec.computed}"}
    return {
        "type": "object",
        "title": pick(entity.definition.label, "en", entity.name),
        "properties": properties,
        "required": list(SYSTEM_PROPERTIES),
    }


def _error_schema() -> dict[str, Any]:
    detail = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
    }
    return {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": detail},
                },
                "required": ["code", "message", "details"],
            }
        },
        "required": ["error"],
    }


def _json(ref: str | None = None, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"$ref": f"#/components/schemas/{ref}"} if ref else (schema or {"type": "object"})
    return {"content": {"application/json": {"schema": body}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": "error", **_json("Error")} for code in codes}


def _entity_paths(entity: CompiledEntity, base: str) -> dict[str, Any]:
    label = pick(entity.definition.label, "en", entity.name)
    tag = [entity.app]
    filters: list[dict[str, Any]] = [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "text search"},
        {
            "name": "sort",
            "in": "query",
            "schema": {"type": "string"},
            "description": "e.g. -rent,code",
        },
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    ]
    for name in entity.fields:
        filters.append(
            {"name": name, "in": "query", "schema": {"type": "string"}, "required": False}
        )
    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    if_match = {"name": "If-Match", "in": "header", "schema": {"type": "string"}}
    collection = f"/api/{entity.app}/{entity.name}"
    return {
        collection: {
            "get": {
                "tags": tag,
                "summary": f"List {label}",
                "operationId": f"list{base}",
                "description": "Filters: `field=v` or `field__op=v`, op in " + ", ".join(OPERATORS),
                "parameters": filters,
                "responses": {
                    "200": {"description": "a page", **_json(f"{base}Page")},
                    **_errors(400, 401, 403, 422),
                },
            },
            "post": {
                "tags": tag,
                "summary": f"Create {label}",
                "operationId": f"create{base}",
                "requestBody": {"required": True, **_json(f"{base}Create")},
                "responses": {
                    "201": {"description": "created", **_json(base)},
                    **_errors(400, 401, 403, 409, 422),
                },
            },
        },
        f"{collection}/{{id}}": {
            "get": {
                "tags": tag,
                "summary": f"Get {label}",
                "operationId": f"get{base}",
                "parameters": id_param,
                "responses": {
                    "200": {"description": "the record", **_json(base)},
                    **_errors(401, 403, 404),
                },
            },
            "patch": {
                "tags": tag,
                "summary": f"Update {label}",
                "operationId": f"update{base}",
                "parameters": [*id_param, if_match],
                "requestBody": {"required": True, **_json(f"{base}Patch")},
                "responses": {
                    "200": {"description": "updated", **_json(base)},
                    **_errors(401, 403, 404, 409, 412, 422),
                },
            },
            "delete": {
                "tags": tag,
                "summary": f"Delete {label}",
                "operationId": f"delete{base}",
                "parameters": [*id_param, if_match],
                "responses": {
                    "204": {"description": "deleted"},
                    **_errors(401, 403, 404, 409, 412),
                },
            },
        },
        f"{collection}/{{id}}/access": {
            "get": {
                "tags": tag,
                "summary": f"Why a user can or cannot see and change a {label} record",
                "operationId": f"explainAccess{base}",
                "parameters": [
                    *id_param,
                    {"name": "user", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "per action: allowed, and why", **_json()},
                    **_errors(401, 403, 404),
                },
            }
        },
        **(_flow_paths(entity, collection, base, tag, id_param, if_match) if entity.flow else {}),
    }


def _flow_paths(
    entity: CompiledEntity,
    collection: str,
    base: str,
    tag: list[str],
    id_param: list[dict[str, Any]],
    if_match: dict[str, Any],
) -> dict[str, Any]:
    """A flow's transitions and the record's flow view."""
    assert entity.flow is not None
    names = [n for n, t in entity.flow.definition.transitions.items() if t.trigger == "user"]
    name_param = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": names},
    }
    return {
        f"{collection}/{{id}}/transitions/{{name}}": {
            "post": {
                "tags": tag,
                "summary": "Take a transition: body {comment, <the transition's fields>}",
                "operationId": f"transition{base}",
                "parameters": [*id_param, name_param, if_match],
                "requestBody": {"required": True, **_json()},
                "responses": {
                    "200": {"description": "the record in its new state", **_json()},
                    **_errors(401, 403, 404, 409, 412, 422),
                },
            }
        },
        f"{collection}/{{id}}/flow": {
            "get": {
                "tags": tag,
                "summary": "State, the caller's transitions, open tasks, timers and timeline",
                "operationId": f"flow{base}",
                "parameters": id_param,
                "responses": {
                    "200": {"description": "the flow view", **_json()},
                    **_errors(401, 404),
                },
            }
        },
    }


def _system_paths() -> dict[str, Any]:
    def op(summary: str, method_id: str, **extra: Any) -> dict[str, Any]:
        return {
            "tags": ["meta"],
            "summary": summary,
            "operationId": method_id,
            "responses": {
                "200": {"description": "ok", **_json()},
                **_errors(400, 401, 403, 404, 409, 422),
            },
            **extra,
        }

    def path_params(*names: str, kind: str = "integer") -> list[dict[str, Any]]:
        return [
            {"name": n, "in": "path", "required": True, "schema": {"type": kind}} for n in names
        ]

    definition_params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in ("app", "kind", "name")
    ]
    body = {"required": True, **_json()}
    return {
        "/-/health": {
            "get": op("Health and the published definitions version", "health", security=[])
        },
        "/api/auth/token": {
            "post": op(
                "Log in: {username, password} → a bearer token",
                "token",
                requestBody=body,
                security=[],
                tags=["auth"],
            )
        },
        "/api/auth/logout": {"post": op("Revoke the token or session", "logout", tags=["auth"])},
        "/api/inbox": {
            "get": op(
                "Open tasks the caller may decide (?app=&entity=&state=&step=&claimed=me|none)",
                "inbox",
                tags=["flows"],
            )
        },
        "/api/inbox/{id}/claim": {
            "post": op(
                "Claim a shared task", "claimTask", parameters=path_params("id"), tags=["flows"]
            )
        },
        "/api/inbox/{id}/release": {
            "post": op(
                "Give a claimed task back",
                "releaseTask",
                parameters=path_params("id"),
                tags=["flows"],
            )
        },
        "/api/messages": {
            "get": op("The caller's in-app messages (?unread=1)", "messages", tags=["flows"])
        },
        "/api/messages/{id}/read": {
            "post": op(
                "Mark a message read", "readMessage", parameters=path_params("id"), tags=["flows"]
            )
        },
        "/api/auth/me": {"get": op("The caller: roles, organisation, menus", "me", tags=["auth"])},
        "/api/auth/password": {
            "post": op("Change one's password", "changePassword", requestBody=body, tags=["auth"])
        },
        "/api/auth/orgs": {
            "get": op("Organisations (?tree=1)", "listOrgs", tags=["admin"]),
            "post": op("Create an organisation", "createOrg", requestBody=body, tags=["admin"]),
        },
        "/api/auth/orgs/{id}": {
            "get": op("One organisation", "getOrg", parameters=path_params("id"), tags=["admin"]),
            "patch": op(
                "Change or move an organisation",
                "updateOrg",
                parameters=path_params("id"),
                requestBody=body,
                tags=["admin"],
            ),
        },
        "/api/auth/users": {
            "get": op("Users (?org=&role=&q=)", "listUsers", tags=["admin"]),
            "post": op("Create a user", "createUser", requestBody=body, tags=["admin"]),
        },
        "/api/auth/users/{id}": {
            "get": op("One user", "getUser", parameters=path_params("id"), tags=["admin"]),
            "patch": op(
                "Change a user",
                "updateUser",
                parameters=path_params("id"),
                requestBody=body,
                tags=["admin"],
            ),
        },
        "/api/auth/users/{id}/roles": {
            "put": op(
                "Set a user's role assignments: [{role, org_id}]",
                "setRoles",
                parameters=path_params("id"),
                requestBody=body,
                tags=["admin"],
            )
        },
        "/api/auth/users/{id}/password": {
            "post": op(
                "Reset a user's password",
                "resetPassword",
                parameters=path_params("id"),
                requestBody=body,
                tags=["admin"],
            )
        },
        "/api/auth/users/{id}/unlock": {
            "post": op("Unlock a user", "unlockUser", parameters=path_params("id"), tags=["admin"])
        },
        "/api/auth/logins": {"get": op("Login history", "listLogins", tags=["admin"])},
        "/api/notifications/outbox": {
            "get": op(
                "The notification outbox, newest first, addresses masked "
                "(?status=&channel=&cursor=&limit=)",
                "listOutbox",
                tags=["notifications"],
            )
        },
        "/api/notifications/outbox/{id}/retry": {
            "post": op(
                "Queue a failed or dead notification again",
                "retryNotification",
                parameters=path_params("id"),
                tags=["notifications"],
            )
        },
        "/api/audit": {"get": op("Search the audit trail", "searchAudit", tags=["audit"])},
        "/api/audit/verify": {"get": op("Verify the audit chain", "verifyAudit", tags=["audit"])},
        "/api/audit/head": {
            "get": op("The audit chain's head, for anchoring", "auditHead", tags=["audit"])
        },
        "/api/meta/apps": {"get": op("Apps and their entities", "listApps")},
        "/api/meta/plugins": {
            "get": op("Plugins: name, version, source, status, hooks", "listPlugins")
        },
        "/api/checks/rerun": {
            "post": op(
                "Judge a stored check decision again: {same, stored, now, notes}",
                "rerunCheck",
                requestBody=body,
                tags=["flows"],
            )
        },
        "/api/meta/versions": {"get": op("Published versions", "listVersions")},
        "/api/meta/versions/{version}": {
            "get": op(
                "Every definition of one version",
                "getVersion",
                parameters=[
                    {
                        "name": "version",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
            )
        },
        "/api/meta/definitions/{app}/{kind}/{name}": {
            "get": op(
                "One definition (published, ?draft=1 or ?version=N)",
                "getDefinition",
                parameters=definition_params,
            ),
            "put": op(
                "Store a definition in the draft (JSON or YAML)",
                "putDefinition",
                parameters=definition_params,
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "application/yaml": {"schema": {"type": "string"}},
                    },
                },
            ),
            "delete": op(
                "Remove a definition in the draft", "deleteDefinition", parameters=definition_params
            ),
        },
        "/api/meta/draft": {
            "get": op("Pending draft changes", "getDraft"),
            "delete": op("Discard the draft", "discardDraft"),
        },
        "/api/meta/diff": {"get": op("Semantic diff (?from=N&to=M|draft)", "diff")},
        "/api/meta/dry-run": {
            "post": op("What publishing the draft would do to stored data", "dryRun")
        },
        "/api/meta/publish": {
            "post": op("Publish the draft: {message, force}", "publish", requestBody=body)
        },
        "/api/meta/rollback": {
            "post": op(
                "Publish an old version's content: {version, message}", "rollback", requestBody=body
            )
        },
        "/api/files": {"post": op("Upload a file (multipart field `file`)", "uploadFile")},
        "/api/files/{file_id}": {
            "get": op(
                "Download a file",
                "downloadFile",
                parameters=[
                    {
                        "name": "file_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
    }
