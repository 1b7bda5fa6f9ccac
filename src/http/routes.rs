//! Every route, declared once: its method, path template, access rule, documentation and
//! handler. The router (`super::router`) adds each to the axum router, the guard asks
//! [`access`] for the rule of the route a request matched, and `/api/v1/openapi.json`
//! (`super::openapi`) documents each.

use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::access::{ADMIN, Access, COMMITTEE, ENGINEERS, FINANCE, STAFF};
use super::auth;
use super::handlers::{
    alerts, billing, consumption, corrections, events, health, inputs, live, meters, metrics,
    openapi, overview, readings, reports, rules, users,
};
use super::pages;
use super::state::AppState;

/// The methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    /// As OpenAPI writes it.
    pub fn lowercase(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
        }
    }
}

/// A query or path parameter: name, where, required, description.
pub type Param = (&'static str, &'static str, bool, &'static str);

/// The handler of a route, for the method it is given (the route's own).
pub type Handler = fn(MethodFilter) -> MethodRouter<AppState>;

/// One route.
pub struct Route {
    pub verb: Verb,
    /// The path template, as axum matches it (`/api/v1/meters/{id}`).
    pub path: &'static str,
    pub access: Access,
    pub handler: Handler,
    /// OpenAPI tag.
    pub tag: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// A JSON request body is expected.
    pub body: bool,
    /// What a success returns.
    pub produces: &'static str,
}

/// `handler!(module::function)`: the function as a route's [`Handler`].
macro_rules! handler {
    ($f:path) => {
        |m: MethodFilter| -> MethodRouter<AppState> { on(m, $f) }
    };
}

const fn route(
    verb: Verb,
    path: &'static str,
    access: Access,
    handler: Handler,
    (tag, summary): (&'static str, &'static str),
    params: &'static [Param],
) -> Route {
    Route {
        verb,
        path,
        access,
        handler,
        tag,
        summary,
        params,
        body: matches!(verb, Verb::Post | Verb::Patch),
        produces: JSON,
    }
}

const JSON: &str = "application/json";
const HTML: &str = "text/html";
const ID: Param = ("id", "path", true, "meter or unit id");
const MONTH: Param = ("month", "path", true, "YYYY-MM");
const MONTH_QUERY: Param = ("month", "query", false, "YYYY-MM");
const USER: Param = ("name", "path", true, "user name");
const TENANT: Param = ("tenant", "query", false, "tenant id");
const FROM: Param = (
    "from",
    "query",
    true,
    "start: RFC 3339, a local date or a month",
);
const TO: Param = ("to", "query", true, "end (exclusive)");
const STEP: Param = ("step", "query", false, "15m, 1h, 1d or 1mo");

use Access::{AnyUser, Overview, Public, Roles};
use Verb::{Delete, Get, Patch, Post};

/// Every route the web app serves.
pub static ROUTES: &[Route] = &[
    // Pages.
    Route {
        produces: HTML,
        ..route(
            Get,
            "/",
            Overview,
            handler!(pages::overview::page),
            ("pages", "Live overview page (中文; ?lang=en)"),
            &[],
        )
    },
    Route {
        produces: HTML,
        ..route(
            Get,
            "/units/{id}",
            AnyUser,
            handler!(pages::unit::page),
            (
                "pages",
                "A unit: load curve, days against the quota, use by category, year on year, heat map",
            ),
            &[ID],
        )
    },
    Route {
        produces: HTML,
        ..route(
            Get,
            "/meters/{id}",
            AnyUser,
            handler!(pages::meter::page),
            (
                "pages",
                "A meter: live values (SSE), 24 hours, communication, readings, audit",
            ),
            &[ID],
        )
    },
    Route {
        produces: HTML,
        ..route(
            Get,
            "/alerts",
            AnyUser,
            handler!(pages::alerts::page),
            (
                "pages",
                "Open alerts, with acknowledge and resolve for engineers",
            ),
            &[],
        )
    },
    Route {
        produces: HTML,
        ..route(
            Get,
            "/ratings",
            AnyUser,
            handler!(pages::ratings::page),
            (
                "pages",
                "A month's ratings and quotas, with the monthly report",
            ),
            &[MONTH_QUERY],
        )
    },
    Route {
        produces: HTML,
        ..route(
            Get,
            "/billing",
            Roles(FINANCE),
            handler!(pages::billing::page),
            ("pages", "A month's statements and what is outstanding"),
            &[MONTH_QUERY],
        )
    },
    Route {
        produces: HTML,
        ..route(
            Get,
            "/admin",
            Roles(ENGINEERS),
            handler!(pages::admin::page),
            (
                "pages",
                "Readings by hand, meter events, meters; users and tokens for admins; audit log",
            ),
            &[],
        )
    },
    // Operations.
    route(
        Get,
        "/healthz",
        Public,
        handler!(health::healthz),
        ("operations", "Liveness and history readiness"),
        &[],
    ),
    Route {
        produces: "text/plain",
        ..route(
            Get,
            "/metrics",
            Public,
            handler!(metrics::metrics),
            ("operations", "Prometheus metrics"),
            &[],
        )
    },
    route(
        Get,
        "/api/v1/openapi.json",
        AnyUser,
        handler!(openapi::openapi),
        ("operations", "This document"),
        &[],
    ),
    // Sessions.
    Route {
        produces: HTML,
        ..route(
            Get,
            "/login",
            Public,
            handler!(auth::login_form),
            ("session", "Sign-in form"),
            &[],
        )
    },
    Route {
        body: false,
        produces: HTML,
        ..route(
            Post,
            "/login",
            Public,
            handler!(auth::login),
            (
                "session",
                "Sign in (form: name, password, next); sets the session cookie",
            ),
            &[],
        )
    },
    Route {
        body: false,
        produces: HTML,
        ..route(
            Post,
            "/logout",
            Public,
            handler!(auth::logout),
            ("session", "Sign out"),
            &[],
        )
    },
    route(
        Get,
        "/api/v1/session",
        AnyUser,
        handler!(auth::session),
        ("session", "The signed-in user, role and CSRF token"),
        &[],
    ),
    // Meters and live values. The overview refreshes from the meter list: as open as the
    // overview itself.
    Route {
        produces: "text/event-stream",
        ..route(
            Get,
            "/api/v1/live",
            AnyUser,
            handler!(live::live),
            (
                "meters",
                "Server-sent events: a `reading` event per new value",
            ),
            &[("meter", "query", false, "only this meter")],
        )
    },
    route(
        Get,
        "/api/v1/overview",
        Overview,
        handler!(overview::figures),
        (
            "meters",
            "Electricity today against yesterday, the month against the quotas, the top units",
        ),
        &[],
    ),
    route(
        Get,
        "/api/v1/meters",
        Overview,
        handler!(meters::list),
        ("meters", "Every meter with status and latest values"),
        &[],
    ),
    route(
        Get,
        "/api/v1/meters/{id}",
        AnyUser,
        handler!(meters::one),
        ("meters", "One meter"),
        &[ID],
    ),
    // The ledger.
    route(
        Get,
        "/api/v1/meters/{id}/consumption",
        AnyUser,
        handler!(consumption::meter),
        (
            "ledger",
            "Consumption per step (15m, 1h, 1d, 1mo) with quality",
        ),
        &[
            ID,
            FROM,
            TO,
            STEP,
            ("quantity", "query", false, "a time-of-use register"),
        ],
    ),
    route(
        Get,
        "/api/v1/meters/{id}/anomalies",
        AnyUser,
        handler!(consumption::anomalies),
        (
            "ledger",
            "Rollovers, drops, jumps and gaps found in the readings",
        ),
        &[ID, FROM, TO],
    ),
    route(
        Get,
        "/api/v1/meters/{id}/audit",
        Roles(STAFF),
        handler!(corrections::meter_audit),
        ("ledger", "The meter's audit log"),
        &[ID],
    ),
    route(
        Post,
        "/api/v1/meters/{id}/corrections",
        Roles(ENGINEERS),
        handler!(corrections::create),
        (
            "ledger",
            "Correct or strike out a reading, set or estimate an interval, annotate",
        ),
        &[ID],
    ),
    route(
        Post,
        "/api/v1/meters/{id}/events",
        Roles(ENGINEERS),
        handler!(events::create),
        ("ledger", "Record a meter replacement or register reset"),
        &[ID],
    ),
    route(
        Get,
        "/api/v1/audit",
        Roles(STAFF),
        handler!(corrections::audit),
        ("ledger", "The audit log"),
        &[],
    ),
    route(
        Get,
        "/api/v1/reissue",
        Roles(STAFF),
        handler!(corrections::reissue),
        ("billing", "Statements flagged for re-issue"),
        &[],
    ),
    route(
        Get,
        "/api/v1/units/{id}/consumption",
        AnyUser,
        handler!(consumption::unit),
        (
            "ledger",
            "A unit's consumption of a category, each meter once",
        ),
        &[
            ID,
            ("category", "query", true, "category code or kgce"),
            FROM,
            TO,
            STEP,
        ],
    ),
    route(
        Get,
        "/api/v1/units/{id}/indicators",
        AnyUser,
        handler!(consumption::indicators),
        ("ledger", "综合能耗, per person, per m², CO₂"),
        &[ID, FROM, TO],
    ),
    route(
        Get,
        "/api/v1/units/{id}/intensity-check",
        AnyUser,
        handler!(rules::intensity_check),
        (
            "rules",
            "GB/T 51161-style office intensity check (values marked unconfirmed)",
        ),
        &[ID, ("year", "query", false, "calendar year")],
    ),
    route(
        Get,
        "/api/v1/balance",
        AnyUser,
        handler!(consumption::balance),
        ("ledger", "Main meters against their sub-meters"),
        &[FROM, TO],
    ),
    // Rules: quotas, alerts, ratings.
    route(
        Get,
        "/api/v1/quotas",
        AnyUser,
        handler!(rules::quotas),
        (
            "rules",
            "Each quota's month: allowance, used, projected, status",
        ),
        &[MONTH_QUERY],
    ),
    route(
        Get,
        "/api/v1/alerts",
        AnyUser,
        handler!(alerts::list),
        ("rules", "Open alerts, or all seen since a time"),
        &[("since", "query", false, "RFC 3339")],
    ),
    route(
        Post,
        "/api/v1/alerts/{id}/acknowledge",
        Roles(ENGINEERS),
        handler!(alerts::acknowledge),
        (
            "rules",
            "Acknowledge an alert ({note?}), as the signed-in account",
        ),
        &[("id", "path", true, "alert id")],
    ),
    route(
        Post,
        "/api/v1/alerts/{id}/resolve",
        Roles(ENGINEERS),
        handler!(alerts::resolve),
        (
            "rules",
            "Resolve an alert ({note?}), as the signed-in account",
        ),
        &[("id", "path", true, "alert id")],
    ),
    route(
        Get,
        "/api/v1/ratings/{month}",
        AnyUser,
        handler!(rules::ratings),
        ("rules", "Every unit's rating with its items, ranked"),
        &[MONTH],
    ),
    route(
        Post,
        "/api/v1/ratings/{month}/committee",
        Roles(COMMITTEE),
        handler!(rules::committee),
        ("rules", "The committee's points for a unit"),
        &[MONTH],
    ),
    route(
        Get,
        "/api/v1/reports/monthly/{month}",
        AnyUser,
        handler!(reports::monthly),
        (
            "reports",
            "The monthly report: JSON, or {month}.html, .pdf, .xlsx",
        ),
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
    // Billing: finance and admins only.
    route(
        Get,
        "/api/v1/billing/{month}/statements",
        Roles(FINANCE),
        handler!(billing::statements),
        ("billing", "The month's statements (issued or draft)"),
        &[MONTH, TENANT],
    ),
    Route {
        produces: "text/csv",
        ..route(
            Get,
            "/api/v1/billing/{month}/statements.csv",
            Roles(FINANCE),
            handler!(billing::statements_csv),
            ("billing", "The month's statement lines as CSV"),
            &[MONTH, TENANT],
        )
    },
    Route {
        produces: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ..route(
            Get,
            "/api/v1/billing/{month}/statements.xlsx",
            Roles(FINANCE),
            handler!(billing::statements_xlsx),
            ("billing", "The month's statements as Excel"),
            &[MONTH, TENANT],
        )
    },
    Route {
        produces: "application/pdf",
        ..route(
            Get,
            "/api/v1/billing/{month}/statements.pdf",
            Roles(FINANCE),
            handler!(billing::statements_pdf),
            ("billing", "The month's statements as a printable PDF"),
            &[MONTH, TENANT],
        )
    },
    route(
        Post,
        "/api/v1/billing/{month}/issue",
        Roles(FINANCE),
        handler!(billing::issue),
        (
            "billing",
            "Issue the month's statements ({tenant?}), as the signed-in account",
        ),
        &[MONTH],
    ),
    route(
        Post,
        "/api/v1/billing/{month}/accept",
        Roles(FINANCE),
        handler!(billing::accept),
        (
            "billing",
            "Accept the month's held statements ({tenant?, reason}) as the signed-in account",
        ),
        &[MONTH],
    ),
    route(
        Get,
        "/api/v1/billing/opening-balances",
        Roles(FINANCE),
        handler!(billing::opening_balances),
        ("billing", "Rooms' free quota carried in from before"),
        &[],
    ),
    route(
        Post,
        "/api/v1/billing/opening-balances",
        Roles(FINANCE),
        handler!(billing::record_opening_balance),
        (
            "billing",
            "Record a room's opening balance ({tenant, month, carried_in, note?})",
        ),
        &[],
    ),
    route(
        Get,
        "/api/v1/billing/payments",
        Roles(FINANCE),
        handler!(billing::payments),
        ("billing", "Payments recorded"),
        &[],
    ),
    route(
        Post,
        "/api/v1/billing/payments",
        Roles(FINANCE),
        handler!(billing::record_payment),
        ("billing", "Record a payment"),
        &[],
    ),
    route(
        Get,
        "/api/v1/billing/outstanding",
        Roles(FINANCE),
        handler!(billing::outstanding),
        ("billing", "What each tenant owes"),
        &[],
    ),
    route(
        Get,
        "/api/v1/billing/recovery",
        Roles(FINANCE),
        handler!(billing::recovery),
        ("billing", "Billed and recovered per month and per tenant"),
        &[("year", "query", false, "calendar year")],
    ),
    // Collection.
    route(
        Get,
        "/api/v1/inputs",
        AnyUser,
        handler!(inputs::list),
        (
            "collection",
            "Per MQTT topic: messages, readings, bad messages",
        ),
        &[],
    ),
    route(
        Post,
        "/api/v1/readings",
        Roles(ENGINEERS),
        handler!(readings::create),
        ("collection", "Readings entered by hand, all or nothing"),
        &[],
    ),
    // Users and tokens: admins only.
    route(
        Get,
        "/api/v1/users",
        Roles(ADMIN),
        handler!(users::list),
        (
            "users",
            "Users with their roles, and API tokens by id and label",
        ),
        &[],
    ),
    route(
        Post,
        "/api/v1/users",
        Roles(ADMIN),
        handler!(users::create),
        (
            "users",
            "Add a user {name, display_name?, role, password?} (no password: API tokens only)",
        ),
        &[],
    ),
    route(
        Patch,
        "/api/v1/users/{name}",
        Roles(ADMIN),
        handler!(users::update),
        (
            "users",
            "Change role, display_name, password or disabled; disabling ends sessions and stops tokens",
        ),
        &[USER],
    ),
    route(
        Post,
        "/api/v1/users/{name}/tokens",
        Roles(ADMIN),
        handler!(users::create_token),
        (
            "users",
            "A new API token {label}; the token is in this answer only",
        ),
        &[USER],
    ),
    route(
        Delete,
        "/api/v1/users/{name}/tokens/{id}",
        Roles(ADMIN),
        handler!(users::revoke_token),
        ("users", "Revoke a token by the id listed"),
        &[USER, ("id", "path", true, "token id as listed")],
    ),
];

/// The access rule of a request with `method` that matched the route template `matched`
/// (none: no route matched, the answer will be 404). A method no route declares for the
/// template (the answer will be 405), and every unknown path, is treated as the table's
/// default: reads for every signed-in user, anything else for admins only.
pub fn access(method: &Method, matched: Option<&str>) -> Access {
    let read = *method == Method::GET || *method == Method::HEAD;
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    let declared = matched.and_then(|path| {
        ROUTES
            .iter()
            .find(|r| r.path == path && r.verb.method() == *method)
    });
    match declared {
        Some(r) => r.access,
        None if read => AnyUser,
        None => Roles(ADMIN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_is_for_finance_and_admins() {
        assert_eq!(
            access(&Method::GET, Some("/api/v1/billing/{month}/statements.pdf")),
            Access::Roles(FINANCE)
        );
        assert_eq!(
            access(&Method::POST, Some("/api/v1/billing/payments")),
            Access::Roles(FINANCE)
        );
        assert_eq!(
            access(&Method::GET, Some("/api/v1/meters")),
            Access::Overview
        );
        assert_eq!(
            access(&Method::POST, Some("/api/v1/meters/{id}/corrections")),
            Access::Roles(ENGINEERS)
        );
        assert_eq!(access(&Method::GET, Some("/")), Access::Overview);
        assert_eq!(access(&Method::POST, Some("/")), Access::Roles(ADMIN));
        assert_eq!(access(&Method::GET, Some("/healthz")), Access::Public);
    }

    #[test]
    fn each_route_is_declared_once() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.path, r.verb.lowercase())),
                "{} {}",
                r.verb.lowercase(),
                r.path
            );
        }
    }

    #[test]
    fn head_and_unknown_paths_follow_the_defaults() {
        assert_eq!(
            access(&Method::HEAD, Some("/billing")),
            Access::Roles(FINANCE)
        );
        assert_eq!(access(&Method::GET, None), Access::AnyUser);
        assert_eq!(access(&Method::PUT, None), Access::Roles(ADMIN));
    }
}
