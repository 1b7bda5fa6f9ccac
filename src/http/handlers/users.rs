//! `/api/v1/users`: users, their roles and API tokens, for admins. Every change is audited
//! under the admin who made it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::store::users::{TokenInfo, User, UserChange, UserRefusal};

/// Refusals are the caller's to fix (400, 404); store failures are ours (500).
fn refused(e: UserRefusal) -> AppError {
    match e {
        UserRefusal::Unknown(_) => AppError::NotFound(e.to_string()),
        UserRefusal::Exists(_) | UserRefusal::Invalid(_) => AppError::BadRequest(e.to_string()),
        UserRefusal::Store(s) => AppError::Internal(s.into()),
    }
}

/// Runs a user change on the store's writer, off the async threads.
async fn change<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::store::sqlite::StoreWriter) -> Result<T, UserRefusal> + Send + 'static,
) -> Result<T, AppError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(&mut store.writer().map_err(UserRefusal::Store)?))
        .await?
        .map_err(refused)
}

#[derive(Serialize)]
pub struct Users {
    users: Vec<User>,
    tokens: Vec<TokenInfo>,
}

/// `GET /api/v1/users`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Users>, AppError> {
    let store = state.store.clone();
    let (users, tokens) = tokio::task::spawn_blocking(move || {
        let r = store.reader()?;
        Ok::<_, crate::store::StoreError>((r.users()?, r.tokens()?))
    })
    .await??;
    Ok(Json(Users { users, tokens }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    role: Role,
    /// None: a user for machines, with API tokens only.
    #[serde(default)]
    password: Option<String>,
}

type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(what: &str, b: Body<T>) -> Result<T, AppError> {
    b.map(|Json(t)| t)
        .map_err(|e| AppError::BadRequest(format!("{what}: {}", e.body_text())))
}

/// `POST /api/v1/users`.
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    b: Body<NewUser>,
) -> Result<(StatusCode, Json<User>), AppError> {
    let n = body("user", b)?;
    let user = change(&state, move |w| {
        let display = n.display_name.unwrap_or_else(|| n.name.clone());
        w.create_user(
            &n.name,
            &display,
            n.role,
            n.password.as_deref(),
            &who.user.name,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// `PATCH /api/v1/users/{name}`: role, name shown, password, disabled.
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    b: Body<UserChange>,
) -> Result<Json<User>, AppError> {
    let edit = body("user change", b)?;
    let user = change(&state, move |w| w.update_user(&name, &edit, &who.user.name)).await?;
    Ok(Json(user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    label: String,
}

/// `POST /api/v1/users/{name}/tokens`: the token is shown in this answer only.
pub async fn create_token(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    b: Body<NewToken>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let label = body("token", b)?.label.trim().to_string();
    if label.is_empty() || label.len() > 100 {
        return Err(AppError::BadRequest(
            "token: label of 1 to 100 characters (what it is for)".into(),
        ));
    }
    let (user, l) = (name.clone(), label.clone());
    let token = change(&state, move |w| w.create_token(&user, &l, &who.user.name)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user": name, "label": label, "token": token })),
    ))
}

/// `DELETE /api/v1/users/{name}/tokens/{id}`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    change(&state, move |w| w.revoke_token(&name, &id, &who.user.name)).await?;
    Ok(StatusCode::NO_CONTENT)
}
