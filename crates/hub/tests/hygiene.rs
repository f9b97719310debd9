//! Start-up checks through the real binary: the on-demand derivation
//! queue's setting.

mod common;

use common::{fails, hub, quick_serve_args};

#[test]
fn the_derivation_queue_needs_at_least_one_slot() {
    let dir = tempfile::tempdir().unwrap();
    let expected = "--deposit-derivation-queue-max: must be at least 1, got 0";
    let error = fails(
        hub()
            .args(quick_serve_args(dir.path()))
            .args(["--deposit-derivation-queue-max", "0"]),
    );
    assert!(error.contains(expected), "{error}");
    let error = fails(
        hub()
            .args(quick_serve_args(dir.path()))
            .env("HUB_DEPOSIT_DERIVATION_QUEUE_MAX", "0"),
    );
    assert!(error.contains(expected), "{error}");
}
