//! Host arguments and host list files: how an operator names the hosts a command acts on.
//!
//! This owns the MVP's rules (`fleetroll/utils.py`) for telling a host from a list file on the command
//! line, expanding short names (`ms1` → `t-linux64-ms-001.test.releng.mdc1.mozilla.com`), parsing list
//! files with their `# fqdn:` directive, and the small name helpers other modules share (short name,
//! Windows detection, the common domain suffix the monitor strips). Nothing here touches the file
//! system: callers say whether a path is an existing file and pass the text of the files they read.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Appended to a bare name given on the command line, as the MVP's `FQDN_DEFAULT_SUFFIX`: most hosts live
/// there, so `macmini-r8-42` is enough to type.
pub const DEFAULT_FQDN_SUFFIX: &str = ".test.releng.mdc1.mozilla.com";

/// An argument whose last path component ends in this is a host list file, whether or not it exists.
const LIST_SUFFIX: &str = ".list";
const MAX_HOSTNAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// A problem in the text of a host list file; the caller adds the file name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostListError {
    /// Only blank lines and comments: a command over zero hosts is a mistake.
    #[error("no valid hosts found")]
    Empty,
    /// A line that cannot name a host (SSH would fail on it later, one host at a time).
    #[error("line {line}: {text:?} does not look like a hostname or IP address")]
    NotAHost { line: usize, text: String },
    /// A `# fqdn:` directive whose suffix is not a domain name.
    #[error("line {line}: fqdn directive suffix {suffix:?} is not a domain name")]
    BadFqdnSuffix { line: usize, suffix: String },
    /// Two `# fqdn:` directives with different suffixes: the directive applies to the whole file, so
    /// the file cannot mean what it seems to.
    #[error(
        "line {line}: fqdn directive {suffix:?} conflicts with {first:?} on line {first_line}; \
         one suffix applies to the whole file"
    )]
    ConflictingFqdn { line: usize, suffix: String, first_line: usize, first: String },
}

/// A problem with the host arguments of a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostArgError {
    /// Neither a list file nor something that looks like a host (the MVP's message, naming the argument).
    #[error("HOST_OR_FILE does not look like a hostname or IP and file was not found: {0}")]
    NotHostOrFile(String),
    /// No arguments, or only commas and blanks.
    #[error("at least one host or host list file is required")]
    NoHosts,
    /// A list file next to bare hosts: which set was meant is unclear.
    #[error(
        "cannot mix host file {file:?} with hosts ({}): pass either one file or one or more hosts",
        hosts.join(", ")
    )]
    MixedFileAndHosts { file: String, hosts: Vec<String> },
    /// More than one list file.
    #[error("only one host list file may be specified, got {}", files.join(", "))]
    SeveralFiles { files: Vec<String> },
}

/// What the single argument of `gather-host`, `gather-tc`, `gather` and `host-monitor` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostArg {
    /// A host list file; the caller requires it to exist, reads it and calls [`parse_host_list`].
    File(String),
    /// One host, as given (these commands do not expand short names).
    Host(String),
}

/// The hosts of a multi-host command (`host-set-override`, `host-set-vault`, `host-unset-override`,
/// `host-run-puppet`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedHosts {
    /// One host list file; the caller reads it and calls [`parse_host_list`].
    File(String),
    /// Hosts from the command line, expanded and without duplicates, in the order given.
    Hosts {
        hosts: Vec<String>,
        /// `(as given, expanded)` for each name that expansion changed, so the CLI can print
        /// `Expanding X → Y`.
        expansions: Vec<(String, String)>,
    },
}

impl ResolvedHosts {
    /// Batch mode (summary output, `--confirm` needed to act): a file was given, or more than one host.
    pub fn is_batch(&self) -> bool {
        match self {
            ResolvedHosts::File(_) => true,
            ResolvedHosts::Hosts { hosts, .. } => hosts.len() > 1,
        }
    }
}

