//! Secrets (passwords, tokens) come from an environment variable or a file, never from the
//! config text, and never show in logs or debug output.

use std::fmt;
use std::path::Path;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from `env` (a variable name) or `file` (a path, relative to `base`).
    /// Trailing newlines of a file are dropped.
    pub fn from_env_or_file(
        env: Option<&str>,
        file: Option<&str>,
        base: &Path,
    ) -> Result<Option<Secret>, String> {
        match (env, file) {
            (Some(_), Some(_)) => {
                Err("give the secret as an environment variable or a file, not both".into())
            }
            (Some(var), None) => std::env::var(var)
                .map(|v| Some(Secret(v)))
                .map_err(|_| format!("environment variable `{var}` is not set")),
            (None, Some(path)) => {
                let path = base.join(path);
                std::fs::read_to_string(&path)
                    .map(|v| Some(Secret(v.trim_end_matches(['\n', '\r']).to_string())))
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
            (None, None) => Ok(None),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "abc\n").unwrap();
        let read = Secret::from_env_or_file(None, Some("token"), dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(read.expose(), "abc");
        assert!(
            Secret::from_env_or_file(Some("JIENENG_TEST_SURELY_UNSET"), None, dir.path())
                .unwrap_err()
                .contains("is not set")
        );
    }
}
