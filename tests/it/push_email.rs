//! Push to registered clients with the real daemon, real folders and a real
//! SMTP server (Debian's `python3-aiosmtpd`, run with `/usr/bin/python3`;
//! `scripts/test.sh` installs it): a receipt mailed with its attachment
//! intact; one client's broken folder or silent mail server holding up no
//! other client; parking after `max_attempts` and replaying.

use std::io::{BufRead as _, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::gateway::{Gateway, free_port, names, wait_for};
use crate::util::{self, Run, run_with_timeout};

/// The enterprise every client here belongs to: the sample receipt's ebcCode.
const EBC: &str = "3301960B02";
/// The official-form release receipt (放行, returnStatus 800).
const SAMPLE: &str = "samples/receipts/CEB622-inventory-released.xml";
/// The sample's invtNo.
const SAMPLE_INVT: &str = "29912026I000000123";
/// Debian's Python, which sees Debian's `python3-aiosmtpd` (a `python3` first
/// on PATH may be a pyenv build that does not).
const PYTHON: &str = "/usr/bin/python3";

/// An SMTP server that writes each message it receives, as received, to
/// `OUT/NNN.eml`, and its envelope to `OUT/NNN.json`; it prints `ready` once
/// it listens.
const SERVER_PY: &str = r#"
import json, os, sys
from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), sys.argv[2]

class Keep:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Keep.n += 1
        base = os.path.join(out, "%03d" % Keep.n)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"

