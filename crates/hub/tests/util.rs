//! `hub util …` driven as an operator would: the real binary, stdin, stdout,
//! exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use hub_protocol::bundle::{BundleBuilder, Input, Output as BundleOutput};
use hub_protocol::{wots, Address, SecurityLevel, Seed, Transaction};
use proptest::prelude::*;

const UUID: &str = "43vgLK8NYigfKagfahbCSm+lMFcilNjZyV8Jj6blqX5u98Lx7vjH98AG1oh/ezOR";
const SEED: &str = "S9ENEPNSDNELMCBPAOPXFYKWEPVWGQCXNIZGGDLQTKLLXDTSCHPT9PVHVUTPNXFNHKNBLHRM9HAPEKSTX";
const ADDRESS: &str = "TLGUJV9NKSKKLQYBABOPVINMHRMPOOADQPWGFAFULPVXFQBFDJXQGJVLELQECCIQAXJCBXKVPDCWYWYQB";

fn hub(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hub runs");
    // The child may exit before reading everything; a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn assert_one_line_error(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected failure, got {:?}", o);
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one-line error expected: {err}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

fn salt_file(content: &[u8]) -> tempfile_path::TempPath {
    tempfile_path::TempPath::with(content)
}

/// A minimal temporary file helper (no extra dependency).
mod tempfile_path {
    use std::path::PathBuf;
    pub struct TempPath(pub PathBuf);
    impl TempPath {
        pub fn with(content: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("hub-util-test-{}-{}", std::process::id(), rand_suffix()));
            std::fs::write(&path, content).unwrap();
            Self(path)
        }
        pub fn arg(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }
}

#[test]
fn seed_then_address_reproduces_the_hub_vector() {
    let salt = salt_file(b"abcdefghijklmnopqrstuvwxyz\n");
    let o = hub(&["util", "seed", "--uuid", UUID, "--salt-file", salt.arg()], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), SEED);

    let o = hub(&["util", "address", "--security", "2", "--index", "0"], &stdout(&o));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), ADDRESS);

    let o = hub(
        &["util", "address", "--security", "2", "--index", "0", "--checksum"],
        SEED,
    );
    assert_eq!(stdout(&o).trim(), format!("{ADDRESS}ZLCWXJAKB"));
}