/// Parses the text of a host list file into hosts, in file order.
///
/// - One host per line; lines are trimmed (CRLF and CR line endings too, and a leading BOM is dropped).
/// - Blank lines and lines starting with `#` are ignored. Text from a `#` on a host line is a trailing
///   comment (`host1  # canary`) and is dropped too; `#` cannot occur in a host name. (The MVP kept such a
///   line whole, which then failed over SSH.)
/// - `# fqdn: .suffix` (leading dot optional, key case-insensitive, whitespace around `:` tolerated)
///   appends the suffix to every host without a dot, **anywhere in the file**, before or after the
///   directive, as the MVP does. Generated lists repeat the same directive above each group; that is
///   fine. Two directives with different suffixes are an error, since the MVP would silently apply the
///   last one to the whole file. IPv6 addresses (they contain `:`) never get the suffix.
/// - Each host line must look like a host ([`looks_like_host`]), or the error names the line.
/// - Duplicates (after the suffix is applied) are dropped, keeping the first: a host listed twice would
///   otherwise be changed twice, concurrently.
/// - No hosts at all is an error.
pub fn parse_host_list(text: &str) -> Result<Vec<String>, HostListError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut fqdn: Option<(usize, String)> = None;
    let mut hosts = Vec::new();
    for (index, raw) in split_lines(text).enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some(value) = fqdn_directive(comment) {
                let suffix = normalize_fqdn_suffix(line, value)?;
                match &fqdn {
                    None => fqdn = Some((line, suffix)),
                    Some((_, first)) if first.eq_ignore_ascii_case(&suffix) => {}
                    Some((first_line, first)) => {
                        return Err(HostListError::ConflictingFqdn {
                            line,
                            suffix,
                            first_line: *first_line,
                            first: first.clone(),
                        });
                    }
                }
            }
            continue;
        }
        let host = trimmed.split_once('#').map_or(trimmed, |(host, _comment)| host.trim_end());
        if host.is_empty() {
            continue;
        }
        if !looks_like_host(host) {
            return Err(HostListError::NotAHost { line, text: host.to_owned() });
        }
        hosts.push(host.to_owned());
    }
    if let Some((_, suffix)) = &fqdn {
        for host in hosts.iter_mut().filter(|host| !host.contains('.') && !host.contains(':')) {
            host.push_str(suffix);
        }
    }
    let hosts = dedupe(hosts);
    if hosts.is_empty() {
        return Err(HostListError::Empty);
    }
    Ok(hosts)
}

/// Lines split at `\n`, `\r\n` or a lone `\r` (Python's universal newlines, which the MVP read with).
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'))
}

/// The suffix of a `fqdn:` directive, given the text after `#`; `None` for any other comment.
fn fqdn_directive(comment: &str) -> Option<&str> {
    let rest = comment.trim_start();
    let key = rest.get(..4)?;
    if !key.eq_ignore_ascii_case("fqdn") {
        return None;
    }
    let value = rest[4..].trim_start().strip_prefix(':')?;
    // Like the MVP's `(\S+)`: the first word; anything after it is ignored.
    value.split_whitespace().next()
}

/// `example.com` or `.example.com` → `.example.com`, if it is a domain name.
fn normalize_fqdn_suffix(line: usize, value: &str) -> Result<String, HostListError> {
    let bare = value.strip_prefix('.').unwrap_or(value);
    if !is_hostname(bare) {
        return Err(HostListError::BadFqdnSuffix { line, suffix: value.to_owned() });
    }
    Ok(format!(".{bare}"))
}

/// `hosts` without repeats, first occurrence kept.
fn dedupe(hosts: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    hosts.into_iter().filter(|host| seen.insert(host.clone())).collect()
}

/// Whether `s` can name a host: a hostname, IPv4 or IPv6 address, or `[IPv6]`, optionally `user@…`.
///
/// Hostnames follow RFC 1123 loosely: at most 253 characters, dot-separated labels of 1–63 ASCII letters,
/// digits and hyphens that neither start nor end with a hyphen, no trailing dot. As in the MVP, the part
/// before the last `@` is not checked, and brackets may also hold a hostname. IPv6 may carry a `%scope`.
pub fn looks_like_host(s: &str) -> bool {
    let host = strip_user(s);
    if host.is_empty() {
        return false;
    }
    let host = host.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')).unwrap_or(host);
    is_ip_address(host) || is_hostname(host)
}

