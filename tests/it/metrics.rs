//! `/metrics`, `/health` and `/ready` on the admin listener: the real
//! daemon on real folders, its metrics parsed as Prometheus text by a
//! parser (`prometheus-parse`) and checked to move as files are dropped,
//! forwarded, transmitted, answered by customs and pushed; the README's
//! table against what the daemon exposes; readiness before the parts run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use customs_gateway::admin::api::{self, AdminState};
use customs_gateway::admin::health::{Part, Readiness};
use customs_gateway::daemon::stats::PipelineStats;
use customs_gateway::store::Store;
use prometheus_parse::{Scrape, Value};
use tokio_util::sync::CancellationToken;

use crate::gateway::{ECOM, Gateway, PARTNERS, free_port, names, set_files, wait_for};

const TOKEN: &str = "metrics-secret";
const CLIENT: &str = "c1";
/// The enterprise of the sample CEB622 receipts (`crate::push::receipt`).
const CLIENT_ENTERPRISE: &str = "3301960B02";

/// An HTTP answer: status and body.
fn http(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut r = req.call().unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

/// One scrape, parsed.
struct Metrics {
    scrape: Scrape,
}

impl Metrics {
    /// Parses Prometheus text, and checks that the parser took every
    /// sample line (it skips lines it cannot read) and that every metric
    /// has its HELP and TYPE.
    fn parse(text: &str) -> Metrics {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = Scrape::parse(lines).expect("Prometheus text");
        let sample_lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        let parsed: usize = scrape
            .samples
            .iter()
            .map(|s| match &s.value {
                Value::Histogram(b) => b.len(),
                _ => 1,
            })
            .sum();
        assert_eq!(parsed, sample_lines, "every sample line parses\n{text}");
        for s in &scrape.samples {
            let base = base_name(&s.metric);
            assert!(
                scrape.docs.contains_key(base),
                "{base} has no HELP text\n{text}"
            );
            assert!(
                text.contains(&format!("# TYPE {base} ")),
                "{base} has no TYPE\n{text}"
            );
            assert!(base.starts_with("customs_gateway_"), "{base}");
        }
        Metrics { scrape }
    }

    /// The value of the series `name` with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .find(|s| {
                let want: BTreeMap<&str, &str> = labels.iter().copied().collect();
                let have: BTreeMap<&str, &str> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                want == have
            })
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(b) => b
                    .iter()
                    .find(|c| c.less_than.is_infinite())
                    .map_or(f64::NAN, |c| c.count),
                Value::Summary(_) => f64::NAN,
            })
    }

    /// Like [`Metrics::get`], 0 for a series not there yet.
    fn at(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// The metrics' names and types (`counter`, `gauge`, `histogram`).
    fn types(&self) -> BTreeMap<String, &'static str> {
        self.scrape
            .samples
            .iter()
            .map(|s| {
                let t = match s.value {
                    Value::Counter(_) => "counter",
                    Value::Gauge(_) => "gauge",
                    Value::Histogram(_) => "histogram",
                    Value::Summary(_) => "summary",
                    Value::Untyped(_) => "untyped",
                };
                (base_name(&s.metric).to_owned(), t)
            })
            .filter(|(_, t)| *t != "untyped")
            .collect()
    }
}

/// A histogram's name from one of its series' names.
fn base_name(metric: &str) -> &str {
    metric
        .strip_suffix("_count")
        .or_else(|| metric.strip_suffix("_sum"))
        .or_else(|| metric.strip_suffix("_bucket"))
        .unwrap_or(metric)
}

