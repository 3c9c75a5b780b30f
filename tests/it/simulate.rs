//! The customs simulator end to end: the real binary (`serve` with
//! `[simulator] enabled`, and `simulate-customs` alone) on real folders.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use customs_gateway::codec;
use customs_gateway::model::Message;
use customs_gateway::validate::{Mode, validate};
use serde_json::Value;

use crate::gateway::{ECOM, Gateway, PARTNERS, names, put, wait_for};
use crate::util;

const SAMPLES: [(&str, &str); 4] = [
    (ECOM, "CEB311-order.xml"),
    (PARTNERS, "CEB411-payment.xml"),
    (PARTNERS, "CEB511-waybill.xml"),
    (ECOM, "CEB621-inventory.xml"),
];

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(util::root().join("samples/set-ok").join(name)).unwrap()
}

/// A head field of a one-document receipt.
fn field(m: &Message, name: &str) -> String {
    let head = &m.documents[0].head;
    let i = head.spec().field_index(name).unwrap();
    head.value(i).to_string()
}

/// Reads a receipt and holds it to what customs writes: it decodes without
/// a reader finding, validates without a finding and passes the official XSD.
fn receipt(path: &Path) -> Message {
    let bytes = std::fs::read(path).unwrap();
    let d = codec::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        d.diagnostics.is_empty(),
        "{}: {:?}",
        path.display(),
        d.diagnostics
    );
    let findings = validate(&d.message, Mode::Read);
    assert!(findings.is_empty(), "{}: {findings:?}", path.display());
    let xsd = util::xsd_for(d.message.spec).unwrap();
    util::xmllint(&bytes, &xsd).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains(&format!("<{}Message guid=\"", d.message.spec.name))
            && text.contains("xmlns=\"http://www.chinaport.gov.cn/ceb\""),
        "not in the official form: {text}"
    );
    d.message
}

/// The receipts in `dir` (decoded and checked), sorted by returnTime.
fn receipts(dir: &Path) -> Vec<(String, Message)> {
    let mut out: Vec<(String, Message)> = names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".xml"))
        .map(|n| {
            let m = receipt(&dir.join(&n));
            (n, m)
        })
        .collect();
    out.sort_by_key(|(_, m)| field(m, "returnTime"));
    out
}

/// `customs-gateway check DIR --json`: (exit status, the JSON).
fn check(dir: &Path) -> (Option<i32>, Value) {
    let mut cmd = util::gateway();
    cmd.arg("check").arg("--json").arg(dir);
    let run = util::run_with_timeout(cmd, 60);
    (run.status, serde_json::from_str(&run.stdout).unwrap())
}

