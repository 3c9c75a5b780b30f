//! Shared helpers: paths to the reference material, xmllint, the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use customs_gateway::schema::{MessageSpec, Namespace};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/reference`, read in place (never copied into the project).
pub fn reference() -> PathBuf {
    root().join("../shared/reference")
}

/// Every `*.xml` below `dir`, sorted.
pub fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "xml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The official XSD for a message type, if one is published.
pub fn xsd_for(spec: &MessageSpec) -> Option<PathBuf> {
    let xsd = reference().join("xsd");
    match spec.namespace {
        Namespace::Ceb => Some(xsd.join("ceb-import-2022.xsd")),
        Namespace::Dec => Some(xsd.join("DecImportResponse.xsd")),
        Namespace::Dxp => Some(xsd.join("dxp-terminal-2022.xsd")),
        Namespace::Mail | Namespace::None => None,
    }
}

/// Validates `bytes` against `xsd` with xmllint; Err carries xmllint's output.
///
/// xmllint is installed by the README's test command (`scripts/test.sh`); a
/// missing xmllint fails the test rather than skipping it.
pub fn xmllint(bytes: &[u8], xsd: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(&file)
        .output()
        .expect("xmllint not found: run scripts/test.sh, which installs libxml2-utils");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The built `customs-gateway` binary.
pub fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_customs-gateway"))
}

/// What a run of the binary printed.
pub struct Run {
    /// Exit status (`None` when killed by a signal).
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` to completion, or kills it after `secs` seconds and fails the
/// test: a hang (a FIFO opened for reading, say) becomes a failure, not a
/// test run that never ends.
pub fn run_with_timeout(mut cmd: Command, secs: u64) -> Run {
    use std::process::Stdio;
    use std::sync::mpsc;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => {
            let out = out.unwrap();
            Run {
                status: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
        Err(_) => {
            // Only the process this helper started, by its id.
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("{cmd:?} did not finish within {secs} s (killed)");
        }
    }
}

/// A tiny deterministic generator (xorshift): a failing run repeats from
/// its seed.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A one-worker runtime and a listener on a free local port, for serving
/// the admin API in process: the runtime, the listener and its address.
pub fn api_runtime() -> (tokio::runtime::Runtime, tokio::net::TcpListener, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (rt, listener, addr)
}
