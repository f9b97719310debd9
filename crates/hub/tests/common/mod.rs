//! Helpers shared by the tests that run the real `hub` binary: start a
//! long-running command, wait until it says it is ready, read what it
//! printed, and stop it with SIGTERM (or kill it if a test fails first).

#![allow(dead_code)]

pub mod books;
pub mod signing;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_api::proto::hub::hub_client::HubClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;

/// How long a command may take to print its ready line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// A `hub` command for the binary under test, logging only warnings.
pub fn hub() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hub"));
    command.env("RUST_LOG", "warn");
    command
}

/// A running command that printed its ready line; killed when dropped.
pub struct Running {
    child: Option<Child>,
    /// What it printed on stdout up to and including the ready line.
    pub lines: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    /// The trimmed rest of the first printed line that starts (after
    /// indentation) with `label`, e.g. `value("gRPC API:")`.
    pub fn value(&self, label: &str) -> Option<String> {
        self.lines
            .iter()
            .find_map(|line| line.trim().strip_prefix(label).map(|v| v.trim().to_string()))
    }

    /// Stops it with SIGTERM and checks that it exits successfully.
    pub fn stop(mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = child.try_wait() {
                assert!(
                    status.success(),
                    "exits cleanly on SIGTERM: {status}; stderr: {}",
                    self.stderr.lock().unwrap()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("did not stop on SIGTERM");
    }
}

impl Running {
    /// Waits (at most `timeout`) for it to exit by itself; its exit status
    /// and everything it wrote on stderr.
    pub fn wait_exit(mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("still running");
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Let the stderr reader drain what is left.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.stderr.lock().unwrap().clone());
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                panic!(
                    "did not exit within {timeout:?}; stderr: {}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Polls `condition` every 200 ms until it holds; panics after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[allow(unused_imports)] // not every test binary uses PostgreSQL
pub use hub_store::testing::{row_counts, Db, TestDb};

/// Runs `hub admin --data-dir DIR --database URL ARGS…` (with cheap Argon2
/// settings), feeding `stdin`; its stdout, or its stderr if it failed.
pub fn admin(dir: &std::path::Path, database: &str, args: &[&str], stdin: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = hub()
        .args(["admin", "--data-dir"])
        .arg(dir)
        .args([
            "--database",
            database,
            "--argon2-t-cost",
            "1",
            "--argon2-m-cost-kib",
            "1024",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A gRPC client of Hub that presents an API token on every call.
pub type Grpc = HubClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer TOKEN` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// A gRPC client of the Hub at `address` (host:port, plaintext) using `token`.
pub async fn grpc_client(address: &str, token: &str) -> Grpc {
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer = format!("Bearer {token}").parse().expect("a token is ASCII");
    HubClient::with_interceptor(channel, Bearer(bearer))
}

/// A client of `hub.v1.Events` at `address` (host:port, plaintext) using `token`.
pub async fn events_client(
    address: &str,
    token: &str,
) -> hub_api::proto::v1::events_client::EventsClient<InterceptedService<Channel, Bearer>> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer = format!("Bearer {token}").parse().expect("a token is ASCII");
    hub_api::proto::v1::events_client::EventsClient::with_interceptor(channel, Bearer(bearer))
}

/// The development token a `hub serve` on embedded defaults wrote (its
/// summary names the file).
pub fn dev_token(running: &Running) -> String {
    let line = running
        .value("API token:")
        .expect("hub serve names its development token file");
    let path = line.split_whitespace().next().unwrap();
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

/// One IRI-style call to a node (the devnet) over HTTP.
pub async fn node_call(url: &str, body: serde_json::Value) -> serde_json::Value {
    reqwest::Client::new()
        .post(url)
        .header("X-IOTA-API-Version", "1")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `command` and waits until a stdout line starts with `ready`.
/// If the command exits first, returns its stderr (the error it printed).
pub fn start(command: &mut Command, ready: &str) -> Result<Running, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hub binary starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let err_text = stderr.clone();
    let err_reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = err_pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            err_text
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut running = Running {
        child: Some(child),
        lines: Vec::new(),
        stderr,
    };
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok(line) => {
                let is_ready = line.starts_with(ready);
                running.lines.push(line);
                if is_ready {
                    return Ok(running);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed: the process is exiting; collect its error.
                if let Some(mut child) = running.child.take() {
                    let _ = child.wait();
                }
                let _ = err_reader.join();
                let text = running.stderr.lock().unwrap().clone();
                return Err(text);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "no {ready:?} line within {READY_TIMEOUT:?}; printed {:?}",
                    running.lines
                )
            }
        }
    }
}

/// Runs a command that must fail, returning its stderr.
pub fn fails(command: &mut Command) -> String {
    let output = command.stdin(Stdio::null()).output().expect("the hub binary starts");
    assert!(
        !output.status.success(),
        "expected failure; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The arguments that make `hub serve` quick for tests whatever its
/// listeners: the embedded devnet on a free port with fast milestones, a
/// fast deposit monitor, cheap Argon2 settings.
pub fn quick_node_args() -> Vec<String> {
    [
        "--devnet-listen",
        "127.0.0.1:0",
        "--devnet-milestone-interval-ms",
        "300",
        "--monitor-interval-ms",
        "200",
        "--argon2-t-cost",
        "1",
        "--argon2-m-cost-kib",
        "1024",
    ]
    .map(String::from)
    .to_vec()
}

/// The arguments that make `hub serve` use free loopback ports, `data_dir`,
/// its embedded devnet with fast milestones, and cheap Argon2 settings.
pub fn quick_serve_args(data_dir: &std::path::Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["serve".into(), "--data-dir".into(), data_dir.display().to_string()];
    for arg in ["--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"] {
        args.push(arg.into());
    }
    args.extend(quick_node_args());
    args.extend(["--address-pool-size".into(), "3".into()]);
    args
}
