//! Subscriptions and push against the real daemon and real folders: the
//! shipped demo loop (simulated customs to the demo client), tenant
//! isolation with many enterprises and clients, every subscription rule
//! through the API and the configuration, expiry with an injected clock,
//! and kill -9 while pushing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::gateway::{ECOM, Gateway, PARTNERS, free_port, names, set_files, wait_for};
use crate::util::Rng;

const SAMPLE: &str = include_str!("../../samples/receipts/CEB622-inventory-released.xml");

/// A CEB622 receipt of enterprise `ebc` for inventory number `n`, with
/// `status`: distinct bytes (guids, copNo, invtNo) for every (ebc, n, status).
pub fn receipt(ebc: &str, n: u32, status: &str) -> Vec<u8> {
    let tag = format!(
        "{:08X}",
        n.wrapping_mul(2_654_435_761) ^ status.len() as u32
    );
    SAMPLE
        .replace("72A5EB59", &tag)
        .replace("930A8DFD", &format!("{:08X}", n))
        .replace(
            "<ebcCode>3301960B02</ebcCode>",
            &format!("<ebcCode>{ebc}</ebcCode>"),
        )
        .replace("GWCOP2026112100001", &format!("COP{ebc}N{n:06}"))
        .replace("29912026I000000123", &format!("29912026I{n:09}"))
        .replace("B20261121000000101", &format!("B2026112{n:010}"))
        .replace(
            "<returnStatus>800</returnStatus>",
            &format!("<returnStatus>{status}</returnStatus>"),
        )
        .replace(
            "20261121143005120",
            &format!("20261121{:09}", 143_005_120 + u64::from(n)),
        )
        .into_bytes()
}

/// The copNo of a pushed receipt file.
pub fn cop_no(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("<copNo>").unwrap() + "<copNo>".len();
    let end = text[start..].find('<').unwrap();
    text[start..start + end].to_owned()
}

/// Runs the CLI against `gw`: exit status and stdout.
pub fn cli(gw: &Gateway, args: &[&str]) -> (Option<i32>, String) {
    let out = crate::util::gateway()
        .args(args)
        .arg("--config")
        .arg(&gw.config)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// `POST` to the admin API: status and JSON answer.
pub fn post(gw: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(format!("http://{}{path}", gw.admin))
        .send_json(body)
        .unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_json().unwrap())
}

/// GET `path` on the admin API (no token), as text.
pub fn get_text(gw: &Gateway, path: &str) -> String {
    ureq::get(format!("http://{}{path}", gw.admin))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// GET `path` on the admin API (no token), as JSON.
pub fn get(gw: &Gateway, path: &str) -> Value {
    let mut r = ureq::get(format!("http://{}{path}", gw.admin))
        .call()
        .unwrap();
    r.body_mut().read_json().unwrap()
}

/// A folder client `id` of `enterprise`, delivering into `clients/ID/InBox`.
pub fn folder_client(id: &str, enterprise: &str) -> String {
    format!(
        "[[client]]\nid = \"{id}\"\nenterprise = \"{enterprise}\"\nfolder = \"clients/{id}/InBox\"\n"
    )
}

pub fn subscription(client: &str, statuses: &[&str], until: &str) -> String {
    let list: Vec<String> = statuses.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        "[[subscription]]\nclient = \"{client}\"\ncontent = [\"receipts\"]\nstatuses = [{}]\nvalid_until = \"{until}\"\nby = \"QH0030\"\n",
        list.join(", ")
    )
}

const ALL: [&str; 7] = ["入库", "退单", "审结", "删单", "放行", "结案", "查验通知"];

