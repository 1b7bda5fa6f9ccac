//! The data directory's lock: a running service holds an exclusive lock on `jieneng.lock` for
//! as long as it runs, so a second service on the same database, or a restore under a running
//! one, is refused instead of corrupting it. The lock is the operating system's (`flock`): it
//! goes away with the process, however the process ends (kill -9 included).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "data directory {dir} is in use by a running jieneng{pid} (lock file {path}); stop it first"
    )]
    InUse {
        dir: PathBuf,
        path: PathBuf,
        pid: String,
    },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while the data directory is in use; released when dropped (or the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file of a data directory.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("jieneng.lock")
}

/// Takes the data directory's lock without waiting, recording this process id in it.
pub fn lock_data_dir(data_dir: &Path) -> Result<DataDirLock, LockError> {
    let path = lock_path(data_dir);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::InUse {
                dir: data_dir.to_path_buf(),
                path,
                pid: if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (process {holder})")
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(DataDirLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path()).unwrap();
        let e = lock_data_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("in use by a running jieneng"), "{e}");
        assert!(
            e.contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        drop(first);
        lock_data_dir(dir.path()).unwrap();
    }
}
