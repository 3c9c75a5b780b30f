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
