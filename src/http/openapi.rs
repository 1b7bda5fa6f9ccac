//! The OpenAPI 3.1 description of every route (served at `GET /api/v1/openapi.json`), built
//! from the route table [`ROUTES`] that the router and the guard are built from too.

use serde_json::{Map, Value, json};

use super::access::Access;
use super::routes::ROUTES;

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
            "description": format!("Who may call it: {}.", r.access.describe()),
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
        if r.access != Access::Public {
            op["security"] = json!([{ "bearer": [] }, { "session": [] }]);
        }
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.verb.lowercase()] = op;
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