fn scrape(gw: &Gateway) -> Metrics {
    let (status, text) = http(&gw.admin, "/metrics", Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    Metrics::parse(&text)
}

/// Scrapes until `cond` holds (the pipeline publishes after its batches).
fn scrape_until(gw: &Gateway, what: &str, cond: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = scrape(gw);
        if cond(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- log ---\n{}",
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The metrics the README's table lists: name → type.
fn readme_table() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(crate::util::root().join("README.md")).unwrap();
    let start = text
        .find("### Metrics: `/metrics`")
        .expect("README has the metrics section");
    let section = &text[start..];
    let end = section[4..].find("\n### ").map_or(section.len(), |e| e + 4);
    section[..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            name.starts_with("customs_gateway_")
                .then(|| (name.to_owned(), cells.get(2).unwrap_or(&"").to_string()))
        })
        .collect()
}

/// A gateway with a token, a TCP source (its address), and a folder
/// client subscribed to every receipt status of its enterprise.
fn gateway() -> (Gateway, String) {
    let tcp = free_port();
    let extra = format!(
        "[tcp]\nlisten = \"127.0.0.1:{tcp}\"\n\
         [[platform]]\nid = \"shop\"\ntoken_file = \"shop.token\"\ncodes = [\"3301960A01\", \"3301960B02\", \"3301980E05\"]\n\
         [[client]]\nid = \"{CLIENT}\"\nenterprise = \"{CLIENT_ENTERPRISE}\"\nfolder = \"clients/{CLIENT}/InBox\"\n\
         [[subscription]]\nclient = \"{CLIENT}\"\ncontent = [\"receipts\"]\n\
         statuses = [\"入库\", \"退单\", \"审结\", \"删单\", \"放行\", \"结案\", \"查验通知\"]\n\
         valid_until = \"+1y\"\nby = \"QH0030\"\n"
    );
    let gw = Gateway::with_config(50, &extra);
    std::fs::write(gw.path("shop.token"), "shop-secret\n").unwrap();
    std::fs::write(gw.path("admin.token"), format!("{TOKEN}\n")).unwrap();
    let text = std::fs::read_to_string(&gw.config).unwrap().replacen(
        "[admin]\n",
        "[admin]\ntoken_file = \"admin.token\"\n",
        1,
    );
    std::fs::write(&gw.config, text).unwrap();
    (gw, format!("127.0.0.1:{tcp}"))
}

/// Files refused at intake: (sender, name, bytes, the message type it is
/// counted as, the rule it is refused by).
fn refusals() -> Vec<(&'static str, String, Vec<u8>, &'static str, &'static str)> {
    let sample = |p: &str| std::fs::read(crate::util::root().join(p)).unwrap();
    // Set 9's order, from a sender not allowed to declare for its platform.
    let (_, _, order) = set_files(9, true).remove(0);
    vec![
        (
            ECOM,
            "garbage.xml".into(),
            b"<not xml".to_vec(),
            "unknown",
            "XML_MALFORMED",
        ),
        (
            ECOM,
            "bad-currency.xml".into(),
            sample("samples/invalid/CEB311-bad-currency.xml"),
            "CEB311",
            "FIXED",
        ),
        (
            ECOM,
            "bad-idcard.xml".into(),
            sample("samples/invalid/CEB621-bad-idcard.xml"),
            "CEB621",
            "ID_CARD",
        ),
        (
            ECOM,
            "a-receipt.xml".into(),
            sample("samples/receipts/CEB312-order-receipt.xml"),
            "CEB312",
            "SENDER_TYPE",
        ),
        (
            PARTNERS,
            "not-theirs.xml".into(),
            order,
            "CEB311",
            "SENDER_SCOPE",
        ),
    ]
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_as_files_flow() {
    let (mut gw, tcp) = gateway();
    gw.start();

    // Health and readiness need no token; the metrics do, like the API.
    let (status, body) = http(&gw.admin, "/health", None);
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    wait_for(&gw, 10, "/ready", || {
        http(&gw.admin, "/ready", None).0 == 200
    });
    assert_eq!(http(&gw.admin, "/ready", None).1, r#"{"ready":true}"#);
    for token in [None, Some("wrong")] {
        assert_eq!(http(&gw.admin, "/metrics", token).0, 401, "{token:?}");
        assert_eq!(http(&gw.admin, "/status", token).0, 401, "{token:?}");
    }

    // Before anything: the series that should be there at 0 are.
    let m0 = scrape(&gw);
    let client = [("client", CLIENT)];
    for (name, labels) in [
        ("customs_gateway_config_reloads_total", &[][..]),
        ("customs_gateway_config_reload_failures_total", &[]),
        ("customs_gateway_forwarded_total", &[]),
        ("customs_gateway_transmission_failures_total", &[]),
        ("customs_gateway_sets_total", &[("outcome", "pass")]),
        ("customs_gateway_sets_total", &[("outcome", "fail")]),
        ("customs_gateway_open_sets", &[]),
        ("customs_gateway_overdue_sets", &[]),
        ("customs_gateway_tcp_connections", &[]),
        ("customs_gateway_outbox_depth", &client),
        ("customs_gateway_outbox_parked", &client),
        (
            "customs_gateway_pushes_total",
            &[("client", CLIENT), ("outcome", "delivered")],
        ),
        (
            "customs_gateway_pushes_total",
            &[("client", CLIENT), ("outcome", "failed")],
        ),
        (
            "customs_gateway_pushes_total",
            &[("client", CLIENT), ("outcome", "parked")],
        ),
    ] {
        assert_eq!(m0.get(name, labels), Some(0.0), "{name} {labels:?}");
    }
    assert_eq!(
        m0.get(
            "customs_gateway_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );

    // Two sets (one passes, one fails) and the refused files.
    let sets = [(1, true), (2, false)];
    let mut received: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    let mut refused: BTreeMap<&str, f64> = BTreeMap::new();
    let mut dropped = 0;
    for (n, pass) in sets {
        for (sender, name, bytes) in set_files(n, pass) {
            let ty = ["CEB311", "CEB411", "CEB511", "CEB621"]
                .into_iter()
                .find(|t| name.starts_with(t))
                .unwrap();
            *received.entry((sender, ty)).or_default() += 1.0;
            gw.drop_file(sender, &name, &bytes);
            dropped += 1;
        }
    }
    for (sender, name, bytes, ty, rule) in refusals() {
        *received.entry((sender, ty)).or_default() += 1.0;
        *refused.entry(rule).or_default() += 1.0;
        gw.drop_file(sender, &name, &bytes);
        dropped += 1;
    }
    // A platform's message over TCP (acknowledged once stored).
    let (_, _, order) = set_files(7, true).remove(0);
    std::fs::write(gw.path("tcp-order.xml"), &order).unwrap();
    let out = crate::util::gateway()
        .args(["send", "--addr", &tcp, "--platform", "shop", "--token-file"])
        .arg(gw.path("shop.token"))
        .arg(gw.path("tcp-order.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let done = || {
        [ECOM, PARTNERS]
            .iter()
            .flat_map(|s| {
                let mut v = names(&gw.sender(s, "SentBox"));
                v.extend(names(&gw.sender(s, "FailBox")));
                v
            })
            .filter(|n| !n.ends_with(".reason.txt"))
            .count()
    };
    wait_for(&gw, 60, "every file stored", || done() == dropped);
    // The counts are recorded just after the files move.
    let m1 = scrape_until(&gw, "every file's ingest counted", |m| {
        m.at("customs_gateway_ingest_seconds", &[]) >= dropped as f64
    });
    for ((sender, ty), n) in &received {
        let labels = [("source", "sender"), ("sender", *sender), ("type", *ty)];
        assert_eq!(
            m1.at("customs_gateway_messages_received_total", &labels)
                - m0.at("customs_gateway_messages_received_total", &labels),
            *n,
            "received from {sender}, {ty}"
        );
    }
    let tcp_labels = [("source", "tcp"), ("sender", "shop"), ("type", "CEB311")];
    assert_eq!(
        m1.at("customs_gateway_messages_received_total", &tcp_labels),
        1.0
    );
    for (rule, n) in &refused {
        assert_eq!(
            m1.at("customs_gateway_refused_total", &[("rule", rule)]),
            *n,
            "refused by {rule}"
        );
    }
    for (outcome, n) in [("pass", 1.0), ("fail", 1.0)] {
        assert_eq!(
            m1.at("customs_gateway_sets_total", &[("outcome", outcome)]),
            n,
            "sets {outcome}"
        );
    }
    assert!(m1.at("customs_gateway_store_flush_seconds", &[]) > 0.0);
    assert_eq!(
        m1.at("customs_gateway_ingest_seconds_count", &[]),
        m1.at("customs_gateway_ingest_seconds", &[]),
        "the +Inf bucket holds every observation"
    );
    assert!(m1.at("customs_gateway_ingest_seconds_sum", &[]) > 0.0);

    // The passed set goes to customs; the import client sends three of its
    // four messages and fails one, which is written again.
    let outbox = gw.customs("OutBox");
    wait_for(&gw, 30, "the passed set forwarded", || {
        names(&outbox).len() == 4
    });
    scrape_until(&gw, "4 forwarded", |m| {
        m.at("customs_gateway_forwarded_total", &[]) == 4.0
    });
    for (i, name) in names(&outbox).iter().enumerate() {
        let to = if i == 0 { "FailBox" } else { "SentBox" };
        std::fs::rename(outbox.join(name), gw.customs(to).join(name)).unwrap();
    }
    let m2 = scrape_until(&gw, "transmissions and the retry", |m| {
        m.at("customs_gateway_transmitted_total", &[]) == 3.0
            && m.at("customs_gateway_transmission_failures_total", &[]) == 1.0
            && m.at("customs_gateway_forwarded_total", &[]) == 5.0
    });
    assert_eq!(
        m2.at("customs_gateway_forwards", &[("state", "parked")]),
        0.0
    );

    // Customs receipts, by status; a code that is no plain status is
    // counted as `other`, not as a new series. The client gets the ones
    // its subscription maps.
    let receipts = [
        (1, "800", "customs:800"),
        (2, "120", "customs:120"),
        (3, "800<>&x", "other"),
    ];
    for (n, code, _) in receipts {
        let code = code
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace("&x", "&amp;x");
        gw.drop_receipt(
            &format!("R{n}.xml"),
            &crate::push::receipt(CLIENT_ENTERPRISE, n, &code),
        );
    }
    let customs = [
        ("source", "customs"),
        ("sender", "customs"),
        ("type", "CEB622"),
    ];
    let m3 = scrape_until(&gw, "the receipts", |m| {
        m.at("customs_gateway_messages_received_total", &customs) == 3.0
    });
    for (_, _, status) in receipts {
        let labels = [("type", "CEB622"), ("status", status)];
        assert_eq!(
            m3.at("customs_gateway_receipts_total", &labels),
            1.0,
            "{labels:?}"
        );
    }
    let inbox = gw.path(&format!("clients/{CLIENT}/InBox"));
    wait_for(&gw, 30, "pushes", || names(&inbox).len() >= 2);
    let pushed = names(&inbox).len() as f64;
    let m4 = scrape_until(&gw, "pushes counted", |m| {
        m.at(
            "customs_gateway_pushes_total",
            &[("client", CLIENT), ("outcome", "delivered")],
        ) == pushed
    });
    assert_eq!(m4.get("customs_gateway_outbox_depth", &client), Some(0.0));
    assert_eq!(m4.get("customs_gateway_outbox_parked", &client), Some(0.0));
    // Sets 1 and 2 are decided and closed; set 7 has only its order (TCP).
    let status: serde_json::Value =
        serde_json::from_str(&http(&gw.admin, "/status", Some(TOKEN)).1).unwrap();
    assert_eq!(status["open_sets"], 1);
    assert_eq!(m4.get("customs_gateway_open_sets", &[]), Some(1.0));
    assert_eq!(
        m4.get("customs_gateway_config_reloads_total", &[]),
        Some(0.0)
    );

    // The README lists exactly what the daemon exposes, with its type.
    let documented = readme_table();
    let exposed = m4.types();
    for (name, ty) in &exposed {
        assert_eq!(
            documented.get(name).map(String::as_str),
            Some(*ty),
            "{name} ({ty}) in the README's table"
        );
    }
    for name in documented.keys() {
        assert!(
            exposed.contains_key(name),
            "{name} is documented but not exposed"
        );
    }

    let (code, _) = gw.stop();
    assert_eq!(code, Some(0), "{}", gw.log());
}

#[test]
fn ready_only_once_every_part_runs_and_metrics_need_a_recorder() {
    // The API alone, as the daemon serves it, with readiness marked by hand
    // (and no metrics recorder in this process: the library does not
    // install one).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let (rt, listener, addr) = crate::util::api_runtime();
    let (_stats_tx, stats) = tokio::sync::watch::channel(PipelineStats::default());
    let ready = std::sync::Arc::new(Readiness::new(true));
    let state = AdminState {
        store,
        started: Instant::now(),
        started_ms: 0,
        stats,
        live: customs_gateway::admin::api::AdminLive::fixed(Some(TOKEN.to_owned()), Vec::new()),
        subs: Default::default(),
        push: customs_gateway::daemon::push::Push::idle(),
        ready: ready.clone(),
        actions: None,
    };
    let shutdown = CancellationToken::new();
    let task = rt.spawn(api::serve(listener, state, shutdown.clone()));

    let mut waiting = vec!["store", "push", "scanner", "tcp"];
    for part in Part::ALL {
        let (status, body) = http(&addr, "/ready", None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 503, "before {part:?}: {body}");
        assert_eq!(v["ready"], false);
        assert_eq!(v["reason"], "the gateway is starting");
        assert_eq!(v["waiting"], serde_json::json!(waiting), "{body}");
        assert_eq!(http(&addr, "/health", None).0, 200, "alive while starting");
        ready.mark(part);
        waiting.retain(|w| *w != part.name());
    }
    assert_eq!(
        http(&addr, "/ready", None),
        (200, r#"{"ready":true}"#.into())
    );

    let (status, body) = http(&addr, "/metrics", Some(TOKEN));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no metrics are recorded"), "{body}");
    assert_eq!(http(&addr, "/metrics", None).0, 401);

    ready.stopping();
    let (status, body) = http(&addr, "/ready", None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stopping"), "{body}");

    shutdown.cancel();
    rt.block_on(task).unwrap().unwrap();
}
