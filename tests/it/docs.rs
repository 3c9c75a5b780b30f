//! The README's rule table says what `schemas/rules.toml` says.

use customs_gateway::schema::RULES;

use crate::util;

#[test]
fn readme_lists_every_rule_with_both_descriptions() {
    let readme = std::fs::read_to_string(util::root().join("README.md")).unwrap();
    for rule in RULES {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", rule.code)))
            .unwrap_or_else(|| panic!("README has no row for {}", rule.code));
        assert!(row.contains(rule.en), "{}: English text differs", rule.code);
        assert!(row.contains(rule.zh), "{}: Chinese text differs", rule.code);
    }
}

/// The error codes PROTOCOL.md's table lists are the ones the TCP source
/// sends, and the other way round.
#[test]
fn protocol_md_lists_every_error_code_the_gateway_sends() {
    let doc = std::fs::read_to_string(util::root().join("PROTOCOL.md")).unwrap();
    let source = std::fs::read_to_string(util::root().join("src/daemon/tcp.rs")).unwrap();
    // Rows of the ERROR table: "| `CODE` | when |".
    let section = doc
        .split("## 4. ERROR")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("PROTOCOL.md has a section 4. ERROR");
    let documented: std::collections::BTreeSet<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let mut sent = std::collections::BTreeSet::new();
    for part in source.split("Header::fatal(").skip(1) {
        let code = part.trim_start().trim_start_matches('"');
        if let Some(code) = code.split('"').next()
            && code.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            sent.insert(code);
        }
    }
    // VERSION is built without `Header::fatal` (it lists the versions).
    assert!(source.contains("code: \"VERSION\".to_owned()"));
    sent.insert("VERSION");
    assert_eq!(documented, sent);
}

/// Every key of the `[tcp]` and `[[platform]]` sections is in the README's
/// configuration table.
#[test]
fn readme_lists_every_tcp_and_platform_key() {
    let readme = std::fs::read_to_string(util::root().join("README.md")).unwrap();
    for key in [
        "tcp.listen",
        "tcp.tls_cert",
        "tcp.tls_key",
        "tcp.max_connections",
        "tcp.max_in_flight`",
        "tcp.max_in_flight_mb",
        "tcp.idle_timeout_secs",
        "tcp.frame_timeout_secs",
        "`[[platform]]` `id`, `token_file`, `codes`",
    ] {
        assert!(readme.contains(key), "README does not document {key}");
    }
}

#[test]
fn readme_lists_every_push_key_the_configuration_takes() {
    let readme = std::fs::read_to_string(util::root().join("README.md")).unwrap();
    // The keys each section takes, as the configuration's own refusal of an
    // unknown key lists them.
    let dir = tempfile::tempdir().unwrap();
    for (section, table, shown) in [
        ("push", "[push]", "push.{}"),
        ("smtp", "[smtp]\nhost = \"h\"\nfrom = \"a@b.c\"", "smtp.{}"),
        (
            "client",
            "[[client]]\nid = \"c\"\nenterprise = \"e\"",
            "`{}`",
        ),
        (
            "subscription",
            "[[subscription]]\nclient = \"c\"\ncontent = []\nvalid_until = \"\"\nby = \"\"",
            "`{}`",
        ),
    ] {
        let path = dir.path().join("g.toml");
        std::fs::write(&path, format!("{table}\nzz_unknown = 1\n")).unwrap();
        let err = customs_gateway::config::Config::load(&path)
            .unwrap_err()
            .to_string();
        let expected = err
            .split("expected ")
            .nth(1)
            .unwrap_or_else(|| panic!("{section}: {err}"));
        let keys: Vec<&str> = expected
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, k)| k)
            .collect();
        assert!(keys.len() >= 3, "{section}: {err}");
        for k in keys {
            let want = shown.replace("{}", k);
            assert!(
                readme.contains(&want),
                "README does not document {section} key {k} (as {want})"
            );
        }
    }
}