/// `user@host` → `host` (split at the last `@`, as `looks_like_host` does); anything else unchanged.
fn strip_user(s: &str) -> &str {
    s.rsplit_once('@').map_or(s, |(_user, host)| host)
}

fn is_ip_address(s: &str) -> bool {
    if s.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    // Python's `ipaddress` accepts a scope on IPv6 (`fe80::1%eth0`): non-empty and without another `%`.
    let addr = match s.split_once('%') {
        Some((_addr, scope)) if scope.is_empty() || scope.contains('%') => return false,
        Some((addr, _scope)) => addr,
        None => s,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_HOSTNAME_LEN && s.split('.').all(is_label)
}

fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.len() <= MAX_LABEL_LEN
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// Whether `path` ends in `.list` the way Python's `Path(path).suffix == ".list"` sees it.
fn has_list_suffix(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rfind('.').is_some_and(|dot| dot > 0 && &name[dot..] == LIST_SUFFIX)
}

fn is_host_file(arg: &str, is_existing_file: &impl Fn(&str) -> bool) -> bool {
    has_list_suffix(arg) || is_existing_file(arg)
}

/// Classifies the argument of a single-argument command.
///
/// A file if it ends in `.list` (the caller then requires it to exist, reporting "host list file not
/// found") or `is_existing_file` says it is one; otherwise a host if it looks like one; otherwise an
/// error. An existing file wins over a host-like name, as in the MVP. The argument is not trimmed or
/// expanded.
pub fn classify_single_arg(arg: &str, is_existing_file: bool) -> Result<HostArg, HostArgError> {
    if has_list_suffix(arg) || is_existing_file {
        Ok(HostArg::File(arg.to_owned()))
    } else if looks_like_host(arg) {
        Ok(HostArg::Host(arg.to_owned()))
    } else {
        Err(HostArgError::NotHostOrFile(arg.to_owned()))
    }
}

/// Expands a short host name given on the command line to a fully qualified one.
///
/// A name containing a dot passes through; so does an IPv6 address (it contains `:`), which the MVP
/// would have suffixed. `ms-?N` (case-insensitive, N digits) becomes `t-linux64-ms-%03d` (the moonshot
/// hosts); then a name without a dot gets [`DEFAULT_FQDN_SUFFIX`].
pub fn expand_hostname(name: &str) -> String {
    if name.contains('.') || name.contains(':') {
        return name.to_owned();
    }
    match moonshot_number(name) {
        Some(number) => format!("t-linux64-ms-{number:0>3}{DEFAULT_FQDN_SUFFIX}"),
        None => format!("{name}{DEFAULT_FQDN_SUFFIX}"),
    }
}

/// For `ms7`, `MS-007`, …: the number without leading zeros (`"7"`; `""` for zero), so that any number
/// of digits works without overflow.
fn moonshot_number(name: &str) -> Option<&str> {
    let prefix = name.get(..2)?;
    if !prefix.eq_ignore_ascii_case("ms") {
        return None;
    }
    let digits = name[2..].strip_prefix('-').unwrap_or(&name[2..]);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.trim_start_matches('0'))
}

