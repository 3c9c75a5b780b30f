//! The TCP source against the real daemon on 127.0.0.1: handshake,
//! pipelined SUBMITs and their ACKs, tenant scope, limits and abuse, TLS,
//! receipts over the connection, kill -9 during a pipelined batch, and the
//! `send` command and the Python client.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use customs_gateway::protocol::{self, Header, Outcome, Secret};
use customs_gateway::store::{Store, SubmissionRecord, key};

use crate::gateway::{Gateway, free_port, set_files};
use crate::util::Rng;

/// Every enterprise of the generated sets.
const ALL: &str = r#"["3301960A01", "3301960B02", "3301960C03", "3301980D04", "3301980E05"]"#;

/// A daemon with a TCP source and two platforms: `shop` may submit for
/// every enterprise of the test sets, `other` only for the platform.
struct Tcp {
    gw: Gateway,
    addr: String,
}

impl Tcp {
    fn new(tcp_extra: &str) -> Tcp {
        Tcp::with(tcp_extra, "")
    }

    fn with(tcp_extra: &str, extra: &str) -> Tcp {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let gw = Gateway::with_config(
            200,
            &format!(
                "[tcp]\nlisten = \"{addr}\"\n{tcp_extra}\n\
                 [[platform]]\nid = \"shop\"\ntoken_file = \"shop.token\"\ncodes = {ALL}\n\
                 [[platform]]\nid = \"other\"\ntoken_file = \"other.token\"\ncodes = [\"3301960A01\"]\n{extra}"
            ),
        );
        std::fs::write(gw.path("shop.token"), "shop-secret\n").unwrap();
        std::fs::write(gw.path("other.token"), "other-secret\n").unwrap();
        Tcp { gw, addr }
    }

    fn start(&mut self) {
        self.gw.start();
        wait_listening(&self.addr);
    }

    /// Runs `customs-gateway send` as `shop` with the token in `token`
    /// (a file in the test folder) and `args`: exit status, stdout, stderr.
    fn send(&self, token: &str, args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
        let out = crate::util::gateway()
            .args([
                "send",
                "--addr",
                &self.addr,
                "--platform",
                "shop",
                "--token-file",
            ])
            .arg(self.gw.path(token))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Connects and authenticates as `shop`.
    fn shop(&self) -> Conn {
        self.login("shop", "shop-secret", true)
    }

    fn login(&self, platform: &str, token: &str, receipts: bool) -> Conn {
        let mut c = Conn::open(&self.addr);
        c.hello(platform, token, receipts);
        match c.recv() {
            Some((Header::Welcome { .. }, _)) => c,
            other => panic!("no WELCOME: {other:?}\n{}", self.gw.log()),
        }
    }
}

fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} does not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A blocking protocol connection, for tests that need every byte in hand.
struct Conn {
    s: TcpStream,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Conn { s }
    }

    fn hello(&mut self, platform: &str, token: &str, receipts: bool) {
        self.send(
            &Header::Hello {
                versions: vec![1],
                platform: platform.into(),
                token: Secret(token.into()),
                receipts,
            },
            b"",
        );
    }

    fn send(&mut self, h: &Header, body: &[u8]) {
        self.s.write_all(&protocol::encode(h, body)).unwrap();
    }

    fn submit(&mut self, id: &str, body: &[u8]) {
        self.send(&Header::Submit { id: id.into() }, body);
    }

    /// The next frame; `None` at the end of the stream.
    fn recv(&mut self) -> Option<(Header, Vec<u8>)> {
        let mut len = [0u8; 4];
        let ended = |e: std::io::Error| {
            // A timeout is a test failure; anything else is the end (the
            // gateway closed, or was killed).
            assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "read: {e}"
            );
        };
        if let Err(e) = self.s.read_exact(&mut len) {
            ended(e);
            return None;
        }
        let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
        if let Err(e) = self.s.read_exact(&mut payload) {
            ended(e);
            return None;
        }
        let (h, body) = protocol::decode(&payload).unwrap();
        Some((h, body.to_vec()))
    }

    /// The next ACK (receipts met on the way are kept in `receipts`).
    fn ack(&mut self, receipts: &mut Vec<(u64, Vec<u8>)>) -> (String, Outcome, protocol::Stored) {
        loop {
            match self.recv() {
                Some((Header::Ack { id, result, stored }, _)) => return (id, result, *stored),
                Some((Header::Receipt { seq, .. }, body)) => receipts.push((seq, body)),
                other => panic!("expected an ACK, got {other:?}"),
            }
        }
    }

    /// Reads until the end of the stream; the last frame before it.
    fn last_frame(&mut self) -> Option<Header> {
        let mut last = None;
        while let Some((h, _)) = self.recv() {
            last = Some(h);
        }
        last
    }
}

