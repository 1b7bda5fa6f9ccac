//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route, built from
//! [`ROUTES`] (a test holds that table to the router: same paths, same methods).

use axum::Json;
use serde_json::{Map, Value, json};

/// A query or path parameter: name, where, required, description.
type Param = (&'static str, &'static str, bool, &'static str);

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    /// Who may call it.
    pub access: &'static str,
    pub params: &'static [Param],
    /// A JSON request body is expected.
    pub body: bool,
    /// What a success returns, when not JSON.
    pub produces: &'static str,
}

const MONTH: Param = ("month", "path", true, "YYYY-MM");
const ID: Param = ("id", "path", true, "meter or unit id");
const FROM_TO: [Param; 2] = [
    (
        "from",
        "query",
        true,
        "start: RFC 3339, a local date or a month",
    ),
    ("to", "query", true, "end (exclusive)"),
];

const fn post(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: &'static str,
    params: &'static [Param],
) -> RouteDoc {
    RouteDoc {
        method: "post",
        path,
        tag,
        summary,
        access,
        params,
        body: true,
        produces: "application/json",
    }
}

const fn get(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: &'static str,
    params: &'static [Param],
) -> RouteDoc {
    RouteDoc {
        method: "get",
        body: false,
        ..post(path, tag, summary, access, params)
    }
}

const fn patch(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: &'static str,
    params: &'static [Param],
) -> RouteDoc {
    RouteDoc {
        method: "patch",
        ..post(path, tag, summary, access, params)
    }
}

const fn delete(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: &'static str,
    params: &'static [Param],
) -> RouteDoc {
    RouteDoc {
        method: "delete",
        body: false,
        ..post(path, tag, summary, access, params)
    }
}

const USER: Param = ("name", "path", true, "user name");
const ADMIN: &str = "admin";
const ALL: &str = "every signed-in user";
const STAFF: &str = "admin, engineer, committee, finance";
const ENGINEER: &str = "admin, engineer";
const FINANCE: &str = "admin, finance";

pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        produces: "text/html",
        ..get(
            "/",
            "pages",
            "Live overview page (中文; ?lang=en)",
            "every signed-in user; anyone with [http] public_overview",
            &[],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get(
            "/units/{id}",
            "pages",
            "A unit: load curve, days against the quota, use by category, year on year, heat map",
            ALL,
            &[ID],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get(
            "/meters/{id}",
            "pages",
            "A meter: live values (SSE), 24 hours, communication, readings, audit",
            ALL,
            &[ID],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get(
            "/alerts",
            "pages",
            "Open alerts, with acknowledge and resolve for engineers",
            ALL,
            &[],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get(
            "/ratings",
            "pages",
            "A month's ratings and quotas, with the monthly report",
            ALL,
            &[("month", "query", false, "YYYY-MM")],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get(
            "/billing",
            "pages",
            "A month's statements and what is outstanding",
            FINANCE,
            &[("month", "query", false, "YYYY-MM")],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get(
            "/admin",
            "pages",
            "Readings by hand, meter events, meters; users and tokens for admins; audit log",
            ENGINEER,
            &[],
        )
    },
    get(
        "/healthz",
        "operations",
        "Liveness and history readiness",
        "public",
        &[],
    ),
    RouteDoc {
        produces: "text/plain",
        ..get(
            "/metrics",
            "operations",
            "Prometheus metrics",
            "public",
            &[],
        )
    },
    RouteDoc {
        produces: "text/html",
        ..get("/login", "session", "Sign-in form", "public", &[])
    },
    RouteDoc {
        body: false,
        produces: "text/html",
        ..post(
            "/login",
            "session",
            "Sign in (form: name, password, next); sets the session cookie",
            "public",
            &[],
        )
    },
    RouteDoc {
        body: false,
        produces: "text/html",
        ..post("/logout", "session", "Sign out", "public", &[])
    },
    get(
        "/api/v1/session",
        "session",
        "The signed-in user, role and CSRF token",
        ALL,
        &[],
    ),
    get(
        "/api/v1/openapi.json",
        "operations",
        "This document",
        ALL,
        &[],
    ),
    RouteDoc {
        produces: "text/event-stream",
        ..get(
            "/api/v1/live",
            "meters",
            "Server-sent events: a `reading` event per new value",
            ALL,
            &[("meter", "query", false, "only this meter")],
        )
    },
    get(
        "/api/v1/overview",
        "meters",
        "Electricity today against yesterday, the month against the quotas, the top units",
        ALL,
        &[],
    ),
    get(
        "/api/v1/meters",
        "meters",
        "Every meter with status and latest values",
        ALL,
        &[],
    ),
    get("/api/v1/meters/{id}", "meters", "One meter", ALL, &[ID]),
    get(
        "/api/v1/meters/{id}/consumption",
        "ledger",
        "Consumption per step (15m, 1h, 1d, 1mo) with quality",
        ALL,
        &[
            ID,
            FROM_TO[0],
            FROM_TO[1],
            ("step", "query", false, "15m, 1h, 1d or 1mo"),
            ("quantity", "query", false, "a time-of-use register"),
        ],
    ),
    get(
        "/api/v1/meters/{id}/anomalies",
        "ledger",
        "Rollovers, drops, jumps and gaps found in the readings",
        ALL,
        &[ID, FROM_TO[0], FROM_TO[1]],
    ),
    get(
        "/api/v1/meters/{id}/audit",
        "ledger",
        "The meter's audit log",
        STAFF,
        &[ID],
    ),
    post(
        "/api/v1/meters/{id}/corrections",
        "ledger",
        "Correct or strike out a reading, set or estimate an interval, annotate",
        ENGINEER,
        &[ID],
    ),
    post(
        "/api/v1/meters/{id}/events",
        "ledger",
        "Record a meter replacement or register reset",
        ENGINEER,
        &[ID],
    ),
    get("/api/v1/audit", "ledger", "The audit log", STAFF, &[]),
    get(
        "/api/v1/reissue",
        "billing",
        "Statements flagged for re-issue",
        STAFF,
        &[],
    ),
    get(
        "/api/v1/units/{id}/consumption",
        "ledger",
        "A unit's consumption of a category, each meter once",
        ALL,
        &[
            ID,
            ("category", "query", true, "category code or kgce"),
            FROM_TO[0],
            FROM_TO[1],
            ("step", "query", false, "15m, 1h, 1d or 1mo"),
        ],
    ),
    get(
        "/api/v1/units/{id}/indicators",
        "ledger",
        "综合能耗, per person, per m², CO₂",
        ALL,
        &[ID, FROM_TO[0], FROM_TO[1]],
    ),
    get(
        "/api/v1/units/{id}/intensity-check",
        "rules",
        "GB/T 51161-style office intensity check (values marked unconfirmed)",
        ALL,
        &[ID, ("year", "query", false, "calendar year")],
    ),
    get(
        "/api/v1/balance",
        "ledger",
        "Main meters against their sub-meters",
        ALL,
        &[FROM_TO[0], FROM_TO[1]],
    ),
    get(
        "/api/v1/quotas",
        "rules",
        "Each quota's month: allowance, used, projected, status",
        ALL,
        &[("month", "query", false, "YYYY-MM")],
    ),
    get(
        "/api/v1/alerts",
        "rules",
        "Open alerts, or all seen since a time",
        ALL,
        &[("since", "query", false, "RFC 3339")],
    ),
    post(
        "/api/v1/alerts/{id}/acknowledge",
        "rules",
        "Acknowledge an alert ({note?}), as the signed-in account",
        ENGINEER,
        &[("id", "path", true, "alert id")],
    ),
    post(
        "/api/v1/alerts/{id}/resolve",
        "rules",
        "Resolve an alert ({note?}), as the signed-in account",
        ENGINEER,
        &[("id", "path", true, "alert id")],
    ),
    get(
        "/api/v1/ratings/{month}",
        "rules",
        "Every unit's rating with its items, ranked",
        ALL,
        &[MONTH],
    ),
    post(
        "/api/v1/ratings/{month}/committee",
        "rules",
        "The committee's points for a unit",
        "admin, committee",
        &[MONTH],
    ),
    get(
        "/api/v1/reports/monthly/{month}",
        "reports",
        "The monthly report: JSON, or {month}.html, .pdf, .xlsx",
        ALL,
        &[
            (
                "month",
                "path",
                true,
                "YYYY-MM, optionally with .html, .pdf or .xlsx",
            ),
            ("lang", "query", false, "zh (default) or en"),
        ],
    ),
    get(
        "/api/v1/billing/{month}/statements",
        "billing",
        "The month's statements (issued or draft)",
        FINANCE,
        &[MONTH, ("tenant", "query", false, "tenant id")],
    ),
    RouteDoc {
        produces: "text/csv",
        ..get(
            "/api/v1/billing/{month}/statements.csv",
            "billing",
            "The month's statement lines as CSV",
            FINANCE,
            &[MONTH, ("tenant", "query", false, "tenant id")],
        )
    },
    RouteDoc {
        produces: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ..get(
            "/api/v1/billing/{month}/statements.xlsx",
            "billing",
            "The month's statements as Excel",
            FINANCE,
            &[MONTH, ("tenant", "query", false, "tenant id")],
        )
    },
    RouteDoc {
        produces: "application/pdf",
        ..get(
            "/api/v1/billing/{month}/statements.pdf",
            "billing",
            "The month's statements as a printable PDF",
            FINANCE,
            &[MONTH, ("tenant", "query", false, "tenant id")],
        )
    },
    post(
        "/api/v1/billing/{month}/issue",
        "billing",
        "Issue the month's statements ({tenant?}), as the signed-in account",
        FINANCE,
        &[MONTH],
    ),
    get(
        "/api/v1/billing/payments",
        "billing",
        "Payments recorded",
        FINANCE,
        &[],
    ),
    post(
        "/api/v1/billing/payments",
        "billing",
        "Record a payment",
        FINANCE,
        &[],
    ),
    get(
        "/api/v1/billing/outstanding",
        "billing",
        "What each tenant owes",
        FINANCE,
        &[],
    ),
    get(
        "/api/v1/billing/recovery",
        "billing",
        "Billed and recovered per month",
        FINANCE,
        &[("year", "query", false, "calendar year")],
    ),
    get(
        "/api/v1/inputs",
        "collection",
        "Per MQTT topic: messages, readings, bad messages",
        ALL,
        &[],
    ),
    post(
        "/api/v1/readings",
        "collection",
        "Readings entered by hand, all or nothing",
        ENGINEER,
        &[],
    ),
    get(
        "/api/v1/users",
        "users",
        "Users with their roles, and API tokens by id and label",
        ADMIN,
        &[],
    ),
    post(
        "/api/v1/users",
        "users",
        "Add a user {name, display_name?, role, password?} (no password: API tokens only)",
        ADMIN,
        &[],
    ),
    patch(
        "/api/v1/users/{name}",
        "users",
        "Change role, display_name, password or disabled; disabling ends sessions and stops tokens",
        ADMIN,
        &[USER],
    ),
    post(
        "/api/v1/users/{name}/tokens",
        "users",
        "A new API token {label}; the token is in this answer only",
        ADMIN,
        &[USER],
    ),
    delete(
        "/api/v1/users/{name}/tokens/{id}",
        "users",
        "Revoke a token by the id listed",
        ADMIN,
        &[USER, ("id", "path", true, "token id as listed")],
    ),
];

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let params: Vec<Value> = r
            .params
            .iter()
            .map(|(name, at, required, description)| {
                json!({ "name": name, "in": at, "required": required, "description": description, "schema": { "type": "string" } })
            })
            .collect();
        let mut op = json!({
            "tags": [r.tag],
            "summary": r.summary,
            "description": format!("Who may call it: {}.", r.access),
            "parameters": params,
            "responses": {
                "200": { "description": "OK", "content": { r.produces: {} } },
                "400": { "description": "Bad request: the error names the field or value" },
                "401": { "description": "No credentials (a Bearer token or a session)" },
                "403": { "description": "The role may not use this route" }
            }
        });
        if r.body {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        if r.access != "public" {
            op["security"] = json!([{ "bearer": [] }, { "session": [] }]);
        }
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "jieneng 节能",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Energy monitoring, quotas, ratings and utility billing for public institutions. Decimals are strings; times are RFC 3339."
        },
        "components": { "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "jieneng user token" },
            "session": { "type": "apiKey", "in": "cookie", "name": "jieneng_session", "description": "browser session; send x-csrf-token on changes" }
        } },
        "paths": paths
    })
}

pub async fn openapi() -> Json<Value> {
    Json(document())
}