/// Resolves the arguments of a multi-host command.
///
/// Each argument may hold several comma-separated hosts (`ms001,ms003`); pieces are trimmed and empty
/// pieces dropped. A piece is a list file if it ends in `.list` or `is_existing_file` says so. At most one
/// file may be given, and never together with hosts; the file is returned for the caller to read and
/// parse. Otherwise every piece must look like a host; each is expanded with [`expand_hostname`], and
/// duplicates after expansion are dropped (the same host twice would be changed twice, concurrently).
pub fn resolve_host_args(
    args: &[&str],
    is_existing_file: impl Fn(&str) -> bool,
) -> Result<ResolvedHosts, HostArgError> {
    let pieces: Vec<&str> =
        args.iter().flat_map(|arg| arg.split(',')).map(str::trim).filter(|piece| !piece.is_empty()).collect();
    if pieces.is_empty() {
        return Err(HostArgError::NoHosts);
    }
    let (files, names): (Vec<&str>, Vec<&str>) =
        pieces.iter().partition(|piece| is_host_file(piece, &is_existing_file));
    match (files.as_slice(), names.is_empty()) {
        ([file, ..], false) => {
            return Err(HostArgError::MixedFileAndHosts {
                file: (*file).to_owned(),
                hosts: names.iter().map(|name| (*name).to_owned()).collect(),
            });
        }
        ([file], true) => return Ok(ResolvedHosts::File((*file).to_owned())),
        ([_, _, ..], true) => {
            return Err(HostArgError::SeveralFiles { files: files.iter().map(|file| (*file).to_owned()).collect() });
        }
        ([], _) => {}
    }
    let mut hosts = Vec::with_capacity(names.len());
    let mut expansions: Vec<(String, String)> = Vec::new();
    for name in names {
        if !looks_like_host(name) {
            return Err(HostArgError::NotHostOrFile(name.to_owned()));
        }
        let expanded = expand_hostname(name);
        if expanded != name && !expansions.iter().any(|(given, _)| given == name) {
            expansions.push((name.to_owned(), expanded.clone()));
        }
        hosts.push(expanded);
    }
    Ok(ResolvedHosts::Hosts { hosts: dedupe(hosts), expansions })
}

/// The longest domain suffix, in whole labels and starting with a dot, that all `hosts` share; the
/// monitor strips it from the HOST column and shows it once in its header.
///
/// The first label (the host's own name) is never part of it, so no host is stripped to nothing. `None`
/// when there are no hosts, a host has no dot, nothing is shared, or a host is an IPv4 address (the
/// MVP would have "stripped" `.0.1` from `10.0.0.1` and `10.1.0.1`, showing both as `10`).
pub fn detect_common_fqdn_suffix(hosts: &[&str]) -> Option<String> {
    if hosts.iter().any(|host| host.parse::<Ipv4Addr>().is_ok()) {
        return None;
    }
    let mut domains = hosts.iter().map(|host| host.split_once('.').map(|(_name, domain)| domain));
    // Labels of the first host's domain, last label first.
    let reference: Vec<&str> = domains.next()??.rsplit('.').collect();
    let mut common = reference.len();
    for domain in domains {
        common = reference.iter().take(common).zip(domain?.rsplit('.')).take_while(|(a, b)| **a == *b).count();
        if common == 0 {
            return None;
        }
    }
    let labels: Vec<&str> = reference[..common].iter().rev().copied().collect();
    Some(format!(".{}", labels.join(".")))
}

/// The host's own name: up to the first dot, after any `user@` (how Taskcluster names workers).
pub fn short_name(host: &str) -> &str {
    let host = strip_user(host);
    host.split_once('.').map_or(host, |(name, _domain)| name)
}

