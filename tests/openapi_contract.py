"""A response checked against the OpenAPI schema the platform publishes (and the browser app's
types are generated from), strictly: every required key present, no key the schema does not
name, every value of its declared type, format and enum. The schema is built once per session
from the running code, as `make api-client` builds it."""

from __future__ import annotations

import copy
import functools
import re

from openapi_schema_validator import OAS30ReadValidator

API_PREFIX = "/api/v1"


@functools.cache
def published_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _resolved(node, components: dict):
    """The schema with every $ref replaced by its component, and every object that lists its
    properties closed to others (drf-spectacular leaves them open)."""
    if isinstance(node, list):
        return [_resolved(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _resolved(copy.deepcopy(components[name]), components)
    resolved = {key: _resolved(value, components) for key, value in node.items()}
    if resolved.get("nullable") and len(resolved.get("allOf", ())) == 1:
        # drf-spectacular's nullable reference ({allOf: [X], nullable: true}): X or null, as the
        # app's type generator reads it; a strict OpenAPI 3.0 validator would refuse the null.
        (inner,) = resolved.pop("allOf")
        resolved = {**inner, **resolved}
    if "properties" in resolved and "additionalProperties" not in resolved:
        resolved["additionalProperties"] = False
    return resolved


def _documented_body(path: str, method: str, status: int) -> dict | None:
    """The JSON body schema `path` documents for this method and status; None when it documents none."""
    operation = published_schema()["paths"].get(path, {}).get(method.lower(), {})
    response = operation.get("responses", {}).get(str(status), {})
    return response.get("content", {}).get("application/json", {}).get("schema")


@functools.cache
def _validator(path: str, method: str, status: int) -> OAS30ReadValidator:
    body = _documented_body(path, method, status)
    assert body is not None, f"{method.upper()} {path} documents no JSON body for {status}"
    strict = _resolved(body, published_schema()["components"]["schemas"])
    return OAS30ReadValidator(strict, format_checker=OAS30ReadValidator.FORMAT_CHECKER)


def assert_matches_schema(response, path: str, method: str = "get") -> dict:
    """The response's JSON, once it is exactly what `path` (a template such as
    "/cases/{id}/quality/") documents for its status; the failures name the offending keys."""
    assert response.status_code < 300, (response.status_code, response.content[:500])
    body = response.json()
    errors = sorted(_validator(API_PREFIX + path, method, response.status_code).iter_errors(body),
                    key=lambda e: list(e.absolute_path))
    assert not errors, f"{method.upper()} {path} {response.status_code} does not match its schema:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:20])
    return body


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    """Each documented path as a pattern, literal paths before templated ones (so /images/upload/
    is not taken for /images/{id}/)."""
    found = []
    for path in published_schema()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
        found.append((path.count("{"), re.compile(f"^{pattern}$"), path))
    return [(pattern, path) for _, pattern, path in sorted(found, key=lambda item: item[0])]


def documented_path(path: str) -> str | None:
    """The schema's template for a concrete request path, without the API prefix; None when undocumented."""
    for pattern, template in _templates():
        if pattern.match(path):
            return template.removeprefix(API_PREFIX)
    return None


def check_answer(method: str, path: str, response) -> None:
    """For the suite-wide check (tests/conftest.py): a successful JSON answer of a documented
    operation must match its schema; anything else is left to the test that asked."""
    if response.status_code >= 300 or not response.get("Content-Type", "").startswith("application/json"):
        return
    if getattr(response, "streaming", False) or not response.content:
        return
    template = documented_path(path)
    if template is None or _documented_body(API_PREFIX + template, method, response.status_code) is None:
        return
    assert_matches_schema(response, template, method)
