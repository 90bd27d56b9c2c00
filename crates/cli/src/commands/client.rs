//! `fleetroll client`: the API's clients and their bearer tokens.
//!
//! A token is shown once, when made (`create`, `rotate`), and stored only as
//! its SHA-256; losing it means rotating it. Changes are audited.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::config::Settings;
use fleetroll_core::scopes::{format_token, token_hash, validate_client_name, validate_scope};
use fleetroll_core::time::to_rfc3339;
use fleetroll_store::{ApiClient, NewClient, Store};
use serde_json::{Value, json};

use crate::cli::JsonArgs;
use crate::output::print_json;
use crate::settings::open_store;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Make a client with scopes; prints its new token once, on stdout.
    ///
    /// Scopes follow Taskcluster: exact, or ending in `*` to match every
    /// scope with that prefix; `assume:<role>` grants a role's scopes (the
    /// tree roles are `<prefix>/admin` and `<prefix>/sheriff`).
    Create(CreateArgs),
    /// List clients (never their tokens).
    List(JsonArgs),
    /// Revoke a client: its token stops working at once (a dry run unless --confirm).
    Revoke(ChangeArgs),
    /// Give a client a new token; the old one stops working (a dry run unless --confirm).
    Rotate(ChangeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The client's name: letters, digits and @ / : . _ + | -.
    pub name: String,
    /// A scope the client holds (repeatable), e.g. `assume:project:fleetroll:treestatus/sheriff`.
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    /// What the client is for.
    #[arg(long, default_value = "")]
    pub description: String,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// The client's name.
    pub name: String,
    /// Make the change; without it, say what would change.
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub async fn run(settings: &Settings, command: &ClientCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let outcome = match command {
        ClientCommand::Create(args) => create(&store, args).await,
        ClientCommand::List(args) => list(&store, args).await,
        ClientCommand::Revoke(args) => revoke(&store, args).await,
        ClientCommand::Rotate(args) => rotate(&store, args).await,
    };
    store.close().await;
    outcome
}

async fn create(store: &Store, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    validate_client_name(&args.name).map_err(anyhow::Error::msg)?;
    for scope in &args.scopes {
        validate_scope(scope).map_err(anyhow::Error::msg)?;
    }
    let token = new_token()?;
    let new = NewClient {
        name: args.name.clone(),
        token_hash: token_hash(&token),
        scopes: args.scopes.clone(),
        description: args.description.clone(),
    };
    let client = store.create_client(&new, Utc::now()).await?;
    audit(store, "client.create", &client, json!({"scopes": client.scopes, "description": client.description})).await?;
    print_token(&client, &token, args.output.json)
}

async fn list(store: &Store, args: &JsonArgs) -> anyhow::Result<ExitCode> {
    let clients = store.clients().await?;
    if args.json {
        print_json(&clients.iter().map(client_json).collect::<Vec<_>>())?;
        return Ok(ExitCode::SUCCESS);
    }
    if clients.is_empty() {
        eprintln!("no clients: make one with `fleetroll client create NAME --scope SCOPE`");
    }
    for client in &clients {
        let state = client.revoked_at.map_or_else(|| "active".to_owned(), |t| format!("revoked {}", to_rfc3339(t)));
        println!("{}  {}  created {}  {}", client.name, state, to_rfc3339(client.created_at), client.scopes.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(store: &Store, args: &ChangeArgs) -> anyhow::Result<ExitCode> {
    let client = existing(store, &args.name).await?;
    if !args.confirm {
        return dry_run(&format!("would revoke client {} (scopes: {})", client.name, client.scopes.join(" ")));
    }
    let client = store.revoke_client(&args.name, Utc::now()).await?;
    audit(store, "client.revoke", &client, json!({})).await?;
    if args.output.json {
        print_json(&client_json(&client))?;
    } else {
        println!("revoked client {}", client.name);
    }
    Ok(ExitCode::SUCCESS)
}

async fn rotate(store: &Store, args: &ChangeArgs) -> anyhow::Result<ExitCode> {
    let client = existing(store, &args.name).await?;
    if !args.confirm {
        return dry_run(&format!("would give client {} a new token; the current one would stop working", client.name));
    }
    let token = new_token()?;
    let client = store.rotate_client_token(&args.name, &token_hash(&token)).await?;
    audit(store, "client.rotate", &client, json!({})).await?;
    print_token(&client, &token, args.output.json)
}

async fn existing(store: &Store, name: &str) -> anyhow::Result<ApiClient> {
    store.client(name).await?.with_context(|| format!("no client named {name:?} (see `fleetroll client list`)"))
}

fn dry_run(what: &str) -> anyhow::Result<ExitCode> {
    eprintln!("{what}");
    eprintln!("dry run: nothing changed; add --confirm to make the change");
    Ok(ExitCode::SUCCESS)
}

/// A token from 32 bytes of the operating system's random source.
fn new_token() -> anyhow::Result<String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|err| anyhow::anyhow!("cannot read random bytes for a token: {err}"))?;
    Ok(format_token(&random))
}

/// The token alone on stdout, so `$(fleetroll client create …)` captures
/// it; what it is for goes to stderr.
fn print_token(client: &ApiClient, token: &str, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let mut shown = client_json(client);
        shown["token"] = Value::from(token);
        print_json(&shown)?;
    } else {
        println!("{token}");
        eprintln!("token of client {}: shown once, keep it safe (it is stored only as a hash)", client.name);
    }
    Ok(ExitCode::SUCCESS)
}

fn client_json(client: &ApiClient) -> Value {
    json!({
        "name": client.name,
        "scopes": client.scopes,
        "description": client.description,
        "created_at": to_rfc3339(client.created_at),
        "revoked_at": client.revoked_at.map(to_rfc3339),
    })
}

/// The client's name and scopes go to the audit trail; its token never does.
async fn audit(store: &Store, action: &str, client: &ApiClient, parameters: Value) -> anyhow::Result<()> {
    let mut parameters = parameters;
    parameters["client"] = Value::from(client.name.clone());
    let entry = AuditEntry {
        ts: Utc::now(),
        actor: super::actor(),
        action: action.to_owned(),
        hosts: Vec::new(),
        parameters,
        result: json!({"ok": true}),
    };
    store.append_audit(vec![entry]).await?;
    Ok(())
}
