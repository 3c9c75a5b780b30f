//! Signatures through the real binary: `check --verify-signatures` and the
//! daemon under the three policies (global, and a sender's own), the
//! registry's certificate files, and the gateway's own signing of what it
//! forwards.

use std::path::Path;

use serde_json::Value;

use crate::gateway::{ECOM, Gateway, message_bytes, names, numbered_set, set_files, wait_for};
use crate::sig::{Identity, RSA_FORM, SM2_SPEC_FORM, compact, eport_sign, reindent};
use crate::util;
use customs_gateway::sig::{self, Outcome};

/// The shipped registry with certificate files: `certs/ecom.pem` for the
/// e-commerce enterprise 3301960B02, `certs/pay.der` for the payment company.
fn registry(dir: &Path, ecom: &Identity, pay: &Identity) {
    let text = std::fs::read_to_string(util::root().join("conf/registry.toml")).unwrap();
    let text = text
        .replacen(
            "roles = [\"ecommerce\"]",
            "roles = [\"ecommerce\"]\ncertificates = [\"certs/ecom.pem\"]",
            1,
        )
        .replacen(
            "roles = [\"payment\"]",
            "roles = [\"payment\"]\ncertificates = [\"certs/pay.der\"]",
            1,
        );
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::write(dir.join("certs/ecom.pem"), ecom.cert_pem()).unwrap();
    std::fs::write(dir.join("certs/pay.der"), &pay.cert_der).unwrap();
    std::fs::write(dir.join("registry.toml"), text).unwrap();
}

/// Order `n` of the numbered sets, as the platform writes it (unsigned).
fn order(n: u32) -> String {
    String::from_utf8(message_bytes(0, &numbered_set(n, true).order)).unwrap()
}

fn reason(gw: &Gateway, sender: &str, name: &str) -> String {
    std::fs::read_to_string(
        gw.sender(sender, "FailBox")
            .join(format!("{name}.reason.txt")),
    )
    .unwrap_or_default()
}

