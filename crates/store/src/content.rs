//! Content-addressed files: override and vault contents seen on hosts.
//!
//! Each distinct content is kept once, in a file named by the start of its
//! SHA-256 (12 hex characters, longer on a collision; the naming rule is
//! `fleetroll_core::humanhash::content_name`). The folders are the MVP's,
//! `overrides/` and `vault_yamls/` in the home directory, so its users find
//! their files. Vault contents are secrets: their folder is 0700 and their
//! files 0600, and nothing here prints or logs them.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use fleetroll_core::humanhash::{content_name, human_name, sha256_hex};

/// The MVP's folder names inside the home directory.
pub const OVERRIDES_DIR: &str = "overrides";
pub const VAULTS_DIR: &str = "vault_yamls";

/// One folder of content-addressed files.
#[derive(Clone, Debug)]
pub struct ContentStore {
    dir: PathBuf,
    kind: &'static str,
    is_secret: bool,
}

/// A stored content found by a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub sha256: String,
    pub human_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("cannot name stored contents: {0}")]
    Name(#[from] fleetroll_core::humanhash::ContentNameError),
    #[error("no stored {kind} matches {query:?} (by SHA-256 prefix or 2-word human hash)")]
    NotFound { kind: &'static str, query: String },
    #[error("ambiguous {what} {query:?}, matches:\n{}", candidates.join("\n"))]
    Ambiguous { what: &'static str, query: String, candidates: Vec<String> },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ContentError + 'a {
    move |source| ContentError::Io { action, path: path.to_owned(), source }
}

impl ContentStore {
    /// `overrides/` under `home`.
    pub fn overrides(home: &Path) -> ContentStore {
        ContentStore { dir: home.join(OVERRIDES_DIR), kind: "override", is_secret: false }
    }

    /// `vault_yamls/` under `home`; kept private to the user.
    pub fn vaults(home: &Path) -> ContentStore {
        ContentStore { dir: home.join(VAULTS_DIR), kind: "vault", is_secret: true }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `contents` (once: storing the same bytes again returns the
    /// same path) and returns where. The write is atomic: a temporary file in
    /// the same folder, renamed into place.
    pub fn put(&self, contents: &[u8]) -> Result<PathBuf, ContentError> {
        self.ensure_dir()?;
        let sha = sha256_hex(contents);
        let name = content_name(&sha, |name| self.holds_other_than(name, &sha))?;
        let path = self.dir.join(&name);
        if path.is_file() {
            return Ok(path);
        }
        let mut file = tempfile::Builder::new()
            .prefix(".tmp_")
            .tempfile_in(&self.dir)
            .map_err(io("create a file in", &self.dir))?;
        let mode = if self.is_secret { 0o600 } else { 0o644 };
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io("set permissions on", file.path()))?;
        file.write_all(contents).map_err(io("write", &path))?;
        file.as_file().sync_all().map_err(io("write", &path))?;
        file.persist(&path).map_err(|err| ContentError::Io {
            action: "write",
            path: path.clone(),
            source: err.error,
        })?;
        Ok(path)
    }

    /// The stored contents whose SHA-256 is `sha`, if any. Files are named
    /// by a prefix of 12 characters (4 more per collision), so each length is
    /// tried.
    pub fn read_by_sha(&self, sha: &str) -> Option<Vec<u8>> {
        (12..=sha.len().min(64)).step_by(4).find_map(|len| {
            let bytes = fs::read(self.dir.join(sha.get(..len)?)).ok()?;
            (sha256_hex(&bytes) == sha).then_some(bytes)
        })
    }

    /// Whether contents with this SHA-256 are stored.
    pub fn holds(&self, sha: &str) -> bool {
        self.stored_files()
            .iter()
            .any(|(name, path)| sha.starts_with(name.as_str()) && file_sha(path).as_deref() == Some(sha))
    }

    /// The SHA-256 of every stored content.
    pub fn known_shas(&self) -> Vec<String> {
        self.stored_files().iter().filter_map(|(_, path)| file_sha(path)).collect()
    }

    /// Finds stored contents by SHA-256 prefix, then by 2-word human hash,
    /// then by the name of a symlink an operator made to give it a name.
    pub fn lookup(&self, query: &str) -> Result<Found, ContentError> {
        let files = self.stored_files();
        let query_lower = query.to_ascii_lowercase();
        let by_prefix: Vec<&PathBuf> = files
            .iter()
            .filter(|(name, _)| name.starts_with(&query_lower) && !query.is_empty())
            .map(|(_, p)| p)
            .collect();
        if !by_prefix.is_empty() {
            return self.single("SHA-256 prefix", query, by_prefix);
        }
        let by_words: Vec<&PathBuf> = files
            .iter()
            .filter(|(_, path)| fs::read(path).is_ok_and(|bytes| human_name(&bytes) == query_lower))
            .map(|(_, p)| p)
            .collect();
        if !by_words.is_empty() {
            return self.single("human-hash", query, by_words);
        }
        let link = self.dir.join(query);
        let is_link = !query.contains('/') && fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && let Ok(target) = fs::canonicalize(&link) {
            return self.single("name", query, vec![&target]);
        }
        Err(ContentError::NotFound { kind: self.kind, query: query.to_owned() })
    }

    fn single(&self, what: &'static str, query: &str, matches: Vec<&PathBuf>) -> Result<Found, ContentError> {
        if let [path] = matches.as_slice() {
            let bytes = fs::read(path).map_err(io("read", path))?;
            return Ok(Found { path: (*path).clone(), sha256: sha256_hex(&bytes), human_name: human_name(&bytes) });
        }
        let candidates = matches
            .iter()
            .map(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let sha12: String = file_sha(path).unwrap_or_default().chars().take(12).collect();
                format!("- {sha12} ({name})")
            })
            .collect();
        Err(ContentError::Ambiguous { what, query: query.to_owned(), candidates })
    }

    /// Regular files named like stored contents (12 to 64 hex characters);
    /// temporary files and operators' symlinks are not contents.
    fn stored_files(&self) -> Vec<(String, PathBuf)> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return Vec::new() };
        let mut files: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let is_content_name = (12..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_hexdigit());
                is_content_name.then(|| (name, entry.path()))
            })
            .collect();
        files.sort();
        files
    }

    fn holds_other_than(&self, name: &str, sha: &str) -> bool {
        let path = self.dir.join(name);
        path.is_file() && file_sha(&path).as_deref() != Some(sha)
    }

    fn ensure_dir(&self) -> Result<(), ContentError> {
        fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        if self.is_secret {
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(io("set permissions on", &self.dir))?;
        }
        Ok(())
    }
}