#[test]
fn the_shipped_defaults_run_the_whole_loop_to_the_demo_client() {
    // The shipped configuration, copied, on free ports.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    for f in ["gateway.toml", "registry.toml", "platform-demo.token"] {
        std::fs::copy(crate::util::root().join("conf").join(f), conf.join(f)).unwrap();
    }
    let admin = format!("127.0.0.1:{}", free_port());
    let text = std::fs::read_to_string(conf.join("gateway.toml"))
        .unwrap()
        .replace("127.0.0.1:8470", &admin)
        .replace("127.0.0.1:8471", &format!("127.0.0.1:{}", free_port()));
    std::fs::write(conf.join("gateway.toml"), text).unwrap();
    let mut child = crate::util::gateway()
        .args(["serve", "--config"])
        .arg(conf.join("gateway.toml"))
        .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    let var = dir.path().join("var");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !var.join("senders/demo/OutBox").is_dir() {
        assert!(std::time::Instant::now() < deadline, "{}", log());
        std::thread::sleep(Duration::from_millis(50));
    }
    for f in crate::util::xml_files(&crate::util::root().join("samples/set-ok")) {
        let name = f.file_name().unwrap().to_str().unwrap().to_owned();
        crate::gateway::put(
            &var.join("senders/demo/OutBox"),
            &name,
            &std::fs::read(&f).unwrap(),
        );
    }
    // The simulator answers 120 for each document and 800 for the
    // inventory; the demo client (3301960B02, the e-commerce enterprise)
    // gets the order's and the inventory's receipts, not the payment
    // company's or the logistics company's.
    let inbox = var.join("clients/0000009815/InBox");
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let got = names(&inbox);
        let texts: Vec<String> = got
            .iter()
            .map(|n| std::fs::read_to_string(inbox.join(n)).unwrap())
            .collect();
        let released = texts.iter().any(|t| t.contains("<returnStatus>800<"));
        if got.len() == 3 && released {
            assert_eq!(
                got.iter().filter(|n| n.starts_with("CEB312_")).count(),
                1,
                "{got:?}"
            );
            assert_eq!(
                got.iter().filter(|n| n.starts_with("CEB622_")).count(),
                2,
                "{got:?}"
            );
            assert!(texts.iter().all(|t| t.contains("3301960B02")));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo client got {got:?}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing else is delivered to it later.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(names(&inbox).len(), 3);
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0), "{}", log());
}

