//! Crash points for the crash test (issue: "the sweeper process is killed
//! at each step of a sweep in turn").
//!
//! With `HUB_CRASH_AT=<point>` in its environment, the process kills itself
//! with SIGKILL the first time a sweep reaches that point: no destructor,
//! no flush, no rollback of anything committed, exactly as a power cut or
//! the OOM killer would. Unset (always, in production) a point costs one
//! cached comparison. The points, in the order a sweep passes them, are the
//! variants of [`CrashPoint`].

use std::sync::OnceLock;

/// A step of a sweep at which the crash test may kill the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrashPoint {
    /// Durable: the unsigned bundle, its ledger rows and key bindings.
    SweepPlanned,
    /// As above; the signatures exist only in memory.
    SweepSigning,
    /// Durable: the signed bundle.
    SweepSigned,
    /// The bundle is on the node; Hub has not recorded the tail.
    SweepBroadcast,
    /// The tail is recorded.
    SweepAttached,
    /// The confirmation is recorded.
    SweepConfirmed,
}

impl CrashPoint {
    /// The value of `HUB_CRASH_AT` that names this point.
    fn name(self) -> &'static str {
        match self {
            Self::SweepPlanned => "sweep_planned",
            Self::SweepSigning => "sweep_signing",
            Self::SweepSigned => "sweep_signed",
            Self::SweepBroadcast => "sweep_broadcast",
            Self::SweepAttached => "sweep_attached",
            Self::SweepConfirmed => "sweep_confirmed",
        }
    }
}

/// Kills the process here if `HUB_CRASH_AT` names `point`.
pub(crate) fn at(point: CrashPoint) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("HUB_CRASH_AT").ok());
    if wanted.as_deref() == Some(point.name()) {
        eprintln!("HUB_CRASH_AT {}: killing the process", point.name());
        kill_self();
    }
}

#[cfg(unix)]
fn kill_self() {
    // SAFETY: kill(2) with our own pid and a valid signal number has no
    // memory-safety preconditions; SIGKILL does not return.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_self() {
    std::process::abort();
}
