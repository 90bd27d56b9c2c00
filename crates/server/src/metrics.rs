//! Request counts and latencies by route, method and status, a few
//! counters of things an operator watches, and the liveness consumer's
//! counters when one runs, rendered as Prometheus text.
//!
//! Kept per server, not in a process-wide recorder, so servers in one
//! process (tests, replicas in a benchmark) count separately. Routes are
//! labelled by their template (`/trees/{tree}`), and every path no route
//! matches by `unmatched`, so labels stay few whatever clients send.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use fleetroll_core::liveness::{IngestCounters, RejectReason};

use crate::state::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

/// A route's series by method and status.
type RouteSeries = HashMap<(Method, u16), Series>;

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Series by route. One short lock per request.
    requests: Mutex<HashMap<String, RouteSeries>>,
    pub(crate) cache_reloads: AtomicU64,
    pub(crate) pulse_unsent: AtomicU64,
    pub(crate) audit_failures: AtomicU64,
    /// The consumer's counters, owned by the consumer; `None` renders none.
    liveness: Mutex<Option<Arc<IngestCounters>>>,
}

#[derive(Clone, Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Not cumulative: `buckets[i]` counts durations in (BUCKETS[i-1], BUCKETS[i]].
    buckets: [u64; BUCKETS.len()],
}

