//! A harness for the real daemon: a temporary folder tree, a configuration
//! with two senders, the binary started and stopped (SIGTERM) or killed
//! (SIGKILL), files dropped the way writers drop them, and order sets made
//! from `samples/set-ok` with their own numbers and buyer.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use customs_gateway::codec::{self, EncodeOptions};
use customs_gateway::formats::id_card_check_char;
use customs_gateway::model::{Document, Message};
use customs_gateway::schema::fields::{inventory_head as ih, order_head as oh, payment_head as ph};

use crate::engine::{Set, d};

/// The senders of the test configuration: who may declare for whom.
/// `ecom` declares orders and inventories, `partners` payments and waybills.
pub const ECOM: &str = "ecom";
/// See [`ECOM`].
pub const PARTNERS: &str = "partners";

/// A running (or stopped) daemon and its folders.
pub struct Gateway {
    /// The temporary root (kept while the value lives).
    pub dir: tempfile::TempDir,
    /// The configuration file.
    pub config: PathBuf,
    /// The admin address.
    pub admin: String,
    /// Environment variables the daemon is started with.
    pub env: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
    starts: u32,
}

/// The configuration of a test daemon, with `extra` appended.
fn config_text(admin: &str, settle_ms: u64, extra: &str) -> String {
    format!(
        r#"registry = "registry.toml"
[store]
path = "store"
[admin]
listen = "{admin}"
[customs]
outbox = "customs/OutBox"
inbox = "customs/InBox"
failbox = "customs/FailBox"
sentbox = "customs/SentBox"
retries = 2
[ingest]
settle_ms = {settle_ms}
scan_interval_ms = 200
[[sender]]
name = "{ECOM}"
root = "senders/{ECOM}"
codes = ["3301960A01", "3301960B02", "3301980E05"]
[[sender]]
name = "{PARTNERS}"
root = "senders/{PARTNERS}"
codes = ["3301960C03", "3301980D04"]
{extra}"#
    )
}

