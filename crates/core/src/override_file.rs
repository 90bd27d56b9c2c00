//! The override file (`ronin_settings`): a bash fragment that the Puppet
//! wrapper sources, and the rules a new one must pass before it is sent to
//! any host (reference §5.1–5.2).
//!
//! The syntax check (`bash -n`) needs a shell, so the caller runs it; the
//! semantic rules are decided here.

use std::fmt;

/// One broken rule, with the line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleViolation {
    /// 1-based line number.
    pub line: usize,
    pub key: String,
    pub rule: String,
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {} {}", self.line, self.key, self.rule)
    }
}

/// Why an override file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("not UTF-8 (first bad byte on line {line})")]
    NotUtf8 { line: usize },
    #[error("{}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rules { violations: Vec<RuleViolation> },
}

/// A quoted assignment `KEY="value"` or `KEY='value'` at the start of a line
/// (leading blanks allowed), as the MVP's pattern
/// `^\s*([A-Z_]+)=["']([^\n"']*)["']` finds them. A commented line is not
/// an assignment; unquoted assignments are not checked (as in the MVP).
pub fn quoted_assignments(text: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    text.lines().enumerate().filter_map(|(index, line)| {
        let line = line.trim_start();
        let (key, rest) = line.split_once('=')?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            return None;
        }
        let body = rest.strip_prefix(['"', '\''])?;
        let end = body.find(['"', '\''])?;
        Some((index + 1, key, &body[..end]))
    })
}

/// Checks the semantic rules of §5.2: PUPPET_REPO a git URL ending in
/// `.git`, PUPPET_BRANCH of `[A-Za-z0-9/_-]`, PUPPET_MAIL an address,
/// WORKER_TYPE_OVERRIDE of `[A-Za-z0-9-]`. Every key is optional.
pub fn validate(bytes: &[u8]) -> Result<(), OverrideError> {
    let text = std::str::from_utf8(bytes).map_err(|err| OverrideError::NotUtf8 {
        line: bytes[..err.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1,
    })?;
    let violations: Vec<RuleViolation> = quoted_assignments(text)
        .filter_map(|(line, key, value)| {
            broken_rule(key, value).map(|rule| RuleViolation { line, key: key.to_owned(), rule: rule.to_owned() })
        })
        .collect();
    if violations.is_empty() { Ok(()) } else { Err(OverrideError::Rules { violations }) }
}

fn broken_rule(key: &str, value: &str) -> Option<&'static str> {
    let only = |allowed: fn(char) -> bool| !value.is_empty() && value.chars().all(allowed);
    match key {
        "PUPPET_REPO" if !value.ends_with(".git") => Some("must end with '.git'"),
        "PUPPET_REPO" if !["http://", "https://", "git@"].iter().any(|p| value.starts_with(p)) => {
            Some("must be a valid git URL (http://, https:// or git@)")
        }
        "PUPPET_BRANCH" if !only(|c| c.is_ascii_alphanumeric() || "/_-".contains(c)) => {
            Some("contains invalid characters (allowed: letters, digits, '/', '_', '-')")
        }
        "PUPPET_MAIL" if !is_email(value) => Some("must be a valid email address"),
        "WORKER_TYPE_OVERRIDE" if !only(|c| c.is_ascii_alphanumeric() || c == '-') => {
            Some("contains invalid characters (allowed: letters, digits, '-')")
        }
        _ => None,
    }
}