#[test]
fn serve_with_the_simulator_takes_the_forwards_and_releases_the_inventory() {
    let mut gw = Gateway::with_config(
        100,
        "[simulator]\nenabled = true\nrelease_after_ms = 300\nseed = 1\n",
    );
    gw.start();
    for (sender, name) in SAMPLES {
        gw.drop_file(sender, name, &sample(name));
    }
    wait_for(&gw, 30, "the four forwards in the customs SentBox", || {
        names(&gw.customs("SentBox")).len() == 4
    });
    // Named by the forwarder (message ids follow arrival), moved as they were.
    let types: Vec<String> = names(&gw.customs("SentBox"))
        .iter()
        .map(|n| {
            assert!(n.contains("_GW") && n.ends_with(".xml"), "{n}");
            n[..6].to_owned()
        })
        .collect();
    assert_eq!(types, ["CEB311", "CEB411", "CEB511", "CEB621"]);
    // Every receipt reaches the InBox and is archived by the gateway.
    wait_for(&gw, 30, "4 receipts 120 and an 800, archived", || {
        names(&gw.path("customs/Archive")).len() == 5
    });
    let all = receipts(&gw.path("customs/Archive"));
    let got: Vec<(&str, String)> = all
        .iter()
        .map(|(_, m)| (m.spec.name, field(m, "returnStatus")))
        .collect();
    let mut first: Vec<(&str, String)> = got[..4].to_vec();
    first.sort();
    assert_eq!(
        first,
        [
            ("CEB312", "120".to_owned()),
            ("CEB412", "120".to_owned()),
            ("CEB512", "120".to_owned()),
            ("CEB622", "120".to_owned())
        ]
    );
    assert_eq!(got[4], ("CEB622", "800".to_owned()));
    assert!(names(&gw.customs("InBox")).is_empty());
    assert!(names(&gw.customs("OutBox")).is_empty());
    assert!(names(&gw.customs("FailBox")).is_empty());

    // The admin API: the inventory moved to customs:800, the others to 120.
    let show = |key: &str| -> Value {
        let mut cmd = util::gateway();
        cmd.args(["show", key, "--json", "--config"])
            .arg(&gw.config);
        let run = util::run_with_timeout(cmd, 30);
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    };
    wait_for(&gw, 10, "the inventory at customs:800", || {
        show("copNo=GWCOP2026112100001")["document"]["status"] == "customs:800"
    });
    let inv = show("copNo=GWCOP2026112100001");
    let codes: Vec<&str> = inv["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["120", "800"], "{inv:#}");
    let mut members: Vec<(&str, &str)> = inv["set"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["type"].as_str().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            ("CEB311", "customs:120"),
            ("CEB411", "customs:120"),
            ("CEB511", "customs:120"),
            ("CEB621", "customs:800")
        ],
        "{inv:#}"
    );
    assert_eq!(gw.stop().0, Some(0));
    assert!(gw.log().contains("Customs simulator stopped."));
}

/// The simulator alone (`simulate-customs`), started and stopped.
struct Sim {
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Sim {
    fn new(gw: &Gateway) -> Sim {
        Sim {
            config: gw.config.clone(),
            log: gw.path("simulator.log"),
            child: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = util::gateway()
            .args(["simulate-customs", "--config"])
            .arg(&self.config)
            .env("CUSTOMS_GATEWAY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Sends `sig` and waits for the exit: its status code.
    fn signal(&mut self, sig: i32) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid, sig);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the simulator did not stop in 10 s\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait(sim: &Sim, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- log ---\n{}",
            sim.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn customs_dirs(gw: &Gateway) {
    for d in ["OutBox", "InBox", "SentBox", "FailBox"] {
        std::fs::create_dir_all(gw.customs(d)).unwrap();
    }
}

#[test]
fn simulate_customs_refuses_with_a_national_code_and_fails_what_it_cannot_read() {
    let gw = Gateway::with_config(
        100,
        "[simulator]\nrefuse = 1.0\nrelease_after_ms = 200\nseed = 42\n",
    );
    customs_dirs(&gw);
    let mut sim = Sim::new(&gw);
    sim.start();
    put(
        &gw.customs("OutBox"),
        "CEB621_GW0000000000000004.xml",
        &sample("CEB621-inventory.xml"),
    );
    put(
        &gw.customs("OutBox"),
        "CEB311_GW0000000000000009.xml",
        b"\xff\xfe not a message",
    );
    // Being written: never taken.
    std::fs::write(gw.customs("OutBox").join("CEB311_GW1.xml.tmp"), b"<").unwrap();
    wait(&sim, "a 120 and a 100", || {
        names(&gw.customs("InBox")).len() == 2
    });
    assert_eq!(
        names(&gw.customs("FailBox")),
        ["CEB311_GW0000000000000009.xml"]
    );
    assert_eq!(
        names(&gw.customs("SentBox")),
        ["CEB621_GW0000000000000004.xml"]
    );
    assert_eq!(names(&gw.customs("OutBox")), ["CEB311_GW1.xml.tmp"]);
    assert_eq!(sim.signal(libc::SIGTERM), Some(0), "{}", sim.log());

    let got = receipts(&gw.customs("InBox"));
    let statuses: Vec<String> = got.iter().map(|(_, m)| field(m, "returnStatus")).collect();
    assert_eq!(statuses, ["120", "100"]);
    let refused = &got[1].1;
    let info = field(refused, "returnInfo");
    assert!(
        info.starts_with("[Code:13") || info.starts_with("[Code:22001"),
        "a national refusal code: {info}"
    );
    assert!(field(&got[0].1, "returnTime") < field(refused, "returnTime"));
    assert_eq!(field(&got[0].1, "preNo"), field(refused, "preNo"));
    assert_ne!(got[0].1.guid, refused.guid);

    // The project's own `check` reads them without a finding.
    let (status, json) = check(&gw.customs("InBox"));
    assert_eq!(status, Some(0), "{json:#}");
    assert_eq!(json["diagnostics"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["documents"].as_array().unwrap().len(), 2, "{json:#}");
}

#[test]
fn simulate_customs_keeps_its_schedule_across_a_restart() {
    let gw = Gateway::with_config(100, "[simulator]\nrelease_after_ms = 1500\n");
    customs_dirs(&gw);
    let schedule = gw.path("customs/GatewayTemp/sim/schedule.json");
    let mut sim = Sim::new(&gw);
    sim.start();
    put(
        &gw.customs("OutBox"),
        "CEB621_GW0000000000000004.xml",
        &sample("CEB621-inventory.xml"),
    );
    let pending = || -> Option<usize> {
        let saved: Value = serde_json::from_slice(&std::fs::read(&schedule).ok()?).ok()?;
        saved["pending"].as_array().map(Vec::len)
    };
    wait(&sim, "the 120 written and crossed off", || {
        names(&gw.customs("InBox")).len() == 1 && pending() == Some(1)
    });
    // Killed before the release is due: the schedule holds it.
    assert_eq!(sim.signal(libc::SIGKILL), None);
    let saved: Value = serde_json::from_slice(&std::fs::read(&schedule).unwrap()).unwrap();
    let pending = saved["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{saved:#}");
    assert_eq!(pending[0]["status"], "800");
    assert_eq!(
        names(&gw.customs("InBox")).len(),
        1,
        "the 800 was not due yet"
    );

    sim.start();
    wait(&sim, "the 800 after the restart", || {
        names(&gw.customs("InBox")).len() == 2
    });
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(sim.signal(libc::SIGTERM), Some(0), "{}", sim.log());
    let got = receipts(&gw.customs("InBox"));
    let statuses: Vec<String> = got.iter().map(|(_, m)| field(m, "returnStatus")).collect();
    assert_eq!(statuses, ["120", "800"], "sent once each");
    let saved: Value = serde_json::from_slice(&std::fs::read(&schedule).unwrap()).unwrap();
    assert_eq!(saved["pending"], serde_json::json!([]));
}
