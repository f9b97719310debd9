//! Crash points for the crash test (issue: "the sweeper process is killed
//! at each step of a sweep in turn").
//!
//! With `HUB_CRASH_AT=<point>` in its environment, the process kills itself
//! with SIGKILL the first time a sweep reaches that point: no destructor,
//! no flush, no rollback of anything committed, exactly as a power cut or
//! the OOM killer would. Unset (always, in production) a point costs one
//! cached comparison. The points, in the order a sweep passes them:
//!
//! | point | what is durable when the process dies |
//! |---|---|
//! | `sweep_planned` | the unsigned bundle, its ledger rows and key bindings |
//! | `sweep_signing` | as above; the signatures exist only in memory |
//! | `sweep_signed` | the signed bundle |
//! | `sweep_broadcast` | the bundle is on the node; Hub has not recorded the tail |
//! | `sweep_attached` | the tail is recorded |
//! | `sweep_confirmed` | the confirmation is recorded |

use std::sync::OnceLock;

/// Kills the process here if `HUB_CRASH_AT` names `point`.
pub(crate) fn point(point: &'static str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("HUB_CRASH_AT").ok());
    if wanted.as_deref() == Some(point) {
        eprintln!("HUB_CRASH_AT {point}: killing the process");
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
