//! The `reboot` task: core's escalation chain, each method judged by the
//! machine going down and coming back as the configured probe sees it.

use std::time::Duration;

use fleetroll_core::jobs::TaskName;
use fleetroll_core::jobs::commands;
use fleetroll_core::jobs::reboot::{
    self, Chain, ChainStep, MethodOutcome, Verdict, Verifier, VerifySettings, log_line,
};
use tokio::time::Instant;

use crate::actions::{Attempt, Context, run_method};
use crate::process::{self, seconds};
use crate::{ActionError, ActionOutcome, Probe};

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

pub(crate) async fn reboot(cx: &Context<'_>, log: &mut impl FnMut(String)) -> Result<ActionOutcome, ActionError> {
    let probe = cx.tools.probe;
    let answered = probe_once(cx).await;
    let heard = if answered { "answered" } else { "no_answer" };
    log(log_line(now(), "probe", heard, &format!("{} of {}", probe.describe(), cx.machine.address())));
    let plan = reboot::plan(&cx.settings.reboot_order, cx.inventory, cx.machine, answered);
    for line in plan.skip_lines(now()) {
        log(line);
    }
    plan.check(cx.machine.name())?;
    let mut chain = Chain::new(&plan);
    let mut step = chain.start();
    loop {
        match step {
            ChainStep::Run(method) => {
                let outcome = run_and_verify(method, cx, log).await;
                let detail = outcome_detail(&outcome, &cx.settings.verify, probe);
                log(log_line(now(), method.as_str(), outcome.as_str(), &detail));
                step = chain.after(method, &outcome);
            }
            ChainStep::Succeeded(method) => {
                return Ok(ActionOutcome { detail: format!("rebooted by {method}"), verified_by: Some(method) });
            }
            ChainStep::Failed { reason } => return Err(ActionError::Failed(reason)),
        }
    }
}

/// A method that reported failure is verified all the same, since the
/// machine may have been rebooted anyway; only when it then stayed up is
/// the tool's failure the outcome.
async fn run_and_verify(method: TaskName, cx: &Context<'_>, log: &mut impl FnMut(String)) -> MethodOutcome {
    let (failure, verdict) = match run_method(method, cx, log).await {
        Attempt::NotSent(err) => return MethodOutcome::Error(err.to_string()),
        Attempt::Done(_) => (None, verify(cx).await),
        Attempt::Failed(reason) => (Some(reason), verify(cx).await),
    };
    match (verdict, failure) {
        (Verdict::NotDown, Some(reason)) => {
            let stayed = outcome_detail(&MethodOutcome::NotDown, &cx.settings.verify, cx.tools.probe);
            MethodOutcome::Error(format!("{reason}; {stayed}"))
        }
        (verdict, _) => MethodOutcome::from_verdict(verdict).unwrap_or(MethodOutcome::NotDown),
    }
}

/// Probes right away (a quick reboot must not slip between two probes),
/// then as often as the verifier asks, until it gives a verdict.
async fn verify(cx: &Context<'_>) -> Verdict {
    let mut verifier = Verifier::new(cx.settings.verify);
    let start = Instant::now();
    loop {
        let answered = probe_once(cx).await;
        match verifier.observe(start.elapsed(), answered) {
            Verdict::Continue { next_ping_in } => tokio::time::sleep(next_ping_in).await,
            verdict => return verdict,
        }
    }
}

/// Whether the machine answers the configured probe now.
pub(crate) async fn probe_once(cx: &Context<'_>) -> bool {
    let limit = cx.tools.timeouts.probe;
    let address = cx.machine.address();
    match cx.tools.probe {
        Probe::Icmp => {
            let Ok(command) = commands::ping(&cx.tools.ping, address, 1, limit) else { return false };
            process::run(&command, limit + Duration::from_secs(2)).await.ok()
        }
        Probe::Tcp { port } => {
            let connect = tokio::net::TcpStream::connect((address, port));
            matches!(tokio::time::timeout(limit, connect).await, Ok(Ok(_)))
        }
    }
}

/// Core's wording, except that a machine still up under a TCP probe
/// answered on its port, not to ping.
fn outcome_detail(outcome: &MethodOutcome, verify: &VerifySettings, probe: Probe) -> String {
    match (outcome, probe) {
        (MethodOutcome::NotDown, Probe::Tcp { port }) => {
            format!("still answered on TCP port {port} after {}", seconds(verify.down_timeout))
        }
        _ => outcome.detail(verify),
    }
}
