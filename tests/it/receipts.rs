//! Receipts are customs' words: a field customs left out of a receipt is a
//! warning when reading it, never an error; writing one stays strict.

use customs_gateway::codec;
use customs_gateway::model::Message;
use customs_gateway::schema::{MESSAGES, RecordSpec};
use customs_gateway::validate::{self, Mode, validate};

use crate::util;
use crate::values::find_element;

/// (message type, sample: `samples/…` in the project, else `../shared/reference/samples/…`)
const RECEIPTS: &[(&str, &str)] = &[
    ("CEB312", "samples/receipts/CEB312-order-receipt.xml"),
    ("CEB412", "samples/receipts/CEB412-payment-receipt.xml"),
    ("CEB512", "samples/receipts/CEB512-waybill-receipt.xml"),
    ("CEB514", "official-2022/CEB514Message.xml"),
    ("CEB622", "samples/receipts/CEB622-inventory-released.xml"),
    ("CEB624", "official-2022/CEB624Message.xml"),
    ("CEB816", "samples/receipts/CEB816-tax-bill.xml"),
    ("MailNotice", "samples/mail/MailNotice-arrived.xml"),
    (
        "MailDeclarationResult",
        "samples/mail/MailDeclarationResult-tax-pending.xml",
    ),
    ("TaxCertificate", "samples/mail/TaxCertificate.xml"),
    ("AgreementResult", "samples/mail/AgreementResult-signed.xml"),
    ("PaymentResult", "samples/mail/PaymentResult-failed.xml"),
    ("CEB818", "samples/receipts/CEB818-tax-summarised.xml"),
    ("CEB900", "samples/receipts/CEB900-format-error.xml"),
    ("DEC_RESULT", "samples/declaration/DEC_RESULT-L.xml"),
    ("DEC_DATA", "samples/declaration/DEC_DATA-legacy-gb2312.xml"),
    (
        "DecImportResponse",
        "samples/declaration/Successed_I_GW0000000000000001_t-1_20261121101500.xml",
    ),
    (
        "CommonResponeMessage",
        "enterprise/Successed_INV101_E_fef3da4f-86c8-4bf2-bb60-a5f03bdcbd30.xml",
    ),
    ("DxpRep", "dxp/DxpRep.xml"),
];

/// The sample as UTF-8 text (GB2312 samples transcoded, declaration rewritten).
fn sample_text(path: &str) -> String {
    let full = if path.starts_with("samples/") {
        util::root().join(path)
    } else {
        util::reference().join("samples").join(path)
    };
    let bytes = std::fs::read(&full).unwrap();
    match String::from_utf8(bytes.clone()) {
        Ok(t) => t,
        Err(_) => {
            let (t, _, bad) = encoding_rs::GBK.decode(&bytes);
            assert!(!bad, "{path}");
            t.replacen("encoding=\"GB2312\"", "encoding=\"UTF-8\"", 1)
        }
    }
}

fn read(text: &str) -> (Message, Vec<customs_gateway::diag::Diagnostic>) {
    let decoded = codec::decode(text.as_bytes()).unwrap();
    let mut diags = decoded.diagnostics;
    diags.extend(validate(&decoded.message, Mode::Read));
    (decoded.message, diags)
}

/// The required fields of a message's records, with the element that holds them.
fn required_fields(msg: &Message) -> Vec<(&'static str, &'static str)> {
    let spec = msg.spec;
    let mut records: Vec<(&'static str, &'static RecordSpec)> =
        vec![(spec.head.element, spec.head)];
    if let Some(line) = &spec.line {
        records.push((line.record.element, line.record));
    }
    if let Some(root) = spec.root_fields {
        records.push((spec.root, root));
    }
    let mut out = Vec::new();
    for (element, record) in records {
        for f in record.fields.iter().filter(|f| f.required) {
            out.push((element, f.name));
        }
    }
    out
}

/// `text` with the first `<field>` inside the first `<record>` removed or emptied.
fn leave_out(text: &str, record: &str, field: &str, remove: bool) -> Option<String> {
    let r = find_element(text, 0, text.len(), record)?;
    let (from, to) = r.content?;
    let f = find_element(text, from, to, field)?;
    Some(if remove {
        format!("{}{}", &text[..f.start], &text[f.end..])
    } else {
        let p = &f.prefix;
        format!("{}<{p}{field}/>{}", &text[..f.start], &text[f.end..])
    })
}

#[test]
fn the_table_covers_every_message_customs_writes() {
    let mut from_customs: Vec<&str> = MESSAGES
        .iter()
        .filter(|m| validate::written_by_customs(m))
        .map(|m| m.name)
        .collect();
    let mut table: Vec<&str> = RECEIPTS.iter().map(|(t, _)| *t).collect();
    from_customs.sort_unstable();
    table.sort_unstable();
    assert_eq!(table, from_customs);
}

#[test]
fn a_field_customs_left_out_is_a_warning_when_reading_and_an_error_when_writing() {
    let mut cases = 0;
    for &(ty, path) in RECEIPTS {
        let text = sample_text(path);
        let (msg, diags) = read(&text);
        assert_eq!(msg.business().spec.name, ty, "{path}");
        assert!(!diags.iter().any(|d| d.is_error()), "{path}: {diags:#?}");
        let fields = required_fields(&msg);
        assert!(!fields.is_empty(), "{ty} has no required field");
        for (record, field) in fields {
            for remove in [true, false] {
                let Some(edited) = leave_out(&text, record, field, remove) else {
                    continue;
                };
                let (msg, diags) = read(&edited);
                let what = if remove { "removed" } else { "emptied" };
                let errors: Vec<String> = diags
                    .iter()
                    .filter(|d| d.is_error())
                    .map(ToString::to_string)
                    .collect();
                assert!(errors.is_empty(), "{ty} {field} {what}: {errors:?}");
                assert!(
                    diags.iter().any(|d| d.rule.code == "REQUIRED"
                        && !d.is_error()
                        && d.path.ends_with(&format!("/{field}"))),
                    "{ty} {field} {what}: no REQUIRED warning in {diags:#?}"
                );
                let strict = validate(&msg, Mode::Write);
                assert!(
                    strict.iter().any(|d| d.rule.code == "REQUIRED"
                        && d.is_error()
                        && d.path.ends_with(&format!("/{field}"))),
                    "{ty} {field} {what}: writing does not refuse it: {strict:#?}"
                );
                cases += 1;
            }
        }
    }
    assert!(cases >= 60, "only {cases} cases");
}

#[test]
fn a_field_missing_from_a_request_is_still_an_error_when_reading() {
    let text =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let edited = leave_out(&text, "OrderHead", "orderNo", false).unwrap();
    let (_, diags) = read(&edited);
    assert!(
        diags
            .iter()
            .any(|d| d.rule.code == "REQUIRED" && d.is_error() && d.path.ends_with("/orderNo")),
        "{diags:#?}"
    );
}

#[test]
fn the_check_command_accepts_a_waybill_receipt_with_an_empty_return_time() {
    let text = sample_text("samples/receipts/CEB512-waybill-receipt.xml");
    let edited = leave_out(&text, "LogisticsReturn", "returnTime", false).unwrap();
    assert!(edited.contains("<returnTime/>"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("CEB512.xml");
    std::fs::write(&file, edited).unwrap();
    let out = util::gateway()
        .arg("check")
        .arg("--json")
        .arg(&file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["documents"][0]["status"], "warning", "{report}");
    let d = &report["diagnostics"][0];
    assert_eq!(d["rule"], "REQUIRED");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["field"], "LogisticsReturn/returnTime");
}
