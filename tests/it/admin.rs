//! The admin API and its CLI: a real store in a temporary folder, the API
//! served on a local port, asked through the client and the subcommands.

use std::path::PathBuf;
use std::time::Instant;

use base64::Engine as _;
use clap::{Parser, Subcommand};
use customs_gateway::admin::api::{self, AdminState};
use customs_gateway::admin::cli::{self, AdminCommand};
use customs_gateway::admin::client::{Client, ClientError, MessagesQuery};
use customs_gateway::daemon::stats::PipelineStats;
use customs_gateway::engine::SetKey;
use customs_gateway::store::records::{Disposition, VERSION};
use customs_gateway::store::{
    DocId, DocumentRecord, Event, Finding, MessageRecord, ReceiptEvent, SetRecord, Source, Store,
    key,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// 2026-11-22T02:13:14Z.
const T0: u64 = 1_795_313_594_000;
const MINUTE: u64 = 60_000;
const ORDER_KEY: &str = "orderNo=GW1,ebpCode=3301960A01";

fn id(msg: u64) -> DocId {
    DocId { msg, doc: 0 }
}

/// One stored document: its message, its record and its history.
struct Doc {
    msg: u64,
    ty: &'static str,
    key: &'static str,
    sender: &'static str,
    app_type: &'static str,
    at: u64,
    status: &'static str,
    set: bool,
    answers: Option<u64>,
    history: Vec<Event>,
}

fn event(at: u64, status: &str, info: &str) -> Event {
    Event {
        v: VERSION,
        at_ms: at,
        status: status.to_owned(),
        info: info.to_owned(),
        findings: Vec::new(),
        receipt: None,
    }
}

fn receipt_event(at: u64, msg: u64, code: &str, time: &str, info: &str, current: bool) -> Event {
    Event {
        receipt: Some(ReceiptEvent {
            doc: id(msg),
            ty: "CEB312".to_owned(),
            code: code.to_owned(),
            time: time.to_owned(),
            info: info.to_owned(),
            current,
        }),
        ..event(at, &format!("customs:{code}"), "customs receipt")
    }
}

/// The order GW1 from shop-a (passed, forwarded, accepted and released by
/// customs), its inventory, the two receipts, an orphan receipt and a
/// refused payment of another order the next day.
fn documents() -> Vec<Doc> {
    let order_history = vec![
        event(T0, "received", "stored"),
        event(
            T0 + MINUTE,
            "waiting",
            "set orderNo=GW1: missing the inventory",
        ),
        event(T0 + 2 * MINUTE, "set_passed", "set passed"),
        event(
            T0 + 3 * MINUTE,
            "forwarded",
            "written to the customs OutBox",
        ),
        receipt_event(
            T0 + 4 * MINUTE,
            3,
            "120",
            "20261122101700000",
            "逻辑校验通过",
            false,
        ),
        receipt_event(T0 + 5 * MINUTE, 4, "800", "20261122101800000", "放行", true),
    ];
    let refused = Event {
        findings: vec![Finding {
            rule: "FIXED".to_owned(),
            severity: "error".to_owned(),
            field: "PaymentHead/currency".to_owned(),
            message: "<currency> (币制) is \"502\"; the only allowed value is \"142\"".to_owned(),
        }],
        ..event(T0 + 1440 * MINUTE, "refused", "validation failed")
    };
    let doc = |msg, ty, key, sender, app_type, at, status| Doc {
        msg,
        ty,
        key,
        sender,
        app_type,
        at,
        status,
        set: false,
        answers: None,
        history: vec![event(at, status, "stored")],
    };
    vec![
        Doc {
            set: true,
            history: order_history,
            ..doc(1, "CEB311", ORDER_KEY, "shop-a", "1", T0, "customs:800")
        },
        Doc {
            set: true,
            ..doc(
                2,
                "CEB621",
                "copNo=COP1",
                "shop-a",
                "1",
                T0 + MINUTE,
                "set_passed",
            )
        },
        Doc {
            answers: Some(1),
            ..doc(
                3,
                "CEB312",
                ORDER_KEY,
                "customs",
                "",
                T0 + 4 * MINUTE,
                "receipt",
            )
        },
        Doc {
            answers: Some(1),
            ..doc(
                4,
                "CEB312",
                ORDER_KEY,
                "customs",
                "",
                T0 + 5 * MINUTE,
                "receipt",
            )
        },
        doc(
            5,
            "CEB622",
            "copNo=NOPE",
            "customs",
            "",
            T0 + 6 * MINUTE,
            "orphan",
        ),
        Doc {
            history: vec![refused],
            ..doc(
                6,
                "CEB411",
                "orderNo=GW2,ebpCode=3301960A01",
                "pay-b",
                "1",
                T0 + 1440 * MINUTE,
                "refused",
            )
        },
    ]
}

/// The raw bytes of message 1: GBK, as some senders write.
fn order_bytes() -> Vec<u8> {
    let text = "<?xml version=\"1.0\" encoding=\"GBK\"?>\n<ceb:CEB311Message><buyerName>林晓彤</buyerName></ceb:CEB311Message>\n";
    encoding_rs::GBK.encode(text).0.into_owned()
}

/// Writes the documents above through the store's own transaction.
fn fill(store: &Store) {
    let set_key = SetKey::new("GW1", "3301960A01");
    let mut tx = store.begin();
    for d in documents() {
        let raw = if d.msg == 1 {
            order_bytes()
        } else {
            b"<x/>".to_vec()
        };
        let message = MessageRecord {
            v: VERSION,
            id: d.msg,
            source: Source {
                kind: if d.sender == "customs" {
                    "customs"
                } else {
                    "sender"
                }
                .to_owned(),
                name: d.sender.to_owned(),
                file: format!("{}-{}.xml", d.ty, d.msg),
            },
            received_ms: d.at,
            sha256: "0".repeat(64),
            size: raw.len() as u64,
            encoding: if d.msg == 1 { "GBK" } else { "UTF-8" }.to_owned(),
            ty: d.ty.to_owned(),
            documents: 1,
            disposition: if d.sender == "customs" {
                Disposition::Receipt
            } else {
                Disposition::Accepted
            },
            findings: Vec::new(),
            signed: false,
        };
        tx.put(key::message(d.msg), &message).unwrap();
        tx.put_raw(key::raw(d.msg), raw);
        let record = DocumentRecord {
            v: VERSION,
            id: id(d.msg),
            ty: d.ty.to_owned(),
            key: d.key.to_owned(),
            app_type: d.app_type.to_owned(),
            sender: d.sender.to_owned(),
            received_ms: d.at,
            set: d
                .set
                .then(|| (set_key.order_no.clone(), set_key.ebp_code.clone())),
            status: d.status.to_owned(),
            customs: None,
            answers: d.answers.map(id),
            next_event: u32::try_from(d.history.len()).unwrap(),
            owner: None,
        };
        tx.put(key::document(id(d.msg)), &record).unwrap();
        for (seq, e) in d.history.iter().enumerate() {
            tx.put(key::event(id(d.msg), u32::try_from(seq).unwrap()), e)
                .unwrap();
        }
        tx.count_status(d.status, 1).unwrap();
        // The order and its receipts are linked by key; the orphan is not.
        if d.key == ORDER_KEY {
            tx.put_raw(
                key::link(&format!("order|{ORDER_KEY}"), id(d.msg)),
                Vec::new(),
            );
        }
        if d.status == "orphan" {
            tx.put_raw(key::orphan(id(d.msg)), Vec::new());
        }
    }
    let set = SetRecord {
        v: VERSION,
        status: "pass".to_owned(),
        members: vec![id(1), id(2)],
        findings: Vec::new(),
        at_ms: T0 + 2 * MINUTE,
    };
    tx.put(key::set(&set_key), &set).unwrap();
    tx.commit().unwrap();
}

/// A store, the API serving it on a local port, and a configuration file
/// naming that port (and the token file, with a token).
struct Server {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    addr: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _stats: tokio::sync::watch::Sender<PipelineStats>,
}

impl Server {
    fn start(token: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        fill(&store);
        let (rt, listener, addr) = crate::util::api_runtime();
        let (stats_tx, stats) = tokio::sync::watch::channel(PipelineStats {
            open_sets: 1,
            overdue_sets: 1,
            pending_waybills: 2,
            claimed: 3,
            forward_queued: 4,
            forward_written: 5,
            parked: 6,
            inbox_pending: 7,
            batches: 8,
            files: 9,
            flushes: 10,
            tcp_connections: Some(11),
            overdue: Vec::new(),
        });
        let state = AdminState {
            store,
            started: Instant::now(),
            started_ms: T0,
            stats,
            live: api::AdminLive::fixed(token.map(str::to_owned), Vec::new()),
            subs: Default::default(),
            push: customs_gateway::daemon::push::Push::idle(),
            ready: Default::default(),
            actions: None,
        };
        let shutdown = CancellationToken::new();
        let task = rt.spawn(api::serve(listener, state, shutdown.clone()));
        let mut config = format!("[admin]\nlisten = \"{addr}\"\n");
        if let Some(token) = token {
            std::fs::write(dir.path().join("token"), format!("{token}\n")).unwrap();
            config.push_str("token_file = \"token\"\n");
        }
        std::fs::write(dir.path().join("gateway.toml"), config).unwrap();
        Server {
            dir,
            rt,
            addr,
            shutdown,
            task,
            _stats: stats_tx,
        }
    }

    fn client(&self, token: Option<&str>) -> Client {
        Client::new(&self.addr, token.map(str::to_owned))
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("gateway.toml")
    }

    /// Runs `customs-gateway <args> --config <this server's>` through
    /// `cli::run`: (exit status, output).
    fn cli(&self, args: &[&str]) -> (Result<u8, ClientError>, String) {
        let config = self.config();
        let mut argv = vec!["customs-gateway"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--config", config.to_str().unwrap()]);
        let cmd = Binary::try_parse_from(argv).unwrap().command;
        let Command::Admin(cmd) = cmd else {
            panic!("{args:?} is not an admin command")
        };
        let mut out = Vec::new();
        let code = cli::run(&cmd, &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    fn stop(self) {
        self.shutdown.cancel();
        self.rt.block_on(self.task).unwrap().unwrap();
    }
}

/// The binary's command line, mounted as `src/main.rs` is to mount it.
#[derive(Parser)]
struct Binary {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stands for the existing `check`.
    Check,
    #[command(flatten)]
    Admin(AdminCommand),
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn admin_status_counts_documents_messages_and_queues() {
    let server = Server::start(None);
    let s = server.client(None).status().unwrap();
    assert_eq!(
        s["documents"],
        json!({"customs:800": 1, "set_passed": 1, "receipt": 2, "orphan": 1, "refused": 1})
    );
    for (field, want) in [
        ("messages", 6),
        ("orphans", 1),
        ("started_ms", T0),
        ("open_sets", 1),
        ("overdue_sets", 1),
        ("pending_waybills", 2),
        ("batches", 8),
        ("files", 9),
        ("flushes", 10),
    ] {
        assert_eq!(s[field], json!(want), "{field}");
    }
    assert_eq!(
        s["queues"],
        json!({"claimed": 3, "forward_queued": 4, "forward_written": 5, "parked": 6, "inbox_pending": 7})
    );
    assert_eq!(s["tcp"], json!({"connections": 11}));
    assert!(s["store_bytes"].as_u64().unwrap() > 0);
    assert!(s["uptime_secs"].is_u64());

    let (code, text) = server.cli(&["status"]);
    assert_eq!(code.unwrap(), 0);
    assert!(
        text.starts_with("uptime     ") && text.contains("s (started 2026-11-22T02:13:14Z)\n"),
        "{text}"
    );
    for line in [
        "documents  6",
        "  customs:800  1",
        "  receipt      2",
        "messages   6, 1 orphan receipt",
        "sets       1 open, 1 overdue; 2 waybills waiting",
        "queues     3 claimed, 4 forward queued, 5 forward written, 6 parked, 7 inbox pending",
        "tcp        11 platform connections",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
    }
    let (code, text) = server.cli(&["status", "--json"]);
    assert_eq!(code.unwrap(), 0);
    let printed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(printed["documents"], s["documents"]);
    server.stop();
}

#[test]
fn admin_messages_filters() {
    let server = Server::start(None);
    let client = server.client(None);
    let q = |f: fn(&mut MessagesQuery)| {
        let mut q = MessagesQuery::default();
        f(&mut q);
        q
    };
    let cases: Vec<(MessagesQuery, &[&str])> = vec![
        (q(|_| {}), &["6.0", "5.0", "4.0", "3.0", "2.0", "1.0"]),
        (q(|q| q.key = Some("GW1".into())), &["4.0", "3.0", "1.0"]),
        (q(|q| q.key = Some("gw1".into())), &[]),
        (
            q(|q| q.key = Some(String::new())),
            &["6.0", "5.0", "4.0", "3.0", "2.0", "1.0"],
        ),
        (q(|q| q.ty = Some("CEB311".into())), &["1.0"]),
        (q(|q| q.ty = Some("CEB31".into())), &[]),
        (q(|q| q.status = Some("customs:".into())), &["1.0"]),
        (q(|q| q.status = Some("customs".into())), &[]),
        (q(|q| q.status = Some("receipt".into())), &["4.0", "3.0"]),
        (q(|q| q.sender = Some("pay-b".into())), &["6.0"]),
        (q(|q| q.since = Some("2026-11-23".into())), &["6.0"]),
        (
            q(|q| q.since = Some("2026-11-22T02:17:14Z".into())),
            &["6.0", "5.0", "4.0", "3.0"],
        ),
        (
            q(|q| q.since = Some((T0 + 5 * MINUTE).to_string())),
            &["6.0", "5.0", "4.0"],
        ),
        (q(|q| q.limit = Some(2)), &["6.0", "5.0"]),
        (
            q(|q| {
                q.key = Some(ORDER_KEY.into());
                q.limit = Some(1);
            }),
            &["4.0"],
        ),
        (
            q(|q| {
                q.sender = Some("shop-a".into());
                q.status = Some("set_passed".into());
            }),
            &["2.0"],
        ),
    ];
    for (query, want) in &cases {
        let list = client.messages(query).unwrap();
        assert_eq!(ids(&list), *want, "{query:?}");
    }

    let all = client.messages(&MessagesQuery::default()).unwrap();
    assert_eq!(
        all[5],
        json!({
            "id": "1.0", "type": "CEB311", "key": ORDER_KEY, "status": "customs:800",
            "sender": "shop-a", "app_type": "1", "received_ms": T0,
            "received": "2026-11-22T02:13:14Z", "set": ORDER_KEY,
        })
    );
    assert_eq!(all[0]["set"], Value::Null);

    let refused: Vec<(MessagesQuery, &str)> = vec![
        (q(|q| q.limit = Some(0)), "limit: `0`"),
        (q(|q| q.limit = Some(10_001)), "limit: `10001`"),
        (
            q(|q| q.since = Some("yesterday".into())),
            "since: `yesterday`",
        ),
        (q(|q| q.since = Some("20261122".into())), "customs date"),
    ];
    for (query, said) in &refused {
        match client.messages(query) {
            Err(ClientError::Api {
                status: 400,
                message,
                ..
            }) => assert!(message.contains(said), "{message}"),
            other => panic!("{query:?}: {other:?}"),
        }
    }

    let (code, text) = server.cli(&["messages", "--key", "GW1", "--limit", "3"]);
    assert_eq!(code.unwrap(), 0);
    assert_eq!(
        text,
        "\
ID   RECEIVED              TYPE    STATUS       SENDER   KEY
4.0  2026-11-22T02:18:14Z  CEB312  receipt      customs  orderNo=GW1,ebpCode=3301960A01
3.0  2026-11-22T02:17:14Z  CEB312  receipt      customs  orderNo=GW1,ebpCode=3301960A01
1.0  2026-11-22T02:13:14Z  CEB311  customs:800  shop-a   orderNo=GW1,ebpCode=3301960A01
3 documents (the limit; --limit shows more)
"
    );
    let (code, text) = server.cli(&["messages", "--type", "CEB999"]);
    assert_eq!(code.unwrap(), 0);
    assert_eq!(text, "no documents\n");
    let (code, text) = server.cli(&["messages", "--sender", "pay-b", "--json"]);
    assert_eq!(code.unwrap(), 0);
    let printed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ids(&printed), ["6.0"]);
    let (code, _) = server.cli(&["messages", "--since", "tomorrow"]);
    assert!(matches!(code, Err(ClientError::Api { status: 400, .. })));
    server.stop();
}

#[test]
fn admin_documents_by_id_and_by_key() {
    let server = Server::start(None);
    let client = server.client(None);

    let order = client.document("1.0", false).unwrap();
    assert_eq!(order["id"], "1.0");
    assert_eq!(order["document"]["status"], "customs:800");
    assert_eq!(order["message"]["encoding"], "GBK");
    let statuses: Vec<&str> = order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "received",
            "waiting",
            "set_passed",
            "forwarded",
            "customs:120",
            "customs:800"
        ]
    );
    assert_eq!(order["set"]["key"], ORDER_KEY);
    assert_eq!(order["set"]["status"], "pass");
    assert_eq!(
        order["set"]["members"],
        json!([
            {"id": "1.0", "type": "CEB311", "key": ORDER_KEY, "status": "customs:800", "sender": "shop-a"},
            {"id": "2.0", "type": "CEB621", "key": "copNo=COP1", "status": "set_passed", "sender": "shop-a"},
        ])
    );
    assert_eq!(
        order["receipts"],
        json!([
            {"id": "3.0", "type": "CEB312", "status": "customs:120", "code": "120",
             "time": "20261122101700000", "info": "逻辑校验通过", "current": false, "at_ms": T0 + 4 * MINUTE},
            {"id": "4.0", "type": "CEB312", "status": "customs:800", "code": "800",
             "time": "20261122101800000", "info": "放行", "current": true, "at_ms": T0 + 5 * MINUTE},
        ])
    );
    assert_eq!(order["answers"], Value::Null);
    assert!(order.get("matches").is_none());
    assert!(order.get("raw").is_none());

    // Data-driven lookups: (what, shown id, matches).
    let cases: &[(&str, &str, Option<&[&str]>)] = &[
        ("1", "1.0", None),
        ("3.0", "3.0", None),
        // Linked: the declaration before its newer receipts; every id listed.
        (ORDER_KEY, "1.0", Some(&["4.0", "3.0", "1.0"])),
        // Not linked: found by the documents' keys.
        ("copNo=NOPE", "5.0", None),
        ("copNo=COP1", "2.0", None),
    ];
    for (what, shown, matches) in cases {
        let d = client.document(what, false).unwrap();
        assert_eq!(d["id"], *shown, "{what}");
        match matches {
            Some(m) => assert_eq!(d["matches"], json!(m), "{what}"),
            None => assert!(d.get("matches").is_none(), "{what}"),
        }
    }
    let receipt = client.document("3.0", false).unwrap();
    assert_eq!(receipt["answers"]["id"], "1.0");
    assert_eq!(receipt["set"], Value::Null);

    let raw = client.document("1.0", true).unwrap();
    assert!(raw["raw"].as_str().unwrap().contains("林晓彤"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw["raw_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, order_bytes());

    // A key with `/` or `?` stays one path segment: no document, not no route.
    for missing in [
        "99.0",
        "orderNo=NONE,ebpCode=X",
        "1.7",
        "orderNo=A/B?c,ebpCode=X",
    ] {
        match client.document(missing, false) {
            Err(ClientError::NotFound { message }) => {
                assert!(message.starts_with("no document"), "{message}")
            }
            other => panic!("{missing}: {other:?}"),
        }
    }

    let (code, text) = server.cli(&["show", ORDER_KEY]);
    assert_eq!(code.unwrap(), 0);
    for line in [
        "document 1.0  CEB311  orderNo=GW1,ebpCode=3301960A01",
        "  status    customs:800",
        "  sender    shop-a (appType 1)",
        "  same key  4.0, 3.0",
        "set orderNo=GW1,ebpCode=3301960A01: pass (2026-11-22T02:15:14Z)",
        "  2.0  CEB621  set_passed   shop-a  copNo=COP1",
        "  2026-11-22T02:13:14Z  received     stored",
        "  2026-11-22T02:18:14Z  customs:800  customs receipt",
        "  4.0  CEB312  customs:800  800   20261122101800000  yes      放行",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
    }
    assert!(!text.contains("raw message"));

    let (code, text) = server.cli(&["show", "6.0"]);
    assert_eq!(code.unwrap(), 0);
    assert!(
        text.contains("  2026-11-23T02:13:14Z  refused  validation failed\n")
            && text.contains(
                "error FIXED PaymentHead/currency: <currency> (币制) is \"502\"; the only allowed value is \"142\""
            ),
        "{text}"
    );

    let (code, text) = server.cli(&["show", "--raw", "1.0"]);
    assert_eq!(code.unwrap(), 0);
    assert!(
        text.contains("raw message\n<?xml version=\"1.0\" encoding=\"GBK\"?>\n<ceb:CEB311Message><buyerName>林晓彤</buyerName></ceb:CEB311Message>\n"),
        "{text}"
    );

    let (code, text) = server.cli(&["show", "--json", "1.0"]);
    assert_eq!(code.unwrap(), 0);
    let printed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(printed, order);
    assert!(text.starts_with("{\n  \""), "pretty-printed: {text}");

    for json in [false, true] {
        let mut args = vec!["show", "orderNo=NONE"];
        if json {
            args.push("--json");
        }
        let (code, text) = server.cli(&args);
        assert_eq!(code.unwrap(), 1);
        let want = "no document with key orderNo=NONE";
        if json {
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                json!({"error": want})
            );
        } else {
            assert_eq!(text, format!("{want}\n"));
        }
    }
    server.stop();
}

#[test]
fn admin_orphans_and_unknown_routes() {
    let server = Server::start(None);
    let client = server.client(None);
    let orphans = client.orphans(None).unwrap();
    assert_eq!(ids(&orphans), ["5.0"]);
    assert_eq!(orphans[0]["status"], "orphan");
    assert_eq!(orphans[0]["key"], "copNo=NOPE");
    assert!(matches!(
        client.orphans(Some(0)),
        Err(ClientError::Api { status: 400, .. })
    ));

    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    for (path, status, said) in [
        ("/nowhere", 404, "no route GET /nowhere"),
        ("/messages?colour=red", 400, "unknown field `colour`"),
        ("/documents/1.0?raw=maybe", 400, "raw"),
    ] {
        let mut r = agent
            .get(&format!("http://{}{path}", server.addr))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body: Value = r.body_mut().read_json().unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(said), "{path}: {message}");
    }
    server.stop();
}

#[test]
fn admin_token_is_required_when_configured() {
    let server = Server::start(Some("s3cret-token"));
    for token in [
        None,
        Some("wrong"),
        Some("s3cret-toke"),
        Some("s3cret-token2"),
    ] {
        match server.client(token).status() {
            Err(ClientError::Unauthorized { message, .. }) => {
                assert!(message.contains("bearer token"), "{message}");
                assert!(!message.contains("s3cret"), "{message}");
            }
            other => panic!("{token:?}: {other:?}"),
        }
    }
    assert!(server.client(Some("s3cret-token")).status().is_ok());
    // Every route, even an unknown one, needs it.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    for (path, auth, status) in [
        ("/documents/1.0", None, 401),
        ("/nowhere", None, 401),
        ("/status", Some("Bearer s3cret-token"), 200),
        ("/status", Some("bearer s3cret-token"), 200),
        ("/status", Some("Basic s3cret-token"), 401),
        ("/status", Some("s3cret-token"), 401),
    ] {
        let mut req = agent.get(&format!("http://{}{path}", server.addr));
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        let r = req.call().unwrap();
        assert_eq!(r.status().as_u16(), status, "{path} {auth:?}");
        if status == 401 {
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
        }
    }
    // The CLI reads the token file its configuration names.
    let (code, text) = server.cli(&["messages", "--type", "CEB311"]);
    assert_eq!(code.unwrap(), 0, "{text}");
    assert!(text.starts_with("ID "), "{text}");
    std::fs::write(server.dir.path().join("token"), "other\n").unwrap();
    let (code, _) = server.cli(&["status"]);
    assert!(matches!(code, Err(ClientError::Unauthorized { .. })));
    std::fs::write(server.dir.path().join("token"), " \n").unwrap();
    let (code, _) = server.cli(&["status"]);
    assert!(matches!(code, Err(ClientError::Token(_))), "{code:?}");
    server.stop();
}

#[test]
fn admin_unreachable_when_nothing_listens() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    match Client::new(&addr, None).status() {
        Err(e @ ClientError::Unreachable { .. }) => {
            assert!(e.to_string().contains(&addr), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed().as_secs() < 5);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, format!("[admin]\nlisten = \"{addr}\"\n")).unwrap();
    let cases: [&[&str]; 3] = [&["status"], &["messages"], &["show", "1.0"]];
    for args in cases {
        let mut argv = vec!["customs-gateway"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--config", config.to_str().unwrap()]);
        let Command::Admin(cmd) = Binary::try_parse_from(argv).unwrap().command else {
            panic!()
        };
        let code = cli::run(&cmd, &mut Vec::new());
        assert!(
            matches!(code, Err(ClientError::Unreachable { .. })),
            "{args:?}: {code:?}"
        );
    }
    // A configuration that cannot be read is an error too, naming the file.
    let cmd = Binary::try_parse_from(["customs-gateway", "status", "--config", "/no/such.toml"])
        .unwrap()
        .command;
    let Command::Admin(cmd) = cmd else { panic!() };
    let e = cli::run(&cmd, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("/no/such.toml"), "{e}");
}

#[test]
fn admin_subcommands_parse_as_mounted() {
    let cases: &[(&[&str], &str)] = &[
        (&["status"], "status json=false config=conf/gateway.toml"),
        (
            &["status", "--json", "--config", "x.toml"],
            "status json=true config=x.toml",
        ),
        (
            &[
                "messages",
                "--key",
                "GW1",
                "--type",
                "CEB311",
                "--status",
                "customs:",
                "--sender",
                "shop-a",
                "--since",
                "2026-11-22",
                "--limit",
                "5",
            ],
            "messages GW1 CEB311 customs: shop-a 2026-11-22 5",
        ),
        (&["show", "12.0"], "show 12.0 raw=false"),
        (
            &["show", "--raw", "orderNo=GW1,ebpCode=E"],
            "show orderNo=GW1,ebpCode=E raw=true",
        ),
        (
            &["subscriptions", "list", "--json"],
            "subscriptions json=true List",
        ),
        (
            &[
                "subscriptions",
                "add",
                "--client",
                "C1",
                "--statuses",
                "入库,放行",
                "--valid-until",
                "2027-01-01",
                "--by",
                "QH0030",
                "--config",
                "g.toml",
            ],
            "subscriptions json=false Add { client: \"C1\", enterprise: None, content: [\"receipts\"], \
             statuses: [\"入库\", \"放行\"], valid_until: \"2027-01-01\", by: \"QH0030\" } g.toml",
        ),
        (
            &["subscriptions", "cancel", "sub-1", "--by", "me"],
            "subscriptions json=false Cancel { id: \"sub-1\", by: \"me\" }",
        ),
        (
            &[
                "subscriptions",
                "extend",
                "sub-1",
                "--valid-until",
                "2027-02-01",
                "--by",
                "me",
            ],
            "subscriptions json=false Extend { id: \"sub-1\", valid_until: \"2027-02-01\", by: \"me\" }",
        ),
        (
            &["outbox", "--client", "C1", "--parked"],
            "outbox Some(\"C1\") true",
        ),
        (
            &["replay", "--client", "C1", "--since", "2026-11-22"],
            "replay C1 None Some(\"2026-11-22\") false",
        ),
        (&["unrouted", "--limit", "3"], "unrouted Some(3)"),
    ];
    for (args, want) in cases {
        let argv = std::iter::once(&"customs-gateway").chain(args.iter());
        let Command::Admin(cmd) = Binary::try_parse_from(argv).unwrap().command else {
            panic!("{args:?}")
        };
        let got = match &cmd {
            AdminCommand::Status(a) => format!(
                "status json={} config={}",
                a.common.json,
                a.common.config.display()
            ),
            AdminCommand::Messages(a) => {
                let q = a.query();
                format!(
                    "messages {} {} {} {} {} {}",
                    q.key.unwrap_or_default(),
                    q.ty.unwrap_or_default(),
                    q.status.unwrap_or_default(),
                    q.sender.unwrap_or_default(),
                    q.since.unwrap_or_default(),
                    q.limit.unwrap_or_default()
                )
            }
            AdminCommand::Show(a) => format!("show {} raw={}", a.id, a.raw),
            AdminCommand::Subscriptions(a) => {
                let config = a.common.config.display().to_string();
                let config = if config == "conf/gateway.toml" {
                    String::new()
                } else {
                    format!(" {config}")
                };
                format!(
                    "subscriptions json={} {:?}{config}",
                    a.common.json, a.action
                )
            }
            AdminCommand::Outbox(a) => format!("outbox {:?} {}", a.client, a.parked),
            AdminCommand::Replay(a) => {
                format!("replay {} {:?} {:?} {}", a.client, a.key, a.since, a.parked)
            }
            AdminCommand::Unrouted(a) => format!("unrouted {:?}", a.limit),
        };
        assert_eq!(got, *want, "{args:?}");
    }
    let bad: [&[&str]; 7] = [
        &["show"],
        &["messages", "--limit", "many"],
        &["status", "extra"],
        // A replay names exactly one selection.
        &["replay", "--client", "C1"],
        &["replay", "--client", "C1", "--parked", "--key", "K"],
        &["subscriptions", "add", "--client", "C1", "--by", "me"],
        &["subscriptions", "cancel", "sub-1"],
    ];
    for bad in bad {
        let argv = std::iter::once(&"customs-gateway").chain(bad.iter());
        assert!(Binary::try_parse_from(argv).is_err(), "{bad:?}");
    }
    assert!(matches!(
        Binary::try_parse_from(["customs-gateway", "check"])
            .unwrap()
            .command,
        Command::Check
    ));
}
