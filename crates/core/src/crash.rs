//! Crash points for the crash test (issue: "the sweeper process is killed
//! at each step of a sweep in turn").
//!
//! With `HUB_CRASH_AT=<point>` in its environment, the process kills itself
//! with SIGKILL the first time a sweep reaches that point: no destructor,
//! no flush, no rollback of anything committed, exactly as a power cut or
//! the OOM killer would. The points, in the order a sweep passes them, are
//! the variants of [`CrashPoint`].
//!
//! Only a build with the `crash-points` feature honours `HUB_CRASH_AT`: the
//! `hub` crate turns it on for its tests (a dev-dependency feature, so
//! `cargo test` builds the binary with it and `cargo build` without). In
//! any other build a crash point is nothing at all.

#[cfg(feature = "crash-points")]
use std::sync::OnceLock;

/// A step of a sweep at which the crash test may kill the process (every
/// point is a sweep step, named `sweep_…` in `HUB_CRASH_AT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrashPoint {
    /// Durable: the unsigned bundle, its ledger rows and key bindings.
    Planned,
    /// As above; the node is being asked whether the keys already signed.
    Checking,
    /// As above; the signatures exist only in memory.
    Signing,
    /// Durable: the signed bundle.
    Signed,
    /// The bundle is on the node; Hub has not recorded the tail.
    Broadcast,
    /// The tail is recorded.
    Attached,
    /// The confirmation is recorded.
    Confirmed,
}

#[cfg(feature = "crash-points")]
impl CrashPoint {
    /// The value of `HUB_CRASH_AT` that names this point.
    fn name(self) -> &'static str {
        match self {
            Self::Planned => "sweep_planned",
            Self::Checking => "sweep_checking",
            Self::Signing => "sweep_signing",
            Self::Signed => "sweep_signed",
            Self::Broadcast => "sweep_broadcast",
            Self::Attached => "sweep_attached",
            Self::Confirmed => "sweep_confirmed",
        }
    }
}

/// Nothing: this build has no crash points.
#[cfg(not(feature = "crash-points"))]
pub(crate) fn at(_point: CrashPoint) {}

/// Kills the process here if `HUB_CRASH_AT` names `point`.
#[cfg(feature = "crash-points")]
pub(crate) fn at(point: CrashPoint) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("HUB_CRASH_AT").ok());
    if wanted.as_deref() == Some(point.name()) {
        eprintln!("HUB_CRASH_AT {}: killing the process", point.name());
        kill_self();
    }
}

#[cfg(all(unix, feature = "crash-points"))]
fn kill_self() {
    // SAFETY: kill(2) with our own pid and a valid signal number has no
    // memory-safety preconditions; SIGKILL does not return.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

#[cfg(all(not(unix), feature = "crash-points"))]
fn kill_self() {
    std::process::abort();
}
