//! `fleetroll gather-host`, `show-override` and `show-vault` as an operator
//! runs them, against real sshd test hosts reached through `--ssh-option
//! "-F <ssh_config>"`. Ignored (with the reason) where sshd test hosts
//! cannot run; failing instead with FLEETROLL_REQUIRE_SERVICES=1.

use std::path::Path;
use std::process::{Command, Output};

use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};
use libtest_mimic::Failed;
use serde_json::Value;

const OVERRIDE: &str =
    "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"canary\"\n";
const VAULT: &str = "token: hunter2\n";

fn main() {
    fleetroll_testhosts::run_cases(&[
        ("gather_host_outputs_and_stored_contents", gather_host_outputs_and_stored_contents),
        ("host_changes_validated_dry_run_first_and_audited", host_changes_validated_dry_run_first_and_audited),
    ]);
}

fn fleetroll(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetroll"))
        .env("FLEETROLL_HOME", home)
        .env_remove("FLEETROLL_DATABASE_URL")
        .args(args)
        .output()
        .expect("run fleetroll")
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn check(condition: bool, what: impl Into<String>) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(what.into().into()) }
}

fn gather_host_outputs_and_stored_contents() -> Result<(), Failed> {
    let role = HostFile::new("/etc/puppet_role", "gecko_t_linux_2404_talos\n", 0o644);
    let fleet = Fleet::start(vec![
        HostSpec::new(
            "a.test.example",
            Behaviour::Up,
            vec![
                role.clone(),
                HostFile::new("/etc/puppet/ronin_settings", OVERRIDE, 0o644),
                HostFile::new("/root/vault.yaml", VAULT, 0o600),
            ],
        ),
        HostSpec::new("b.test.example", Behaviour::Up, vec![role]),
        HostSpec::new("c.test.example", Behaviour::Down, vec![]),
    ])?;
    let home = tempfile::tempdir()?;
    let ssh_option = format!("-F {}", fleet.ssh_config().display());
    let base = ["gather-host", "--ssh-option", ssh_option.as_str(), "--connect-timeout", "3"];

    let single = fleetroll(home.path(), &[&base[..], &["a.test.example"]].concat());
    let out = text(&single);
    check(single.status.success(), format!("single host: {out}{}", String::from_utf8_lossy(&single.stderr)))?;
    for part in
        ["Role: gecko_t_linux_2404_talos", "Override: PRESENT mode=644", "PUPPET_BRANCH=\"canary\"", "Vault: PRESENT"]
    {
        check(out.contains(part), format!("{part:?} missing from:\n{out}"))?;
    }
    check(!out.contains("hunter2"), "vault contents are never printed")?;

    let list = home.path().join("hosts.list");
    std::fs::write(&list, "# fqdn: .test.example\na\nb\nc\n")?;
    let batch = fleetroll(home.path(), &[&base[..], &["--json", list.to_str().ok_or("path")?]].concat());
    check(batch.status.code() == Some(1), "a failed host makes the exit code 1")?;
    let report: Value = serde_json::from_slice(&batch.stdout)?;
    check(report["total"] == 3 && report["successful"] == 2 && report["failed"] == 1, report.to_string())?;
    check(report["failed_by_class"]["connection"] == 1, report.to_string())?;
    check(report["results"][2]["error_class"] == "connection", report.to_string())?;
    check(report["unique_overrides"][0]["hosts"] == serde_json::json!(["a.test.example"]), report.to_string())?;

    let quiet = fleetroll(home.path(), &[&base[..], &["-q", list.to_str().ok_or("path")?]].concat());
    check(text(&quiet).starts_with("⚠ WARNING 2/3 hosts successful (1 failed)"), text(&quiet))?;

    // §9.1 item 22: show-override by 2-word human hash prints the stored contents.
    let words = fleetroll_core::humanhash::human_name(OVERRIDE.as_bytes());
    let shown = fleetroll(home.path(), &["show-override", &words]);
    check(shown.status.success() && text(&shown) == OVERRIDE, format!("show-override {words}: {}", text(&shown)))?;
    let sha = fleetroll_core::humanhash::sha256_hex(VAULT.as_bytes());
    let vault = fleetroll(home.path(), &["show-vault", &sha[..10]]);
    check(text(&vault) == VAULT, "show-vault by prefix")?;
    let missing = fleetroll(home.path(), &["show-override", "zulu-zulu"]);
    check(missing.status.code() == Some(2), "an unknown override is an error")?;
    check(String::from_utf8_lossy(&missing.stderr).contains("no stored override matches"), "and says so")?;

    let status: Value = serde_json::from_slice(&fleetroll(home.path(), &["status", "--json"]).stdout)?;
    check(status["rows"]["host_observations"] == 1 + 3 + 3, status.to_string())?;

    // The monitor's rows from what was gathered: the down host shows as such.
    let list_arg = list.to_str().ok_or("path")?;
    let rows: Value =
        serde_json::from_slice(&fleetroll(home.path(), &["host-monitor", list_arg, "--once", "--json"]).stdout)?;
    check(rows["a.test.example"]["role"] == "gecko_t_linux_2404_talos", rows.to_string())?;
    check(
        rows["a.test.example"]["reach"] == "ok" && rows["c.test.example"]["reach"] == "connection",
        rows.to_string(),
    )?;
    let unreachable =
        fleetroll(home.path(), &["host-monitor", list_arg, "--once", "--filter", "reach!=ok", "--hostname-only"]);
    check(text(&unreachable) == "c.test.example\n", text(&unreachable))?;
    let bad = fleetroll(home.path(), &["host-monitor", list_arg, "--once", "--filter", "colour=red"]);
    check(bad.status.code() == Some(2) && String::from_utf8_lossy(&bad.stderr).contains("unknown column"), "bad filter")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn host_changes_validated_dry_run_first_and_audited() -> Result<(), Failed> {
    let fleet = Fleet::start(vec![
        HostSpec::new("fresh.test.example", Behaviour::Up, vec![]),
        HostSpec::new(
            "taken.test.example",
            Behaviour::Up,
            vec![HostFile::new("/etc/puppet/ronin_settings", OVERRIDE, 0o644)],
        ),
    ])?;
    let home = tempfile::tempdir()?;
    let ssh_option = format!("-F {}", fleet.ssh_config().display());
    let ssh = ["--ssh-option", ssh_option.as_str()];
    let on_host = |host: &str, command: &str| -> Result<String, Failed> {
        let output =
            Command::new("ssh").args(fleet.ssh_args()).args(["-o", "BatchMode=yes", host, command]).output()?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let file = |name: &str, contents: &str| -> Result<String, Failed> {
        let path = home.path().join(name);
        std::fs::write(&path, contents)?;
        Ok(path.to_str().ok_or("path")?.to_owned())
    };
    let new = "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"next\"\n";
    let good = file("good.override", new)?;
    let hosts = "fresh.test.example,taken.test.example";

    // Refused before any host is touched.
    let syntax = fleetroll(
        home.path(),
        &[
            &["host-set-override", hosts, "--confirm", "-f"],
            &[file("bad.override", "PUPPET_BRANCH=\"x\n")?.as_str()][..],
            &ssh[..],
        ]
        .concat(),
    );
    check(syntax.status.code() == Some(1) && stderr(&syntax).contains("bash -n"), stderr(&syntax))?;
    let rule = fleetroll(
        home.path(),
        &[
            &["host-set-override", hosts, "--confirm", "-f"],
            &[file("rule.override", "PUPPET_MAIL=\"nobody\"\n")?.as_str()][..],
            &ssh[..],
        ]
        .concat(),
    );
    check(
        rule.status.code() == Some(1) && stderr(&rule).contains("line 1: PUPPET_MAIL must be a valid email address"),
        stderr(&rule),
    )?;
    check(
        on_host("fresh.test.example", "test -e /etc/puppet/ronin_settings || echo none")?.trim() == "none",
        "untouched",
    )?;

    // A dry run by default, single host included.
    let dry = fleetroll(
        home.path(),
        &[&["host-set-override", "fresh.test.example", "-f", good.as_str()][..], &ssh[..]].concat(),
    );
    check(dry.status.success() && text(&dry).contains("DRY RUN: host.set_override on 1 host(s)"), text(&dry))?;
    check(text(&dry).contains("PUPPET_BRANCH=\"next\""), "the preview shows the contents")?;
    check(
        on_host("fresh.test.example", "test -e /etc/puppet/ronin_settings || echo none")?.trim() == "none",
        "dry run",
    )?;

    // The guard: an audited host with an override is refused unless --force.
    fleetroll(home.path(), &[&["gather-host", "taken.test.example"][..], &ssh[..]].concat());
    let guarded = fleetroll(
        home.path(),
        &[&["host-set-override", hosts, "--confirm", "-f", good.as_str()][..], &ssh[..]].concat(),
    );
    check(
        guarded.status.code() == Some(2)
            && stderr(&guarded).contains("Override already exists on 1 host(s): taken.test.example"),
        stderr(&guarded),
    )?;
    let forced = fleetroll(
        home.path(),
        &[
            &["host-set-override", hosts, "--confirm", "--force", "--reason", "canary", "-f", good.as_str()][..],
            &ssh[..],
        ]
        .concat(),
    );
    check(forced.status.success(), format!("{}{}", text(&forced), stderr(&forced)))?;
    check(
        text(&forced).contains("OK taken.test.example written (backup: /etc/puppet/ronin_settings.bak."),
        text(&forced),
    )?;
    check(text(&forced).contains("Audit refreshed for 2 host(s)."), text(&forced))?;
    check(on_host("fresh.test.example", "cat /etc/puppet/ronin_settings")? == new, "installed")?;

    // Already current after the re-audit: skipped unless --ignore-state.
    let again = fleetroll(
        home.path(),
        &[&["host-set-override", "fresh.test.example", "--confirm", "--force", "-f", good.as_str()][..], &ssh[..]]
            .concat(),
    );
    check(text(&again).contains("NO_CHANGE fresh.test.example"), text(&again))?;

    // A vault: mode 0640 on the host, a private local copy, never shown.
    let vault = file("vault.yaml", VAULT)?;
    let set_vault = fleetroll(
        home.path(),
        &[&["host-set-vault", "fresh.test.example", "--confirm", "--json", "-f", vault.as_str()][..], &ssh[..]]
            .concat(),
    );
    check(set_vault.status.success() && !text(&set_vault).contains("hunter2"), text(&set_vault))?;
    check(on_host("fresh.test.example", "stat -c %a /root/vault.yaml")?.trim() == "640", "vault mode")?;

    let unset = fleetroll(
        home.path(),
        &[&["host-unset-override", "taken.test.example", "--confirm", "--no-audit"][..], &ssh[..]].concat(),
    );
    check(text(&unset).contains("OK taken.test.example removed (backup: "), text(&unset))?;

    // Every write is in the audit trail, the chain unbroken, no vault contents.
    let verify: Value = serde_json::from_slice(&fleetroll(home.path(), &["audit-log", "verify", "--json"]).stdout)?;
    check(verify["ok"] == true && verify["records"] == 4, verify.to_string())?;
    let export = text(&fleetroll(home.path(), &["audit-log", "export"]));
    check(!export.contains("hunter2") && export.contains("\"reason\":\"canary\""), "audited, without secrets")
}
