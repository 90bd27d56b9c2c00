//! `fleetroll tree`: tree status through a running `fleetroll serve`.
//!
//! Every command is one HTTP request to the server's tree status API, so
//! the server's rules, scopes, audit trail and Pulse messages apply to the
//! command line as to any other client. Status changes take effect at once
//! (they can be undone from the stack: `tree revert`); deleting a tree is a
//! dry run unless --confirm.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use fleetroll_core::config::Settings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::JsonArgs;
use crate::commands::http::{Api, segment, unwrap_result};
use crate::output::print_json;

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The server (default: `[server] url`, or http://<listen>).
    #[arg(long, env = "FLEETROLL_SERVER_URL", global = true)]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: TreeCommand,
}

#[derive(Debug, Subcommand)]
pub enum TreeCommand {
    /// Every tree: status, reason, tags.
    List(JsonArgs),
    /// One tree, with its newest log entries.
    Show(NameArgs),
    /// Open trees.
    Open(StatusArgs),
    /// Close trees (a reason and at least one tag are required).
    Close(StatusArgs),
    /// Set trees to "approval required".
    ApprovalRequired(StatusArgs),
    /// Set a tree's message of the day (no log entry, not undoable).
    Motd(MotdArgs),
    /// A tree's log, newest first (the newest 5 unless --all).
    Logs(LogsArgs),
    /// The undo stack of remembered changes, newest first.
    Stack(JsonArgs),
    /// Undo a remembered change: restore the trees' previous state (--discard drops it without restoring).
    Revert(RevertArgs),
    /// Make a tree (open, unless --status says otherwise).
    Create(CreateArgs),
    /// Delete a tree with its log and stack entries (a dry run unless --confirm).
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct NameArgs {
    pub tree: String,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The trees to change.
    #[arg(required = true)]
    pub trees: Vec<String>,
    #[arg(long)]
    pub reason: Option<String>,
    /// A reason category (repeatable): checkin_compilation, checkin_test, infra, backlog, planned, merges,
    /// waiting_for_coverage, other.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Put the change on the undo stack (needs --reason and a --tag).
    #[arg(long)]
    pub remember: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct MotdArgs {
    pub tree: String,
    /// The message; empty clears it.
    pub message: String,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub tree: String,
    /// Every entry, not only the newest 5.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct RevertArgs {
    /// The stack entry's number (see `tree stack`).
    pub id: i64,
    /// Drop the entry without restoring the previous state.
    #[arg(long)]
    pub discard: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub tree: String,
    #[arg(long, default_value = "open")]
    pub status: String,
    #[arg(long, default_value = "")]
    pub reason: String,
    #[arg(long, default_value = "")]
    pub motd: String,
    /// development, release_stabilization, try, comm_repos or other.
    #[arg(long, default_value = "other")]
    pub category: String,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    pub tree: String,
    /// Delete; without it, say what would be deleted.
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub async fn run(settings: &Settings, args: &TreeArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(settings, args.server.as_deref())?;
    match &args.command {
        TreeCommand::List(out) => api.show(Method::GET, "/trees", None, out, print_trees).await,
        TreeCommand::Show(a) => show_tree(&api, a).await,
        TreeCommand::Open(a) => {
            api.show(Method::PATCH, "/trees", Some(update(a, "open")), &a.output, print_trees).await
        }
        TreeCommand::Close(a) => {
            api.show(Method::PATCH, "/trees", Some(update(a, "closed")), &a.output, print_trees).await
        }
        TreeCommand::ApprovalRequired(a) => {
            let body = Some(update(a, "approval required"));
            api.show(Method::PATCH, "/trees", body, &a.output, print_trees).await
        }
        TreeCommand::Motd(a) => {
            let body = json!({"trees": [a.tree], "message_of_the_day": a.message});
            api.show(Method::PATCH, "/trees", Some(body), &a.output, print_trees).await
        }
        TreeCommand::Logs(a) => {
            let path = format!("/trees/{}/{}", segment(&a.tree), if a.all { "logs_all" } else { "logs" });
            api.show(Method::GET, &path, None, &a.output, print_logs).await
        }
        TreeCommand::Stack(out) => api.show(Method::GET, "/stack", None, out, print_stack).await,
        TreeCommand::Revert(a) => {
            let path = format!("/stack/{}?revert={}", a.id, u8::from(!a.discard));
            api.show(Method::DELETE, &path, None, &a.output, print_plain).await
        }
        TreeCommand::Create(a) => {
            let body = json!({"tree": a.tree, "status": a.status, "reason": a.reason,
                "message_of_the_day": a.motd, "category": a.category});
            api.show(Method::PUT, &format!("/trees/{}", segment(&a.tree)), Some(body), &a.output, print_plain).await
        }
        TreeCommand::Delete(a) => delete_tree(&api, a).await,
    }
}

fn update(args: &StatusArgs, status: &str) -> Value {
    let mut body = json!({"trees": args.trees, "status": status, "remember": args.remember});
    if let Some(reason) = &args.reason {
        body["reason"] = Value::from(reason.clone());
    }
    if !args.tags.is_empty() {
        body["tags"] = Value::from(args.tags.clone());
    }
    body
}

async fn show_tree(api: &Api, args: &NameArgs) -> anyhow::Result<ExitCode> {
    let tree = match api.call(Method::GET, &format!("/trees/{}", segment(&args.tree)), None).await? {
        Ok(tree) => tree,
        Err(code) => return Ok(code),
    };
    let logs = match api.call(Method::GET, &format!("/trees/{}/logs", segment(&args.tree)), None).await? {
        Ok(logs) => logs,
        Err(code) => return Ok(code),
    };
    let (tree, logs) = (unwrap_result(tree), unwrap_result(logs));
    if args.output.json {
        print_json(&json!({"tree": tree, "logs": logs}))?;
    } else {
        print_trees(&json!([tree]));
        if let Some(motd) = tree["message_of_the_day"].as_str().filter(|m| !m.is_empty()) {
            println!("message of the day: {motd}");
        }
        print_logs(&logs);
    }
    Ok(ExitCode::SUCCESS)
}

async fn delete_tree(api: &Api, args: &DeleteArgs) -> anyhow::Result<ExitCode> {
    let path = format!("/trees/{}", segment(&args.tree));
    if !args.confirm {
        let tree = match api.call(Method::GET, &path, None).await? {
            Ok(tree) => unwrap_result(tree),
            Err(code) => return Ok(code),
        };
        eprintln!("would delete tree {} ({}) with its log and stack entries", args.tree, tree["status"]);
        eprintln!("dry run: nothing changed; add --confirm to delete");
        return Ok(ExitCode::SUCCESS);
    }
    api.show(Method::DELETE, &path, None, &args.output, print_plain).await
}

fn print_trees(value: &Value) {
    let trees: Vec<&Value> = match value {
        Value::Object(map) => map.values().collect(),
        Value::Array(list) => list.iter().collect(),
        _ => Vec::new(),
    };
    for tree in trees {
        let tags = tree["tags"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","));
        println!(
            "{:<24} {:<18} {}{}",
            text(&tree["tree"]),
            text(&tree["status"]),
            text(&tree["reason"]),
            tags.filter(|t| !t.is_empty()).map_or_else(String::new, |t| format!(" [{t}]")),
        );
    }
}

fn print_logs(value: &Value) {
    for log in value.as_array().into_iter().flatten() {
        let tags = log["tags"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","));
        println!(
            "{}  {:<18} {}  {}{}",
            text(&log["when"]),
            text(&log["status"]),
            text(&log["who"]),
            text(&log["reason"]),
            tags.filter(|t| !t.is_empty()).map_or_else(String::new, |t| format!(" [{t}]")),
        );
    }
}

fn print_stack(value: &Value) {
    for entry in value.as_array().into_iter().flatten() {
        let trees: Vec<&str> =
            entry["trees"].as_array().into_iter().flatten().filter_map(|t| t["tree"].as_str()).collect();
        println!(
            "#{}  {}  {}  {}  {}: {}",
            entry["id"],
            text(&entry["when"]),
            text(&entry["who"]),
            text(&entry["status"]),
            trees.join(","),
            text(&entry["reason"]),
        );
    }
}

fn print_plain(value: &Value) {
    println!("{value}");
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}
