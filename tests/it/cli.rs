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

#[test]
fn a_bad_configuration_is_said_once_naming_file_key_and_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[enterprise]]\ncode = \"3301960A01\"\nname = \"示例\"\nroles = [\"platform\"]\n\n\
         [[enterprise]]\ncode = \"3301960B02\"\nname = \"示例\"\nroles = [\"platfrom\"]\n",
    )
    .unwrap();
    // (configuration text, what stderr must say after "customs-gateway: <file>")
    let cases: &[(&str, &str)] = &[
        (
            "[limits]\nmax_byte = 100\n",
            ":2:1: limits.max_byte: unknown key `max_byte`, expected `max_bytes` or `max_depth`",
        ),
        (
            "[limit]\nmax_bytes = 100\n",
            ":1:2: limit: unknown key `limit`, expected one of `store`, `admin`, `customs`, \
             `sender`, `ingest`, `tcp`, `platform`, `client`, `subscription`, `smtp`, `push`, \
             `limits`, `engine`, `registry`, `tax`, `signature`, `signing`, `simulator`",
        ),
        (
            "[tcp]\nlisten = \"8471\"\n",
            ": tcp.listen: `8471` is not an address and port like `127.0.0.1:8471`",
        ),
        (
            "[tcp]\nlisten = \"127.0.0.1:8471\"\ntls_cert = \"c.pem\"\n",
            ": tcp.tls_cert and tcp.tls_key: give both (TLS) or neither (plain TCP)",
        ),
        (
            "[tcp]\nlisten = \"127.0.0.1:8471\"\nmax_in_flight = 0\n",
            ": tcp.max_in_flight must be positive (is 0)",
        ),
        (
            "[tcp]\nlisten = \"127.0.0.1:8471\"\nport = 1\n",
            ":3:1: tcp.port: unknown key `port`, expected one of `listen`, `tls_cert`, `tls_key`, \
             `max_connections`, `max_in_flight`, `max_in_flight_mb`, `idle_timeout_secs`, \
             `frame_timeout_secs`",
        ),
        (
            "[[sender]]\nname = \"shop\"\nroot = \"x\"\ncodes = [\"1\"]\n\
             [[platform]]\nid = \"shop\"\ntoken_file = \"t\"\ncodes = [\"1\"]\n",
            ": platform[0].id: `shop` is the name of a sender (or `customs`); the store tells them apart by name",
        ),
        (
            "[[platform]]\nid = \"p\"\ntoken_file = \"t\"\ncodes = []\n",
            ": platform[0].codes: list the enterprise codes `p` may submit for",
        ),
        (
            "[admin]\nlisten = \"localhost\"\n",
            ": admin.listen: `localhost` is not an address and port like `127.0.0.1:8470`",
        ),
        (
            "[[sender]]\nname = \"a\"\nroot = \"x\"\ncodes = []\n",
            ": sender[0].codes: list the enterprise codes `a` may declare for",
        ),
        (
            "[[sender]]\nname = \"a\"\nroot = \"x\"\ncodes = [\"1\"]\n\
             [[sender]]\nname = \"a\"\nroot = \"y\"\ncodes = [\"1\"]\n",
            ": sender[1].name: `a` is used by another sender",
        ),
        (
            "[[sender]]\nname = \"a\"\nroot = \"x\"\ncodes = [\"1\"]\nfolder = \"z\"\n",
            ":5:1: sender[0].folder: unknown key `folder`, expected one of `name`, `root`, `codes`, `signature`",
        ),
        (
            "[ingest]\nsettle = 5\n",
            ":2:1: ingest.settle: unknown key `settle`, expected one of `settle_ms`, \
             `scan_interval_ms`, `batch`",
        ),
        (
            "[engine]\namount_tolerance = \"1\"\nsingle_limt = 5000\n",
            ":3:1: engine.single_limt: unknown key `single_limt`, expected one of \
             `amount_tolerance`, `single_limit`, `annual_limit`, `incomplete_timeout_secs`, \
             `tax_tolerance`",
        ),
        (
            "[limits]\nmax_bytes = \"big\"\n",
            ":2:13: limits.max_bytes: invalid type: string \"big\", expected usize",
        ),
        (
            "[engine]\nsingle_limit = -1\n",
            ": engine.single_limit must be positive (is -1)",
        ),
        (
            "[limits]\nmax_depth = 2\n",
            ": limits.max_depth must be at least 4 (is 2)",
        ),
        ("[limits\n", ":1:8: unclosed table, expected `]`"),
        (
            "[engine]\ntax_tolerance = \"-0.5\"\n",
            ": engine.tax_tolerance must not be negative (is -0.5)",
        ),
    ];
    let config = dir.path().join("gateway.toml");
    let name = config.display().to_string();
    for (text, expected) in cases {
        std::fs::write(&config, text).unwrap();
        let (status, stdout, stderr) = check(&["--config", &name, "samples/set-ok"]);
        assert_eq!(status, Some(2), "{text}\n{stdout}{stderr}");
        assert_eq!(
            stderr,
            format!("customs-gateway: {name}{expected}\n"),
            "{text}"
        );
    }

    // The registry is read with the same care, and a bad role lists the roles.
    std::fs::write(&config, "registry = \"registry.toml\"\n").unwrap();
    let (status, _, stderr) = check(&["--config", &name, "samples/set-ok"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        stderr,
        format!(
            "customs-gateway: {}:9:10: enterprise[1].roles: unknown value `platfrom`, expected one of \
             `platform`, `ecommerce`, `payment`, `logistics`, `agent`\n",
            registry.display()
        )
    );
    std::fs::write(&config, "registry = \"missing.toml\"\n").unwrap();
    let (status, _, stderr) = check(&["--config", &name, "samples/set-ok"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [format!(
            "customs-gateway: {}: cannot read the enterprise registry (key `registry` in {name}): \
             No such file or directory (os error 2)",
            dir.path().join("missing.toml").display()
        )]
    );
    let (status, _, stderr) = check(&["--config", "no-such.toml", "samples/set-ok"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        stderr,
        "customs-gateway: no-such.toml: cannot read the configuration file: No such file or directory (os error 2)\n"
    );
}
