//! `fleetroll gather-host`, `show-override` and `show-vault` as an operator
//! runs them, against real sshd test hosts reached through `--ssh-option
//! "-F <ssh_config>"`. Ignored (with the reason) where sshd test hosts
//! cannot run; failing instead with FLEETROLL_REQUIRE_SERVICES=1.

use std::path::Path;
use std::process::{Command, Output};

use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const OVERRIDE: &str =
    "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"canary\"\n";
const VAULT: &str = "token: hunter2\n";

fn main() {
    let args = Arguments::from_args();
    let unavailable = fleetroll_testhosts::available().err();
    let ignored = unavailable.is_some() && !fleetroll_testhosts::services_required();
    if let Some(why) = &unavailable {
        eprintln!("sshd test hosts unavailable: {why}");
    }
    let trial = Trial::test("gather_host_outputs_and_stored_contents", move || match unavailable {
        Some(why) => Err(why.into()),
        None => gather_host_outputs_and_stored_contents(),
    });
    libtest_mimic::run(&args, vec![trial.with_ignored_flag(ignored)]).exit();
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
    check(status["rows"]["host_observations"] == 1 + 3 + 3, status.to_string())
}
