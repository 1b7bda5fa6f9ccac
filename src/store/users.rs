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

/// A change to a user; absent fields stay as they are.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// An API token as listed: its id is the start of its hash, enough to revoke it by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

/// How many hex digits of a token's hash name it.
const TOKEN_ID_LEN: usize = 12;

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

    /// Changes a user. Disabling ends their sessions (their tokens stop working too); the
    /// last enabled admin can be neither disabled nor given another role.
    pub fn update_user(
        &mut self,
        name: &str,
        change: &UserChange,
        who: &str,
    ) -> Result<User, UserRefusal> {
        if let Some(p) = &change.password {
            crate::auth::check_password_strength(p).map_err(UserRefusal::Invalid)?;
        }
        if change
            .display_name
            .as_deref()
            .is_some_and(|d| d.trim().is_empty())
        {
            return Err(UserRefusal::Invalid("display_name: empty".into()));
        }
        let hash = change
            .password
            .as_deref()
            .map(hash_password)
            .transpose()
            .map_err(UserRefusal::Invalid)?;
        self.in_transaction(|tx| {
            let found = tx
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                    params![name],
                    user_row,
                )
                .optional()?;
            let Some(mut user) = found else {
                return Ok(Err(UserRefusal::Unknown(name.to_string())));
            };
            let leaves_admins = user.role == Role::Admin
                && !user.disabled
                && (change.disabled == Some(true)
                    || change.role.is_some_and(|r| r != Role::Admin));
            if leaves_admins {
                let admins: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
                    [],
                    |r| r.get(0),
                )?;
                if admins <= 1 {
                    return Ok(Err(UserRefusal::Invalid(format!(
                        "`{name}` is the last enabled admin: add another admin first"
                    ))));
                }
            }
            if let Some(d) = &change.display_name {
                user.display_name = d.trim().to_string();
            }
            if let Some(r) = change.role {
                user.role = r;
            }
            if let Some(d) = change.disabled {
                user.disabled = d;
            }
            tx.execute(
                "UPDATE users SET display_name = ?2, role = ?3, disabled = ?4, password_hash = COALESCE(?5, password_hash) WHERE name = ?1",
                params![name, user.display_name, user.role.name(), i64::from(user.disabled), hash],
            )?;
            if user.disabled || hash.is_some() {
                tx.execute("DELETE FROM sessions WHERE user = ?1", params![name])?;
            }
            let mut after = serde_json::json!({
                "display_name": user.display_name,
                "role": user.role.name(),
                "disabled": user.disabled,
            });
            if hash.is_some() {
                after["password"] = "changed".into();
            }
            audit(tx, who, "user.update", name, after)?;
            Ok(Ok(user))
        })?
    }

    /// Revokes the token of `user` whose id (the start of its hash) is `id`.
    pub fn revoke_token(&mut self, user: &str, id: &str, who: &str) -> Result<(), UserRefusal> {
        if id.len() != TOKEN_ID_LEN || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(UserRefusal::Invalid(format!(
                "token id `{id}`: {TOKEN_ID_LEN} hex digits, as listed"
            )));
        }
        self.in_transaction(|tx| {
            let label: Option<String> = tx
                .query_row(
                    "SELECT label FROM api_tokens WHERE user = ?1 AND substr(token_hash, 1, ?3) = ?2",
                    params![user, id.to_ascii_lowercase(), TOKEN_ID_LEN as i64],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(label) = label else {
                return Ok(Err(UserRefusal::Unknown(format!("{user} token {id}"))));
            };
            tx.execute(
                "DELETE FROM api_tokens WHERE user = ?1 AND substr(token_hash, 1, ?3) = ?2",
                params![user, id.to_ascii_lowercase(), TOKEN_ID_LEN as i64],
            )?;
            audit(tx, who, "user.token_revoke", user, serde_json::json!({ "id": id, "label": label }))?;
            Ok(Ok(()))
        })?
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

    /// Every API token, by user and age.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let run = || -> rusqlite::Result<Vec<TokenInfo>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT substr(token_hash, 1, ?1), user, label, created_at FROM api_tokens ORDER BY user, created_at",
            )?;
            stmt.query_map(params![TOKEN_ID_LEN as i64], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    label: r.get(2)?,
                    created_at: from_millis(r.get(3)?),
                })
            })?
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn the_last_enabled_admin_stays() {
        let (_dir, store) = store();
        let mut w = store.writer().unwrap();
        w.create_user("root", "Root", Role::Admin, None, "test")
            .unwrap();
        let disable = UserChange {
            disabled: Some(true),
            ..Default::default()
        };
        let demote = UserChange {
            role: Some(Role::Viewer),
            ..Default::default()
        };
        for change in [&disable, &demote] {
            let refused = w.update_user("root", change, "test").unwrap_err();
            assert!(
                refused.to_string().contains("last enabled admin"),
                "{refused}"
            );
        }
        w.create_user("second", "Second", Role::Admin, None, "test")
            .unwrap();
        assert!(w.update_user("root", &disable, "test").unwrap().disabled);
        assert!(matches!(
            w.update_user("nobody", &disable, "test"),
            Err(UserRefusal::Unknown(_))
        ));
    }

    #[test]
    fn disabling_ends_sessions_and_tokens_and_is_audited() {
        let (_dir, store) = store();
        let mut w = store.writer().unwrap();
        w.create_user(
            "eng",
            "Engineer",
            Role::Engineer,
            Some("long enough pw"),
            "admin",
        )
        .unwrap();
        let token = w.create_token("eng", "scada", "admin").unwrap();
        let (session, _) = w.create_session("eng").unwrap();
        let r = store.reader().unwrap();
        assert!(r.token_user(&token).unwrap().is_some());
        let change = UserChange {
            disabled: Some(true),
            ..Default::default()
        };
        w.update_user("eng", &change, "admin").unwrap();
        assert!(r.token_user(&token).unwrap().is_none());
        assert!(r.session_user(&session).unwrap().is_none());
        assert!(r.check_password("eng", "long enough pw").unwrap().is_none());
        // Enabled again with a new password: the old one no longer works.
        let change = UserChange {
            disabled: Some(false),
            password: Some("another long one".into()),
            ..Default::default()
        };
        w.update_user("eng", &change, "admin").unwrap();
        assert!(r.check_password("eng", "long enough pw").unwrap().is_none());
        assert!(
            r.check_password("eng", "another long one")
                .unwrap()
                .is_some()
        );
        let short = UserChange {
            password: Some("short".into()),
            ..Default::default()
        };
        assert!(matches!(
            w.update_user("eng", &short, "admin"),
            Err(UserRefusal::Invalid(_))
        ));
        let audit = r.audit(None, 10).unwrap();
        let updates: Vec<_> = audit.iter().filter(|a| a.action == "user.update").collect();
        assert_eq!(updates.len(), 2, "{audit:?}");
        assert!(updates.iter().all(|a| a.who == "admin"));
    }

    #[test]
    fn tokens_are_listed_by_id_and_revoked() {
        let (_dir, store) = store();
        let mut w = store.writer().unwrap();
        w.create_user("bot", "Bot", Role::Viewer, None, "admin")
            .unwrap();
        let keep = w.create_token("bot", "grafana", "admin").unwrap();
        let drop = w.create_token("bot", "old script", "admin").unwrap();
        let r = store.reader().unwrap();
        let listed = r.tokens().unwrap();
        assert_eq!(listed.len(), 2);
        let old = listed.iter().find(|t| t.label == "old script").unwrap();
        assert_eq!(old.id.len(), 12);
        assert!(
            !listed
                .iter()
                .any(|t| keep.contains(&t.id) || drop.contains(&t.id))
        );
        w.revoke_token("bot", &old.id, "admin").unwrap();
        assert!(r.token_user(&drop).unwrap().is_none());
        assert!(r.token_user(&keep).unwrap().is_some());
        assert!(matches!(
            w.revoke_token("bot", &old.id, "admin"),
            Err(UserRefusal::Unknown(_))
        ));
        assert!(matches!(
            w.revoke_token("bot", "xyz", "admin"),
            Err(UserRefusal::Invalid(_))
        ));
    }
}