/// `^[^@]+@[^@]+\.[^@]+$`.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    let Some((name, tld)) = domain.rsplit_once('.') else { return false };
    !local.is_empty() && !name.is_empty() && !tld.is_empty() && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §9.1 item 7, and edge cases.
    #[test]
    fn semantic_rules() {
        let cases: [(&str, Option<&str>); 12] = [
            ("PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet\"\n", Some("must end with '.git'")),
            ("PUPPET_REPO=\"ftp://github.com/mozilla-platform-ops/ronin_puppet.git\"\n", Some("valid git URL")),
            ("PUPPET_REPO=\"git@github.com:mozilla-platform-ops/ronin_puppet.git\"\n", None),
            ("PUPPET_BRANCH=\"feature branch with spaces\"\n", Some("invalid characters")),
            ("PUPPET_BRANCH=\"feature/RELOPS-123_test-branch\"\n", None),
            ("PUPPET_MAIL=\"not-an-email\"\n", Some("valid email")),
            ("PUPPET_MAIL=\"relops@mozilla.com\"\n", None),
            ("WORKER_TYPE_OVERRIDE='invalid value with spaces!'\n", Some("invalid characters")),
            ("# WORKER_TYPE_OVERRIDE='invalid value with spaces!'\n", None),
            ("WORKER_TYPE_OVERRIDE='gecko-t-linux-talos-1804-staging'\n", None),
            ("PUPPET_REPO=\"https://github.com/aerickson/ronin_puppet.git\"\n", None),
            ("PUPPET_BRANCH=unquoted value\n", None),
        ];
        for (text, expected) in cases {
            match (validate(text.as_bytes()), expected) {
                (Ok(()), None) => {}
                (Err(err), Some(rule)) => assert!(err.to_string().contains(rule), "{text:?}: {err}"),
                (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn violations_name_their_lines() {
        let text = "# pr: 1227\nPUPPET_REPO=\"https://x/ronin_puppet.git\"\n  PUPPET_BRANCH=\"bad branch\"\nPUPPET_MAIL=\"x\"\n";
        let err = validate(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: PUPPET_BRANCH contains invalid characters (allowed: letters, digits, '/', '_', '-'); \
             line 4: PUPPET_MAIL must be a valid email address"
        );
    }

    #[test]
    fn non_utf8_names_the_line() {
        assert_eq!(validate(b"A=\"1\"\nB=\"\xff\"\n"), Err(OverrideError::NotUtf8 { line: 2 }));
    }

    #[test]
    fn assignments_found() {
        let text = "PUPPET_BRANCH=\"main\"\n# PUPPET_MAIL=\"x\"\n  WORKER_TYPE_OVERRIDE='pool-1'\nlower=\"x\"\n";
        let found: Vec<_> = quoted_assignments(text).collect();
        assert_eq!(found, [(1, "PUPPET_BRANCH", "main"), (3, "WORKER_TYPE_OVERRIDE", "pool-1")]);
    }
}

/// Why a vault file was refused. Messages never quote the contents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("not UTF-8 (first bad byte on line {line})")]
    NotUtf8 { line: usize },
    #[error("not valid YAML{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    NotYaml { line: Option<usize>, message: String },
}

/// A vault must be UTF-8 YAML (§5.3).
pub fn validate_vault(bytes: &[u8]) -> Result<(), VaultError> {
    let text = std::str::from_utf8(bytes).map_err(|err| VaultError::NotUtf8 {
        line: bytes[..err.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1,
    })?;
    match yaml_serde::from_str::<yaml_serde::Value>(text) {
        Ok(_) => Ok(()),
        Err(err) => Err(VaultError::NotYaml {
            line: err.location().map(|l| l.line()),
            // The parser's own words, without the snippet some versions quote.
            message: err.to_string().lines().next().unwrap_or("unreadable").to_owned(),
        }),
    }
}

#[cfg(test)]
mod vault_tests {
    use super::*;

    #[test]
    fn vaults() {
        assert_eq!(validate_vault(b"secrets:\n  token: abc\n"), Ok(()));
        assert_eq!(validate_vault(b"\xff"), Err(VaultError::NotUtf8 { line: 1 }));
        let err = validate_vault(b"a: 1\nb: [unclosed\n").unwrap_err();
        assert!(matches!(err, VaultError::NotYaml { line: Some(_), .. }), "{err:?}");
        assert!(err.to_string().starts_with("not valid YAML (line "), "{err}");
    }
}
