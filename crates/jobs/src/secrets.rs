//! Reading the secrets the inventory points at, when a job needs them.

use fleetroll_core::config::Secret;
use fleetroll_core::jobs::inventory::SecretRef;

/// The value `source` stands for: inline, an environment variable, or a
/// file's contents without its trailing newline. Read at each use, so a
/// rotated password is picked up without restarting the worker. The error
/// says what went wrong, never the value.
pub fn read_secret(source: &SecretRef) -> Result<Secret, String> {
    let value = match source {
        SecretRef::Value(secret) => return Ok(secret.clone()),
        SecretRef::Env(name) => std::env::var(name).map_err(|err| match err {
            std::env::VarError::NotPresent => "the variable is not set".to_owned(),
            std::env::VarError::NotUnicode(_) => "the variable is not UTF-8".to_owned(),
        })?,
        SecretRef::File(path) => {
            let mut text = std::fs::read_to_string(path).map_err(|err| err.to_string())?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            text
        }
    };
    if value.is_empty() {
        return Err("it is empty".to_owned());
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn files_lose_one_trailing_newline_and_errors_hold_no_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "s3cret\r\n").unwrap();
        assert_eq!(read_secret(&SecretRef::File(path.clone())).unwrap().expose(), "s3cret");
        std::fs::write(&path, "").unwrap();
        assert_eq!(read_secret(&SecretRef::File(path)).unwrap_err(), "it is empty");
        let missing = read_secret(&SecretRef::File(PathBuf::from("/nonexistent/fleetroll"))).unwrap_err();
        assert!(missing.contains("No such file"), "{missing}");
        let unset = read_secret(&SecretRef::Env("FLEETROLL_JOBS_TEST_UNSET_VARIABLE".into())).unwrap_err();
        assert_eq!(unset, "the variable is not set");
        let inline = read_secret(&SecretRef::Value(Secret::new("x"))).unwrap();
        assert_eq!(inline.expose(), "x");
    }
}
