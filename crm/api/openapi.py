"""The OpenAPI 3.1 document of /api/v1, written by hand beside the endpoints (tests/test_api.py checks that
every endpoint is in it and everything in it is an endpoint, and fuzzes the parameters it declares)."""
from __future__ import annotations

from crm.enterprises.models import ENTERPRISE_STATUS_LABELS, TECH_DOMAIN_LABELS
from crm.ladder.tiers import TIER_LABELS

_S = {"type": "string"}
_D = {"type": ["string", "null"], "format": "date"}
_MONEY = {"type": ["string", "null"], "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "万元, exact decimal"}


def _q(name, schema=None, description=""):
    return {"name": name, "in": "query", "required": False, "schema": schema or _S, "description": description}


def _path(name, description=""):
    return {"name": name, "in": "path", "required": True, "schema": _S, "description": description}


def _json(ref, status="200", description="OK"):
    return {status: {"description": description,
                     "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}}


_ERRORS = {code: {"description": text, "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}} for code, text in (
    ("400", "A parameter the API cannot use"), ("401", "No or bad token"), ("403", "Not allowed for this role"),
    ("404", "Not found in the token owner's scope"), ("422", "Refused by the rules"))}
_PAGING = [_q("cursor", description="next_cursor of the previous page"),
           _q("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "items per page (50)")]
_USCC = _path("uscc", "unified social credit code, 18 characters")


def _list_of(ref):
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
                           "next_cursor": {"type": ["string", "null"]}}}


def document() -> dict:
    """The document (built per call: it is small)."""
    tiers = [str(t) for t in TIER_LABELS]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Miaopu API", "version": "1",
                 "description": "Registry, certifications, annual figures, needs and visits of the token owner's "
                                "scope (role and region). Authorization: Bearer <token> (an admin issues it)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/enterprises": {"get": {
                "operationId": "listEnterprises", "summary": "Enterprises in scope, by cursor",
                "parameters": [_q("q", description="name, or the start of a USCC"),
                               _q("region", description="region code (its subtree)"),
                               _q("tier", {"type": "string", "enum": ["candidate", *tiers]}),
                               _q("domain", {"type": "string", "enum": [str(d) for d in TECH_DOMAIN_LABELS]}),
                               _q("status", {"type": "string", "enum": [str(s) for s in ENTERPRISE_STATUS_LABELS]}),
                               _q("above", {"type": "string", "enum": ["yes", "no"]}), *_PAGING],
                "responses": {**_json("EnterprisePage"), **_ERRORS}}},
            "/api/v1/enterprises/{uscc}": {"get": {
                "operationId": "getEnterprise", "summary": "One enterprise by USCC", "parameters": [_USCC],
                "responses": {**_json("Enterprise"), **_ERRORS}}},
            "/api/v1/enterprises/{uscc}/certifications": {"get": {
                "operationId": "listCertifications", "summary": "An enterprise's certifications",
                "parameters": [_USCC], "responses": {**_json("CertificationList"), **_ERRORS}}},
            "/api/v1/enterprises/{uscc}/figures": {"get": {
                "operationId": "listFigures", "summary": "An enterprise's annual figures (万元)",
                "parameters": [_USCC], "responses": {**_json("FiguresList"), **_ERRORS}}},
            "/api/v1/needs": {
                "get": {"operationId": "listNeeds", "summary": "Needs in scope, by cursor",
                        "parameters": [_q("status", description="open, closed, or one status"),
                                       _q("category"), _q("enterprise", description="USCC"), *_PAGING],
                        "responses": {**_json("NeedPage"), **_ERRORS}},
                "post": {"operationId": "createNeed", "summary": "Raise a need for an enterprise in scope",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "$ref": "#/components/schemas/NewNeed"}}}},
                         "responses": {**_json("Need", "201", "Created"), **_ERRORS}}},
            "/api/v1/needs/{need_id}": {"patch": {
                "operationId": "updateNeed", "summary": "Change a need; 409 when it changed since `version` was read",
                "parameters": [_path("need_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/NeedChange"}}}},
                "responses": {**_json("Need"), **_ERRORS,
                              "409": {"description": "Changed by someone else since that version; nothing written",
                                      "content": {"application/json": {"schema": {
                                          "$ref": "#/components/schemas/Error"}}}}}}},
            "/api/v1/visits": {"get": {
                "operationId": "listVisits", "summary": "Visits in scope, by cursor",
                "parameters": [_q("enterprise", description="USCC"), _q("from", {"type": "string", "format": "date"}),
                               _q("to", {"type": "string", "format": "date"}), *_PAGING],
                "responses": {**_json("VisitPage"), **_ERRORS}}},
            "/api/v1/readiness/check": {"post": {
                "operationId": "checkReadiness", "summary": "Evaluate a readiness profile (readiness-profile.md)",
                "parameters": [_q("tier", {"type": "string", "enum": tiers}),
                               _q("lang", {"type": "string", "enum": ["zh", "en"]})],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "The result", "content": {"application/json": {
                    "schema": {"type": ["object", "array"]}}}}, **_ERRORS}}},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {
                    "schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "integer"}, "message": _S}}}},
                "Enterprise": {"type": "object", "required": ["uscc", "name", "region", "status"], "properties": {
                    "uscc": _S, "name": _S,
                    "region": {"type": "object", "properties": {"code": _S, "name": _S}},
                    "industry_code": _S, "tech_domain": {"type": ["string", "null"]}, "established_on": _D,
                    "is_above_scale": {"type": "boolean"}, "status": _S,
                    "current_tier": {"type": ["string", "null"], "enum": [None, *tiers]}, "address": _S,
                    "archived": {"type": "boolean"}}},
                "EnterprisePage": _list_of("Enterprise"),
                "Certification": {"type": "object", "properties": {
                    "tier": {"type": "string", "enum": tiers}, "certificate_no": _S, "issued_on": _D,
                    "expires_on": _D, "status": _S, "issuer": _S}},
                "CertificationList": {"type": "object", "properties": {
                    "uscc": _S, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Certification"}}}},
                "Figures": {"type": "object", "properties": {
                    "year": {"type": "integer"}, **{k: _MONEY for k in (
                        "revenue", "hightech_revenue", "rd_expense", "rd_expense_domestic", "total_cost",
                        "total_income", "total_assets", "net_assets")},
                    **{k: {"type": ["integer", "null"]} for k in ("employees", "tech_staff", "rd_staff",
                                                                   "conversions")},
                    "source": _S, "verified": {"type": "boolean"}}},
                "FiguresList": {"type": "object", "properties": {
                    "uscc": _S, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Figures"}}}},
                "Need": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "uscc": _S, "category": _S, "title": _S, "description": _S,
                    "status": _S, "raised_on": _D, "due_on": _D, "owner": {"type": ["string", "null"]},
                    "closed_on": _D, "resolution": _S, "visit_id": {"type": ["integer", "null"]},
                    "version": {"type": "integer", "description": "send it back to PATCH (optimistic lock)"}}},
                "NeedPage": _list_of("Need"),
                "NewNeed": {"type": "object", "required": ["uscc", "category", "title"], "properties": {
                    "uscc": _S, "category": _S, "title": {"type": "string", "maxLength": 120},
                    "description": _S, "due_on": {"type": "string", "format": "date"}}},
                "NeedChange": {"type": "object", "required": ["version"], "properties": {
                    "version": {"type": "integer"}, "category": _S, "title": {"type": "string", "maxLength": 120},
                    "description": _S, "due_on": {"type": "string", "format": "date"}}},
                "Visit": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "uscc": _S, "visited_on": _D, "officer": _S, "mode": _S,
                    "people_met": _S, "summary": _S, "policies": {"type": "array", "items": _S}}},
                "VisitPage": _list_of("Visit"),
            },
        },
    }
