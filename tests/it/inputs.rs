//! `check` on paths that are not plain readable message files: an empty
//! folder, a FIFO, a device, a dangling link, a file or folder without read
//! permission. Each is one diagnostic about that path and the other files
//! are still checked; nothing hangs. Real files in a temporary folder, the
//! real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, Run};

/// A run may take this long before it counts as hung.
const TIMEOUT_SECS: u64 = 20;

/// `check --json ARGS` in `dir`, as `uid` when given.
fn check_json(dir: &Path, args: &[&str], uid: Option<u32>) -> (Run, Value) {
    let mut cmd = util::gateway();
    cmd.current_dir(dir).arg("check").arg("--json").args(args);
    if let Some(uid) = uid {
        use std::os::unix::process::CommandExt as _;
        cmd.uid(uid).gid(uid);
    }
    let run = util::run_with_timeout(cmd, TIMEOUT_SECS);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", run.stdout, run.stderr));
    (run, report)
}

/// `check ARGS` in `dir` (text output).
fn check_text(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = util::gateway();
    cmd.current_dir(dir).arg("check").args(args);
    util::run_with_timeout(cmd, TIMEOUT_SECS)
}

/// The diagnostics about `file`, as (rule, severity).
fn findings(report: &Value, file: &str) -> Vec<(String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == file)
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Files of the documents reported.
fn document_files(report: &Value) -> Vec<String> {
    report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap().to_owned())
        .collect()
}

/// A temporary folder holding `good.xml`, a valid order.
fn folder_with_a_good_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("in/good.xml");
    std::fs::create_dir_all(good.parent().unwrap()).unwrap();
    std::fs::copy(util::root().join("samples/set-ok/CEB311-order.xml"), &good).unwrap();
    (dir, good)
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_folder_without_xml_files_is_a_warning_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    std::fs::create_dir_all(dir.path().join("notes/deeper")).unwrap();
    std::fs::write(dir.path().join("notes/readme.txt"), "not a message").unwrap();
    let (run, report) = check_json(dir.path(), &["empty", "notes"], None);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    for folder in ["empty", "notes"] {
        assert_eq!(
            findings(&report, folder),
            [("NO_FILES".to_owned(), "warning".to_owned())],
            "{report:#}"
        );
    }
    let text = check_text(dir.path(), &["empty"]);
    assert_eq!(text.status, Some(0));
    assert!(
        text.stdout
            .starts_with("empty: warning [NO_FILES] no *.xml files in this folder"),
        "{}",
        text.stdout
    );
    // A folder with a message is not empty.
    let (run, report) = check_json(&util::root(), &["samples/set-ok"], None);
    assert_eq!(run.status, Some(0));
    assert!(report["diagnostics"].as_array().unwrap().is_empty());
}

