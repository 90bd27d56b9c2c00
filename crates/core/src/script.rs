//! The remote audit script: what runs on each host to report its state.
//!
//! One `sh` script for Linux and macOS (chosen at run time by `uname -s`)
//! and a PowerShell script for Windows. Both print the `KEY=value` lines
//! that [`crate::gather`] reads. Paths come from a [`Profile`], so a site
//! whose hosts keep files elsewhere configures them instead of patching code.
//!
//! The Unix script sends everything over the one connection it runs on: the
//! vault's contents are included (base64) only when its SHA-256 is not among
//! those the caller already holds, so a fleet audit costs one SSH handshake
//! per host.

use serde::Deserialize;

use crate::gather::{DONE_LINE, OVERRIDE_SENTINEL};

/// Where a host keeps the files the audit reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OsPaths {
    pub role: String,
    #[serde(rename = "override")]
    pub override_file: String,
    pub vault: String,
    pub puppet_state: String,
}

/// Paths per operating system. The defaults are the MVP's.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    pub linux: OsPaths,
    pub darwin: OsPaths,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            linux: OsPaths {
                role: "/etc/puppet_role".into(),
                override_file: "/etc/puppet/ronin_settings".into(),
                vault: "/root/vault.yaml".into(),
                puppet_state: "/etc/puppet/last_run_metadata.json".into(),
            },
            darwin: OsPaths {
                role: "/etc/puppet_role".into(),
                override_file: "/opt/puppet_environments/ronin_settings".into(),
                vault: "/var/root/vault.yaml".into(),
                puppet_state: "/opt/puppet_environments/last_run_metadata.json".into(),
            },
        }
    }
}

/// What the script should send besides the host's facts.
#[derive(Clone, Debug, Default)]
pub struct ScriptOptions {
    /// Send the override file's contents after the sentinel.
    pub with_content: bool,
    /// SHA-256s of vaults already stored locally; any other vault is sent.
    /// Values that are not 64 lowercase hex digits are ignored.
    pub known_vault_shas: Vec<String>,
}

/// Quotes `text` for `sh` (single quotes; embedded quotes closed and escaped).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The Unix (Linux and macOS) audit script.
pub fn unix_script(profile: &Profile, options: &ScriptOptions) -> String {
    let known: Vec<&str> = options
        .known_vault_shas
        .iter()
        .map(String::as_str)
        .filter(|sha| sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .collect();
    let paths = |p: &OsPaths| {
        format!(
            "role={} ovr={} vlt={} state={}",
            shell_quote(&p.role),
            shell_quote(&p.override_file),
            shell_quote(&p.vault),
            shell_quote(&p.puppet_state)
        )
    };
    let content = if options.with_content {
        format!("if [ \"$ovr_present\" = 1 ]; then echo '{OVERRIDE_SENTINEL}'; $S cat \"$ovr\"; fi\n")
    } else {
        String::new()
    };
    format!(
        r#"set -u
S='sudo -n'; [ "$(id -u)" = 0 ] && S=''
known_vaults=' {known} '
os=$(uname -s)
echo "OS_TYPE=$os"
if [ "$os" = Darwin ]; then
  {darwin}
  boot=$(sysctl -n kern.boottime 2>/dev/null | awk '{{print $4}}' | tr -d ,)
  [ -n "$boot" ] && echo "UPTIME_S=$(( $(date +%s) - boot ))"
else
  {linux}
  [ -r /proc/uptime ] && echo "UPTIME_S=$(cut -d. -f1 /proc/uptime)"
fi
sha() {{ if command -v sha256sum >/dev/null 2>&1; then $S sha256sum "$1"; else $S shasum -a 256 "$1"; fi | awk '{{print $1}}'; }}
meta() {{
  m=$($S stat -c '%a %U %G %s %Y' "$2" 2>/dev/null) || m=$($S stat -f '%p %Su %Sg %z %m' "$2" 2>/dev/null) || return 0
  set -- "$1" $m
  mode=$2; [ ${{#mode}} -gt 4 ] && mode=$(printf '%s' "$mode" | tail -c 4)
  echo "$1_MODE=$mode"; echo "$1_OWNER=$3"; echo "$1_GROUP=$4"; echo "$1_SIZE=$5"; echo "$1_MTIME=$6"
}}
if $S test -f "$role"; then
  echo ROLE_PRESENT=1
  echo "ROLE=$($S cat "$role" | tr '\n\t' '  ' | tr -s ' ' | sed 's/^ //; s/ $//')"
else
  echo ROLE_PRESENT=0
fi
if $S test -f "$vlt"; then
  echo VLT_PRESENT=1
  meta VLT "$vlt"
  v=$(sha "$vlt")
  if [ -n "$v" ]; then
    echo "VLT_SHA256=$v"
    case "$known_vaults" in *" $v "*) ;; *) echo "VLT_CONTENT_B64=$($S cat "$vlt" | base64 | tr -d '\n')" ;; esac
  fi
else
  echo VLT_PRESENT=0
fi
if $S test -f "$state"; then
  echo "PP_STATE_JSON=$($S cat "$state" | base64 | tr -d '\n')"
elif $S test -f /opt/puppetlabs/puppet/cache/state/last_run_report.yaml; then
  r=/opt/puppetlabs/puppet/cache/state/last_run_report.yaml
  echo "PP_REPORT_TIME=$($S grep -m1 '^time:' "$r" | sed 's/^time:[[:space:]]*//')"
  echo "PP_REPORT_STATUS=$($S grep -m1 '^status:' "$r" | sed 's/^status:[[:space:]]*//')"
else
  for s in /opt/puppetlabs/puppet/cache/state/last_run_summary.yaml /var/lib/puppet/state/last_run_summary.yaml; do
    if $S test -f "$s"; then
      echo "PP_LAST_RUN_EPOCH=$($S awk '/^time:/{{t=1;next}} t&&/last_run:/{{print $2;exit}}' "$s")"
      f=$($S awk '/^events:/{{e=1;next}} e&&/failure:/{{print $2;exit}}' "$s")
      [ -n "$f" ] && {{ [ "$f" = 0 ] && echo PP_SUCCESS=1 || echo PP_SUCCESS=0; }}
      break
    fi
  done
fi
ovr_present=0
if $S test -f "$ovr"; then
  ovr_present=1
  echo OVERRIDE_PRESENT=1
  meta OVERRIDE "$ovr"
  echo "OVERRIDE_SHA256=$(sha "$ovr")"
else
  echo OVERRIDE_PRESENT=0
fi
echo '{DONE_LINE}'
{content}"#,
        known = known.join(" "),
        darwin = paths(&profile.darwin),
        linux = paths(&profile.linux),
    )
}

/// The remote command for the Unix script: `sh -c '<script>'`.
pub fn unix_command(script: &str) -> String {
    format!("sh -c {}", shell_quote(script))
}

/// The Windows audit script (PowerShell), as in the MVP: the state JSON that
/// the Puppet run writes, collected first if it is missing.
pub fn windows_script() -> String {
    format!(
        r#"$ErrorActionPreference = 'SilentlyContinue'
$state = 'C:\management_scripts\ronin_puppet_run.json'
if (-not (Test-Path $state)) {{ & 'C:\management_scripts\fleetroll_mvp_collect.ps1' | Out-Null }}
Write-Output 'OS_TYPE=Windows'
$json = Get-Content -Raw -Path $state
if ($json) {{
  $role = ($json | ConvertFrom-Json).role
  Write-Output 'ROLE_PRESENT=1'
  Write-Output ('ROLE=' + $role)
  Write-Output ('PP_STATE_JSON=' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json)))
}} else {{
  Write-Output 'ROLE_PRESENT=0'
}}
Write-Output 'VLT_PRESENT=0'
Write-Output 'OVERRIDE_PRESENT=0'
$boot = (Get-CimInstance Win32_OperatingSystem).LastBootUpTime
Write-Output ('UPTIME_S=' + [int]((Get-Date) - $boot).TotalSeconds)
Write-Output '{DONE_LINE}'
"#
    )
}

