//! The fleet the host-monitor benchmarks run over: a SQLite store in a
//! fresh home with 20,000 hosts, each with an observation, a Taskcluster
//! worker, (nine in ten) a Pulse sighting and (one in ten) an override,
//! plus branch heads; and the host
//! list naming them. Shared by `monitor.rs` (`--once`) and
//! `monitor_redraw.rs` (the live view).

use std::path::Path;

use chrono::Utc;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::liveness::Sighting;
use fleetroll_core::records::{BranchRef, HostObservation, TcWorker};
use fleetroll_store::content::ContentStore;
use fleetroll_store::{Store, StoreOptions};
use serde_json::json;

pub const HOSTS: usize = 20_000;

fn host(i: usize) -> String {
    format!("t-linux64-ms-{i:05}.test.releng.mdc1.mozilla.com")
}

pub async fn generate(home: &Path, list: &Path) {
    let store =
        Store::open(&StoreLocation::Sqlite(home.join("fleetroll.db")), &StoreOptions::default()).await.expect("store");
    let overrides = ContentStore::overrides(home);
    let override_shas: Vec<String> = (0..4)
        .map(|n| {
            let text = format!(
                "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"canary-{n}\"\n"
            );
            overrides.put(text.as_bytes()).expect("store an override");
            fleetroll_core::humanhash::sha256_hex(text.as_bytes())
        })
        .collect();
    let now = Utc::now();
    let observations: Vec<HostObservation> = (0..HOSTS)
        .map(|i| HostObservation {
            host: host(i),
            ts: now - chrono::Duration::seconds((i % 7200) as i64),
            ok: i % 97 != 0,
            observed: json!({
                "os_type": "Linux", "role_present": true,
                "role": if i % 3 == 0 { "gecko_t_linux_talos" } else { "gecko_t_linux_2404_netperf" },
                "override_present": i % 10 == 0,
                "override_sha256": (i % 10 == 0).then(|| override_shas[i % 4].clone()),
                "vault_present": true, "vault_sha256": format!("{:064x}", i % 5),
                "uptime_s": 3600 + i, "puppet_state_ts": "2026-11-20T10:00:00Z", "puppet_success": i % 13 != 0,
                "puppet_git_sha": format!("{:040x}", i % 2), "puppet_git_branch": "master",
            }),
            ssh_rc: Some(0),
            failure: None,
        })
        .collect();
    store.put(&observations).await.expect("observations");
    let workers: Vec<TcWorker> = (0..HOSTS)
        .map(|i| TcWorker {
            host: host(i),
            ts: now,
            worker_id: format!("t-linux64-ms-{i:05}"),
            worker_group: Some("mdc1".into()),
            provisioner: "releng-hardware".into(),
            worker_type: "gecko-t-linux-talos-1804".into(),
            first_claim: None,
            state: Some("running".into()),
            last_date_active: Some(now - chrono::Duration::seconds((i % 10_000) as i64)),
            task_started: Some(now - chrono::Duration::seconds(600)),
            task_resolved: None,
            task_state: Some("running".into()),
            quarantine_until: None,
        })
        .collect();
    store.put(&workers).await.expect("workers");
    let sightings: Vec<Sighting> = (0..HOSTS)
        .filter(|i| i % 10 != 0)
        .map(|i| Sighting {
            worker_group: "mdc1".into(),
            worker_id: format!("t-linux64-ms-{i:05}"),
            seen: now - chrono::Duration::seconds((i % 5_000) as i64),
        })
        .collect();
    store.record_sightings(&sightings).await.expect("sightings");
    let heads: Vec<BranchRef> = std::iter::once("master".to_owned())
        .chain((0..4).map(|n| format!("canary-{n}")))
        .map(|branch| BranchRef {
            owner: "mozilla-platform-ops".into(),
            repo: "ronin_puppet".into(),
            branch,
            ts: now,
            sha: format!("{:040x}", 1),
        })
        .collect();
    store.put(&heads).await.expect("refs");
    store.close().await;
    let names: Vec<String> = (0..HOSTS).map(host).collect();
    std::fs::write(list, names.join("\n")).expect("host list");
}
