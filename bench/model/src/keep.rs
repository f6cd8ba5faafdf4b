//! Nothing the user owns is lost: what a command replaces is either something this tool wrote
//! (recognised by a marker it writes), or, only with `--force`, moved aside to a named backup
//! beside it (`PATH.bak-<UTC time>`), never deleted.

use std::path::{Path, PathBuf};

/// The file `filterbench report` writes into every site it renders: `report --out DIR` replaces
/// `DIR` only when it holds this file (or is empty, or is missing).
pub const SITE_MARKER: &str = ".filterbench-site";

/// The text of [`SITE_MARKER`].
pub const SITE_MARKER_TEXT: &str = "This directory is a report rendered by `filterbench report`: \
`filterbench report --out` replaces it as a whole (only because this file is here).\n";

/// The infix of a backup's name: `PATH.bak-<stamp>`.
const BACKUP_INFIX: &str = ".bak-";

/// `20261206T211300Z`: a UTC time for file names.
pub fn file_stamp(ms_since_epoch: u64) -> String {
    let secs = ms_since_epoch / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A free backup name for `path`: `PATH.bak-<stamp>`, then `PATH.bak-<stamp>-2`, ...
pub fn backup_path(path: &Path) -> PathBuf {
    let stamp = file_stamp(crate::now_ms());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let at = |suffix: String| path.with_file_name(format!("{name}{BACKUP_INFIX}{stamp}{suffix}"));
    std::iter::once(at(String::new()))
        .chain((2..).map(|n| at(format!("-{n}"))))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .expect("some suffix is free")
}

/// Whether a file or directory name is one of the backups [`back_up`] makes.
pub fn is_backup_name(name: &str) -> bool {
    name.contains(BACKUP_INFIX)
}

/// Moves `path` (a file or a directory) aside to [`backup_path`] and returns where it went.
pub fn back_up(path: &Path) -> std::io::Result<PathBuf> {
    let to = backup_path(path);
    std::fs::rename(path, &to)?;
    Ok(to)
}

/// What `report --out DIR` may do with `DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteDir {
    /// Missing or empty: nothing to lose.
    Free,
    /// A site this tool rendered (the marker, or, from before the marker, nothing but the pages
    /// it writes): replaced.
    Ours,
    /// Anything else (a file, a directory holding other things): kept, unless `--force`, which
    /// moves it to a named backup. The string says what it holds (for the error).
    Foreign(String),
}

/// Looks at `dir` without changing it.
pub fn site_dir(dir: &Path) -> std::io::Result<SiteDir> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SiteDir::Free),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Ok(SiteDir::Foreign("it is not a directory".into()));
    }
    if dir.join(SITE_MARKER).is_file() {
        return Ok(SiteDir::Ours);
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    if names.is_empty() {
        return Ok(SiteDir::Free);
    }
    // A site rendered before the marker existed: index.html, claims.html and pairs/*.html only.
    let page_only = |n: &String| match n.as_str() {
        "index.html" | "claims.html" => dir.join(n).is_file(),
        "pairs" => std::fs::read_dir(dir.join(n)).is_ok_and(|entries| {
            entries.flatten().all(|e| {
                e.path().extension().is_some_and(|x| x == "html")
                    && e.file_type().is_ok_and(|t| t.is_file())
            })
        }),
        _ => false,
    };
    if names.iter().any(|n| n == "index.html") && names.iter().all(page_only) {
        return Ok(SiteDir::Ours);
    }
    let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
    Ok(SiteDir::Foreign(format!(
        "it holds {}{} and no {SITE_MARKER}",
        shown.join(", "),
        if names.len() > 3 { ", ..." } else { "" }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_times() {
        assert_eq!(file_stamp(0), "19700101T000000Z");
        // 2026-12-06 21:13:20 UTC.
        assert_eq!(file_stamp(1_796_591_600_000), "20261206T211320Z");
        assert_eq!(file_stamp(951_782_400_000), "20000229T000000Z");
    }

    #[test]
    fn backups_get_free_names_beside_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "mine").unwrap();
        let first = back_up(&file).unwrap();
        std::fs::write(&file, "mine again").unwrap();
        let second = back_up(&file).unwrap();
        assert_ne!(first, second);
        assert_eq!(first.parent(), Some(dir.path()));
        assert!(is_backup_name(
            &first.file_name().unwrap().to_string_lossy()
        ));
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "mine");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "mine again");
        assert!(!file.exists());
    }

    #[test]
    fn only_a_site_this_tool_wrote_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        assert_eq!(site_dir(&site).unwrap(), SiteDir::Free);
        std::fs::create_dir(&site).unwrap();
        assert_eq!(site_dir(&site).unwrap(), SiteDir::Free);
        std::fs::create_dir(site.join("pairs")).unwrap();
        std::fs::write(site.join("index.html"), "").unwrap();
        std::fs::write(site.join("pairs/a.html"), "").unwrap();
        assert_eq!(
            site_dir(&site).unwrap(),
            SiteDir::Ours,
            "a site from before the marker"
        );
        std::fs::write(site.join("notes.txt"), "").unwrap();
        assert!(matches!(site_dir(&site).unwrap(), SiteDir::Foreign(w) if w.contains("notes.txt")));
        std::fs::write(site.join(SITE_MARKER), SITE_MARKER_TEXT).unwrap();
        assert_eq!(site_dir(&site).unwrap(), SiteDir::Ours);
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(site_dir(&file).unwrap(), SiteDir::Foreign(_)));
    }
}
