//! Atomic file writes with this crate's errors: the project's one atomic writer
//! (`filterbench_model::results::write_atomically`), its error naming the file.

use std::path::Path;

use super::{Error, Result};

/// Writes `bytes` to `path` atomically (the parent directory must exist).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    filterbench_model::results::write_atomically(path, bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.yaml")]);
    }

    #[test]
    fn names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("a.yaml");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(err.contains("a.yaml"), "{err}");
    }
}
