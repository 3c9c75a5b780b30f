//! The `check` command over folders as real senders fill them: resends,
//! refused documents and their corrections, failed sets in the counts.

use std::path::Path;

use serde_json::Value;

use crate::cli::check;
use crate::util;

const ORDER: &str = "samples/set-ok/CEB311-order.xml";

/// A copy of `samples/set-ok` in a temporary folder.
fn set_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(util::root().join("samples/set-ok")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn sample_text(path: &str) -> String {
    std::fs::read_to_string(util::root().join(path)).unwrap()
}

fn run_json(dir: &Path) -> (Option<i32>, Value) {
    let (status, stdout, stderr) = check(&[
        "--json",
        "--config",
        "conf/gateway.toml",
        dir.to_str().unwrap(),
    ]);
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}\n{stderr}"));
    (status, report)
}

fn rules(report: &Value) -> Vec<(String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_resend_with_a_new_guid_and_app_time_is_a_duplicate_not_a_conflict() {
    let dir = set_folder();
    let resend = sample_text(ORDER)
        .replace(
            "2AFF61C6-A538-59B3-815B-4F153D7BADDC",
            "0F0F0F0F-1111-2222-3333-444444444444",
        )
        .replace(
            "A33847B3-3AF6-5EE1-AB76-0787D9C755AD",
            "1E1E1E1E-5555-6666-7777-888888888888",
        )
        .replace("<ceb:appTime>20261121100000", "<ceb:appTime>20261122090000");
    assert_ne!(resend, sample_text(ORDER));
    // "CEB311-order-resent.xml" sorts before "CEB311-order.xml": it is read
    // first, and the sample is the resend.
    std::fs::write(dir.path().join("CEB311-order-resent.xml"), resend).unwrap();
    let (status, report) = run_json(dir.path());
    assert_eq!(status, Some(0), "{report:#}");
    assert_eq!(rules(&report), [("SET_DUPLICATE".into(), "info".into())]);
    let dup = &report["diagnostics"][0];
    assert!(dup["file"].as_str().unwrap().ends_with("CEB311-order.xml"));
    assert!(
        dup["message"]
            .as_str()
            .unwrap()
            .contains("CEB311-order-resent.xml"),
        "names the first copy: {dup}"
    );
    assert_eq!(report["sets"][0]["status"], "pass");
}

#[test]
fn a_refused_document_is_not_declared_and_its_correction_is_accepted() {
    let dir = set_folder();
    // The same order first sent with a wrong currency (refused by
    // validation), then corrected: named so the refused one is read first.
    std::fs::rename(
        dir.path().join("CEB311-order.xml"),
        dir.path().join("CEB311-order-2-corrected.xml"),
    )
    .unwrap();
    let bad = sample_text(ORDER).replacen("<ceb:currency>142<", "<ceb:currency>502<", 1);
    std::fs::write(dir.path().join("CEB311-order-1-bad.xml"), bad).unwrap();
    let (status, report) = run_json(dir.path());
    assert_eq!(status, Some(1), "the refused file is still an error");
    let found = rules(&report);
    assert!(
        found.contains(&("FIXED".into(), "error".into())),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(r, _)| r.starts_with("SET_")),
        "the correction is not a conflicting declaration: {found:?}"
    );
    assert_eq!(report["sets"][0]["status"], "pass", "{report:#}");
}

#[test]
fn documents_of_a_failed_set_count_as_errors() {
    let (status, stdout, _) = check(&["--config", "conf/gateway.toml", "samples/set-fail"]);
    assert_eq!(status, Some(1));
    assert!(
        stdout.contains("4 files, 4 documents: 0 ok, 0 with warnings, 4 with errors;"),
        "{stdout}"
    );
    let (_, stdout, _) = check(&[
        "--json",
        "--config",
        "conf/gateway.toml",
        "samples/set-fail",
    ]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    for d in report["documents"].as_array().unwrap() {
        assert_eq!(d["status"], "error", "{d}");
        assert!(d["errors"].as_u64().unwrap() >= 1, "{d}");
    }
    // Customs refuses the whole set, so every member counts every
    // violation; members are named by their files.
    let members = report["sets"][0]["members"].as_array().unwrap();
    assert!(
        members
            .iter()
            .all(|m| m["source"].as_str().unwrap().ends_with(".xml"))
    );
}
