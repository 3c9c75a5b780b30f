//! The `check` command as a user runs it: the real binary on real files.

use serde_json::Value;

use crate::util;

fn check(args: &[&str]) -> (Option<i32>, String, String) {
    let out = util::gateway()
        .current_dir(util::root())
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_status_follows_the_worst_finding() {
    let cases: &[(&[&str], i32)] = &[
        (&["samples/set-ok"], 0),
        (
            &["samples/receipts", "samples/declaration", "samples/dxp"],
            0,
        ),
        (&["samples/invalid/CEB311-legacy-2016.xml"], 0),
        (&["samples/invalid/CEB311-bad-currency.xml"], 1),
        (&["samples"], 1),
        (&["samples/no-such-folder"], 2),
        (&["--no-such-flag", "samples"], 2),
        (&[], 2),
    ];
    for (args, code) in cases {
        let (status, stdout, stderr) = check(args);
        assert_eq!(status, Some(*code), "check {args:?}\n{stdout}\n{stderr}");
    }
}

#[test]
fn json_output_is_one_object_with_located_diagnostics() {
    let (status, stdout, _) = check(&["--json", "samples"]);
    assert_eq!(status, Some(1));
    let report: Value = serde_json::from_str(&stdout).expect("exactly one JSON object");
    for key in ["documents", "diagnostics", "sets"] {
        assert!(report[key].is_array(), "{key}");
    }
    let diagnostics = report["diagnostics"].as_array().unwrap();
    for d in diagnostics {
        for key in [
            "file", "type", "key", "rule", "severity", "field", "message",
        ] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
        assert!(["error", "warning", "info"].contains(&d["severity"].as_str().unwrap()));
    }
    let currency = diagnostics
        .iter()
        .find(|d| {
            d["file"]
                .as_str()
                .unwrap()
                .ends_with("CEB311-bad-currency.xml")
                && d["field"] == "OrderHead/currency"
        })
        .expect("the bad currency is reported");
    assert_eq!(currency["rule"], "FIXED");
    assert_eq!(currency["type"], "CEB311");
    assert_eq!(
        currency["key"],
        "orderNo=GW20261121000001,ebpCode=3301960A01"
    );
    assert!(currency["message"].as_str().unwrap().contains("142"));
    let documents = report["documents"].as_array().unwrap();
    assert!(
        documents
            .iter()
            .any(|d| d["type"] == "CEB621" && d["status"] == "ok")
    );
}

#[test]
fn text_output_names_file_rule_and_element() {
    let (status, stdout, _) = check(&["samples/invalid/CEB621-bad-idcard.xml"]);
    assert_eq!(status, Some(1));
    assert!(stdout.contains("CEB621-bad-idcard.xml"), "{stdout}");
    assert!(
        stdout.contains("[ID_CARD] InventoryHead/buyerIdNumber"),
        "{stdout}"
    );
}

#[test]
fn config_file_sets_limits_and_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.toml");
    std::fs::write(&small, "[limits]\nmax_bytes = 100\n").unwrap();
    let (status, stdout, _) = check(&[
        "--json",
        "--config",
        small.to_str().unwrap(),
        "samples/set-ok/CEB311-order.xml",
    ]);
    assert_eq!(status, Some(1));
    assert!(stdout.contains("TOO_LARGE"), "{stdout}");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[limits]\nmax_byte = 100\n").unwrap();
    let (status, _, stderr) = check(&["--config", typo.to_str().unwrap(), "samples/set-ok"]);
    assert_eq!(status, Some(2));
    assert!(stderr.contains("max_byte"), "{stderr}");
}
