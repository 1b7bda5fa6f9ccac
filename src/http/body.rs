//! JSON bodies of changes that are recorded under a person's name. The person is always the
//! signed-in account (session or API token), never the body: a body that names someone (`by`,
//! `recorded_by`, `issued_by`, `entered_by`, ...) is refused with a 400 that says so, so nobody
//! can record a change in someone else's name.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::AppError;

/// Fields that would name who made a change; refused in every request body.
pub const WHO_FIELDS: &[&str] = &[
    "by",
    "recorded_by",
    "issued_by",
    "entered_by",
    "acknowledged_by",
    "resolved_by",
];

/// Parses a change's body; `what` names the request in errors ("correction: ...").
pub fn change<T: DeserializeOwned>(
    body: Result<Json<Value>, JsonRejection>,
    what: &str,
) -> Result<T, AppError> {
    let Json(value) =
        body.map_err(|e| AppError::BadRequest(format!("{what}: {}", e.body_text())))?;
    if let Some(fields) = value.as_object()
        && let Some(field) = WHO_FIELDS.iter().find(|f| fields.contains_key(**f))
    {
        return Err(AppError::BadRequest(format!(
            "{what}: `{field}` is not accepted: a change is recorded under the signed-in account"
        )));
    }
    serde_json::from_value(value).map_err(|e| AppError::BadRequest(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Note {
        note: String,
    }

    fn parse(v: Value) -> Result<Note, String> {
        change::<Note>(Ok(Json(v)), "note").map_err(|e| match e {
            AppError::BadRequest(m) => m,
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn a_body_cannot_name_who_did_it() {
        for field in WHO_FIELDS {
            let err = parse(json!({"note": "n", *field: "finance"})).unwrap_err();
            assert!(err.contains(&format!("`{field}` is not accepted")), "{err}");
        }
        assert_eq!(parse(json!({"note": "n"})).unwrap().note, "n");
        let err = parse(json!({"note": 1})).unwrap_err();
        assert!(err.starts_with("note: invalid type"), "{err}");
        let err = parse(json!({"note": "n", "other": 1})).unwrap_err();
        assert!(err.contains("unknown field `other`"), "{err}");
    }
}
