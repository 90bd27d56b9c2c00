//! Benchmark: `fleetroll serve` under load, as wrk measures it on loopback:
//! the real release binary on a SQLite store with 50 trees, and wrk
//! (Debian package `wrk`) on the same 2-core machine.
//!
//! `cargo bench -p fleetroll --bench serve` prints one line: requests/s and
//! p99 latency for `GET /trees/{tree}` (cycling over the 50 trees), for
//! `GET /trees`, and for a mix with 5% writes (`PATCH /trees`, status
//! changes that log, with a token). The target is at least 20,000 reads/s
//! at p99 under 10 ms.

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::scopes::{format_token, token_hash};
use fleetroll_core::trees::{Category, NewTree, TreeStatus};
use fleetroll_store::{NewClient, Store, StoreOptions};

#[path = "../tests/support/served.rs"]
mod served;

use served::Served;

const TREES: usize = 50;
const SECONDS: &str = "10s";
const CONNECTIONS: &str = "32";

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk not found: install the Debian package wrk");
        std::process::exit(1);
    }
    let temp = tempfile::tempdir().expect("home");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let token = runtime.block_on(generate(temp.path()));
    let mut server = Served::start(temp.path(), &[("FLEETROLL_LOG", "warn")]).expect("start fleetroll serve");
    let base = server.url.clone();
    let scripts = temp.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("scripts dir");
    let one = run_wrk(&base, &write_script(&scripts, "one.lua", &cycle_script(None)));
    let all = run_wrk(&format!("{base}/trees"), &[]);
    let mixed = run_wrk(&base, &write_script(&scripts, "mixed.lua", &cycle_script(Some(&token))));
    server.stop();
    println!(
        "serve/sqlite {TREES} trees, wrk -c{CONNECTIONS} -d{SECONDS}: GET /trees/{{tree}} {one}, GET /trees {all}, 5% writes {mixed}"
    );
}

async fn generate(home: &Path) -> String {
    let store =
        Store::open(&StoreLocation::Sqlite(home.join("fleetroll.db")), &StoreOptions::default()).await.expect("store");
    for i in 0..TREES {
        let tree = NewTree {
            tree: tree_name(i),
            status: TreeStatus::Open,
            reason: String::new(),
            message_of_the_day: String::new(),
            category: Category::default(),
        };
        store.create_tree(&tree, Utc::now()).await.expect("create a tree");
    }
    // A fixed token is fine for a throwaway store; real ones come from the OS.
    let token = format_token(&[7; 32]);
    let client = NewClient {
        name: "bench".to_owned(),
        token_hash: token_hash(&token),
        scopes: vec!["assume:project:fleetroll:treestatus/sheriff".to_owned()],
        description: String::new(),
    };
    store.create_client(&client, Utc::now()).await.expect("create a client");
    store.close().await;
    token
}

fn tree_name(i: usize) -> String {
    format!("tree-{i:02}")
}

/// A wrk script cycling over the trees; with a token, every 20th request
/// (5%) changes a tree's status, which logs and invalidates the cache.
fn cycle_script(token: Option<&str>) -> String {
    let write = token.map_or_else(String::new, |token| {
        format!(
            r#"  if counter % 20 == 0 then
    local status = (counter % 40 == 0) and "open" or "approval required"
    local body = '{{"trees":["' .. tree .. '"],"status":"' .. status .. '","reason":"load"}}'
    return wrk.format("PATCH", "/trees", {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}, body)
  end
"#
        )
    });
    format!(
        r#"local counter = 0
request = function()
  counter = counter + 1
  local tree = string.format("tree-%02d", counter % {TREES})
{write}  return wrk.format("GET", "/trees/" .. tree)
end
"#
    )
}

fn write_script(dir: &Path, name: &str, text: &str) -> Vec<String> {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a wrk script");
    vec!["-s".to_owned(), path.display().to_string()]
}

/// `N req/s, p99 X` from wrk's summary; non-2xx answers are reported.
fn run_wrk(url: &str, extra: &[String]) -> String {
    let output = Command::new("wrk")
        .args(["-t1", "-c", CONNECTIONS, "-d", SECONDS, "--latency"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    let field = |prefix: &str| {
        text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|rest| rest.trim().to_owned())).unwrap_or_default()
    };
    let rate: f64 = field("Requests/sec:").parse().unwrap_or(0.0);
    let errors = field("Non-2xx or 3xx responses:");
    let errors = if errors.is_empty() { String::new() } else { format!(" ({errors} non-2xx)") };
    format!("{rate:.0} req/s, p99 {}{errors}", field("99%"))
}
