//! XML signatures: canonicalisation equals `xmllint --c14n` (Canonical XML
//! 1.0 with comments) on every official and project sample.

use crate::util;

#[test]
fn canonicalisation_equals_xmllint_on_every_sample() {
    let mut files = util::xml_files(&util::root().join("samples"));
    files.extend(util::xml_files(&util::reference().join("samples")));
    let mut compared = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // GB2312/GBK samples: canonical XML is UTF-8 either way.
        let text = match String::from_utf8(bytes.clone()) {
            Ok(t) => t,
            Err(_) => continue,
        };
        let ours = customs_gateway::sig::canonicalize(&text, true);
        let xmllint = std::process::Command::new("xmllint")
            .arg("--c14n")
            .arg(file)
            .output()
            .expect("xmllint is installed by scripts/test.sh");
        match ours {
            Ok(out) if xmllint.status.success() && !xmllint.stdout.is_empty() => {
                assert!(
                    out == xmllint.stdout,
                    "{}: canonical forms differ\nours:    {}\nxmllint: {}",
                    file.display(),
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&xmllint.stdout)
                );
                compared += 1;
            }
            // Both refuse what is not well-formed (invalid/not-xml.xml).
            Err(_) => assert!(
                !xmllint.status.success() || xmllint.stdout.is_empty(),
                "{}: xmllint canonicalises what we refuse",
                file.display()
            ),
            // xmllint prints nothing for DxpRep.xml (a DTD-less quirk of its
            // own); nothing to compare with.
            Ok(_) => {}
        }
    }
    assert!(compared >= 60, "only {compared} samples compared");
}

#[test]
fn canonicalisation_drops_comments_when_asked() {
    let xml = "<a  b='1'><!-- note --><c/></a>";
    let with = customs_gateway::sig::canonicalize(xml, true).unwrap();
    let without = customs_gateway::sig::canonicalize(xml, false).unwrap();
    assert_eq!(
        String::from_utf8(with).unwrap(),
        "<a b=\"1\"><!-- note --><c></c></a>"
    );
    assert_eq!(
        String::from_utf8(without).unwrap(),
        "<a b=\"1\"><c></c></a>"
    );
    assert!(customs_gateway::sig::canonicalize("<a>", false).is_err());
}