/// A free local port.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Gateway {
    /// A folder tree and configuration (not started). `settle_ms` is the
    /// ingest settle time.
    pub fn new(settle_ms: u64) -> Gateway {
        Gateway::with_config(settle_ms, "")
    }

    /// Like [`Gateway::new`], with more configuration appended.
    pub fn with_config(settle_ms: u64, extra: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let admin = format!("127.0.0.1:{}", free_port());
        let config = dir.path().join("gateway.toml");
        std::fs::write(&config, config_text(&admin, settle_ms, extra)).unwrap();
        std::fs::copy(
            crate::util::root().join("conf/registry.toml"),
            dir.path().join("registry.toml"),
        )
        .unwrap();
        let log = dir.path().join("gateway.log");
        Gateway {
            dir,
            config,
            admin,
            env: Vec::new(),
            child: None,
            log,
            starts: 0,
        }
    }

    /// Starts the daemon and waits until its admin port answers.
    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts the daemon with more arguments after `serve --config FILE`.
    pub fn start_with(&mut self, args: &[&str]) {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_customs-gateway"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .args(args)
            .env("CUSTOMS_GATEWAY_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(&self.admin).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the daemon exited at start: {status}\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not start\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits: the exit status and how long it took.
    pub fn stop(&mut self) -> (Option<i32>, Duration) {
        let mut child = self.child.take().expect("running");
        let t = Instant::now();
        signal(&child, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code(), t.elapsed());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the daemon did not stop in 30 s\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `sig` to the running daemon.
    pub fn signal(&self, sig: i32) {
        signal(self.child.as_ref().expect("running"), sig);
    }

    /// Whether the daemon still runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// SIGKILL, then reaps it: how it ended (killed by SIGKILL, unless it
    /// had already exited by itself).
    pub fn kill(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(&child, libc::SIGKILL);
        child.wait().unwrap()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A path below the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A sender's folder (`OutBox`, `SentBox` …).
    pub fn sender(&self, sender: &str, folder: &str) -> PathBuf {
        self.path(&format!("senders/{sender}/{folder}"))
    }

    /// A customs folder (`OutBox`, `InBox` …).
    pub fn customs(&self, folder: &str) -> PathBuf {
        self.path(&format!("customs/{folder}"))
    }

    /// Drops a file the safe way: written under a `.tmp` name, then renamed.
    pub fn drop_file(&self, sender: &str, name: &str, bytes: &[u8]) {
        put(&self.sender(sender, "OutBox"), name, bytes);
    }

    /// Drops a customs receipt into the customs InBox.
    pub fn drop_receipt(&self, name: &str, bytes: &[u8]) {
        put(&self.customs("InBox"), name, bytes);
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Writes `dir/.name.tmp`, then renames it to `dir/name`.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// Waits until `cond` holds (polling), or fails with `what` and the log.
pub fn wait_for(gw: &Gateway, secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- log ---\n{}",
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The names of the regular files in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The sample message of each set kind, to wrap a document in.
fn envelope(kind: usize) -> Message {
    const FILES: [&str; 4] = [
        "CEB311-order.xml",
        "CEB411-payment.xml",
        "CEB511-waybill.xml",
        "CEB621-inventory.xml",
    ];
    let path = crate::util::root().join("samples/set-ok").join(FILES[kind]);
    codec::decode(&std::fs::read(path).unwrap())
        .unwrap()
        .message
}

/// A message holding one document, written in the official form.
pub fn message_bytes(kind: usize, doc: &Document) -> Vec<u8> {
    let mut m = envelope(kind);
    // The sample's pasted signature stays (CEB621 must carry one; nothing
    // here verifies signatures yet).
    m.documents = vec![doc.clone()];
    codec::encode(&m, &EncodeOptions::default()).unwrap()
}

/// Order set `n`: its own orderNo, payment, waybill, copNo and buyer.
/// A failing set's payment disagrees with its order (SET_PAID_AMOUNT).
pub fn numbered_set(n: u32, pass: bool) -> Set {
    let mut set = Set::sample().numbered(n);
    let id = set.order.head.str(oh::BUYER_ID_NUMBER).to_owned();
    let buyer = buyer_id(&id, n);
    set.order.head.set(oh::BUYER_ID_NUMBER, buyer.as_str());
    set.payment.head.set(ph::PAYER_ID_NUMBER, buyer.as_str());
    set.inventory.head.set(ih::BUYER_ID_NUMBER, buyer.as_str());
    if !pass {
        let paid = set.payment.head.dec(ph::AMOUNT_PAID).unwrap();
        set.payment.head.set_dec(ph::AMOUNT_PAID, paid + d("50"));
    }
    set
}

/// The four files of a set: (sender, file name, bytes), in kind order.
pub fn set_files(n: u32, pass: bool) -> Vec<(&'static str, String, Vec<u8>)> {
    let set = numbered_set(n, pass);
    let docs = [&set.order, &set.payment, &set.waybill, &set.inventory];
    let senders = [ECOM, PARTNERS, PARTNERS, ECOM];
    let types = ["CEB311", "CEB411", "CEB511", "CEB621"];
    (0..4)
        .map(|k| {
            (
                senders[k],
                format!("{}-{n:05}.xml", types[k]),
                message_bytes(k, docs[k]),
            )
        })
        .collect()
}

/// A valid ID card number unique to `n` (below 336,000): the sample's
/// region, a birth date in 1990 and a sequence from `n`, the check digit
/// recomputed.
fn buyer_id(sample: &str, n: u32) -> String {
    let (seq, k) = (n % 1000, n / 1000);
    let (month, day) = (k % 12 + 1, (k / 12) % 28 + 1);
    let first = format!("{}1990{month:02}{day:02}{seq:03}", &sample[..6]);
    let check = id_card_check_char(&first).unwrap() as char;
    format!("{first}{check}")
}