fn file_sha(path: &Path) -> Option<String> {
    fs::read(path).ok().map(|bytes| sha256_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_named_by_sha_prefix() {
        let home = tempfile::tempdir().unwrap();
        let store = ContentStore::overrides(home.path());
        let first = store.put(b"hello\n").unwrap();
        assert_eq!(first.file_name().unwrap(), "5891b5b522d5");
        assert_eq!(store.put(b"hello\n").unwrap(), first);
        assert_eq!(fs::read(&first).unwrap(), b"hello\n");
        assert!(store.holds(&sha256_hex(b"hello\n")));
        assert!(!store.holds(&sha256_hex(b"other\n")));
    }

    #[test]
    fn read_by_full_sha_follows_longer_names() {
        let home = tempfile::tempdir().unwrap();
        let store = ContentStore::overrides(home.path());
        let sha = sha256_hex(b"content2");
        fs::create_dir_all(store.dir()).unwrap();
        fs::write(store.dir().join(&sha[..12]), b"content1").unwrap();
        store.put(b"content2").unwrap();
        assert_eq!(store.read_by_sha(&sha).as_deref(), Some(&b"content2"[..]));
        assert_eq!(store.read_by_sha(&sha256_hex(b"absent")), None);
    }

    /// §9.1 item 8: a different content under the same 12-character name
    /// gets a 16-character name, and both survive.
    #[test]
    fn collision_grows_the_name() {
        let home = tempfile::tempdir().unwrap();
        let store = ContentStore::overrides(home.path());
        let sha = sha256_hex(b"content2");
        fs::create_dir_all(store.dir()).unwrap();
        fs::write(store.dir().join(&sha[..12]), b"content1").unwrap();
        let path = store.put(b"content2").unwrap();
        assert_eq!(path.file_name().unwrap().len(), 16);
        assert_eq!(fs::read(store.dir().join(&sha[..12])).unwrap(), b"content1");
        assert_eq!(fs::read(path).unwrap(), b"content2");
    }

    #[test]
    fn vaults_are_private() {
        let home = tempfile::tempdir().unwrap();
        let store = ContentStore::vaults(home.path());
        let path = store.put(b"secret: x\n").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777, 0o700);
    }

    /// §9.1 item 22: lookup by prefix, by human hash, by symlink; ambiguity named.
    #[test]
    fn lookups() {
        let home = tempfile::tempdir().unwrap();
        let store = ContentStore::overrides(home.path());
        let hello = store.put(b"hello\n").unwrap();
        store.put(b"test\n").unwrap();
        store.put(b"").unwrap();
        assert_eq!(store.lookup("5891").unwrap().path, hello);
        assert_eq!(store.lookup("colorado-floor").unwrap().path, hello);
        assert_eq!(store.lookup("harry-california").unwrap().sha256, sha256_hex(b"test\n"));
        std::os::unix::fs::symlink(&hello, store.dir().join("canary-2026")).unwrap();
        assert_eq!(store.lookup("canary-2026").unwrap().human_name, "colorado-floor");
        assert!(matches!(store.lookup("zulu-zulu"), Err(ContentError::NotFound { .. })));
        // Two contents whose names both start with the query.
        let sha_a = sha256_hex(b"a");
        fs::write(store.dir().join(&sha_a[..12]), b"x").unwrap();
        fs::write(store.dir().join(format!("{}ffff", &sha_a[..12])), b"y").unwrap();
        let err = store.lookup(&sha_a[..4]).unwrap_err().to_string();
        assert!(err.starts_with("ambiguous SHA-256 prefix"), "{err}");
        assert_eq!(err.lines().count(), 3, "{err}");
    }
}
