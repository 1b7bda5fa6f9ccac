//! A library of named definitions loaded from TOML files: the built-in ones compiled into the
//! binary, then `*.toml` files from configured folders, which may add to them or replace them.
//! Device profiles and MQTT payload formats are both kept this way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{ConfigError, ConfigErrors};

/// Parses one definition: (name, file, text).
pub type Parser<T> = fn(&str, &Path, &str) -> Result<T, ConfigErrors>;

#[derive(Debug, Clone)]
pub struct Library<T> {
    items: BTreeMap<String, Arc<T>>,
}

impl<T> Default for Library<T> {
    fn default() -> Self {
        Library {
            items: BTreeMap::new(),
        }
    }
}

impl<T> Library<T> {
    /// The definitions compiled into the binary. They are checked by the test suite, so one
    /// failing here is a bug: it is logged and left out.
    pub fn from_builtin(builtin: &[(&str, &str)], folder: &str, parse: Parser<T>) -> Library<T> {
        let mut lib = Library::default();
        for (name, text) in builtin {
            let path = PathBuf::from(format!("{folder}/{name}.toml"));
            match parse(name, &path, text) {
                Ok(item) => {
                    lib.items.insert(name.to_string(), Arc::new(item));
                }
                Err(e) => {
                    tracing::error!(name = %name, error = %e, "a built-in definition is invalid")
                }
            }
        }
        lib
    }

    /// Adds every `*.toml` in `dirs`; reports every file that does not parse.
    pub fn with_dirs(
        mut self,
        dirs: &[PathBuf],
        parse: Parser<T>,
    ) -> Result<Library<T>, ConfigErrors> {
        let mut errors = Vec::new();
        for dir in dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(io_error(dir, &e));
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for path in paths {
                match load_file(&path, parse) {
                    Ok((name, item)) => {
                        self.items.insert(name, Arc::new(item));
                    }
                    Err(e) => errors.extend(e.0),
                }
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// This library with `other`'s items added (`other` wins on a name both have).
    pub fn merged(mut self, other: Library<T>) -> Library<T> {
        self.items.extend(other.items);
        self
    }

    pub fn get(&self, name: &str) -> Option<Arc<T>> {
        self.items.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }
}

/// Reads and parses one file; the name is its stem.
pub fn load_file<T>(path: &Path, parse: Parser<T>) -> Result<(String, T), ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let item = parse(&name, path, &text)?;
    Ok((name, item))
}

pub(crate) fn io_error(path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError {
        file: path.to_path_buf(),
        line: 1,
        col: None,
        message: format!("cannot read: {e}"),
    }
}
