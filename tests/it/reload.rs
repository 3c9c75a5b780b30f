//! Live reload and `config check`, on the real binary: the configuration
//! file rewritten (replaced by a rename, as deployments do) while the
//! daemon runs, SIGHUP, a broken file, environment overrides.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::gateway::{ECOM, Gateway, PARTNERS, names, put, set_files, wait_for};
use crate::push::{folder_client, get, receipt, subscription};

/// The `[[sender]]` block of `partners` in the test configuration.
const PARTNERS_BLOCK: &str = "[[sender]]\nname = \"partners\"\nroot = \"senders/partners\"\ncodes = [\"3301960C03\", \"3301980D04\"]\n";

/// Replaces the configuration file the way a deployment does: a new file
/// renamed over the old one.
fn write_config(gw: &Gateway, text: &str) {
    let tmp = gw.config.with_extension("toml.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &gw.config).unwrap();
}

fn config_text(gw: &Gateway) -> String {
    std::fs::read_to_string(&gw.config).unwrap()
}

/// The `config` part of `/status`.
fn config_status(gw: &Gateway) -> Value {
    get(gw, "/status")["config"].clone()
}

fn generation(gw: &Gateway) -> u64 {
    config_status(gw)["generation"].as_u64().unwrap_or(0)
}

fn wait_generation(gw: &Gateway, n: u64) {
    wait_for(gw, 30, &format!("configuration generation {n}"), || {
        generation(gw) >= n
    });
}

/// Regular files in `dir` (none when it does not exist).
fn files_in(dir: &Path) -> Vec<String> {
    names(dir)
}

#[test]
fn a_sender_added_is_served_and_a_sender_removed_stops_being_read_with_files_in_flight_finished() {
    let mut gw = Gateway::new(0);
    gw.start();
    assert_eq!(generation(&gw), 1);

    // Added: served without a restart.
    let late = "[[sender]]\nname = \"late\"\nroot = \"senders/late\"\ncodes = [\"3301960A01\", \"3301960B02\", \"3301980E05\"]\n";
    write_config(&gw, &format!("{}{late}", config_text(&gw)));
    wait_generation(&gw, 2);
    let (_, name, bytes) = &set_files(1, true)[0];
    put(&gw.path("senders/late/OutBox"), name, bytes);
    wait_for(&gw, 30, "the new sender's file stored", || {
        files_in(&gw.path("senders/late/SentBox")).contains(name)
    });

    // Removed while its files are being taken: files are dropped before,
    // during and after the reload; every one is either finished (SentBox
    // or FailBox, stored once) or never read (still in the OutBox); none
    // is left claimed or lost.
    let text = config_text(&gw);
    assert!(text.contains(PARTNERS_BLOCK));
    let mut dropped = Vec::new();
    let mut n = 2;
    let mut drop_some = |gw: &Gateway, count: u32, dropped: &mut Vec<String>| {
        for _ in 0..count {
            for (sender, name, bytes) in set_files(n, true) {
                if sender == PARTNERS {
                    put(&gw.sender(PARTNERS, "OutBox"), &name, &bytes);
                    dropped.push(name);
                }
            }
            n += 1;
        }
    };
    drop_some(&gw, 20, &mut dropped);
    write_config(&gw, &text.replace(PARTNERS_BLOCK, ""));
    let deadline = Instant::now() + Duration::from_secs(30);
    while generation(&gw) < 3 {
        assert!(Instant::now() < deadline, "no reload\n{}", gw.log());
        drop_some(&gw, 2, &mut dropped);
    }
    drop_some(&gw, 10, &mut dropped);
    wait_for(&gw, 30, "nothing left claimed in partners' TempBox", || {
        files_in(&gw.sender(PARTNERS, "TempBox")).is_empty()
    });
    // What was claimed before the reload is finished by the pipeline.
    std::thread::sleep(Duration::from_millis(600));
    let left = files_in(&gw.sender(PARTNERS, "OutBox"));
    let mut finished = files_in(&gw.sender(PARTNERS, "SentBox"));
    finished.extend(files_in(&gw.sender(PARTNERS, "FailBox")));
    finished.retain(|n| !n.ends_with(".reason.txt"));
    let mut all: Vec<String> = left.iter().chain(&finished).cloned().collect();
    all.sort();
    let mut expected = dropped.clone();
    expected.sort();
    assert_eq!(
        all,
        expected,
        "every file finished or left unread, once\n{}",
        gw.log()
    );
    eprintln!(
        "partners removed with {} files finished and {} left unread",
        finished.len(),
        left.len()
    );
    let stored = get(&gw, "/messages?sender=partners&limit=10000");
    assert_eq!(
        stored.as_array().unwrap().len(),
        finished.len(),
        "each finished file stored once"
    );

    // From now on its OutBox is not read.
    assert!(
        !finished.is_empty() && !left.is_empty(),
        "files finished and left"
    );
    let (_, name, bytes) = &set_files(9999, true)[1];
    put(&gw.sender(PARTNERS, "OutBox"), name, bytes);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(files_in(&gw.sender(PARTNERS, "OutBox")).contains(name));
    assert!(!files_in(&gw.sender(PARTNERS, "SentBox")).contains(name));

    // Added back: its OutBox is read again, from where it was left.
    write_config(&gw, &format!("{}{PARTNERS_BLOCK}", config_text(&gw)));
    wait_generation(&gw, 4);
    wait_for(&gw, 30, "the returning sender's OutBox emptied", || {
        files_in(&gw.sender(PARTNERS, "OutBox")).is_empty()
    });
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
    let log = gw.log();
    assert!(log.contains("Configuration reloaded."), "{log}");
}

#[test]
fn a_broken_configuration_leaves_the_running_one_and_says_why() {
    let mut gw = Gateway::new(0);
    gw.start();
    let good = config_text(&gw);
    // The CLI reads the admin address from a configuration that stays good.
    let cli_conf = gw.path("cli.toml");
    std::fs::write(&cli_conf, &good).unwrap();
    let cases: &[(&str, String, &[&str])] = &[
        (
            "an unknown key",
            good.replace("retries = 2", "retries = 2\nretry = 3"),
            &["gateway.toml", "customs.retry", "unknown key"],
        ),
        (
            "not TOML",
            format!("{good}\n[[sender]\n"),
            &["gateway.toml", "unclosed"],
        ),
        (
            "a rule broken",
            good.replace("codes = [\"3301960C03\", \"3301980D04\"]", "codes = []"),
            &["gateway.toml", "sender[1].codes"],
        ),
        (
            "a registry that does not parse",
            good.replace(
                "registry = \"registry.toml\"",
                "registry = \"nowhere.toml\"",
            ),
            &["nowhere.toml", "registry"],
        ),
    ];
    for (i, (what, text, words)) in cases.iter().enumerate() {
        write_config(&gw, text);
        let n = u64::try_from(i).unwrap() + 1;
        wait_for(&gw, 30, &format!("the refusal of {what}"), || {
            config_status(&gw)["failures"].as_u64() == Some(n)
        });
        let status = config_status(&gw);
        assert_eq!(status["generation"], 1, "{what}: not applied");
        let message = status["error"]["message"].as_str().unwrap().to_owned();
        for w in *words {
            assert!(message.contains(w), "{what}: `{w}` in {message}");
        }
        // The CLI's status shows it too.
        let out = crate::util::gateway()
            .args(["status", "--config"])
            .arg(&cli_conf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("NOT RELOADED"), "{what}: {text}");
        // The running configuration still serves both senders.
        for (sender, name, bytes) in set_files(200 + u32::try_from(i).unwrap(), true) {
            gw.drop_file(sender, &format!("b{i}-{name}"), &bytes);
        }
        wait_for(
            &gw,
            30,
            &format!("files stored under the old configuration ({what})"),
            || {
                files_in(&gw.sender(ECOM, "OutBox")).is_empty()
                    && files_in(&gw.sender(PARTNERS, "OutBox")).is_empty()
            },
        );
    }
    assert!(
        gw.log()
            .contains("Configuration not reloaded; the running one stays.")
    );
    // Counted in the metrics.
    let metrics = crate::push::get_text(&gw, "/metrics");
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("customs_gateway_config_reload_failures_total "))
        .unwrap_or_else(|| panic!("no reload failures counter in\n{metrics}"));
    assert_eq!(failures.trim(), cases.len().to_string());
    // Mended: applied, and the error is gone.
    write_config(&gw, &good.replace("retries = 2", "retries = 3"));
    wait_generation(&gw, 2);
    assert!(config_status(&gw)["error"].is_null());
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn sighup_reloads_and_a_change_that_needs_a_restart_is_named() {
    // Files not watched: only SIGHUP reloads.
    let mut gw = Gateway::new(0);
    let text = config_text(&gw).replace("[admin]\n", "[admin]\nwatch_config = false\n");
    write_config(&gw, &text);
    gw.start();
    // Nothing changed: SIGHUP is harmless (its default would end the process).
    gw.signal(libc::SIGHUP);
    wait_for(&gw, 30, "the unchanged reload logged", || {
        gw.log().contains("Configuration unchanged")
    });
    assert!(gw.running());
    assert_eq!(generation(&gw), 1);

    let late = "[[sender]]\nname = \"late\"\nroot = \"senders/late\"\ncodes = [\"3301960A01\", \"3301960B02\", \"3301980E05\"]\n";
    let moved = text.replace("scan_interval_ms = 200", "scan_interval_ms = 300");
    write_config(&gw, &format!("{moved}{late}"));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(generation(&gw), 1, "not watched: no reload without SIGHUP");
    gw.signal(libc::SIGHUP);
    wait_generation(&gw, 2);
    let status = config_status(&gw);
    let restart: Vec<&str> = status["restart_needed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(restart.len(), 1, "{restart:?}");
    assert!(
        restart[0].starts_with("ingest.scan_interval_ms (running 200, configured 300)"),
        "{restart:?}"
    );
    let (_, name, bytes) = &set_files(1, true)[0];
    put(&gw.path("senders/late/OutBox"), name, bytes);
    wait_for(&gw, 30, "the sender added by SIGHUP served", || {
        files_in(&gw.path("senders/late/SentBox")).contains(name)
    });
    let (_, out) = crate::push::cli(&gw, &["status"]);
    assert!(
        out.contains("restart needed: ingest.scan_interval_ms"),
        "{out}"
    );
    assert!(gw.log().contains("A configured value waits for a restart."));
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn a_client_and_its_subscription_added_live_receive_the_next_receipt() {
    let mut gw = Gateway::new(0);
    gw.start();
    // A receipt before the client exists goes to no one.
    gw.drop_receipt("r1.xml", &receipt("3301960B02", 1, "800"));
    wait_for(&gw, 30, "the first receipt stored", || {
        files_in(&gw.customs("InBox")).is_empty()
    });
    let until = "+1y";
    write_config(
        &gw,
        &format!(
            "{}{}{}",
            config_text(&gw),
            folder_client("C1", "3301960B02"),
            subscription("C1", &["放行"], until)
        ),
    );
    wait_generation(&gw, 2);
    let subs = get(&gw, "/subscriptions");
    assert_eq!(subs["subscriptions"].as_array().unwrap().len(), 1, "{subs}");
    gw.drop_receipt("r2.xml", &receipt("3301960B02", 2, "800"));
    let inbox = gw.path("clients/C1/InBox");
    wait_for(&gw, 30, "the receipt pushed to the new client", || {
        files_in(&inbox).len() == 1
    });
    // Removed again: the worker stops, the subscription is cancelled.
    let text = config_text(&gw);
    let without = text
        .replace(&folder_client("C1", "3301960B02"), "")
        .replace(&subscription("C1", &["放行"], until), "");
    write_config(&gw, &without);
    wait_generation(&gw, 3);
    let subs = get(&gw, "/subscriptions");
    assert_eq!(subs["subscriptions"][0]["state"], "cancelled", "{subs}");
    gw.drop_receipt("r3.xml", &receipt("3301960B02", 3, "800"));
    wait_for(&gw, 30, "the third receipt stored", || {
        files_in(&gw.customs("InBox")).is_empty()
    });
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        files_in(&inbox).len(),
        1,
        "nothing more for a removed client"
    );
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn an_environment_override_sets_a_key_and_status_shows_it() {
    let mut gw = Gateway::new(0);
    let port = crate::gateway::free_port();
    let admin = format!("127.0.0.1:{port}");
    gw.env
        .push(("CUSTOMS_GATEWAY__ADMIN__LISTEN".to_owned(), admin.clone()));
    gw.env.push((
        "CUSTOMS_GATEWAY__SENDER__1__CODES".to_owned(),
        "3301960C03,3301980D04,3301960B02".to_owned(),
    ));
    // The harness waits for the configured port; the daemon listens on the
    // overridden one.
    let configured = std::mem::replace(&mut gw.admin, admin.clone());
    gw.start();
    assert!(std::net::TcpStream::connect(&configured).is_err());
    let status = config_status(&gw);
    let overrides = status["overrides"].as_array().unwrap();
    let keys: Vec<&str> = overrides
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["admin.listen", "sender[1].codes"]);
    // The override holds across a reload (the file changes, the
    // environment stays).
    write_config(&gw, &config_text(&gw).replace("retries = 2", "retries = 3"));
    wait_generation(&gw, 2);
    assert_eq!(config_status(&gw)["restart_needed"], serde_json::json!([]));
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
}

/// `config check` on the shipped configuration, with overrides, and on
/// broken and unreadable files: exit status, and what it names.
#[test]
fn config_check_validates_without_starting_anything() {
    let root = crate::util::root();
    let conf = root.join("conf/gateway.toml");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = crate::util::gateway();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let c = conf.to_str().unwrap();
    // Valid: what it would run.
    let (code, out, err) = run(&["config", "check", "--config", c], &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    for w in [
        "valid",
        "sender        demo",
        "platform      demo-platform",
        "client        0000009815",
        "subscription  cfg-0000009815-",
        "registry",
    ] {
        assert!(out.contains(w), "`{w}` in\n{out}");
    }
    let (code, out, _) = run(
        &["config", "check", "--config", c, "--json"],
        &[("CUSTOMS_GATEWAY__PUSH__MAX_ATTEMPTS", "5")],
    );
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["push"]["max_attempts"], 5);
    assert_eq!(
        v["overrides"][0]["var"],
        "CUSTOMS_GATEWAY__PUSH__MAX_ATTEMPTS"
    );
    assert_eq!(v["overrides"][0]["key"], "push.max_attempts");

    // Invalid: exit 1, naming the file, the key and the rule.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(&conf).unwrap();
    for name in ["registry.toml", "platform-demo.token"] {
        std::fs::copy(root.join("conf").join(name), dir.path().join(name)).unwrap();
    }
    /// What, the file's text, the environment, the words the error holds
    /// (none: valid).
    type Case<'a> = (&'a str, String, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        ("valid copy", shipped.clone(), &[], &[]),
        (
            "unknown key",
            shipped.replacen("[admin]", "[admin]\nlisen = \"x\"", 1),
            &[],
            &["gateway.toml", "admin.lisen", "unknown key"],
        ),
        (
            "bad address",
            shipped.clone(),
            &[("CUSTOMS_GATEWAY__ADMIN__LISTEN", "localhost")],
            &["admin.listen", "localhost"],
        ),
        (
            "override of an unknown key",
            shipped.clone(),
            &[("CUSTOMS_GATEWAY__PUSH__MAX_ATTEMPT", "5")],
            &["max_attempt", "CUSTOMS_GATEWAY__PUSH__MAX_ATTEMPT"],
        ),
        (
            "missing token file",
            shipped.replace("platform-demo.token", "missing.token"),
            &[],
            &["platform[0].token_file", "missing.token"],
        ),
        (
            "a folder under a file",
            shipped.replace(
                "root  = \"../var/senders/demo\"",
                "root = \"registry.toml/demo\"",
            ),
            &[],
            &["sender[0].root", "is a file"],
        ),
        (
            "an email address",
            format!("{shipped}\n[smtp]\nhost = \"localhost\"\nfrom = \"not an address\"\n"),
            &[],
            &["smtp.from", "not an address"],
        ),
        (
            "a subscription over a year",
            shipped.replace("valid_until = \"+1y\"", "valid_until = \"+400d\""),
            &[],
            &["subscription[0]", "valid_until"],
        ),
    ];
    let file = dir.path().join("gateway.toml");
    let f = file.to_str().unwrap();
    for (what, text, env, words) in cases {
        std::fs::write(&file, text).unwrap();
        let (code, out, err) = run(&["config", "check", "--config", f, "--json"], env);
        let v: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{what}: {e}: {out}{err}"));
        if words.is_empty() {
            assert_eq!(code, Some(0), "{what}: {out}");
            continue;
        }
        assert_eq!(code, Some(1), "{what}: {out}{err}");
        assert_eq!(v["valid"], false);
        let error = v["error"].as_str().unwrap();
        for w in *words {
            assert!(error.contains(w), "{what}: `{w}` in {error}");
        }
        // The text form says it on stderr.
        let (code, _, err) = run(&["config", "check", "--config", f], env);
        assert_eq!(code, Some(1));
        assert!(err.contains(words[0]), "{what}: {err}");
    }
    // A dated subscription already past: a warning (it is expired in the
    // store; only a new one would be refused), not an error.
    std::fs::write(
        &file,
        shipped.replace("valid_until = \"+1y\"", "valid_until = \"2020-01-31\""),
    )
    .unwrap();
    let (code, out, _) = run(&["config", "check", "--config", f, "--json"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["warnings"][0].as_str().unwrap().contains("2020-01-31"),
        "{v}"
    );
    // A list key the file does not have, from the environment: taken as a
    // list (the client then has two deliveries, which is the error).
    let (code, out, _) = run(
        &["config", "check", "--config", f, "--json"],
        &[
            (
                "CUSTOMS_GATEWAY__CLIENT__0__EMAIL",
                "a@example.com,b@example.com",
            ),
            ("CUSTOMS_GATEWAY__SMTP__HOST", "localhost"),
            ("CUSTOMS_GATEWAY__SMTP__FROM", "gateway@example.com"),
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let error = v["error"].as_str().unwrap();
    assert!(error.contains("exactly one delivery"), "{error}");
    // Unreadable: exit 2.
    let (code, out, _) = run(
        &[
            "config",
            "check",
            "--config",
            dir.path().join("none.toml").to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["readable"], false);
}

#[test]
fn a_refused_reload_waiting_for_a_file_is_applied_when_the_file_appears() {
    let mut gw = Gateway::new(0);
    gw.start();
    let text = config_text(&gw).replace(
        "registry = \"registry.toml\"",
        "registry = \"registry-2.toml\"",
    );
    write_config(&gw, &text);
    wait_for(&gw, 30, "the refusal", || {
        config_status(&gw)["failures"].as_u64() == Some(1)
    });
    assert!(
        config_status(&gw)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("registry-2.toml")
    );
    // The configuration is not touched again: the missing file appears.
    std::fs::copy(gw.path("registry.toml"), gw.path("registry-2.toml")).unwrap();
    wait_generation(&gw, 2);
    let status = config_status(&gw);
    assert!(status["error"].is_null(), "{status}");
    assert_eq!(status["failures"], 1, "refused once, not again and again");
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn senders_cannot_end_up_on_one_root_and_a_root_change_waits_for_a_restart() {
    let mut gw = Gateway::new(0);
    gw.start();
    let text = config_text(&gw);
    // `partners` removed; `third` takes the root `ecom` runs on while
    // `ecom` is given another: `ecom` keeps its running root until a
    // restart, so both would run on one root: refused.
    let clash = text
        .replace(PARTNERS_BLOCK, "")
        .replace("root = \"senders/ecom\"", "root = \"senders/ecom-2\"")
        + "[[sender]]\nname = \"third\"\nroot = \"senders/ecom\"\ncodes = [\"3301960A01\"]\n";
    write_config(&gw, &clash);
    wait_for(&gw, 30, "the refusal", || {
        config_status(&gw)["failures"].as_u64() == Some(1)
    });
    let message = config_status(&gw)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("would both run on"), "{message}");
    assert_eq!(generation(&gw), 1);
    // A root change alone is applied as "restart needed": files keep
    // flowing through the running root.
    write_config(
        &gw,
        &text.replace("root = \"senders/ecom\"", "root = \"senders/ecom-2\""),
    );
    wait_generation(&gw, 2);
    let restart = config_status(&gw)["restart_needed"].clone();
    assert!(
        restart[0]
            .as_str()
            .unwrap()
            .starts_with("sender `ecom` root"),
        "{restart}"
    );
    let (_, name, bytes) = &set_files(3, true)[0];
    gw.drop_file(ECOM, name, bytes);
    wait_for(&gw, 30, "the file stored from the running root", || {
        files_in(&gw.sender(ECOM, "SentBox")).contains(name)
    });
    let (code, _) = gw.stop();
    assert_eq!(code, Some(0));
}