impl Metrics {
    fn observe(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let by_route = match requests.get_mut(route) {
            Some(by_route) => by_route,
            None => requests.entry(route.to_owned()).or_default(),
        };
        let series = by_route.entry((method.clone(), status)).or_default();
        series.count += 1;
        series.sum_seconds += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            series.buckets[bucket] += 1;
        }
    }

    pub(crate) fn set_liveness(&self, counters: Arc<IngestCounters>) {
        *self.liveness.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(counters);
    }

    /// The Prometheus text exposition (format 0.0.4), sorted for stable output.
    pub(crate) fn render(&self) -> String {
        let sorted: BTreeMap<(String, String, u16), Series> = {
            let requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            requests
                .iter()
                .flat_map(|(route, by_method)| {
                    by_method.iter().map(|((method, status), series)| {
                        ((route.clone(), method.as_str().to_owned(), *status), series.clone())
                    })
                })
                .collect()
        };
        let mut out = String::new();
        out.push_str("# HELP fleetroll_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE fleetroll_http_requests_total counter\n");
        for ((route, method, status), series) in &sorted {
            let labels = labels(route, method, *status);
            let _ = writeln!(out, "fleetroll_http_requests_total{{{labels}}} {}", series.count);
        }
        out.push_str(
            "# HELP fleetroll_http_request_duration_seconds Time to answer a request, by route, method and status.\n",
        );
        out.push_str("# TYPE fleetroll_http_request_duration_seconds histogram\n");
        for ((route, method, status), series) in &sorted {
            let labels = labels(route, method, *status);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(series.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "fleetroll_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let name = "fleetroll_http_request_duration_seconds";
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", series.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", series.sum_seconds);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", series.count);
        }
        let counters = [
            (
                "fleetroll_trees_cache_reloads_total",
                "Times the trees cache was filled from the store.",
                &self.cache_reloads,
            ),
            (
                "fleetroll_pulse_unsent_total",
                "Tree status transitions not handed to a Pulse publisher (none configured, or it stopped).",
                &self.pulse_unsent,
            ),
            (
                "fleetroll_audit_failures_total",
                "Committed writes whose audit record could not be appended.",
                &self.audit_failures,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let liveness = self.liveness.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if let Some(counters) = liveness {
            render_liveness(&mut out, &counters);
        }
        out
    }
}

fn render_liveness(out: &mut String, counters: &IngestCounters) {
    let totals = [
        ("received", "Queue messages the liveness consumer received from Pulse.", &counters.received),
        ("stored", "Queue messages about a worker's run, stored in a committed batch.", &counters.stored),
        ("no_run", "Valid task-exception messages about no run (the deadline passed first).", &counters.no_run),
        ("batches", "Batches of queue messages committed and acknowledged.", &counters.batches),
        ("reconnects", "Times the liveness consumer connected to Pulse again after losing it.", &counters.reconnects),
    ];
    for (what, help, counter) in totals {
        let name = format!("fleetroll_liveness_messages_{what}_total");
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", IngestCounters::get(counter));
    }
    let name = "fleetroll_liveness_messages_rejected_total";
    let _ =
        writeln!(out, "# HELP {name} Queue messages the liveness consumer refused, by reason.\n# TYPE {name} counter");
    // Every reason, zeros included, so a rate over a reason never starts
    // from a missing series.
    for reason in RejectReason::ALL {
        let _ = writeln!(out, "{name}{{reason=\"{}\"}} {}", reason.as_str(), counters.rejected(reason));
    }
}

fn labels(route: &str, method: &str, status: u16) -> String {
    format!("route=\"{}\",method=\"{}\",status=\"{status}\"", escape(route), escape(method))
}

/// A label value escaped as the text format wants.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware recording each request's route, method, status and latency.
pub(crate) async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    state.metrics().observe(route, &method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.observe("/trees/{tree}", &Method::GET, 200, 0.0004);
        metrics.observe("/trees/{tree}", &Method::GET, 200, 0.003);
        metrics.observe("/trees/{tree}", &Method::GET, 200, 9.0);
        metrics.observe("un\"matched", &Method::GET, 404, 0.0001);
        let text = metrics.render();
        let labels = "route=\"/trees/{tree}\",method=\"GET\",status=\"200\"";
        for line in [
            format!("fleetroll_http_requests_total{{{labels}}} 3"),
            format!("fleetroll_http_request_duration_seconds_bucket{{{labels},le=\"0.0005\"}} 1"),
            format!("fleetroll_http_request_duration_seconds_bucket{{{labels},le=\"0.0025\"}} 1"),
            format!("fleetroll_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 2"),
            format!("fleetroll_http_request_duration_seconds_bucket{{{labels},le=\"5\"}} 2"),
            format!("fleetroll_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3"),
            format!("fleetroll_http_request_duration_seconds_count{{{labels}}} 3"),
            "fleetroll_http_requests_total{route=\"un\\\"matched\",method=\"GET\",status=\"404\"} 1".to_owned(),
            "fleetroll_pulse_unsent_total 0".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("fleetroll_liveness"), "no consumer, no liveness series:\n{text}");
    }

    #[test]
    fn renders_liveness_counters_with_every_reason() {
        let metrics = Metrics::default();
        let counters = Arc::new(IngestCounters::default());
        metrics.set_liveness(counters.clone());
        IngestCounters::add(&counters.received, 7);
        IngestCounters::add(&counters.stored, 5);
        IngestCounters::add(&counters.no_run, 1);
        IngestCounters::add(&counters.batches, 2);
        counters.reject(RejectReason::Schema);
        let text = metrics.render();
        for line in [
            "# HELP fleetroll_liveness_messages_received_total Queue messages the liveness consumer received from Pulse.",
            "# TYPE fleetroll_liveness_messages_received_total counter",
            "fleetroll_liveness_messages_received_total 7",
            "fleetroll_liveness_messages_stored_total 5",
            "fleetroll_liveness_messages_no_run_total 1",
            "fleetroll_liveness_messages_batches_total 2",
            "fleetroll_liveness_messages_reconnects_total 0",
            "# TYPE fleetroll_liveness_messages_rejected_total counter",
            "fleetroll_liveness_messages_rejected_total{reason=\"schema\"} 1",
            "fleetroll_liveness_messages_rejected_total{reason=\"oversized\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        let reasons = text.lines().filter(|l| l.starts_with("fleetroll_liveness_messages_rejected_total{")).count();
        assert_eq!(reasons, RejectReason::ALL.len());
        // Counted after the state was built: the page reads them live.
        counters.reject(RejectReason::Schema);
        assert!(metrics.render().contains("fleetroll_liveness_messages_rejected_total{reason=\"schema\"} 2\n"));
    }
}