#[test]
fn tenant_isolation_many_enterprises_and_clients_no_receipt_crosses() {
    let seed: u64 = std::env::var("PUSH_ISOLATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7e4a_11c5);
    let mut rng = Rng(seed | 1);
    // Seven enterprises; the last one has no client at all.
    let ents: Vec<String> = (0..7).map(|i| format!("33019609{i:02}")).collect();
    let codes = [
        ("120", Some("入库")),
        ("100", Some("退单")),
        ("-621005", Some("退单")),
        ("399", Some("审结")),
        ("500", Some("查验通知")),
        ("800", Some("放行")),
        ("899", Some("结案")),
        ("2", None),
    ];
    // Two or three clients per enterprise, each with a random set of statuses;
    // half the subscriptions come from the configuration, half from the API.
    let mut extra = String::new();
    let mut api_subs = Vec::new();
    let mut clients: Vec<(String, String, BTreeSet<&str>)> = Vec::new();
    for (e, ent) in ents.iter().enumerate().take(6) {
        for c in 0..(2 + rng.below(2)) {
            let id = format!("C{e}{c}");
            extra.push_str(&folder_client(&id, ent));
            let statuses: BTreeSet<&str> =
                ALL.iter().copied().filter(|_| rng.below(3) > 0).collect();
            let statuses = if statuses.is_empty() {
                BTreeSet::from(["放行"])
            } else {
                statuses
            };
            let list: Vec<&str> = statuses.iter().copied().collect();
            if rng.below(2) == 0 {
                extra.push_str(&subscription(&id, &list, "+1y"));
            } else {
                api_subs.push((id.clone(), list));
            }
            clients.push((id, ent.clone(), statuses));
        }
    }
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    for (id, list) in &api_subs {
        let (status, answer) = post(
            &gw,
            "/subscriptions",
            &json!({"client": id, "content": ["receipts"], "statuses": list,
                    "valid_until": "+1y", "by": "QH0030"}),
        );
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["subscription"]["state_label"], "生效");
    }
    // Random receipts of every enterprise, in a few drops.
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unmapped = 0;
    let n = 160u32;
    for i in 0..n {
        let ent = &ents[rng.below(ents.len() as u64) as usize];
        let (code, status) = codes[rng.below(codes.len() as u64) as usize];
        if status.is_none() {
            unmapped += 1;
        }
        let bytes = receipt(ent, i, code);
        gw.drop_receipt(&format!("R{i:04}.xml"), &bytes);
        for (id, e, statuses) in &clients {
            if e == ent && status.is_some_and(|s| statuses.contains(s)) {
                expected
                    .entry(id.clone())
                    .or_default()
                    .insert(format!("COP{ent}N{i:06}"));
            }
        }
        if i % 40 == 39 {
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    // A receipt that names no enterprise: kept and listed, sent to no one.
    let format_error =
        std::fs::read(crate::util::root().join("samples/receipts/CEB900-format-error.xml"))
            .unwrap();
    gw.drop_receipt("F.xml", &format_error);
    wait_for(&gw, 60, "every receipt archived", || {
        names(&gw.customs("Archive")).len() == n as usize + 1
    });
    let total: usize = expected.values().map(BTreeSet::len).sum();
    wait_for(&gw, 60, "the expected deliveries", || {
        let delivered: usize = clients
            .iter()
            .map(|(id, _, _)| names(&gw.path(&format!("clients/{id}/InBox"))).len())
            .sum();
        delivered >= total
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut foreign = 0;
    for (id, ent, _) in &clients {
        let dir = gw.path(&format!("clients/{id}/InBox"));
        let got: BTreeSet<String> = names(&dir).iter().map(|f| cop_no(&dir.join(f))).collect();
        foreign += got
            .iter()
            .filter(|c| !c.starts_with(&format!("COP{ent}N")))
            .count();
        assert_eq!(
            got,
            expected.get(id).cloned().unwrap_or_default(),
            "client {id} of {ent}"
        );
    }
    assert_eq!(
        foreign, 0,
        "receipts delivered to another enterprise's client"
    );
    assert!(
        total > 50,
        "the draw delivered too little to mean much: {total}"
    );
    // The unmapped codes and the CEB900 are listed, with their reasons.
    let unrouted = get(&gw, "/unrouted?limit=1000");
    assert_eq!(unrouted["count"], unmapped + 1, "{unrouted}");
    let reasons: Vec<&str> = unrouted["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"CEB900 names no enterprise"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"CEB622 code `2` maps onto no subscription status"),
        "{reasons:?}"
    );
    assert_eq!(gw.stop().0, Some(0));
}

/// Today in China Standard Time, plus `days`.
fn cst_date(days: i64) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + days * 86_400_000;
    customs_gateway::subscribe::Date::cst(ms as u64).to_string()
}

#[test]
fn subscription_rules_are_the_same_through_the_api_and_the_configuration() {
    let clients = format!(
        "{}{}",
        folder_client("A1", "3301960B02"),
        folder_client("X1", "3301960A01")
    );
    // The configuration: each rule refused with a sentence naming the entry.
    let cases: &[(&str, &str)] = &[
        (
            "[[subscription]]\nclient = [\"A1\", \"X1\"]\ncontent = [\"receipts\"]\nstatuses = [\"放行\"]\nvalid_until = \"+1y\"\nby = \"q\"\n",
            "subscription[0].client: a subscription names exactly one client (it names 2)",
        ),
        (
            "[[subscription]]\nclient = \"X1\"\nenterprise = \"3301960B02\"\ncontent = [\"receipts\"]\nstatuses = [\"放行\"]\nvalid_until = \"+1y\"\nby = \"q\"\n",
            "subscription[0].enterprise: client `X1` belongs to enterprise 3301960A01, not 3301960B02",
        ),
        (
            "[[subscription]]\nclient = \"Z9\"\ncontent = [\"receipts\"]\nstatuses = [\"放行\"]\nvalid_until = \"+1y\"\nby = \"q\"\n",
            "subscription[0].client: `Z9` is not a registered [[client]]",
        ),
        (
            "[[subscription]]\nclient = \"A1\"\ncontent = [\"receipts\"]\nstatuses = [\"released\"]\nvalid_until = \"+1y\"\nby = \"q\"\n",
            "subscription[0].statuses: `released` is not a status one can subscribe to",
        ),
    ];
    for (sub, want) in cases {
        let gw = Gateway::with_config(100, &format!("{clients}{sub}"));
        let (code, out) = cli(&gw, &["status"]);
        assert_eq!(code, Some(2), "{out}");
        assert!(out.contains(want), "{want}\n{out}");
    }
    // More than a year is refused when the subscription is made (at start).
    let late = cst_date(367);
    let gw = Gateway::with_config(
        100,
        &format!("{clients}{}", subscription("A1", &["放行"], &late)),
    );
    let out = crate::util::gateway()
        .args(["serve", "--config"])
        .arg(&gw.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is more than one year after") && err.contains("subscription[0]"),
        "{err}"
    );
    drop(gw);

    // The API, with a valid subscription made in the configuration.
    let soon = cst_date(1);
    let config_sub = format!(
        "{clients}[[subscription]]\nid = \"cfg-a1\"\n{}",
        &subscription("A1", &["放行"], &soon)["[[subscription]]\n".len()..]
    );
    let mut gw = Gateway::with_config(100, &config_sub);
    gw.start();
    let base = json!({"client": "A1", "content": ["receipts"], "statuses": ["放行"],
                      "valid_until": cst_date(30), "by": "QH0030"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let refusals = [
        (
            with("client", json!(["A1", "X1"])),
            "a subscription names exactly one client",
        ),
        (
            with("enterprise", json!("3301960A01")),
            "client `A1` belongs to enterprise 3301960B02, not 3301960A01",
        ),
        (
            with("client", json!("Z9")),
            "`Z9` is not a registered client",
        ),
        (
            with("valid_until", json!(cst_date(367))),
            "is more than one year after",
        ),
        (with("valid_until", json!(cst_date(-1))), "is in the past"),
        (with("statuses", json!(["放行", "closed"])), "`closed`"),
    ];
    for (body, want) in &refusals {
        let (status, answer) = post(&gw, "/subscriptions", body);
        assert_eq!(status, 422, "{body} {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(want),
            "{want}: {answer}"
        );
    }
    // The CLI says the same and exits 1.
    let (code, out) = cli(
        &gw,
        &[
            "subscriptions",
            "add",
            "--client",
            "X1",
            "--enterprise",
            "3301960B02",
            "--statuses",
            "放行",
            "--valid-until",
            &cst_date(10),
            "--by",
            "QH0030",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("refused: enterprise: client `X1` belongs to enterprise 3301960A01"));
    // A valid one through the CLI, then extended and cancelled while valid.
    let (code, out) = cli(
        &gw,
        &[
            "subscriptions",
            "add",
            "--client",
            "A1",
            "--statuses",
            "入库,放行",
            "--valid-until",
            &cst_date(1),
            "--by",
            "QH0030",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let made: Value = serde_json::from_str(&out).unwrap();
    let id = made["subscription"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["subscription"]["made"], cst_date(0));
    assert_eq!(made["subscription"]["by"], "QH0030");
    let (code, out) = cli(
        &gw,
        &[
            "subscriptions",
            "extend",
            &id,
            "--valid-until",
            &cst_date(400),
            "--by",
            "q",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("more than one year"), "{out}");
    let (code, out) = cli(
        &gw,
        &[
            "subscriptions",
            "extend",
            &id,
            "--valid-until",
            &cst_date(2),
            "--by",
            "q",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(gw.stop().0, Some(0));

    // Three days later (the clock injected): both have expired.
    let text = std::fs::read_to_string(&gw.config).unwrap();
    let later = |gw: &Gateway, args: &[&str]| {
        let out = crate::util::gateway()
            .args(args)
            .arg("--config")
            .arg(&gw.config)
            .env(
                "CUSTOMS_GATEWAY_CLOCK_OFFSET_SECS",
                (3 * 86_400).to_string(),
            )
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // Through the configuration: cancelling or extending it now is refused.
    for (changed, want) in [
        (
            text.replace("by = \"QH0030\"\n", "by = \"QH0030\"\ncancelled = true\n"),
            "only a valid subscription can be cancelled",
        ),
        (
            text.replace(
                &format!("valid_until = \"{soon}\""),
                "valid_until = \"+200d\"",
            ),
            "only a valid subscription can be extended",
        ),
    ] {
        std::fs::write(&gw.config, &changed).unwrap();
        let (code, out) = later(&gw, &["serve"]);
        assert_eq!(code, Some(2), "{out}");
        assert!(
            out.contains("subscription[0] (`cfg-a1`)") && out.contains(want),
            "{out}"
        );
    }
    std::fs::write(&gw.config, &text).unwrap();
    // Through the API, with the daemon on the later clock.
    let mut child = crate::util::gateway()
        .args(["serve", "--config"])
        .arg(&gw.config)
        .env(
            "CUSTOMS_GATEWAY_CLOCK_OFFSET_SECS",
            (3 * 86_400).to_string(),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&gw, 20, "the admin API", || {
        std::net::TcpStream::connect(&gw.admin).is_ok()
    });
    let list = get(&gw, "/subscriptions");
    for s in list["subscriptions"].as_array().unwrap() {
        assert_eq!(s["state"], "expired", "{s}");
        assert_eq!(s["state_label"], "已失效", "{s}");
    }
    let (status, answer) = post(
        &gw,
        &format!("/subscriptions/{id}/cancel"),
        &json!({"by": "q"}),
    );
    assert_eq!(status, 422);
    assert!(
        answer["error"].as_str().unwrap().contains("已失效"),
        "{answer}"
    );
    let (status, answer) = post(
        &gw,
        &format!("/subscriptions/{id}/extend"),
        &json!({"by": "q", "valid_until": cst_date(10)}),
    );
    assert_eq!(status, 422);
    assert!(
        answer["error"].as_str().unwrap().contains("make a new one"),
        "{answer}"
    );
    // An expired subscription receives nothing; a new one does.
    gw.drop_receipt("R1.xml", &receipt("3301960B02", 1, "800"));
    wait_for(&gw, 20, "the receipt archived", || {
        names(&gw.customs("Archive")).len() == 1
    });
    std::thread::sleep(Duration::from_millis(800));
    assert!(names(&gw.path("clients/A1/InBox")).is_empty());
    let (status, answer) = post(
        &gw,
        "/subscriptions",
        &json!({"client": "A1", "content": ["receipts"], "statuses": ["放行"],
                "valid_until": cst_date(3 + 30), "by": "QH0030"}),
    );
    assert_eq!(status, 200, "{answer}");
    gw.drop_receipt("R2.xml", &receipt("3301960B02", 2, "800"));
    wait_for(&gw, 20, "the new subscription's delivery", || {
        names(&gw.path("clients/A1/InBox")).len() == 1
    });
    // The history of a change keeps who and when.
    let list = get(&gw, "/subscriptions");
    let ours = list["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    let actions: Vec<&str> = ours["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["made", "extended"]);
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn sigkill_while_pushing_loses_no_receipt_and_doubles_none() {
    let kills: u32 = std::env::var("PUSH_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let mut rng = Rng(0x9e37_79b9 | 1);
    let extra = format!(
        "{}{}{}{}",
        folder_client("K1", "3301960B02"),
        folder_client("K2", "3301960B02"),
        subscription("K1", &ALL, "+1y"),
        subscription("K2", &["放行"], "+1y"),
    );
    let mut gw = Gateway::with_config(50, &extra);
    gw.start();
    let n = 240u32;
    let mut next = 0u32;
    for round in 0..=kills {
        // A burst of receipts, then a kill at a random moment while they
        // are stored and pushed.
        let burst = n / (kills + 1);
        for _ in 0..burst {
            gw.drop_receipt(
                &format!("R{next:04}.xml"),
                &receipt(
                    "3301960B02",
                    next,
                    if next.is_multiple_of(2) { "800" } else { "120" },
                ),
            );
            next += 1;
        }
        if round < kills {
            std::thread::sleep(Duration::from_millis(100 + rng.below(600)));
            gw.kill();
            gw.start();
        }
    }
    wait_for(&gw, 60, "every receipt pushed", || {
        names(&gw.path("clients/K1/InBox")).len() >= next as usize
    });
    std::thread::sleep(Duration::from_millis(500));
    for (client, want) in [("K1", next as usize), ("K2", next.div_ceil(2) as usize)] {
        let dir = gw.path(&format!("clients/{client}/InBox"));
        let files = names(&dir);
        let cops: BTreeSet<String> = files.iter().map(|f| cop_no(&dir.join(f))).collect();
        assert_eq!(files.len(), want, "{client}: files");
        assert_eq!(cops.len(), want, "{client}: distinct receipts");
        // No staging leftovers in the client's folder.
        assert!(
            files
                .iter()
                .all(|f| f.ends_with(".xml") && !f.starts_with('.'))
        );
    }
    assert_eq!(gw.stop().0, Some(0));
    // Each client's deliveries kept their queue order.
    let store = customs_gateway::store::Store::open(&gw.path("store")).unwrap();
    for client in ["K1", "K2"] {
        let log: Vec<customs_gateway::store::OutboxEntry> = store
            .scan(&customs_gateway::store::key::delivered_prefix(client))
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert!(
            log.windows(2)
                .all(|w| w[0].delivered_ms <= w[1].delivered_ms),
            "{client}: delivered out of order"
        );
        assert!(
            store
                .scan::<customs_gateway::store::OutboxEntry>(
                    &customs_gateway::store::key::outbox_prefix(client)
                )
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn data_subscriptions_get_the_declarations_and_base_subscribe_one_messages_receipts() {
    // D1 takes the data of 3301960B02; M1 has no subscription of its own:
    // an order names it in its BaseSubscribe.
    let extra = format!(
        "{}{}[[subscription]]\nclient = \"D1\"\ncontent = [\"data\"]\nvalid_until = \"+1y\"\nby = \"q\"\n\
         [simulator]\nenabled = true\nrelease_after_ms = 200\n",
        folder_client("D1", "3301960B02"),
        folder_client("M1", "3301960B02"),
    );
    let mut gw = Gateway::with_config(50, &extra);
    gw.start();
    let subscribe = "<ceb:BaseSubscribe><ceb:status>RET</ceb:status><ceb:dxpMode>DXP</ceb:dxpMode>\
                     <ceb:dxpAddress>M1</ceb:dxpAddress></ceb:BaseSubscribe>";
    for n in [1u32, 2] {
        for (sender, name, bytes) in set_files(n, true) {
            let mut text = String::from_utf8(bytes).unwrap();
            if n == 1 && name.starts_with("CEB311") {
                let at = text.find("</ceb:BaseTransfer>").expect("a BaseTransfer")
                    + "</ceb:BaseTransfer>".len();
                text.insert_str(at, subscribe);
            }
            assert!(sender == ECOM || sender == PARTNERS);
            gw.drop_file(sender, &name, text.as_bytes());
        }
    }
    // D1: the two orders and two inventories, as forwarded (B02's own), not
    // the payments or waybills of the other enterprises.
    let d1 = gw.path("clients/D1/InBox");
    wait_for(&gw, 30, "the data pushed", || names(&d1).len() >= 4);
    wait_for(&gw, 30, "the sets sent", || {
        names(&gw.customs("SentBox")).len() == 8
    });
    let got = names(&d1);
    assert_eq!(
        got.iter().filter(|f| f.starts_with("CEB311_")).count(),
        2,
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|f| f.starts_with("CEB621_")).count(),
        2,
        "{got:?}"
    );
    for f in &got {
        let sent = std::fs::read(
            gw.customs("SentBox").join(
                names(&gw.customs("SentBox"))
                    .into_iter()
                    .find(|s| s.contains(&f[7..f.len() - 4]))
                    .unwrap_or_else(|| panic!("{f} not forwarded")),
            ),
        )
        .unwrap();
        assert_eq!(std::fs::read(d1.join(f)).unwrap(), sent, "{f} as forwarded");
    }
    // M1: the receipts of the one order that asked for it (the simulator's
    // 120), nothing of the other order or of the inventories.
    let m1 = gw.path("clients/M1/InBox");
    wait_for(&gw, 30, "the BaseSubscribe receipt", || {
        !names(&m1).is_empty()
    });
    std::thread::sleep(Duration::from_millis(1500));
    let got = names(&m1);
    assert_eq!(got.len(), 1, "{got:?}");
    let text = std::fs::read_to_string(m1.join(&got[0])).unwrap();
    assert!(text.contains("CEB312Message") && text.contains("<returnStatus>120<"));
    let subs = get(&gw, "/subscriptions");
    let msg_sub = subs["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["origin"] == "message")
        .unwrap_or_else(|| panic!("{subs}"));
    assert_eq!(msg_sub["client"], "M1");
    assert_eq!(msg_sub["by"], ECOM);
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn changes_made_through_the_api_stand_across_restarts() {
    let extra = format!(
        "{}{}{}",
        folder_client("R1", "3301960B02"),
        subscription("R1", &["放行"], "+1y")
            .replace("[[subscription]]\n", "[[subscription]]\nid = \"cfg-r1\"\n"),
        subscription("R1", &["入库"], "+30d")
            .replace("[[subscription]]\n", "[[subscription]]\nid = \"cfg-r1b\"\n"),
    );
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    let (code, out) = cli(
        &gw,
        &["subscriptions", "cancel", "cfg-r1", "--by", "QH0030"],
    );
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = cli(
        &gw,
        &[
            "subscriptions",
            "extend",
            "cfg-r1b",
            "--valid-until",
            &cst_date(60),
            "--by",
            "q",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    // Restarted (the configuration unchanged): both changes stand, and
    // nothing is renewed or refused.
    assert_eq!(gw.stop().0, Some(0));
    gw.start();
    let list = get(&gw, "/subscriptions");
    let by_id = |id: &str| {
        list["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id("cfg-r1")["state"], "cancelled");
    assert_eq!(by_id("cfg-r1b")["valid_until"], cst_date(60));
    assert_eq!(by_id("cfg-r1b")["history"].as_array().unwrap().len(), 2);
    assert_eq!(gw.stop().0, Some(0));
}
