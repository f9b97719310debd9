//! `hub serve` settings through the real binary: flags override the
//! environment, which overrides the `--config` file (or `HUB_CONFIG`), which
//! overrides the defaults, and `--help` shows every default. Each case stops
//! at a check that fails before anything starts, so the error tells which
//! layer won.

mod common;

use common::{fails, hub};

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hub.toml");
    std::fs::write(&file, "mwm = 0\n").unwrap();
    let serve = || {
        let mut command = hub();
        command.arg("serve").arg("--data-dir").arg(dir.path().join("data"));
        command
    };

    let error = fails(serve().arg("--config").arg(&file));
    assert!(
        error.contains("--mwm: must be between 1 and 27, got 0"),
        "the file beats the default: {error}"
    );
    let error = fails(serve().env("HUB_CONFIG", &file));
    assert!(error.contains("--mwm:"), "HUB_CONFIG names the file too: {error}");

    // A valid --mwm lets the next check (on --sweep-max-deposits) fail instead.
    let error = fails(
        serve()
            .arg("--config")
            .arg(&file)
            .env("HUB_MWM", "9")
            .args(["--sweep-max-deposits", "0"]),
    );
    assert!(
        error.contains("--sweep-max-deposits"),
        "the environment beats the file: {error}"
    );
    let error = fails(
        serve()
            .env("HUB_MWM", "0")
            .args(["--mwm", "9", "--sweep-max-deposits", "0"]),
    );
    assert!(
        error.contains("--sweep-max-deposits"),
        "flags beat the environment: {error}"
    );

    std::fs::write(&file, "pow = \"gpu\"\n").unwrap();
    let error = fails(serve().arg("--config").arg(&file));
    assert!(error.contains("--pow") && error.contains("hub.toml"), "{error}");
}

#[test]
fn help_shows_every_default() {
    let output = hub().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for line in [
        "[default: 127.0.0.1:50051]",
        "[env: HUB_MWM=]",
        "[default: 9]",
        "[default: 200000]",
        "[default: local]",
    ] {
        assert!(help.contains(line), "{line} missing from:\n{help}");
    }
}