/// The remote command for the Windows script: `powershell -EncodedCommand`
/// with the script as base64 of UTF-16LE, as PowerShell expects.
pub fn windows_command(script: &str) -> String {
    use base64::Engine as _;
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    format!(
        "powershell -NoProfile -NonInteractive -EncodedCommand {}",
        base64::engine::general_purpose::STANDARD.encode(utf16)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("/etc/it's"), r"'/etc/it'\''s'");
    }

    #[test]
    fn sentinel_only_with_content() {
        let profile = Profile::default();
        let with = unix_script(&profile, &ScriptOptions { with_content: true, known_vault_shas: vec![] });
        let without = unix_script(&profile, &ScriptOptions::default());
        assert!(with.contains(OVERRIDE_SENTINEL));
        assert!(!without.contains(OVERRIDE_SENTINEL));
        assert!(with.trim_end().ends_with("fi"), "the override contents come last");
    }

    #[test]
    fn paths_follow_the_profile() {
        let mut profile = Profile::default();
        profile.linux.override_file = "/opt/puppet_environments/ronin_settings".into();
        let script = unix_script(&profile, &ScriptOptions::default());
        assert!(script.contains("ovr='/opt/puppet_environments/ronin_settings' vlt='/root/vault.yaml'"));
        assert!(script.contains("vlt='/var/root/vault.yaml'"), "macOS keeps its defaults");
    }

    #[test]
    fn only_well_formed_known_shas_reach_the_script() {
        let good = "a".repeat(64);
        let options = ScriptOptions { with_content: false, known_vault_shas: vec![good.clone(), "'; rm -rf /".into()] };
        let script = unix_script(&Profile::default(), &options);
        assert!(script.contains(&format!("known_vaults=' {good} '")));
        assert!(!script.contains("rm -rf"));
    }

    #[test]
    fn windows_command_is_utf16_base64() {
        use base64::Engine as _;
        let command = windows_command("Write-Output 'x'");
        let encoded = command.rsplit(' ').next().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        let units: Vec<u16> = bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "Write-Output 'x'");
    }
}