fn error_code(h: &Option<Header>) -> String {
    match h {
        Some(Header::Error { code, fatal, .. }) => {
            assert!(fatal, "{h:?}");
            code.clone()
        }
        other => panic!("expected an ERROR, got {other:?}"),
    }
}

/// Set `n`'s four messages: (id, bytes).
fn set_messages(n: u32, pass: bool) -> Vec<(String, Vec<u8>)> {
    set_files(n, pass)
        .into_iter()
        .map(|(_, name, bytes)| (format!("set-{name}"), bytes))
        .collect()
}

#[test]
fn the_handshake_refuses_wrong_tokens_unknown_platforms_silence_and_other_versions() {
    let mut t = Tcp::new("");
    t.start();
    // Silent from the start: closed after 5 s with HANDSHAKE.
    let silent_since = Instant::now();
    let mut silent = Conn::open(&t.addr);

    for (platform, token) in [("shop", "wrong"), ("nobody", "shop-secret"), ("shop", "")] {
        let mut c = Conn::open(&t.addr);
        c.hello(platform, token, true);
        let last = c.last_frame();
        assert_eq!(error_code(&last), "AUTH", "{platform}/{token}");
        if let Some(Header::Error { message, .. }) = &last {
            assert_eq!(message, "unknown platform or wrong token");
        }
    }
    let mut c = Conn::open(&t.addr);
    c.send(
        &Header::Hello {
            versions: vec![7, 9],
            platform: "shop".into(),
            token: Secret("shop-secret".into()),
            receipts: true,
        },
        b"",
    );
    match c.last_frame() {
        Some(Header::Error {
            code, supported, ..
        }) => {
            assert_eq!(code, "VERSION");
            assert_eq!(supported, vec![1]);
        }
        other => panic!("{other:?}"),
    }
    // Anything but HELLO first.
    let mut c = Conn::open(&t.addr);
    c.submit("x", b"<a/>");
    assert_eq!(error_code(&c.last_frame()), "HANDSHAKE");
    // Garbage first.
    let mut c = Conn::open(&t.addr);
    c.s.write_all(&[0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o'])
        .unwrap();
    assert_eq!(error_code(&c.last_frame()), "FRAME");

    assert_eq!(error_code(&silent.last_frame()), "HANDSHAKE");
    let waited = silent_since.elapsed();
    assert!(
        waited >= Duration::from_millis(4900) && waited < Duration::from_secs(15),
        "{waited:?}"
    );

    // The token is never logged; the reasons are.
    let log = t.gw.log();
    assert!(!log.contains("shop-secret"), "{log}");
    assert!(
        log.contains("wrong token") && log.contains("unknown platform"),
        "{log}"
    );
    // A good client still gets in.
    let _ = t.shop();
    assert_eq!(t.gw.stop().0, Some(0));
}

#[test]
fn pipelined_submits_are_acknowledged_after_the_flush_with_every_diagnostic() {
    let mut t = Tcp::new("");
    t.start();
    let mut c = t.shop();
    // Two sets, eight messages, all sent before any ACK is read.
    let mut sent = Vec::new();
    for n in [1, 2] {
        for (id, bytes) in set_messages(n, true) {
            c.submit(&id, &bytes);
            sent.push(id);
        }
    }
    // One broken message and one outside the platform's scope (as `other`).
    c.submit(
        "broken-1",
        b"<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"><ceb:Order>",
    );
    let mut receipts = Vec::new();
    let mut acks = BTreeMap::new();
    for _ in 0..9 {
        let (id, result, stored) = c.ack(&mut receipts);
        acks.insert(id, (result, stored));
    }
    for id in &sent {
        let (result, stored) = &acks[id];
        assert_eq!(*result, Outcome::Accepted, "{id}: {stored:?}");
        assert_eq!(stored.documents.len(), 1);
        assert!(stored.message > 0);
    }
    let (result, broken) = &acks["broken-1"];
    assert_eq!(*result, Outcome::Refused);
    assert_eq!(broken.findings[0].rule, "XML_MALFORMED", "{broken:?}");

    let mut o = t.login("other", "other-secret", false);
    let payment = &set_messages(3, true)[1];
    o.submit("pay-3", &payment.1);
    let (_, result, stored) = o.ack(&mut receipts);
    assert_eq!(result, Outcome::Refused);
    let f = &stored.documents[0].findings;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule, "SENDER_SCOPE");
    assert!(f[0].path.ends_with("payCode"), "{f:?}");
    assert!(f[0].message.contains("3301960C03"), "{f:?}");
    // Every rule, element and sentence of an invalid document.
    let bad =
        std::fs::read(crate::util::root().join("samples/invalid/CEB311-bad-currency.xml")).unwrap();
    c.submit("bad-currency", &bad);
    let (_, result, stored) = c.ack(&mut receipts);
    assert_eq!(result, Outcome::Refused);
    let f = &stored.documents[0].findings;
    assert_eq!(f.len(), 4, "{f:?}");
    assert!(
        f.iter()
            .all(|f| f.rule == "FIXED" && f.path.ends_with("currency") && !f.message.is_empty())
    );

    // Both sets passed and went to customs, as dropped files do.
    let outbox = t.gw.customs("OutBox");
    crate::gateway::wait_for(&t.gw, 20, "8 forwarded messages", || {
        crate::gateway::names(&outbox).len() == 8
    });
    assert_eq!(t.gw.stop().0, Some(0));
}

#[test]
fn a_resend_after_a_broken_connection_is_answered_with_the_first_result() {
    let mut t = Tcp::new("");
    t.start();
    let messages: Vec<(String, Vec<u8>)> = (10..15).flat_map(|n| set_messages(n, true)).collect();
    let mut c = t.shop();
    for (id, bytes) in &messages {
        c.submit(id, bytes);
    }
    let mut receipts = Vec::new();
    let mut first = BTreeMap::new();
    for _ in 0..5 {
        let (id, _, stored) = c.ack(&mut receipts);
        first.insert(id, stored);
    }
    drop(c); // broken: 15 ACKs never read
    let mut c = t.shop();
    for (id, bytes) in &messages {
        c.submit(id, bytes);
    }
    let mut seen = BTreeMap::new();
    for _ in 0..messages.len() {
        let (id, result, stored) = c.ack(&mut receipts);
        assert_eq!(result, Outcome::Duplicate, "{id}");
        assert_eq!(stored.result, Outcome::Accepted);
        if let Some(f) = first.get(&id) {
            assert_eq!(f, &stored, "{id}: the first result, unchanged");
        }
        assert!(seen.insert(id, stored.message).is_none());
    }
    // Never processed twice: one message per id, no duplicate documents.
    let status = status(&t.gw);
    assert_eq!(status["messages"], messages.len() as u64, "{status}");
    assert_eq!(status["tcp"]["connections"], 1, "{status}");
    assert!(status["documents"].get("duplicate").is_none(), "{status}");
    assert_eq!(t.gw.stop().0, Some(0));
}

fn status(gw: &Gateway) -> serde_json::Value {
    let mut r = ureq::get(format!("http://{}/status", gw.admin))
        .call()
        .unwrap();
    r.body_mut().read_json().unwrap()
}

#[test]
fn oversized_lengths_slow_clients_and_floods_do_not_stop_a_good_client() {
    let mut t = Tcp::with(
        "max_connections = 6\nframe_timeout_secs = 2\nidle_timeout_secs = 3\n",
        "[limits]\nmax_bytes = 100000\n",
    );
    t.start();
    let mut good = t.shop();

    // A body over limits.max_bytes in a frame the gateway reads: stored and
    // refused, the connection goes on.
    let mut receipts = Vec::new();
    let mut body = b"<?xml version=\"1.0\"?><a>".to_vec();
    body.resize(100_001, b' ');
    good.submit("too-big", &body);
    let (_, result, stored) = good.ack(&mut receipts);
    assert_eq!(result, Outcome::Refused);
    assert_eq!(stored.findings[0].rule, "TOO_LARGE", "{stored:?}");

    // A length over the limit: refused before any body is read.
    let mut big = t.shop();
    big.s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    assert_eq!(error_code(&big.last_frame()), "TOO_LARGE");

    // Slowloris: a frame started (its length prefix only) and never finished.
    let mut slow = t.shop();
    slow.s.write_all(&[0, 0, 0, 100]).unwrap();
    let slow_since = Instant::now();
    // A flood of connections that never authenticate: they compete for the
    // handshake places (6), not for the authenticated clients' places.
    let flood: Vec<Conn> = (0..12).map(|_| Conn::open(&t.addr)).collect();

    // Meanwhile the good client keeps getting its ACKs.
    for n in 20..30 {
        let t0 = Instant::now();
        for (id, bytes) in set_messages(n, true) {
            good.submit(&id, &bytes);
        }
        for _ in 0..4 {
            let (_, result, _) = good.ack(&mut receipts);
            assert_eq!(result, Outcome::Accepted);
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        good.send(&Header::Ping, b"");
        assert!(matches!(good.recv(), Some((Header::Pong, _))));
    }
    assert_eq!(error_code(&slow.last_frame()), "TIMEOUT");
    let waited = slow_since.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    // The flood: the excess was told BUSY; the rest timed out at the handshake.
    let mut codes = BTreeMap::new();
    for mut f in flood {
        *codes.entry(error_code(&f.last_frame())).or_insert(0) += 1;
    }
    assert!(codes.get("BUSY").copied().unwrap_or(0) >= 6, "{codes:?}");
    assert_eq!(codes.values().sum::<i32>(), 12, "{codes:?}");
    // Idle: closed after idle_timeout_secs without a frame.
    let idle_since = Instant::now();
    assert_eq!(error_code(&good.last_frame()), "TIMEOUT");
    assert!(idle_since.elapsed() < Duration::from_secs(10));
    // Still serving.
    let _ = t.shop();
    assert_eq!(t.gw.stop().0, Some(0));
}

#[test]
fn failure_receipts_go_back_over_the_connection_and_wait_for_the_platform() {
    let mut t = Tcp::new("");
    t.start();
    // A failing set while the platform takes no receipts: they wait.
    let mut c = t.login("shop", "shop-secret", false);
    let mut receipts = Vec::new();
    for (id, bytes) in set_messages(40, false) {
        c.submit(&id, &bytes);
    }
    for _ in 0..4 {
        let (_, result, _) = c.ack(&mut receipts);
        assert_eq!(result, Outcome::Accepted);
    }
    assert!(receipts.is_empty());
    // The receipts connection gets them, in order, and confirms two.
    let mut r = t.shop();
    let mut got = Vec::new();
    r.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while got.len() < 4 {
        match r.recv() {
            Some((Header::Receipt { seq, file }, body)) => {
                // A receipt, or the gateway's text where no receipt can be
                // written honestly (an inventory without preNo).
                let text = String::from_utf8_lossy(&body).to_string();
                if file.ends_with(".xml") {
                    assert!(text.contains("returnStatus>100<"), "{file}: {text}");
                } else {
                    assert!(
                        file.ends_with(".reason.txt") && text.contains("SET_PAID_AMOUNT"),
                        "{file}: {text}"
                    );
                }
                got.push(seq);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    for seq in &got[..2] {
        r.send(&Header::Received { seq: *seq }, b"");
    }
    // A PING round trip: the RECEIVEDs before it were handed on.
    r.send(&Header::Ping, b"");
    assert!(matches!(r.recv(), Some((Header::Pong, _))));
    std::thread::sleep(Duration::from_millis(500));
    drop(r);
    // Reconnected: only the two unconfirmed ones come again.
    let mut r = t.shop();
    let mut again = Vec::new();
    while again.len() < 2 {
        match r.recv() {
            Some((Header::Receipt { seq, .. }, _)) => again.push(seq),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(again, got[2..].to_vec());
    assert_eq!(t.gw.stop().0, Some(0));
}

/// A test CA, a server certificate it signed for 127.0.0.1, and a second,
/// unrelated CA: (ca.pem, cert.pem, key.pem, other-ca.pem).
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A named CA with its key usages, as OpenSSL (the Python client) wants.
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "customs-gateway test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let other_key = KeyPair::generate().unwrap();
    let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let other = other_params.self_signed(&other_key).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("other-ca.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    std::fs::write(&paths.3, other.pem()).unwrap();
    paths
}

#[test]
fn tls_with_a_test_ca_and_a_client_that_refuses_a_wrong_ca() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key, other) = test_pki(pki.path());
    let mut t = Tcp::new(&format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    t.start();
    let set = t.gw.path("set");
    std::fs::create_dir_all(&set).unwrap();
    for (_, name, bytes) in set_files(50, true) {
        std::fs::write(set.join(name), bytes).unwrap();
    }
    let send = |ca: &Path| {
        t.send(
            "shop.token",
            &[
                std::ffi::OsStr::new("--tls-ca"),
                ca.as_os_str(),
                set.as_os_str(),
            ],
        )
    };
    let (code, stdout, stderr) = send(&ca);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains(": accepted as message"))
            .count(),
        4,
        "{stdout}"
    );
    let (code, stdout, stderr) = send(&other);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("TLS"), "{stderr}");
    assert!(stdout.is_empty());
    // Plain TCP against the TLS port gets nothing it can use.
    let mut c = Conn::open(&t.addr);
    c.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.hello("shop", "shop-secret", false);
    let mut buf = [0u8; 64];
    let n = c.s.read(&mut buf).unwrap_or(0);
    assert!(n == 0 || !buf[..n].starts_with(&[0, 0]), "{:?}", &buf[..n]);
    // The Python client over TLS, with the same CA.
    let files: Vec<PathBuf> = crate::gateway::names(&set)
        .iter()
        .map(|n| set.join(n))
        .collect();
    let out = std::process::Command::new("python3")
        .arg(crate::util::root().join("scripts/gateway_client.py"))
        .arg(&t.addr)
        .arg("shop")
        .arg(t.gw.path("shop.token"))
        .arg("--tls-ca")
        .arg(&ca)
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 4);
    assert!(
        stdout
            .lines()
            .all(|l| l.contains("\"result\": \"duplicate\"")),
        "{stdout}"
    );
    assert_eq!(t.gw.stop().0, Some(0));
}

#[test]
fn the_send_command_and_the_python_client_against_the_real_daemon() {
    let mut t = Tcp::new("");
    t.start();
    let dir = t.gw.path("to-send");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for (_, name, bytes) in set_files(60, true) {
        std::fs::write(dir.join("sub").join(name), bytes).unwrap();
    }
    let send = |args: &[&str], paths: &[PathBuf]| {
        let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        all.extend(paths.iter().map(|p| p.as_os_str()));
        t.send("shop.token", &all)
    };
    let (code, stdout, stderr) = send(&[], std::slice::from_ref(&dir));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // One line per message, its findings indented under it (here the
    // signature warnings of the default mode, `warn`).
    let heads = stdout.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(heads, 4, "{stdout}");
    assert!(stdout.contains("warning [SIGNATURE_MISSING]"), "{stdout}");
    // Again: duplicates of accepted messages, still exit 0.
    let (code, stdout, _) = send(&["--json"], std::slice::from_ref(&dir));
    assert_eq!(code, Some(0));
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["ack"]["result"], "duplicate", "{line}");
        assert_eq!(v["ack"]["stored"]["result"], "accepted", "{line}");
    }
    // A refused file: exit 1, with the rule and element.
    let bad = crate::util::root().join("samples/invalid/CEB311-bad-apptime.xml");
    let (code, stdout, _) = send(&[], std::slice::from_ref(&bad));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("refused as message") && stdout.contains("[DATE_FORMAT] OrderHead/appTime"),
        "{stdout}"
    );
    // A wrong token: exit 2.
    std::fs::write(t.gw.path("bad.token"), "nope").unwrap();
    let (code, _, stderr) = t.send("bad.token", &[dir.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("AUTH"), "{stderr}");

    // The Python client: a new set, and the refused file.
    let py_dir = t.gw.path("py");
    std::fs::create_dir_all(&py_dir).unwrap();
    let mut files = Vec::new();
    for (_, name, bytes) in set_files(61, true) {
        let p = py_dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        files.push(p);
    }
    let python = |files: &[PathBuf]| {
        let out = std::process::Command::new("python3")
            .arg(crate::util::root().join("scripts/gateway_client.py"))
            .arg(&t.addr)
            .arg("shop")
            .arg(t.gw.path("shop.token"))
            .args(files)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, stdout) = python(&files);
    assert_eq!(code, Some(0), "{stdout}");
    let acks: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(acks.len(), 4);
    assert!(acks.iter().all(|a| a["result"] == "accepted"), "{stdout}");
    files.push(bad);
    let (code, stdout) = python(&files);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(t.gw.stop().0, Some(0));
}

