//! The `check` command as a user runs it: the real binary on real files.

use serde_json::Value;

use crate::util;

pub(crate) fn check(args: &[&str]) -> (Option<i32>, String, String) {
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

#[test]
fn check_runs_the_cross_document_engine_over_the_files_given() {
    let (status, stdout, _) = check(&["--json", "--config", "conf/gateway.toml", "samples/set-ok"]);
    assert_eq!(status, Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let sets = report["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0]["status"], "pass");
    assert_eq!(sets[0]["members"].as_array().unwrap().len(), 4);
    assert!(
        sets[0]["skipped"].as_array().unwrap().is_empty(),
        "the registry is configured"
    );

    // Without a registry the registration rule is skipped, not passed.
    let (status, stdout, _) = check(&["--json", "samples/set-ok"]);
    assert_eq!(status, Some(0));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["sets"][0]["skipped"][0]["code"], "SET_REGISTRY");

    // A failed set fails the run, naming both elements and both values.
    let (status, stdout, _) = check(&[
        "--json",
        "--config",
        "conf/gateway.toml",
        "samples/set-fail",
    ]);
    assert_eq!(status, Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let set = &report["sets"][0];
    assert_eq!(set["status"], "fail");
    let paid = set["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "SET_PAID_AMOUNT")
        .expect("SET_PAID_AMOUNT");
    assert_eq!(paid["national"], "1332");
    let message = paid["message"].as_str().unwrap();
    assert!(
        message.contains("OrderHead/acturalPaid=1020.85")
            && message.contains("PaymentHead/amountPaid=1010.85"),
        "{message}"
    );

    // Only the order, payment and waybill are there: the set is incomplete.
    let (status, stdout, _) = check(&[
        "--json",
        "samples/set-ok/CEB311-order.xml",
        "samples/set-ok/CEB411-payment.xml",
        "samples/set-ok/CEB511-waybill.xml",
    ]);
    assert_eq!(status, Some(0));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["sets"][0]["status"], "incomplete");
    assert_eq!(report["sets"][0]["missing"][0], "CEB621");
}

#[test]
fn receipts_of_a_failed_set_are_written_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("receipts");
    let (status, _, stderr) = check(&[
        "--config",
        "conf/gateway.toml",
        "--receipts",
        out.to_str().unwrap(),
        "samples/set-fail",
    ]);
    assert_eq!(status, Some(1));
    let files = util::xml_files(&out);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for ty in ["CEB311", "CEB411", "CEB511"] {
        assert!(
            names.iter().any(|n| n.starts_with(ty)),
            "{ty} receipt missing: {names:?}"
        );
    }
    // The inventory has no E-port preNo, which CEB622 requires: no receipt is invented.
    assert!(stderr.contains("no receipt for CEB621"), "{stderr}");
    let xsd = util::reference().join("xsd/ceb-import-2022.xsd");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        util::xmllint(&bytes, &xsd).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("<returnStatus>100</returnStatus>"), "{text}");
    }
}
