//! The runner of the suites that hold both backends to one behaviour: each
//! case gets a fresh store (a SQLite file, or a PostgreSQL database of its
//! own) and runs once per backend, as `sqlite::<case>` and `postgres::<case>`.
//! Without PostgreSQL its cases are reported as ignored, with the reason;
//! with `FLEETROLL_REQUIRE_SERVICES=1` they fail instead.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::db::{self as support, Kind, TestDb};

pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
pub type Case = for<'a> fn(&'a TestDb) -> CaseFuture<'a>;

/// `[(name, case)]` from the names of `async fn(&TestDb)` cases.
#[macro_export]
macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        [$((stringify!($name), (|db| Box::pin($name(db))) as $crate::Case)),*]
    };
}

/// Runs `cases` on both backends as the test binary's whole run; `suite`
/// names them in the message when PostgreSQL is missing.
pub fn run_suite(suite: &str, cases: Vec<(&'static str, Case)>) -> ! {
    let args = Arguments::from_args();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let postgres = runtime.block_on(support::postgres_reachable());
    if let Err(why) = &postgres {
        if support::services_required() {
            eprintln!("FLEETROLL_REQUIRE_SERVICES=1 and {why}: the postgres cases will fail");
        } else {
            eprintln!("postgres {suite} cases skipped (reported as ignored): {why}");
        }
    }
    drop(runtime);
    let mut trials = Vec::new();
    for kind in [Kind::Sqlite, Kind::Postgres] {
        for (name, case) in &cases {
            let case = *case;
            let unavailable = (kind == Kind::Postgres).then(|| postgres.clone().err()).flatten();
            let skip = unavailable.is_some() && !support::services_required();
            let trial = Trial::test(format!("{}::{name}", kind.name()), move || run(kind, case, unavailable));
            trials.push(trial.with_ignored_flag(skip));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn run(kind: Kind, case: Case, unavailable: Option<String>) -> Result<(), Failed> {
    if let Some(why) = unavailable {
        return Err(why.into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let db = TestDb::create(kind).await;
        let outcome = futures_catch(case(&db)).await;
        db.drop_db().await;
        outcome
    })
}

/// Runs a case, turning a panic into a failure so the database is still dropped.
async fn futures_catch(case: CaseFuture<'_>) -> Result<(), Failed> {
    let mut case = case;
    let poll =
        std::future::poll_fn(move |cx| match std::panic::catch_unwind(AssertUnwindSafe(|| case.as_mut().poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "the case panicked".to_owned());
                std::task::Poll::Ready(Err(Failed::from(message)))
            }
        });
    poll.await
}