#[test]
fn sigkill_during_a_pipelined_batch_loses_no_acknowledged_message() {
    let kills: u32 = std::env::var("TCP_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("TCP_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x05ee_d7c9);
    let mut rng = Rng(seed | 1);
    // A small byte budget (1 MiB, under the final round's 8 MB) and
    // in-flight bound: readers wait for ACKs all along.
    let mut t = Tcp::new("max_in_flight = 64\nmax_in_flight_mb = 1\n");
    // Small batches: a batch of messages is several flushes, so a kill
    // lands between them.
    let text = std::fs::read_to_string(&t.gw.config).unwrap();
    let text = text.replace(
        "scan_interval_ms = 200\n",
        "scan_interval_ms = 200\nbatch = 48\n",
    );
    std::fs::write(&t.gw.config, text).unwrap();
    let platform = "shop";
    // Every message ever submitted, and every ACK ever received: id -> the
    // message number it named.
    let mut all: Vec<(String, Vec<u8>)> = Vec::new();
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    // Rounds go on until `kills` kills landed in the middle of a batch
    // (some of its messages unacknowledged); then one last round.
    let mut interrupted = 0;
    let mut round = 0u32;
    loop {
        let last = interrupted >= kills || round >= 4 * kills;
        // Each round: 80 new sets (320 messages) after the ones no ACK
        // answered yet; the last round sends everything again.
        if !last {
            all.extend((0..80).flat_map(|i| set_messages(1000 + round * 80 + i, true)));
        }
        let batch: Vec<(String, Vec<u8>)> = if last {
            all.clone()
        } else {
            all.iter()
                .filter(|(id, _)| !acked.contains_key(id))
                .cloned()
                .collect()
        };
        let n_batch = batch.len();
        t.start();
        let addr = t.addr.clone();
        let (count_tx, count_rx) = std::sync::mpsc::channel::<usize>();
        // The client submits the batch pipelined and records ACKs as they
        // come, until the connection breaks.
        let client = std::thread::spawn(move || {
            let mut c = Conn::open(&addr);
            c.hello(platform, "shop-secret", false);
            let mut got = Vec::new();
            if !matches!(c.recv(), Some((Header::Welcome { .. }, _))) {
                return got;
            }
            let mut w = c.s.try_clone().unwrap();
            let writer = std::thread::spawn(move || {
                for (id, bytes) in &batch {
                    let frame = protocol::encode(&Header::Submit { id: id.clone() }, bytes);
                    if w.write_all(&frame).is_err() {
                        break;
                    }
                }
            });
            while got.len() < n_batch
                && let Some((Header::Ack { id, result, stored }, _)) = c.recv()
            {
                got.push((id, result, stored.message));
                let _ = count_tx.send(got.len());
            }
            let _ = writer.join();
            got
        });
        if !last {
            // Killed in the middle of the batch: after some ACKs, and a
            // little later still.
            let after = 1 + rng.below(n_batch as u64 / 2) as usize;
            let deadline = Instant::now() + Duration::from_secs(20);
            while let Ok(n) =
                count_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                if n >= after {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(rng.below(4)));
            t.gw.kill();
        }
        let got = client.join().unwrap_or_else(|_| {
            let log = t.gw.log();
            let _ = std::fs::write(std::env::temp_dir().join("tcp-crash.log"), &log);
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            panic!(
                "round {round}: the client failed (seed {seed}); the log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        });
        let got_n = got.len();
        eprintln!("round {round}: {got_n} of {n_batch} acknowledged before the kill");
        for (id, result, msg) in got {
            if let Some(before) = acked.insert(id.clone(), msg) {
                assert_eq!(
                    before, msg,
                    "round {round}: {id} was answered as message {before}, then {msg} (seed {seed})"
                );
                assert_eq!(result, Outcome::Duplicate, "round {round}: {id}");
            }
        }
        if got_n < n_batch {
            interrupted += 1;
        }
        round += 1;
        if last {
            assert_eq!(
                acked.len(),
                all.len(),
                "the last round acknowledges everything"
            );
            assert_eq!(t.gw.stop().0, Some(0));
            break;
        }
    }
    // Every acknowledged message is in the store under its id, once.
    let store = Store::open(&t.gw.path("store")).unwrap();
    for (id, msg) in &acked {
        let rec: SubmissionRecord = store
            .get(&key::submission(platform, id))
            .unwrap()
            .unwrap_or_else(|| {
                panic!("{id} was acknowledged and is not in the store (seed {seed})")
            });
        assert_eq!(rec.stored.message, *msg, "{id}");
        assert!(
            store.raw(*msg).unwrap().is_some(),
            "{id}: message {msg} has no bytes"
        );
    }
    assert_eq!(store.keys(b"p").unwrap().len(), all.len());
    assert_eq!(
        store.tally(customs_gateway::store::MESSAGES).unwrap(),
        all.len() as u64
    );
    assert!(!store.status_counts().unwrap().contains_key("duplicate"));
    assert!(
        interrupted >= kills,
        "only {interrupted} kills landed mid-batch"
    );
}

#[test]
fn pushed_receipts_go_over_the_platforms_connection_in_order_and_again_after_a_reconnect() {
    // Client P1 (3301960B02) is delivered over platform `shop`'s connection.
    let mut t = Tcp::with(
        "",
        "[[client]]\nid = \"P1\"\nenterprise = \"3301960B02\"\ntcp = \"shop\"\n\
         [[subscription]]\nclient = \"P1\"\ncontent = [\"receipts\"]\n\
         statuses = [\"入库\", \"放行\"]\nvalid_until = \"+1y\"\nby = \"q\"\n\
         [push]\nbackoff_ms = 100\ntimeout_secs = 5\n",
    );
    t.start();
    let n = 30u32;
    for i in 0..n {
        t.gw.drop_receipt(
            &format!("R{i:03}.xml"),
            &crate::push::receipt("3301960B02", i, "800"),
        );
        if i % 10 == 9 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    crate::gateway::wait_for(&t.gw, 20, "the receipts archived", || {
        crate::gateway::names(&t.gw.customs("Archive")).len() == n as usize
    });
    let cop = |body: &[u8]| {
        let text = String::from_utf8_lossy(body).to_string();
        let s = text.find("<copNo>").unwrap() + 7;
        text[s..s + text[s..].find('<').unwrap()].to_owned()
    };
    // In queue order (the order customs' files were stored), each once.
    let mut r = t.shop();
    r.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut first = Vec::new();
    while first.len() < n as usize {
        match r.recv() {
            Some((Header::Receipt { seq, file }, body)) => {
                assert!(
                    file.starts_with("CEB622_") && file.ends_with("_0.xml"),
                    "{file}"
                );
                first.push((seq, file, cop(&body)));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(first.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    let cops: std::collections::BTreeSet<&String> = first.iter().map(|(_, _, c)| c).collect();
    assert_eq!(cops.len(), n as usize);
    // Ten confirmed; the connection drops; the twenty others come again,
    // in the same order, on the next one.
    for (seq, _, _) in &first[..10] {
        r.send(&Header::Received { seq: *seq }, b"");
    }
    r.send(&Header::Ping, b"");
    assert!(matches!(r.recv(), Some((Header::Pong, _))));
    drop(r);
    let mut r = t.shop();
    r.s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut again = Vec::new();
    while again.len() < 20 {
        match r.recv() {
            Some((Header::Receipt { seq, file }, _)) => again.push((seq, file)),
            other => panic!("{other:?}"),
        }
    }
    let want: Vec<(u64, String)> = first[10..]
        .iter()
        .map(|(s, f, _)| (*s, f.clone()))
        .collect();
    assert_eq!(again, want);
    for (seq, _) in &again {
        r.send(&Header::Received { seq: *seq }, b"");
    }
    crate::gateway::wait_for(&t.gw, 20, "every push confirmed", || {
        let out = crate::util::gateway()
            .args(["outbox", "--json", "--config"])
            .arg(&t.gw.config)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["clients"][0]["delivered"] == n && v["clients"][0]["queued"] == 0
    });
    drop(r);
    assert_eq!(t.gw.stop().0, Some(0));
}

/// A live reload: a platform given a new token has its connection closed
/// with `REVOKED` (after its ACKs), the old token is refused and the new
/// one admitted; a platform added is admitted; one whose codes changed
/// keeps its connection.
#[test]
fn a_reload_revokes_a_platform_given_a_new_token_and_admits_one_added() {
    let mut t = Tcp::new("");
    t.start();
    let generation = |t: &Tcp| status(&t.gw)["config"]["generation"].as_u64().unwrap_or(0);
    let mut c = t.shop();
    let mut o = t.login("other", "other-secret", false);
    let mut receipts = Vec::new();
    for (id, body) in set_messages(1, true) {
        c.submit(&id, &body);
        let (acked, _, _) = c.ack(&mut receipts);
        assert_eq!(acked, id);
    }
    // A new token for `shop` and other codes for `other`, in one reload.
    std::fs::write(t.gw.path("shop.token"), "shop-new\n").unwrap();
    let config = std::fs::read_to_string(&t.gw.config).unwrap();
    let widened = config.replace(
        "codes = [\"3301960A01\"]",
        "codes = [\"3301960A01\", \"3301960B02\"]",
    );
    assert_ne!(widened, config);
    std::fs::write(&t.gw.config, &widened).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while generation(&t) < 2 {
        assert!(Instant::now() < deadline, "no reload\n{}", t.gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(error_code(&c.last_frame()), "REVOKED");
    // `other` keeps its connection: it still answers a PING.
    o.send(&Header::Ping, b"");
    assert!(matches!(o.recv(), Some((Header::Pong, _))));
    // The old token is refused, the new one admitted.
    let mut old = Conn::open(&t.addr);
    old.hello("shop", "shop-secret", true);
    assert_eq!(error_code(&old.last_frame()), "AUTH");
    drop(t.login("shop", "shop-new", true));

    // A platform added (its token file first, then the configuration).
    std::thread::sleep(Duration::from_millis(500));
    let before = generation(&t);
    std::fs::write(t.gw.path("late.token"), "late-secret\n").unwrap();
    std::fs::write(
        &t.gw.config,
        format!("{widened}[[platform]]\nid = \"late\"\ntoken_file = \"late.token\"\ncodes = [\"3301960A01\"]\n"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while generation(&t) <= before {
        assert!(Instant::now() < deadline, "no reload\n{}", t.gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(t.login("late", "late-secret", false));
    let (code, _) = t.gw.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn a_platform_with_its_own_signature_mode_is_held_to_it() {
    // `strict` requires signatures; `shop` has the default, `warn`.
    let mut t = Tcp::with(
        "",
        &format!(
            "[[platform]]\nid = \"strict\"\ntoken_file = \"strict.token\"\ncodes = {ALL}\nsignature = \"require\"\n"
        ),
    );
    std::fs::write(t.gw.path("strict.token"), "strict-secret\n").unwrap();
    t.start();
    let mut receipts = Vec::new();
    let (_, order) = &set_messages(41, true)[0];
    let mut strict = t.login("strict", "strict-secret", false);
    strict.submit("order-41", order);
    let (_, result, stored) = strict.ack(&mut receipts);
    assert_eq!(result, Outcome::Refused, "{stored:?}");
    let f = &stored.documents[0].findings;
    assert_eq!(f[0].rule, "SIGNATURE_MISSING", "{f:?}");
    assert!(f[0].message.contains("signature mode require"), "{f:?}");
    let mut shop = t.shop();
    shop.submit("order-41", order);
    let (_, result, stored) = shop.ack(&mut receipts);
    assert_eq!(result, Outcome::Accepted, "{stored:?}");
    let warned: Vec<&str> = stored.findings.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(warned, ["SIGNATURE_MISSING"], "{stored:?}");
    assert_eq!(t.gw.stop().0, Some(0));
}