/// The findings stored with the message of the document of order `order_no`.
fn findings(gw: &Gateway, order_no: &str) -> Vec<(String, String)> {
    let list = crate::push::get(gw, "/messages?limit=100");
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"].as_str().unwrap().contains(order_no))
        .unwrap_or_else(|| panic!("no document of {order_no} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = crate::push::get(gw, &format!("/documents/{id}"));
    v["message"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_three_policies_in_the_daemon() {
    let ecom = Identity::sm2(
        &[0x03, 0, 0, 0, 0, 0x0c, 0xde, 0x6f],
        "2026-01-01",
        "2040-01-01",
    );
    let pay = Identity::rsa(2048, &[0x01, 0x69, 0x1f, 0xe9], "2026-01-01", "2040-01-01");
    let mut gw = Gateway::with_config(
        0,
        r#"
[signature]
mode = "require"
[[sender]]
name = "lax"
root = "senders/lax"
codes = ["3301960A01", "3301960B02"]
signature = "off"
[[sender]]
name = "warned"
root = "senders/warned"
codes = ["3301960A01", "3301960B02"]
signature = "warn"
"#,
    );
    registry(gw.dir.path(), &ecom, &pay);
    gw.start();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            ECOM,
            "signed.xml",
            eport_sign(&order(101), &ecom, SM2_SPEC_FORM),
        ),
        (ECOM, "unsigned.xml", order(102)),
        (
            ECOM,
            "tampered.xml",
            eport_sign(&order(103), &ecom, SM2_SPEC_FORM).replacen("GW2026", "GW2027", 1),
        ),
        // The payment company's certificate signing the e-commerce
        // enterprise's order.
        (ECOM, "foreign.xml", eport_sign(&order(104), &pay, RSA_FORM)),
        (
            ECOM,
            "pretty.xml",
            reindent(&eport_sign(&compact(&order(105)), &ecom, SM2_SPEC_FORM)),
        ),
        ("lax", "lax.xml", order(106)),
        ("warned", "warned.xml", order(107)),
    ];
    for (sender, name, text) in &cases {
        std::fs::create_dir_all(gw.sender(sender, "OutBox")).unwrap();
        gw.drop_file(sender, name, text.as_bytes());
    }
    wait_for(&gw, 30, "every file answered", || {
        cases.iter().all(|(sender, name, _)| {
            names(&gw.sender(sender, "SentBox")).contains(&name.to_string())
                || names(&gw.sender(sender, "FailBox")).contains(&name.to_string())
        })
    });
    let sent = names(&gw.sender(ECOM, "SentBox"));
    assert_eq!(sent, ["pretty.xml", "signed.xml"], "{}", gw.log());
    for (name, rule, said) in [
        (
            "unsigned.xml",
            "SIGNATURE_MISSING",
            "carries no ds:Signature",
        ),
        ("tampered.xml", "SIGNATURE_INVALID", "ds:DigestValue"),
        (
            "foreign.xml",
            "SIGNATURE_UNTRUSTED",
            "is not registered for ebpCode 3301960A01 or ebcCode 3301960B02",
        ),
    ] {
        let r = reason(&gw, ECOM, name);
        assert!(
            r.contains(&format!("[{rule}]")) && r.contains(said),
            "{name}: {r}"
        );
    }
    // A refusal like any other: the sender's receipt says returnStatus 100.
    wait_for(&gw, 20, "three receipts", || {
        names(&gw.sender(ECOM, "InBox")).len() == 3
    });
    let order_no = |text: &str| {
        let at = text.find("<ceb:orderNo>").unwrap() + 13;
        text[at..at + text[at..].find('<').unwrap()].to_owned()
    };
    assert_eq!(
        findings(&gw, &order_no(&cases[0].2)),
        [("SIGNATURE_VERIFIED".to_owned(), "info".to_owned())]
    );
    assert_eq!(
        findings(&gw, &order_no(&cases[4].2)),
        [("SIGNATURE_LENIENT".to_owned(), "warning".to_owned())]
    );
    assert_eq!(names(&gw.sender("lax", "SentBox")), ["lax.xml"]);
    assert!(findings(&gw, &order_no(&cases[5].2)).is_empty());
    assert_eq!(names(&gw.sender("warned", "SentBox")), ["warned.xml"]);
    assert_eq!(
        findings(&gw, &order_no(&cases[6].2)),
        [("SIGNATURE_MISSING".to_owned(), "warning".to_owned())]
    );
    // Counted by result.
    let metrics = crate::push::get_text(&gw, "/metrics");
    for (result, n) in [
        ("SIGNATURE_VERIFIED", 1),
        ("SIGNATURE_LENIENT", 1),
        ("SIGNATURE_INVALID", 1),
        ("SIGNATURE_UNTRUSTED", 1),
        ("SIGNATURE_MISSING", 2),
    ] {
        let line = format!("customs_gateway_signatures_total{{result=\"{result}\"}} {n}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
    // A removed certificate file is a changed configuration: the reload
    // refuses it and says which file; the running one stays.
    std::fs::remove_file(gw.dir.path().join("certs/pay.der")).unwrap();
    gw.signal(libc::SIGHUP);
    wait_for(&gw, 30, "the reload refused", || {
        crate::push::get(&gw, "/status")["config"]["failures"].as_u64() == Some(1)
    });
    let status = crate::push::get(&gw, "/status")["config"].clone();
    assert_eq!(status["generation"], 1);
    let message = status["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("pay.der") && message.contains("3301960C03"),
        "{message}"
    );
    // Mended, and the payment company's certificate registered for the
    // e-commerce enterprise too: after the reload its order is trusted.
    std::fs::write(gw.dir.path().join("certs/pay.der"), &pay.cert_der).unwrap();
    let text = std::fs::read_to_string(gw.dir.path().join("registry.toml")).unwrap();
    let text = text.replacen(
        "certificates = [\"certs/ecom.pem\"]",
        "certificates = [\"certs/ecom.pem\", \"certs/pay.der\"]",
        1,
    );
    std::fs::write(gw.dir.path().join("registry.toml"), text).unwrap();
    gw.signal(libc::SIGHUP);
    wait_for(&gw, 30, "the reload applied", || {
        crate::push::get(&gw, "/status")["config"]["generation"].as_u64() == Some(2)
    });
    gw.drop_file(
        ECOM,
        "rotated.xml",
        eport_sign(&order(108), &pay, RSA_FORM).as_bytes(),
    );
    wait_for(
        &gw,
        30,
        "the order signed with the added certificate taken",
        || names(&gw.sender(ECOM, "SentBox")).contains(&"rotated.xml".to_owned()),
    );
    assert_eq!(
        findings(&gw, &order_no(&order(108))),
        [("SIGNATURE_VERIFIED".to_owned(), "info".to_owned())]
    );
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn the_gateway_signs_what_it_forwards_unsigned_and_never_re_signs() {
    let gateway = Identity::rsa(2048, &[0x00, 0x9a, 0x01], "2026-01-01", "2040-01-01");
    let ecom = Identity::sm2(&[0x31], "2026-01-01", "2040-01-01");
    let pay = Identity::sm2(&[0x32], "2026-01-01", "2040-01-01");
    let mut gw = Gateway::with_config(
        0,
        r#"
[signature]
mode = "warn"
[signing]
key = "gateway.key"
certificate = "gateway.pem"
algorithm = "rsa-sha1"
"#,
    );
    registry(gw.dir.path(), &ecom, &pay);
    std::fs::write(gw.dir.path().join("gateway.key"), &gateway.key_pem).unwrap();
    std::fs::write(gw.dir.path().join("gateway.pem"), gateway.cert_pem()).unwrap();
    // `config check` says it signs, with which certificate.
    let out = util::gateway()
        .args(["config", "check", "--config"])
        .arg(&gw.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("signs what it writes with rsa-sha1 (certificate 009a01)"),
        "{text}"
    );
    assert!(text.contains("2 signing certificates"), "{text}");
    gw.start();
    // A set: the order signed by its enterprise, the payment and waybill
    // unsigned, the inventory with the sample's (invalid) signature.
    let mut files = set_files(8, true);
    let signed_order = eport_sign(
        std::str::from_utf8(&files[0].2).unwrap(),
        &ecom,
        SM2_SPEC_FORM,
    );
    files[0].2 = signed_order.clone().into_bytes();
    for (sender, name, bytes) in &files {
        gw.drop_file(sender, name, bytes);
    }
    wait_for(&gw, 30, "four files forwarded", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    let mut by_type = std::collections::BTreeMap::new();
    for name in names(&gw.customs("OutBox")) {
        let bytes = std::fs::read(gw.customs("OutBox").join(&name)).unwrap();
        let ty = customs_gateway::codec::decode(&bytes)
            .unwrap()
            .message
            .spec
            .name;
        by_type.insert(ty, bytes);
    }
    // Received signed: forwarded byte for byte, never re-signed.
    assert!(by_type["CEB311"] == signed_order.as_bytes());
    assert!(by_type["CEB621"] == files[3].2);
    // Unsigned: signed by the gateway, strictly verifiable, its certificate.
    for ty in ["CEB411", "CEB511"] {
        let text = String::from_utf8(by_type[ty].clone()).unwrap();
        let v = sig::verify(&text, &|_| None);
        assert_eq!(v.outcome, Outcome::Verified { lenient: vec![] }, "{ty}");
        assert_eq!(v.certificate.unwrap().der(), gateway.cert_der.as_slice());
        assert!(text.contains("<ds:KeyName>9a01</ds:KeyName>"), "{ty}");
        // Still the official form: the XSD accepts it.
        let xsd = util::xsd_for(
            customs_gateway::codec::decode(text.as_bytes())
                .unwrap()
                .message
                .spec,
        )
        .unwrap();
        util::xmllint(text.as_bytes(), &xsd).unwrap();
    }
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn check_verifies_signatures_under_each_policy() {
    let ecom = Identity::sm2(&[0x41], "2026-01-01", "2040-01-01");
    let pay = Identity::rsa(1024, &[0x42], "2026-01-01", "2040-01-01");
    let dir = tempfile::tempdir().unwrap();
    registry(dir.path(), &ecom, &pay);
    std::fs::write(
        dir.path().join("gateway.toml"),
        "registry = \"registry.toml\"\n[signature]\nmode = \"off\"\n",
    )
    .unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("signed.xml"),
        eport_sign(&order(201), &ecom, SM2_SPEC_FORM),
    )
    .unwrap();
    std::fs::write(files.join("unsigned.xml"), order(202)).unwrap();
    let config = dir.path().join("gateway.toml");
    let run = |args: &[&str]| {
        let out = util::gateway()
            .arg("check")
            .arg("--json")
            .arg("--config")
            .arg(&config)
            .args(args)
            .arg(&files)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let found: Vec<(String, String, String)> = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["rule"].as_str().unwrap().starts_with("SIGNATURE_"))
            .map(|d| {
                let file = d["file"].as_str().unwrap();
                (
                    Path::new(file)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                    d["rule"].as_str().unwrap().to_owned(),
                    d["severity"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (out.status.code(), found)
    };
    let s = |f: &str, r: &str, sev: &str| (f.to_owned(), r.to_owned(), sev.to_owned());
    // Without the flag, nothing is verified.
    assert_eq!(run(&[]), (Some(0), vec![]));
    // The configuration says off: the flag alone means warn.
    assert_eq!(
        run(&["--verify-signatures"]),
        (
            Some(0),
            vec![
                s("signed.xml", "SIGNATURE_VERIFIED", "info"),
                s("unsigned.xml", "SIGNATURE_MISSING", "warning")
            ]
        )
    );
    assert_eq!(
        run(&["--verify-signatures=require"]),
        (
            Some(1),
            vec![
                s("signed.xml", "SIGNATURE_VERIFIED", "info"),
                s("unsigned.xml", "SIGNATURE_MISSING", "error")
            ]
        )
    );
    assert_eq!(run(&["--verify-signatures=off"]), (Some(0), vec![]));
    // The official samples: their pasted signature block does not verify.
    let official = util::reference().join("samples/official-2022/CEB311Message.xml");
    let out = util::gateway()
        .args(["check", "--verify-signatures", "--config"])
        .arg(&config)
        .arg(&official)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SIGNATURE_INVALID"), "{text}");
    assert!(text.contains("ds:DigestValue"), "{text}");
    // A bad mode is a usage error.
    let out = util::gateway()
        .args(["check", "--verify-signatures=maybe"])
        .arg(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("off, warn or require"));
}

#[test]
fn keygen_makes_a_key_and_certificate_the_gateway_signs_with_and_openssl_reads() {
    let dir = tempfile::tempdir().unwrap();
    for (alg, serial, key_desc) in [
        ("sm2-sm3", "03000000000cde6f", "SM2"),
        ("rsa-sha1", "01691fe9", "RSA-2048"),
    ] {
        let key = dir.path().join(format!("{alg}.key"));
        let cert = dir.path().join(format!("{alg}.pem"));
        let out = util::gateway()
            .args([
                "signature",
                "keygen",
                "--algorithm",
                alg,
                "--serial",
                serial,
                "--days",
                "30",
                "--key",
            ])
            .arg(&key)
            .arg("--certificate")
            .arg(&cert)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(&format!("serial {serial}")) && text.contains(key_desc),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Never overwrites.
        let again = util::gateway()
            .args(["signature", "keygen", "--algorithm", alg, "--key"])
            .arg(&key)
            .arg("--certificate")
            .arg(dir.path().join("other.pem"))
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(1));
        assert!(!dir.path().join("other.pem").exists());
        // Nor a new key beside a certificate that exists (no orphan key).
        let orphan = dir.path().join(format!("{alg}-orphan.key"));
        let again = util::gateway()
            .args(["signature", "keygen", "--algorithm", alg, "--key"])
            .arg(&orphan)
            .arg("--certificate")
            .arg(&cert)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(1));
        assert!(!orphan.exists());
        // OpenSSL reads the certificate and checks its self-signature.
        let verify = std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&cert)
            .arg(&cert)
            .output()
            .expect("openssl is installed by scripts/test.sh");
        assert!(
            verify.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        // The gateway signs with them; the result verifies.
        let algorithm = if alg == "sm2-sm3" {
            sig::Algorithm::Sm2Sm3
        } else {
            sig::Algorithm::RsaSha1
        };
        let certificate = sig::Certificate::read_all(&std::fs::read(&cert).unwrap())
            .unwrap()
            .remove(0);
        let signer =
            sig::Signer::new(algorithm, &std::fs::read(&key).unwrap(), certificate).unwrap();
        let signed = signer.sign(&order(301)).unwrap();
        assert_eq!(
            sig::verify(&signed, &|_| None).outcome,
            Outcome::Verified { lenient: vec![] }
        );
        // `signature sign` signs a GBK file and keeps it GBK.
        let gbk_text = order(302).replacen("encoding=\"UTF-8\"", "encoding=\"GBK\"", 1);
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&gbk_text);
        assert!(!unmappable);
        let file = dir.path().join(format!("{alg}-gbk.xml"));
        std::fs::write(&file, &gbk).unwrap();
        let sign = |file: &Path| {
            util::gateway()
                .args(["signature", "sign", "--algorithm", alg, "--key"])
                .arg(&key)
                .arg("--certificate")
                .arg(&cert)
                .arg(file)
                .output()
                .unwrap()
        };
        let out = sign(&file);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::str::from_utf8(&out.stdout).is_err(), "still GBK");
        let (text, charset) = customs_gateway::codec::text_in(&out.stdout).unwrap();
        assert_eq!(charset.label(), "GBK");
        assert!(text.contains("杭州示例跨境平台有限公司"));
        assert_eq!(
            sig::verify(&text, &|_| None).outcome,
            Outcome::Verified { lenient: vec![] }
        );
        // Signed once only.
        std::fs::write(&file, &out.stdout).unwrap();
        let again = sign(&file);
        assert_eq!(again.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&again.stderr).contains("signed already"));
    }
    // A [signing] certificate that is not valid today: `config check` says so.
    let out = util::gateway()
        .args([
            "signature",
            "keygen",
            "--algorithm",
            "sm2-sm3",
            "--valid-from",
            "2020-01-01",
            "--days",
            "30",
            "--key",
        ])
        .arg(dir.path().join("old.key"))
        .arg("--certificate")
        .arg(dir.path().join("old.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(
        dir.path().join("gateway.toml"),
        "[signing]\nkey = \"old.key\"\ncertificate = \"old.pem\"\nalgorithm = \"sm2-sm3\"\n",
    )
    .unwrap();
    let out = util::gateway()
        .args(["config", "check", "--config"])
        .arg(dir.path().join("gateway.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("is valid from 2020-01-01 to 2020-01-31, not today"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = util::gateway()
        .args([
            "signature",
            "keygen",
            "--algorithm",
            "dsa",
            "--key",
            "k",
            "--certificate",
            "c",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