controller = Controller(Keep(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"#;

/// Parses a mail with Python's `email` package and prints it as JSON: the
/// decoded headers, and per part its type, file name, charset, decoded text
/// (text parts without a file name) or decoded bytes in hex.
const PARSE_PY: &str = r#"
import email, json, sys
from email import policy

m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
parts = []
for p in (m.iter_parts() if m.is_multipart() else [m]):
    d = {
        "content_type": p.get_content_type(),
        "filename": p.get_filename(),
        "disposition": p.get_content_disposition(),
        "charset": p.get_content_charset(),
    }
    if p.get_content_maintype() == "text" and p.get_filename() is None:
        d["text"] = p.get_content()
    else:
        d["hex"] = p.get_payload(decode=True).hex()
    parts.append(d)
print(json.dumps({
    "subject": str(m["subject"]),
    "from": str(m["from"]),
    "to": str(m["to"]),
    "content_type": m.get_content_type(),
    "parts": parts,
}, ensure_ascii=False))
"#;

/// A running aiosmtpd (this test's own child; killed on drop).
struct SmtpServer {
    port: u16,
    out: PathBuf,
    child: Child,
}

impl SmtpServer {
    /// Starts it on a free local port, writing mail into `out`; returns once
    /// it listens.
    fn start(dir: &Path) -> SmtpServer {
        let out = dir.join("mail");
        std::fs::create_dir_all(&out).unwrap();
        let script = dir.join("smtp_server.py");
        std::fs::write(&script, SERVER_PY).unwrap();
        let port = free_port();
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("smtp_server.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{PYTHON}: {e}: run scripts/test.sh, which installs python3-aiosmtpd")
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "aiosmtpd did not start (is python3-aiosmtpd installed for {PYTHON}? \
                 scripts/test.sh installs it); it printed {line:?}\n{}",
                std::fs::read_to_string(dir.join("smtp_server.log")).unwrap_or_default()
            );
        }
        let server = SmtpServer { port, out, child };
        // It answers: a greeting on a fresh connection.
        let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut greeting = String::new();
        BufReader::new(&s).read_line(&mut greeting).unwrap();
        assert!(greeting.starts_with("220"), "{greeting:?}");
        drop(s);
        server
    }

    /// The mails received so far, in order.
    fn mails(&self) -> Vec<PathBuf> {
        names(&self.out)
            .into_iter()
            .filter(|n| n.ends_with(".eml"))
            .map(|n| self.out.join(n))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Only the child this test started, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mail server that accepts connections and never says a word; the
/// accepted connections stay open until it is dropped.
struct SilentSmtp {
    port: u16,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentSmtp {
    fn start() -> SilentSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => accepted.lock().unwrap().push(s),
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        SilentSmtp {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

impl Drop for SilentSmtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `[[client]]` of [`EBC`] with one delivery line, and its subscription
/// to receipts of all seven statuses.
fn client(id: &str, delivery: &str) -> String {
    format!(
        r#"
[[client]]
id = "{id}"
enterprise = "{EBC}"
{delivery}

[[subscription]]
client = "{id}"
content = ["receipts"]
statuses = ["入库", "退单", "审结", "删单", "放行", "结案", "查验通知"]
valid_until = "+1y"
by = "test"
"#
    )
}

/// A TOML string for a path.
fn toml_path(p: &Path) -> String {
    toml_str(&p.display().to_string())
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The sample receipt's bytes.
fn sample() -> Vec<u8> {
    std::fs::read(util::root().join(SAMPLE)).unwrap()
}

/// The sample receipt made distinct by `n`: both guids, the copNo and the
/// invtNo carry it (same lengths, same forms).
fn receipt(n: u32) -> (String, Vec<u8>) {
    let text = String::from_utf8(sample()).unwrap();
    let invt = format!("29912026I{n:09}");
    let replaced = text
        .replace(
            "72A5EB59-A12D-55E8-BD9F-BA3EDD26F5E0",
            &format!("72A5EB59-A12D-55E8-BD9F-BA3EDD26{n:04}"),
        )
        .replace(
            "930A8DFD-B364-54C9-B5EE-61DB1EE2D389",
            &format!("930A8DFD-B364-54C9-B5EE-61DB1EE2{n:04}"),
        )
        .replace("GWCOP2026112100001", &format!("GWCOP20261121{n:05}"))
        .replace(SAMPLE_INVT, &invt);
    assert_ne!(replaced, text);
    (invt, replaced.into_bytes())
}

/// Runs an admin subcommand of the binary against `gw` (with `--config`).
fn cli(gw: &Gateway, args: &[&str]) -> Run {
    let mut cmd = util::gateway();
    cmd.args(args).arg("--config").arg(&gw.config);
    run_with_timeout(cmd, 30)
}

/// `outbox --json` (with `extra` arguments), parsed.
fn outbox(gw: &Gateway, extra: &[&str]) -> Value {
    let mut args = vec!["outbox", "--json"];
    args.extend_from_slice(extra);
    let run = cli(gw, &args);
    assert_eq!(
        run.status,
        Some(0),
        "outbox {extra:?}: {}{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// One client's line of an `outbox --json` answer.
fn summary<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == id)
        .unwrap_or_else(|| panic!("no client {id} in {v:#}"))
}

fn count(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v:#}"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A received mail, parsed by Python's `email` package.
fn parse_mail(dir: &Path, mail: &Path) -> Value {
    let script = dir.join("parse_mail.py");
    std::fs::write(&script, PARSE_PY).unwrap();
    let mut cmd = Command::new(PYTHON);
    cmd.arg(&script).arg(mail);
    let run = run_with_timeout(cmd, 30);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// A released inventory receipt of the client's enterprise is mailed to it:
/// a Chinese subject and body naming the type and the status (放行), the
/// receipt attached byte for byte under its push file name; the client's
/// outbox shows it delivered.
#[test]
fn a_receipt_is_mailed_with_the_receipt_attached_unchanged() {
    let t = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(tmp.path());
    let extra = format!(
        r#"
[smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "customs-gateway <gw@example.com>"

[push]
backoff_ms = 200
timeout_secs = 5
{client}"#,
        port = smtp.port,
        client = client("MAIL1", r#"email = ["ops@example.com"]"#),
    );
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    let bytes = sample();
    gw.drop_receipt("CEB622-inventory-released.xml", &bytes);
    wait_for(&gw, 15, "one mail at the SMTP server", || {
        !smtp.mails().is_empty()
    });
    wait_for(&gw, 10, "the mail recorded as delivered", || {
        let c = outbox(&gw, &[]);
        let c = summary(&c, "MAIL1");
        count(c, "queued") == 0 && count(c, "delivered") == 1
    });
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");

    // The envelope: from the configured sender to the client's address.
    let envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(mails[0].with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(envelope["mail_from"], "gw@example.com", "{envelope}");
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["ops@example.com"]),
        "{envelope}"
    );

    let mail = parse_mail(tmp.path(), &mails[0]);
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.contains("进口清单回执"), "subject: {subject}");
    assert!(subject.contains("放行"), "subject: {subject}");
    assert!(
        mail["from"].as_str().unwrap().contains("gw@example.com"),
        "{mail:#}"
    );
    assert!(
        mail["to"].as_str().unwrap().contains("ops@example.com"),
        "{mail:#}"
    );
    assert_eq!(mail["content_type"], "multipart/mixed", "{mail:#}");
    let parts = mail["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{mail:#}");

    // The body: plain text, in Chinese, naming the type, the status and
    // the customs code.
    let body = &parts[0];
    assert_eq!(body["content_type"], "text/plain", "{mail:#}");
    let text = body["text"].as_str().unwrap();
    for want in ["海关状态回执", "进口清单回执", "状态：放行", "800", "附件"] {
        assert!(text.contains(want), "the body lacks {want}:\n{text}");
    }

    // The attachment: the receipt as dropped, under CEB622_<msg id>_0.xml.
    let att = &parts[1];
    let name = att["filename"].as_str().unwrap_or_default();
    let id = name
        .strip_prefix("CEB622_")
        .and_then(|s| s.strip_suffix("_0.xml"))
        .unwrap_or_else(|| panic!("attachment name {name:?}"));
    assert!(
        id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()),
        "attachment name {name:?}"
    );
    assert_eq!(att["disposition"], "attachment", "{mail:#}");
    let got = unhex(att["hex"].as_str().unwrap());
    assert!(
        got == bytes,
        "the attachment differs from the dropped receipt:\n--- attached ---\n{}\n--- dropped ---\n{}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&bytes)
    );

    // Nothing more arrives (one subscription, one address, one mail).
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0), "{}", gw.log());
    assert_eq!(smtp.mails().len(), 1);
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

/// Three clients of one enterprise: a healthy folder, a folder that cannot
/// be made (it lies under a regular file, so even root fails) and a mail
/// server that accepts and never answers. The healthy client gets every
/// receipt at once, well within the 20 s delivery timeout; the other two
/// hold only their own queues, and the daemon still stops cleanly with a
/// mail connection hanging.
#[test]
fn a_broken_folder_and_a_silent_mail_server_hold_up_no_other_client() {
    const N: u32 = 5;
    let silent = SilentSmtp::start();
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good/InBox");
    let blocker = tmp.path().join("blocked.txt");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let blocked = blocker.join("InBox");
    let extra = format!(
        r#"
[smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "customs-gateway <gw@example.com>"

[push]
backoff_ms = 200
timeout_secs = 20
{mail}{blocked}{good}"#,
        port = silent.port,
        good = client("GOOD", &format!("folder = {}", toml_path(&good))),
        blocked = client("BLOCKED", &format!("folder = {}", toml_path(&blocked))),
        mail = client("SILENT", r#"email = ["ops@example.com"]"#),
    );
    // The healthy client is declared last: were deliveries serialized in
    // declaration order, it would wait behind the other two.
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();

    let t = Instant::now();
    let mut files = Vec::new();
    for n in 1..=N {
        let (_, bytes) = receipt(n);
        gw.drop_receipt(&format!("CEB622-{n:03}.xml"), &bytes);
        files.push(bytes);
    }
    wait_for(
        &gw,
        8,
        "every receipt in the healthy client's InBox within 8 s",
        || names(&good).len() == N as usize,
    );
    let took = t.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "the healthy client waited {took:?} for {N} receipts"
    );
    // Each delivered file is one of the dropped receipts, each once.
    let mut got: Vec<Vec<u8>> = names(&good)
        .iter()
        .map(|n| std::fs::read(good.join(n)).unwrap())
        .collect();
    got.sort();
    files.sort();
    assert_eq!(got, files, "the healthy client got other bytes");

    // The broken folder: its entries wait, with an error naming it.
    let shown = blocked.display().to_string();
    wait_for(&gw, 10, "the blocked client's failed attempts", || {
        let v = outbox(&gw, &[]);
        let b = summary(&v, "BLOCKED");
        count(b, "queued") == u64::from(N) && !b["last_error"].is_null()
    });
    let v = outbox(&gw, &[]);
    let b = summary(&v, "BLOCKED");
    let error = b["last_error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{shown}: ")),
        "the error should name the client's folder {shown}: {error}"
    );
    assert_eq!(count(b, "delivered"), 0, "{v:#}");
    assert_eq!(count(b, "parked"), 0, "{v:#}");
    let g = summary(&v, "GOOD");
    assert_eq!(
        (count(g, "queued"), count(g, "delivered")),
        (0, u64::from(N)),
        "{v:#}"
    );

    // The silent mail server: the gateway connected and is still waiting
    // for its greeting; nothing has been tried to the end, nothing delivered.
    wait_for(&gw, 5, "a connection to the silent mail server", || {
        silent.connections() > 0
    });
    let s = summary(&v, "SILENT");
    assert_eq!(
        (
            count(s, "queued"),
            count(s, "delivered"),
            count(s, "parked")
        ),
        (u64::from(N), 0, 0),
        "{v:#}"
    );
    let entries = outbox(&gw, &["--client", "SILENT"]);
    let entries = entries["entries"].as_array().unwrap();
    assert_eq!(entries.len(), N as usize, "{entries:#?}");
    assert!(
        entries
            .iter()
            .all(|e| e["attempts"] == 0 && e["error"] == "" && e["parked"] == false),
        "the first mail should still be in flight after {:?}: {entries:#?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "too slow to see the mail in flight"
    );

    // A reload that restarts every worker ([push] changed) while the mail
    // is hanging: applied at once (the silent client's worker is replaced
    // after its round, alone), and the healthy client keeps receiving.
    let text = std::fs::read_to_string(&gw.config).unwrap();
    let reload_at = Instant::now();
    std::fs::write(
        &gw.config,
        text.replace("backoff_ms = 200", "backoff_ms = 250"),
    )
    .unwrap();
    wait_for(&gw, 5, "the reload applied while a mail hangs", || {
        crate::push::get(&gw, "/status")["config"]["generation"] == 2
    });
    let (_, bytes) = receipt(N + 1);
    gw.drop_receipt(&format!("CEB622-{:03}.xml", N + 1), &bytes);
    wait_for(
        &gw,
        8,
        "the healthy client's receipt after the reload",
        || names(&good).len() == N as usize + 1,
    );
    assert!(
        reload_at.elapsed() < Duration::from_secs(10),
        "the healthy client waited behind the silent one: {:?}",
        reload_at.elapsed()
    );

    // SIGTERM with a mail connection hanging: a clean, prompt exit.
    let (code, stopped_in) = gw.stop();
    assert_eq!(code, Some(0), "{}", gw.log());
    assert!(
        stopped_in < Duration::from_secs(10),
        "stopping took {stopped_in:?}\n{}",
        gw.log()
    );
}

/// A folder that cannot be made: the entry is parked after `max_attempts`;
/// once the folder exists, `replay --parked` delivers it, and `replay
/// --key` delivers the delivered entry again, replacing the file.
#[test]
fn a_parked_entry_is_replayed_and_a_delivered_one_sent_again() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("blocked.txt");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let inbox = blocker.join("InBox");
    let extra = format!(
        r#"
[push]
max_attempts = 2
backoff_ms = 100
{}"#,
        client("C1", &format!("folder = {}", toml_path(&inbox)))
    );
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    let t = Instant::now();
    let bytes = sample();
    gw.drop_receipt("CEB622-inventory-released.xml", &bytes);

    // Parked after two failed attempts, the error naming the folder.
    wait_for(&gw, 10, "the entry parked", || {
        let v = outbox(&gw, &["--parked"]);
        !v["entries"].as_array().unwrap().is_empty()
    });
    let v = outbox(&gw, &["--parked"]);
    let parked = v["entries"].as_array().unwrap();
    assert_eq!(parked.len(), 1, "{v:#}");
    let e = &parked[0];
    assert_eq!(e["parked"], true, "{v:#}");
    assert_eq!(e["attempts"], 2, "{v:#}");
    let shown = format!("{}: ", inbox.display());
    assert!(
        e["error"].as_str().unwrap().starts_with(&shown),
        "the error should name the client's folder: {v:#}"
    );
    let file = e["file"].as_str().unwrap().to_owned();
    assert!(
        file.starts_with("CEB622_") && file.ends_with("_0.xml"),
        "{file}"
    );
    let c = summary(&v, "C1");
    assert_eq!(
        (
            count(c, "queued"),
            count(c, "parked"),
            count(c, "delivered")
        ),
        (0, 1, 0),
        "{v:#}"
    );

    // The folder can be made now; the parked entry is queued again.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir_all(&inbox).unwrap();
    let run = cli(&gw, &["replay", "--client", "C1", "--parked"]);
    assert_eq!(run.status, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("C1: 1 parked entries queued again, 0 delivered entries queued again"),
        "{}",
        run.stdout
    );
    wait_for(&gw, 10, "the replayed receipt in the InBox", || {
        names(&inbox) == [file.clone()]
    });
    assert_eq!(std::fs::read(inbox.join(&file)).unwrap(), bytes);
    wait_for(&gw, 10, "the entry recorded as delivered", || {
        let v = outbox(&gw, &[]);
        let c = summary(&v, "C1");
        (
            count(c, "queued"),
            count(c, "parked"),
            count(c, "delivered"),
        ) == (0, 0, 1)
    });

    // Sent again by its file name: the file is replaced, not doubled.
    let inode = |p: &Path| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(p).unwrap().ino()
    };
    let before = inode(&inbox.join(&file));
    let run = cli(&gw, &["replay", "--client", "C1", "--key", &file, "--json"]);
    assert_eq!(run.status, Some(0), "{}{}", run.stdout, run.stderr);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (&answer["unparked"], &answer["requeued"]),
        (&Value::from(0), &Value::from(1)),
        "{answer:#}"
    );
    wait_for(&gw, 10, "the receipt delivered a second time", || {
        let v = outbox(&gw, &[]);
        let c = summary(&v, "C1");
        (count(c, "queued"), count(c, "delivered")) == (0, 2)
    });
    assert_ne!(
        inode(&inbox.join(&file)),
        before,
        "the file was not written again"
    );
    assert_eq!(names(&inbox), vec![file.clone()], "one file, replaced");
    assert_eq!(std::fs::read(inbox.join(&file)).unwrap(), bytes);

    let (code, _) = gw.stop();
    assert_eq!(code, Some(0), "{}", gw.log());
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}