#[test]
fn a_dangling_link_is_one_unreadable_file_and_the_rest_is_checked() {
    let (dir, _) = folder_with_a_good_file();
    std::os::unix::fs::symlink("nowhere.xml", dir.path().join("in/dangling.xml")).unwrap();
    for args in [&["in"][..], &["in/dangling.xml", "in/good.xml"][..]] {
        let (run, report) = check_json(dir.path(), args, None);
        assert_eq!(run.status, Some(1), "check {args:?}: {}", run.stderr);
        assert_eq!(
            findings(&report, "in/dangling.xml"),
            [("UNREADABLE".to_owned(), "error".to_owned())],
            "{report:#}"
        );
        let message = report["diagnostics"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("dangling symbolic link to nowhere.xml"),
            "{message}"
        );
        assert_eq!(document_files(&report), ["in/good.xml"], "{report:#}");
    }
    let text = check_text(dir.path(), &["in"]);
    assert!(
        text.stdout.contains("1 files unreadable"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_fifo_or_device_is_skipped_without_being_opened() {
    let (dir, _) = folder_with_a_good_file();
    // Nobody ever writes to this FIFO: opening it for reading would block
    // for ever, which the timeout turns into a failure.
    mkfifo(&dir.path().join("in/pipe.xml"));
    let cases: &[(&[&str], &[&str])] = &[
        (&["in"], &["in/pipe.xml"]),
        (&["in/pipe.xml", "in/good.xml"], &["in/pipe.xml"]),
        (&["/dev/null", "in/good.xml"], &["/dev/null"]),
    ];
    for (args, skipped) in cases {
        let (run, report) = check_json(dir.path(), args, None);
        assert_eq!(run.status, Some(0), "check {args:?}: {}", run.stderr);
        for file in *skipped {
            assert_eq!(
                findings(&report, file),
                [("NOT_A_FILE".to_owned(), "warning".to_owned())],
                "{report:#}"
            );
        }
        assert_eq!(document_files(&report), ["in/good.xml"], "{report:#}");
    }
    let text = check_text(dir.path(), &["in/pipe.xml", "/dev/null"]);
    assert!(
        text.stdout.contains(
            "in/pipe.xml: warning [NOT_A_FILE] a FIFO (named pipe) is not a regular file: skipped without opening it"
        ) && text.stdout.contains("/dev/null: warning [NOT_A_FILE] a character device")
            && text.stdout.contains("2 skipped (not regular files)"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_file_or_folder_without_read_permission_is_one_diagnostic() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, good) = folder_with_a_good_file();
    let locked = dir.path().join("in/locked.xml");
    std::fs::copy(&good, &locked).unwrap();
    std::fs::create_dir_all(dir.path().join("in/sealed")).unwrap();
    std::fs::copy(&good, dir.path().join("in/sealed/hidden.xml")).unwrap();
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(dir.path(), 0o755);
    mode(&locked, 0o000);
    mode(&dir.path().join("in/sealed"), 0o000);
    // Root reads anything, mode 000 or not: when this test runs as root (the
    // file is readable anyway), run the binary as nobody (65534).
    let uid = if std::fs::read(&locked).is_ok() {
        Some(65534)
    } else {
        None
    };
    for args in [
        &["in"][..],
        &["in/locked.xml", "in/sealed", "in/good.xml"][..],
    ] {
        let (run, report) = check_json(dir.path(), args, uid);
        assert_eq!(run.status, Some(1), "check {args:?}: {}", run.stderr);
        assert_eq!(
            findings(&report, "in/locked.xml"),
            [("UNREADABLE".to_owned(), "error".to_owned())],
            "{report:#}"
        );
        assert_eq!(
            findings(&report, "in/sealed"),
            [("UNREADABLE".to_owned(), "error".to_owned())],
            "{report:#}"
        );
        let messages: Vec<&str> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["message"].as_str().unwrap())
            .collect();
        assert!(
            messages.iter().any(|m| m.contains("Permission denied")),
            "{messages:?}"
        );
        assert_eq!(document_files(&report), ["in/good.xml"], "{report:#}");
    }
    // Let the temporary folder be removed.
    mode(&dir.path().join("in/sealed"), 0o755);
}

/// A folder's regular `*.xml` entries are known regular from the listing
/// (read with one open); links, FIFOs and what the listing cannot tell go
/// through the checked path. Both read a sample to the same report.
#[test]
fn folder_entries_carry_their_type_from_the_listing() {
    use customs_gateway::inspect::{self, Input};
    let dir = tempfile::tempdir().unwrap();
    let sample = util::root().join("samples/set-ok/CEB311-order.xml");
    let bytes = std::fs::read(&sample).unwrap();
    std::fs::write(dir.path().join("a.xml"), &bytes).unwrap();
    std::os::unix::fs::symlink(dir.path().join("a.xml"), dir.path().join("b.xml")).unwrap();
    mkfifo(&dir.path().join("c.xml"));
    let inputs = inspect::collect(&[dir.path().to_path_buf()]).unwrap();
    let kinds: Vec<(String, &str)> = inputs
        .iter()
        .map(|i| match i {
            Input::Regular(p) => (name(p), "regular"),
            Input::File(p) => (name(p), "checked"),
            Input::Finding(_) => (String::new(), "finding"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("a.xml".to_owned(), "regular"),
            ("b.xml".to_owned(), "checked"),
            ("c.xml".to_owned(), "checked")
        ]
    );
    let limits = customs_gateway::codec::Limits::default();
    let one = inspect::inspect_entry(&dir.path().join("a.xml"), &limits);
    let other = inspect::inspect_path(&dir.path().join("b.xml"), &limits);
    assert_eq!(one.documents.len(), 1);
    assert_eq!(one.diagnostics.len(), other.diagnostics.len());
    // A regular entry replaced by a FIFO after the listing is not read
    // (opened without blocking, its type checked on the open file).
    std::fs::remove_file(dir.path().join("a.xml")).unwrap();
    mkfifo(&dir.path().join("a.xml"));
    let r = inspect::inspect_entry(&dir.path().join("a.xml"), &limits);
    assert_eq!(r.diagnostics[0].rule, "NOT_A_FILE", "{:?}", r.diagnostics);
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}