#[test]
fn legacy_argon2_parameters() {
    let salt = salt_file(b"abcdefghijklmnopqrstuvwxyz");
    let o = hub(
        &[
            "util",
            "seed",
            "--uuid",
            UUID,
            "--salt-file",
            salt.arg(),
            "--argon2-mode",
            "i",
            "--t-cost",
            "1",
            "--m-cost-kib",
            "65536",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "TTUVCDOGKVNMAPWDOIZPTBXAJDONMORWUMYWVFNDNYTYQUNREPBHTRVHKAJWXXVTHSRIFSCRGTOGZXPPD"
    );
}

#[test]
fn seed_rejects_bad_input_with_one_line_errors() {
    let short = salt_file(b"too short");
    let good = salt_file(b"abcdefghijklmnopqrstuvwxyz");
    assert_one_line_error(
        &hub(&["util", "seed", "--uuid", UUID, "--salt-file", short.arg()], ""),
        "salt",
    );
    assert_one_line_error(
        &hub(&["util", "seed", "--uuid", "short", "--salt-file", good.arg()], ""),
        "--uuid",
    );
    assert_one_line_error(
        &hub(
            &["util", "seed", "--uuid", UUID, "--salt-file", "/nonexistent/salt"],
            "",
        ),
        "--salt-file",
    );
    assert_one_line_error(
        &hub(
            &[
                "util",
                "seed",
                "--uuid",
                UUID,
                "--salt-file",
                good.arg(),
                "--argon2-mode",
                "d",
            ],
            "",
        ),
        "--argon2-mode",
    );
    assert_one_line_error(
        &hub(
            &[
                "util",
                "seed",
                "--uuid",
                UUID,
                "--salt-file",
                good.arg(),
                "--t-cost",
                "0",
            ],
            "",
        ),
        "t_cost",
    );
}

#[test]
fn address_rejects_bad_seed_and_level() {
    assert_one_line_error(
        &hub(&["util", "address", "--security", "4", "--index", "0"], SEED),
        "--security",
    );
    assert_one_line_error(
        &hub(&["util", "address", "--security", "2", "--index", "0"], "ABC"),
        "seed",
    );
    assert_one_line_error(
        &hub(
            &["util", "address", "--security", "2", "--index", "0"],
            &SEED.to_lowercase(),
        ),
        "seed",
    );
}

#[test]
fn checksum_and_validate_address() {
    let o = hub(&["util", "checksum", ADDRESS], "");
    assert_eq!(stdout(&o).trim(), format!("{ADDRESS}ZLCWXJAKB"));
    assert_one_line_error(&hub(&["util", "checksum", "NOTANADDRESS"], ""), "address");

    let o = hub(&["util", "validate-address", &format!("{ADDRESS}ZLCWXJAKB")], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains("checksum: correct"));
    let o = hub(&["util", "validate-address", ADDRESS], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains("checksum: not given (it would be ZLCWXJAKB)"));
    assert_one_line_error(
        &hub(&["util", "validate-address", &format!("{ADDRESS}ZLCWXJAKA")], ""),
        "checksum",
    );
    assert_one_line_error(
        &hub(&["util", "validate-address", &format!("{}M", &ADDRESS[..80])], ""),
        "last trit",
    );
    assert_one_line_error(&hub(&["util", "validate-address", &ADDRESS[..80]], ""), "address");
}

fn sample_bundle() -> Vec<Transaction> {
    let seed = Seed::from_trytes(SEED).unwrap();
    let input = wots::address(&seed, 0, SecurityLevel::Medium);
    let payee = Address::from_trytes(&"A".repeat(81)).unwrap();
    BundleBuilder::new(1_700_000_000)
        .unwrap()
        .input(Input {
            address: input,
            amount: 10,
            security: SecurityLevel::Medium,
        })
        .output(BundleOutput::new(payee, 10))
        .build()
        .unwrap()
        .sign(|slot, hash| Ok::<_, ()>(wots::sign(&seed, 0, slot.security, hash)))
        .unwrap()
}

#[test]
fn validate_bundle_reports_valid_and_broken_rules() {
    let txs = sample_bundle();
    let lines: Vec<String> = txs.iter().rev().map(Transaction::to_trytes).collect();
    let o = hub(&["util", "validate-bundle"], &lines.join("\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "valid");

    let mut broken = txs.clone();
    broken[2].value = hub_protocol::transaction::Value::new(11).unwrap();
    let lines: Vec<String> = broken.iter().map(Transaction::to_trytes).collect();
    let o = hub(&["util", "validate-bundle"], &lines.join("\n"));
    assert!(!o.status.success());
    let report = stdout(&o);
    assert!(report.contains("ValuesSumToZero"), "{report}");
    assert!(report.contains("BundleHash"), "{report}");

    assert_one_line_error(&hub(&["util", "validate-bundle"], "ABC\n"), "line 1");
    assert_one_line_error(&hub(&["util", "validate-bundle"], ""), "no transactions");
}

#[test]
fn pow_finds_a_nonce_the_validator_accepts() {
    let tx = sample_bundle().remove(2);
    let o = hub(&["util", "pow", "--mwm", "9"], &tx.to_trytes());
    assert!(o.status.success(), "{}", stderr(&o));
    let done = Transaction::from_trytes(stdout(&o).trim()).unwrap();
    assert!(hub_protocol::validate::meets_weight(&done.hash(), 9));
    let mut same = done.clone();
    same.nonce = tx.nonce;
    assert_eq!(same, tx, "only the nonce changes");

    assert_one_line_error(
        &hub(&["util", "pow", "--mwm", "0"], &tx.to_trytes()),
        "minWeightMagnitude",
    );
    assert_one_line_error(&hub(&["util", "pow", "--mwm", "9"], "NOT A TRANSACTION"), "stdin");
    let two = format!("{}\n{}", tx.to_trytes(), tx.to_trytes());
    assert_one_line_error(&hub(&["util", "pow", "--mwm", "9"], &two), "one transaction");
}

#[test]
fn bench_rejects_a_silly_budget() {
    assert_one_line_error(&hub(&["util", "bench", "--seconds", "0"], ""), "--seconds");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn no_argument_makes_a_command_panic(arg in "\\PC{0,120}", input in "\\PC{0,200}") {
        for args in [
            vec!["util", "checksum", arg.as_str()],
            vec!["util", "validate-address", arg.as_str()],
            vec!["util", "address", "--security", arg.as_str(), "--index", "0"],
        ] {
            let o = hub(&args, &input);
            prop_assert!(!stderr(&o).contains("panicked"));
        }
        let o = hub(&["util", "validate-bundle"], &input);
        prop_assert!(!o.status.success());
        prop_assert!(!stderr(&o).contains("panicked"));
    }
}