/// A host or worker name in ASCII lower case, for matching names the way
/// the inventory and Taskcluster do (ignoring case). Names nearly always
/// are lower case already, and are then not copied.
pub fn lowercase_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Whether `host` is a Windows host, which needs a different audit script and SSH user: all current ones
/// live under `wintest2.releng.mdc1.mozilla.com`, so the MVP looks for `wintest` (case-sensitive) after
/// any `user@`.
pub fn is_windows_host(host: &str) -> bool {
    strip_user(host).contains("wintest")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn host_lists() {
        let cases: &[(&str, &str, &[&str])] = &[
            // Acceptance item 10.
            ("directive without dot", "# fqdn: example.com\nhost1\n", &["host1.example.com"]),
            (
                "directive, short and full hosts",
                "# fqdn: .example.com\nshorthost\nfull.other.com",
                &["shorthost.example.com", "full.other.com"],
            ),
            // The MVP's test_utils.py cases.
            ("plain", "host1.example.com\nhost2.example.com\n", &["host1.example.com", "host2.example.com"]),
            ("comments", "# comment\nhost1\n# another comment\nhost2\n", &["host1", "host2"]),
            ("blank lines", "host1\n\n\nhost2\n", &["host1", "host2"]),
            ("whitespace", "  host1  \n  host2  \n", &["host1", "host2"]),
            ("no final newline", "host1\nhost2", &["host1", "host2"]),
            (
                "directive, short hosts",
                "# fqdn: .example.com\nhost1\nhost2\n",
                &["host1.example.com", "host2.example.com"],
            ),
            ("directive, full hosts", "# fqdn: .example.com\nhost1.other.com\n", &["host1.other.com"]),
            ("no directive", "host1\nhost2.example.com\n", &["host1", "host2.example.com"]),
            // The directive applies to the whole file, before and after it.
            (
                "directive after hosts",
                "host1\n# fqdn: .example.com\nhost2\n",
                &["host1.example.com", "host2.example.com"],
            ),
            ("directive repeated per group", "# fqdn: a.com\nh1\n\n# fqdn: .a.com\nh2\n", &["h1.a.com", "h2.a.com"]),
            ("directive spelling", "#FQDN : example.com trailing words\nh1\n", &["h1.example.com"]),
            ("directive indented", "   #\tfqdn:\t.example.com  \nh1\n", &["h1.example.com"]),
            ("directive without value is a comment", "# fqdn:\nh1\n", &["h1"]),
            ("other keys are comments", "# fqdnx: example.com\n# pool: win11\nh1\n", &["h1"]),
            // Line endings and encoding.
            ("crlf", "# fqdn: example.com\r\nhost1\r\nhost2\r\n", &["host1.example.com", "host2.example.com"]),
            ("lone cr", "host1\rhost2\r", &["host1", "host2"]),
            ("bom", "\u{feff}host1\n", &["host1"]),
            // Trailing comments are dropped.
            ("trailing comment", "host1   # canary\nhost2#x\n", &["host1", "host2"]),
            // Duplicates go, first kept, also when the suffix makes them equal.
            ("duplicates", "b\na\nb\n", &["b", "a"]),
            ("duplicates after suffix", "# fqdn: e.com\nh1\nh1.e.com\nh2\n", &["h1.e.com", "h2.e.com"]),
            // Users and addresses.
            ("user@host gets the suffix", "# fqdn: e.com\nroot@h1\n", &["root@h1.e.com"]),
            (
                "addresses keep their form",
                "# fqdn: e.com\n10.0.0.1\n2001:db8::1\n[2001:db8::2]\nroot@[::1]\n",
                &["10.0.0.1", "2001:db8::1", "[2001:db8::2]", "root@[::1]"],
            ),
        ];
        for (name, text, expected) in cases {
            assert_eq!(parse_host_list(text), Ok(strings(expected)), "{name}");
        }
    }

    #[test]
    fn bad_host_lists() {
        let cases = [
            ("", "no valid hosts found"),
            ("\n  \n\r\n", "no valid hosts found"),
            ("# only comments\n# no hosts\n", "no valid hosts found"),
            ("# fqdn: example.com\n", "no valid hosts found"),
            ("# x\n# y\n   # host1", "no valid hosts found"),
            ("host1\nnot a host\n", "line 2: \"not a host\" does not look like a hostname or IP address"),
            ("host1\r\n\r\n-bad\r\n", "line 3: \"-bad\" does not look like a hostname or IP address"),
            ("host_1 # underscore\n", "line 1: \"host_1\" does not look like a hostname or IP address"),
            ("# fqdn: ..example.com\nh1\n", "line 1: fqdn directive suffix \"..example.com\" is not a domain name"),
            ("# fqdn: .\nh1\n", "line 1: fqdn directive suffix \".\" is not a domain name"),
            (
                "# fqdn: a.com\nh1\n# fqdn: b.com\nh2\n",
                "line 3: fqdn directive \".b.com\" conflicts with \".a.com\" on line 1; \
                 one suffix applies to the whole file",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(parse_host_list(text).unwrap_err().to_string(), message, "{text:?}");
        }
    }

    #[test]
    fn host_likeness() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        let name255 = [label63.as_str(); 4].join(".");
        let name253 = format!("{}.{}", [label63.as_str(); 3].join("."), "c".repeat(61));
        let name254 = format!("{}.{}", [label63.as_str(); 3].join("."), "c".repeat(62));
        let cases = [
            // The MVP's test_utils.py cases.
            ("server.example.com", true),
            ("server1", true),
            ("root@server.example.com", true),
            ("192.168.1.10", true),
            ("2001:db8::1", true),
            ("[2001:db8::1]", true),
            ("not a host", false),
            // More.
            ("t-linux64-ms-001.test.releng.mdc1.mozilla.com", true),
            ("HOST.Example.COM", true),
            ("a", true),
            ("1-2", true),
            ("::1", true),
            ("::ffff:192.0.2.1", true),
            ("fe80::1%eth0", true),
            ("fe80::1%", false),
            ("fe80::1%a%b", false),
            ("[::1]", true),
            ("root@[::1]", true),
            ("[host.example.com]", true),
            ("a@b@host", true),
            ("@host", true),
            (label63.as_str(), true),
            (label64.as_str(), false),
            (name253.as_str(), true),
            (name254.as_str(), false),
            (name255.as_str(), false),
            ("", false),
            ("root@", false),
            ("[", false),
            ("[]", false),
            ("-host", false),
            ("host-", false),
            ("host.-x", false),
            ("host.", false),
            (".host", false),
            ("a..b", false),
            ("host_name", false),
            ("hôst", false),
            ("not/a/host", false),
            ("hosts.txt ", false),
            ("2001:db8::g", false),
            ("[2001:db8::1", false),
        ];
        for (input, expected) in cases {
            assert_eq!(looks_like_host(input), expected, "{input:?}");
        }
    }

    #[test]
    fn single_args() {
        let cases = [
            ("host.example.com", false, Ok(HostArg::Host("host.example.com".into()))),
            ("root@host", false, Ok(HostArg::Host("root@host".into()))),
            ("2001:db8::1", false, Ok(HostArg::Host("2001:db8::1".into()))),
            // A short name stays short: single-argument commands do not expand.
            ("ms1", false, Ok(HostArg::Host("ms1".into()))),
            // `.list` is a file whether or not it exists; the caller checks.
            ("missing.list", false, Ok(HostArg::File("missing.list".into()))),
            ("dir/hosts.list", false, Ok(HostArg::File("dir/hosts.list".into()))),
            ("dir/hosts.list/", false, Ok(HostArg::File("dir/hosts.list/".into()))),
            // An existing file wins, even over a host-like name.
            ("hosts.txt", true, Ok(HostArg::File("hosts.txt".into()))),
            ("hosts", true, Ok(HostArg::File("hosts".into()))),
            ("not/a/host", true, Ok(HostArg::File("not/a/host".into()))),
            // A host-like name that is not a file: a host (`missing.example.com`, `hosts.txt`).
            ("missing.example.com", false, Ok(HostArg::Host("missing.example.com".into()))),
            ("hosts.txt", false, Ok(HostArg::Host("hosts.txt".into()))),
            // `.list` alone is a dot file, not a list (Python's `Path(".list").suffix == ""`).
            (".list", false, Err(HostArgError::NotHostOrFile(".list".into()))),
            ("not/a/host", false, Err(HostArgError::NotHostOrFile("not/a/host".into()))),
            ("", false, Err(HostArgError::NotHostOrFile(String::new()))),
        ];
        for (arg, exists, expected) in cases {
            assert_eq!(classify_single_arg(arg, exists), expected, "{arg:?} exists={exists}");
        }
        assert_eq!(
            classify_single_arg("not/a/host", false).unwrap_err().to_string(),
            "HOST_OR_FILE does not look like a hostname or IP and file was not found: not/a/host"
        );
    }

    #[test]
    fn expansions() {
        let cases = [
            // Acceptance item 11 and the MVP's test_utils.py cases.
            ("ms1", "t-linux64-ms-001.test.releng.mdc1.mozilla.com"),
            ("ms001", "t-linux64-ms-001.test.releng.mdc1.mozilla.com"),
            ("ms239", "t-linux64-ms-239.test.releng.mdc1.mozilla.com"),
            ("ms-101", "t-linux64-ms-101.test.releng.mdc1.mozilla.com"),
            ("macmini-r8-42", "macmini-r8-42.test.releng.mdc1.mozilla.com"),
            ("macmini-m4-60", "macmini-m4-60.test.releng.mdc1.mozilla.com"),
            ("unknown-host-999", "unknown-host-999.test.releng.mdc1.mozilla.com"),
            ("t-linux64-ms-239", "t-linux64-ms-239.test.releng.mdc1.mozilla.com"),
            ("t-linux64-ms-239.test.releng.mdc1.mozilla.com", "t-linux64-ms-239.test.releng.mdc1.mozilla.com"),
            ("somehost.example.com", "somehost.example.com"),
            // More.
            ("MS7", "t-linux64-ms-007.test.releng.mdc1.mozilla.com"),
            ("Ms-0", "t-linux64-ms-000.test.releng.mdc1.mozilla.com"),
            ("ms0042", "t-linux64-ms-042.test.releng.mdc1.mozilla.com"),
            ("ms1234", "t-linux64-ms-1234.test.releng.mdc1.mozilla.com"),
            ("ms99999999999999999999999", "t-linux64-ms-99999999999999999999999.test.releng.mdc1.mozilla.com"),
            ("ms", "ms.test.releng.mdc1.mozilla.com"),
            ("ms-", "ms-.test.releng.mdc1.mozilla.com"),
            ("ms--1", "ms--1.test.releng.mdc1.mozilla.com"),
            ("ms1a", "ms1a.test.releng.mdc1.mozilla.com"),
            ("xms1", "xms1.test.releng.mdc1.mozilla.com"),
            ("root@ms1", "root@ms1.test.releng.mdc1.mozilla.com"),
            ("10.0.0.1", "10.0.0.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[::1]", "[::1]"),
        ];
        for (name, expected) in cases {
            assert_eq!(expand_hostname(name), expected, "{name:?}");
        }
    }

    #[test]
    fn resolved_host_args() {
        let ms = |n: &str| format!("t-linux64-ms-{n}.test.releng.mdc1.mozilla.com");
        let exists = |path: &str| ["hosts.txt", "hosts"].contains(&path);
        let hosts = |hosts: Vec<String>, expansions: Vec<(&str, String)>| ResolvedHosts::Hosts {
            hosts,
            expansions: expansions.into_iter().map(|(given, expanded)| (given.to_owned(), expanded)).collect(),
        };
        let cases: Vec<(&[&str], ResolvedHosts, bool)> = vec![
            // Acceptance item 11 and the MVP's test_utils.py cases.
            (
                &["ms001,ms003,ms004"],
                hosts(
                    vec![ms("001"), ms("003"), ms("004")],
                    vec![("ms001", ms("001")), ("ms003", ms("003")), ("ms004", ms("004"))],
                ),
                true,
            ),
            (&["host.example.com"], hosts(strings(&["host.example.com"]), vec![]), false),
            (&["a.example.com", "b.example.com"], hosts(strings(&["a.example.com", "b.example.com"]), vec![]), true),
            (
                &["macmini-r8-42"],
                hosts(
                    strings(&["macmini-r8-42.test.releng.mdc1.mozilla.com"]),
                    vec![("macmini-r8-42", "macmini-r8-42.test.releng.mdc1.mozilla.com".into())],
                ),
                false,
            ),
            (&["/tmp/x/hosts.list"], ResolvedHosts::File("/tmp/x/hosts.list".into()), true),
            // An existing file without `.list`.
            (&["hosts.txt"], ResolvedHosts::File("hosts.txt".into()), true),
            (&["hosts,"], ResolvedHosts::File("hosts".into()), true),
            // Commas, blanks and duplicates.
            (
                &["ms1, ms2,", ",a.b"],
                hosts(vec![ms("001"), ms("002"), "a.b".into()], vec![("ms1", ms("001")), ("ms2", ms("002"))]),
                true,
            ),
            (&["ms1,ms001,ms1"], hosts(vec![ms("001")], vec![("ms1", ms("001")), ("ms001", ms("001"))]), false),
            (&["a.b", "a.b"], hosts(strings(&["a.b"]), vec![]), false),
            (
                &["root@ms1", "10.0.0.1"],
                hosts(
                    vec!["root@ms1.test.releng.mdc1.mozilla.com".into(), "10.0.0.1".into()],
                    vec![("root@ms1", "root@ms1.test.releng.mdc1.mozilla.com".into())],
                ),
                true,
            ),
        ];
        for (args, expected, batch) in cases {
            let resolved = resolve_host_args(args, exists).unwrap();
            assert_eq!(resolved, expected, "{args:?}");
            assert_eq!(resolved.is_batch(), batch, "{args:?}");
        }
    }

    #[test]
    fn bad_host_args() {
        let exists = |path: &str| path == "hosts.txt";
        let cases: &[(&[&str], &str)] = &[
            (&[], "at least one host or host list file is required"),
            (&[",", " , "], "at least one host or host list file is required"),
            (
                &["hosts.list", "host2.example.com"],
                "cannot mix host file \"hosts.list\" with hosts (host2.example.com): \
                 pass either one file or one or more hosts",
            ),
            (
                &["ms1,hosts.txt,ms2"],
                "cannot mix host file \"hosts.txt\" with hosts (ms1, ms2): pass either one file or one or more hosts",
            ),
            (&["a.list", "b.list"], "only one host list file may be specified, got a.list, b.list"),
            (&["a.list,hosts.txt"], "only one host list file may be specified, got a.list, hosts.txt"),
            (
                &["ms1", "not/a/host"],
                "HOST_OR_FILE does not look like a hostname or IP and file was not found: not/a/host",
            ),
        ];
        for (args, message) in cases {
            assert_eq!(resolve_host_args(args, exists).unwrap_err().to_string(), *message, "{args:?}");
        }
    }

    #[test]
    fn common_fqdn_suffixes() {
        let cases: &[(&[&str], Option<&str>)] = &[
            // Acceptance item 12 and the MVP's test_monitor_render.py cases.
            (
                &["host1.test.releng.mdc1.mozilla.com", "host2.wintest2.releng.mdc1.mozilla.com"],
                Some(".releng.mdc1.mozilla.com"),
            ),
            (&["host1.example.com", "host2"], None),
            (&["host1.example.com", "host2.example.com", "host3.example.com"], Some(".example.com")),
            (&["host1.example.com", "host2.other.org"], None),
            (&["host1", "host2", "host3"], None),
            (&[], None),
            (&["host.example.com"], Some(".example.com")),
            (
                &["host1.test.releng.mdc1.mozilla.com", "host2.test.releng.mdc1.mozilla.com"],
                Some(".test.releng.mdc1.mozilla.com"),
            ),
            // More: whole labels only, never the host's own name, order does not matter.
            (&["a.xexample.com", "b.example.com"], Some(".com")),
            (&["a.b.example.com", "b.example.com"], Some(".example.com")),
            (&["b.example.com", "a.b.example.com"], Some(".example.com")),
            (&["example.com", "a.example.com"], Some(".com")),
            (&["host.example.com", "host.example.com"], Some(".example.com")),
            (&["root@h1.example.com", "h2.example.com"], Some(".example.com")),
            (&["10.0.0.1", "10.1.0.1"], None),
            (&["h1.example.com", "10.1.0.1"], None),
        ];
        for (hosts, expected) in cases {
            assert_eq!(detect_common_fqdn_suffix(hosts).as_deref(), *expected, "{hosts:?}");
        }
    }

    #[test]
    fn short_names_and_windows() {
        let cases = [
            ("t-linux64-ms-001.test.releng.mdc1.mozilla.com", "t-linux64-ms-001", false),
            ("nuc13-035.wintest2.releng.mdc1.mozilla.com", "nuc13-035", true),
            ("administrator@nuc13-035.wintest2.releng.mdc1.mozilla.com", "nuc13-035", true),
            ("wintest@host.example.com", "host", false),
            ("host.WINTEST2.example.com", "host", false),
            ("macmini-r8-42", "macmini-r8-42", false),
            ("root@macmini-r8-42", "macmini-r8-42", false),
            ("", "", false),
        ];
        for (host, short, windows) in cases {
            assert_eq!(short_name(host), short, "{host:?}");
            assert_eq!(is_windows_host(host), windows, "{host:?}");
        }
    }
}
