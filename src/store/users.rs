//! Users, their browser sessions and API tokens. Secrets are stored as SHA-256 hashes and
//! passwords as argon2id hashes; creating users and tokens is audited.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::StoreError;
use super::sqlite::{StoreReader, StoreWriter, from_millis, millis};
use crate::auth::{Role, hash_password, new_secret, secret_hash, verify_password};

pub(super) const MIGRATION: &str = "
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT,           -- argon2id PHC string; NULL: tokens only
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,  -- SHA-256 of the cookie value
        user TEXT NOT NULL REFERENCES users(name),
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE TABLE api_tokens (
        token_hash TEXT PRIMARY KEY,  -- SHA-256 of the token
        user TEXT NOT NULL REFERENCES users(name),
        label TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );";

/// How long a browser session lasts without logging in again.
pub const SESSION_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Why a user change was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserRefusal {
    #[error("user `{0}` exists already")]
    Exists(String),
    #[error("no user `{0}`")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn audit(
    tx: &rusqlite::Transaction<'_>,
    who: &str,
    action: &str,
    target: &str,
    after: serde_json::Value,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
         VALUES (?1, ?2, ?3, NULL, NULL, ?4, 'null', ?5, '')",
        params![millis(Utc::now()), who, action, target, after.to_string()],
    )?;
    Ok(())
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        name: r.get(0)?,
        display_name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        disabled: r.get::<_, i64>(3)? != 0,
        created_at: from_millis(r.get(4)?),
    })
}

const USER_COLUMNS: &str = "name, display_name, role, disabled, created_at";

impl StoreWriter {
    /// Adds a user; `password` None makes a user that signs in with API tokens only.
    pub fn create_user(
        &mut self,
        name: &str,
        display_name: &str,
        role: Role,
        password: Option<&str>,
        who: &str,
    ) -> Result<User, UserRefusal> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid {
            return Err(UserRefusal::Invalid(format!(
                "user name `{name}`: 1 to 64 letters, digits, `.`, `_` or `-`"
            )));
        }
        if let Some(p) = password {
            crate::auth::check_password_strength(p).map_err(UserRefusal::Invalid)?;
        }
        let hash = password
            .map(hash_password)
            .transpose()
            .map_err(UserRefusal::Invalid)?;
        let now = Utc::now();
        self.in_transaction(|tx| {
            let exists: Option<String> = tx
                .query_row("SELECT name FROM users WHERE name = ?1", params![name], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_some() {
                return Ok(Err(UserRefusal::Exists(name.to_string())));
            }
            tx.execute(
                "INSERT INTO users (name, display_name, role, password_hash, disabled, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
                params![name, display_name, role.name(), hash, millis(now)],
            )?;
            audit(tx, who, "user.create", name, serde_json::json!({ "role": role.name(), "display_name": display_name }))?;
            Ok(Ok(User {
                name: name.to_string(),
                display_name: display_name.to_string(),
                role,
                disabled: false,
                created_at: from_millis(millis(now)),
            }))
        })?
    }

    /// A new API token for `user`; the token itself is returned once and never stored.
    pub fn create_token(
        &mut self,
        user: &str,
        label: &str,
        who: &str,
    ) -> Result<String, UserRefusal> {
        let token = new_secret();
        let hash = secret_hash(&token);
        self.in_transaction(|tx| {
            let exists: Option<String> = tx
                .query_row("SELECT name FROM users WHERE name = ?1", params![user], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Ok(Err(UserRefusal::Unknown(user.to_string())));
            }
            tx.execute(
                "INSERT INTO api_tokens (token_hash, user, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, user, label, millis(Utc::now())],
            )?;
            audit(tx, who, "user.token", user, serde_json::json!({ "label": label }))?;
            Ok(Ok(()))
        })??;
        Ok(token)
    }

    /// Starts a browser session: (session cookie value, CSRF token).
    pub fn create_session(&mut self, user: &str) -> Result<(String, String), StoreError> {
        let (token, csrf) = (new_secret(), new_secret());
        let now = Utc::now();
        self.in_transaction(|tx| {
            tx.execute("DELETE FROM sessions WHERE expires_at < ?1", params![millis(now)])?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![secret_hash(&token), user, csrf, millis(now), millis(now + Duration::days(SESSION_DAYS))],
            )?;
            Ok(())
        })?;
        Ok((token, csrf))
    }

    pub fn end_session(&mut self, token: &str) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![secret_hash(token)],
            )?;
            Ok(())
        })
    }
}

impl StoreReader {
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let run = || -> rusqlite::Result<Vec<User>> {
            let mut stmt = self
                .conn()
                .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
            stmt.query_map([], user_row)?.collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// The user with this name and password, if enabled.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Option<User>, StoreError> {
        let run = || -> rusqlite::Result<Option<(User, Option<String>)>> {
            self.conn()
                .query_row(
                    &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ?1"),
                    params![name],
                    |r| Ok((user_row(r)?, r.get(5)?)),
                )
                .optional()
        };
        let found = run().map_err(|e| self.fail(e))?;
        Ok(found.and_then(|(user, hash)| {
            let ok = !user.disabled && hash.is_some_and(|h| verify_password(password, &h));
            ok.then_some(user)
        }))
    }

    /// The user an API token belongs to, if enabled.
    pub fn token_user(&self, token: &str) -> Result<Option<User>, StoreError> {
        let run = || -> rusqlite::Result<Option<User>> {
            self.conn()
                .query_row(
                    "SELECT u.name, u.display_name, u.role, u.disabled, u.created_at FROM api_tokens t JOIN users u ON u.name = t.user WHERE t.token_hash = ?1",
                    params![secret_hash(token)],
                    user_row,
                )
                .optional()
        };
        Ok(run().map_err(|e| self.fail(e))?.filter(|u| !u.disabled))
    }

    /// The user of a live session and its CSRF token.
    pub fn session_user(&self, token: &str) -> Result<Option<(User, String)>, StoreError> {
        let run = || -> rusqlite::Result<Option<(User, String)>> {
            self.conn()
                .query_row(
                    "SELECT u.name, u.display_name, u.role, u.disabled, u.created_at, s.csrf FROM sessions s JOIN users u ON u.name = s.user
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                    params![secret_hash(token), millis(Utc::now())],
                    |r| Ok((user_row(r)?, r.get(5)?)),
                )
                .optional()
        };
        Ok(run()
            .map_err(|e| self.fail(e))?
            .filter(|(u, _)| !u.disabled))
    }
}
