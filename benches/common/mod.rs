//! What the engine benches share: the sample set, its registry, numbered copies.

#![allow(dead_code)]

pub mod daemon;

use std::path::PathBuf;

use customs_gateway::codec;
use customs_gateway::engine::{Enterprise, Registry, Role};
use customs_gateway::model::{Document, Message};
use customs_gateway::schema::fields::{inventory_head, logistics_head, order_head, payment_head};
use customs_gateway::schema::{MSG_CEB311, MSG_CEB411, MSG_CEB511, MSG_CEB621, MessageSpec};

/// 2026-11-21 10:20:00 in Beijing.
pub const T0: u64 = 1_795_227_600_000;

/// The one document of a sample file of `samples/set-ok`.
pub fn document(name: &str) -> Document {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/set-ok")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut msg = codec::decode(&bytes).expect("sample decodes").message;
    msg.documents.remove(0)
}

/// The consistent sample set: order, payment, waybill, inventory.
pub fn set() -> Vec<(&'static MessageSpec, Document)> {
    vec![
        (&MSG_CEB311, document("CEB311-order.xml")),
        (&MSG_CEB411, document("CEB411-payment.xml")),
        (&MSG_CEB511, document("CEB511-waybill.xml")),
        (&MSG_CEB621, document("CEB621-inventory.xml")),
    ]
}

/// The sample set as order `n`: its own orderNo, waybill number and copNo.
pub fn numbered(
    set: &[(&'static MessageSpec, Document)],
    n: u64,
) -> Vec<(&'static MessageSpec, Document)> {
    let order_no = format!("GW{n:014}");
    let waybill = format!("YT{n:014}");
    set.iter()
        .map(|(spec, doc)| {
            let mut doc = doc.clone();
            let h = &mut doc.head;
            h.set(order_head::ORDER_NO, order_no.as_str());
            h.set(payment_head::ORDER_NO, order_no.as_str());
            h.set(logistics_head::ORDER_NO, order_no.as_str());
            h.set(logistics_head::LOGISTICS_NO, waybill.as_str());
            h.set(inventory_head::ORDER_NO, order_no.as_str());
            h.set(inventory_head::LOGISTICS_NO, waybill.as_str());
            h.set(inventory_head::COP_NO, format!("CP{n:014}"));
            (*spec, doc)
        })
        .collect()
}

/// The five enterprises of the sample set.
pub fn registry() -> Registry {
    let e = |code: &str, name: &str, role| Enterprise {
        code: code.to_owned(),
        name: name.to_owned(),
        roles: vec![role],
        certificates: Vec::new(),
    };
    Registry::new(vec![
        e("3301960A01", "杭州示例跨境平台有限公司", Role::Platform),
        e("3301960B02", "杭州示例电商有限公司", Role::Ecommerce),
        e("3301960C03", "示例支付有限公司", Role::Payment),
        e("3301980D04", "示例国际物流有限公司", Role::Logistics),
        e("3301980E05", "杭州示例报关服务有限公司", Role::Agent),
    ])
    .expect("registry")
}

// ---------------------------------------------------------------------------
// Order sets as files, the way `tests/it/gateway.rs` makes them (benches
// cannot import the tests): each set its own orderNo, payment transaction,
// waybill, copNo and buyer, each document in its own message file.

/// Which sender drops each kind (order, payment, waybill, inventory), as
/// the index of `[[sender]]` in a configuration with `ecom` first and
/// `partners` second: `ecom` declares orders and inventories, `partners`
/// payments and waybills.
pub const SET_SENDERS: [usize; 4] = [0, 1, 1, 0];

/// The message types of a set, in kind order.
pub const SET_TYPES: [&str; 4] = ["CEB311", "CEB411", "CEB511", "CEB621"];

/// The `[[sender]]` sections for [`SET_SENDERS`] (roots below `senders/`).
pub const SENDERS_TOML: &str = r#"[[sender]]
name = "ecom"
root = "senders/ecom"
codes = ["3301960A01", "3301960B02", "3301980E05"]
[[sender]]
name = "partners"
root = "senders/partners"
codes = ["3301960C03", "3301980D04"]
"#;

/// The sample messages of `samples/set-ok` in kind order, to wrap a
/// document in.
pub fn envelopes() -> Vec<Message> {
    [
        "CEB311-order.xml",
        "CEB411-payment.xml",
        "CEB511-waybill.xml",
        "CEB621-inventory.xml",
    ]
    .iter()
    .map(|name| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("samples/set-ok")
            .join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        codec::decode(&bytes).expect("sample decodes").message
    })
    .collect()
}

/// Order set `n` (below 336,000: the buyer's ID card number is unique up
/// to there): order, payment, waybill and inventory. A failing set's
/// payment disagrees with its order (SET_PAID_AMOUNT).
pub fn gateway_set(envelopes: &[Message], n: u32, pass: bool) -> Vec<Document> {
    let mut docs: Vec<Document> = envelopes
        .iter()
        .map(|m| m.documents.first().expect("one document").clone())
        .collect();
    let order_no = format!("GW2026112100{n:04}");
    let pay = format!("PAY20261121{n:011}");
    let logistics_no = format!("YT20261121{n:05}");
    let buyer = buyer_id(docs[0].head.str(order_head::BUYER_ID_NUMBER), n);
    {
        let h = &mut docs[0].head;
        h.set(order_head::ORDER_NO, order_no.as_str());
        h.set(order_head::PAY_TRANSACTION_ID, pay.as_str());
        h.set(order_head::BUYER_ID_NUMBER, buyer.as_str());
    }
    {
        let h = &mut docs[1].head;
        h.set(payment_head::ORDER_NO, order_no.as_str());
        h.set(payment_head::PAY_TRANSACTION_ID, pay.as_str());
        h.set(payment_head::PAYER_ID_NUMBER, buyer.as_str());
        if !pass {
            let paid = h.dec(payment_head::AMOUNT_PAID).expect("amountPaid");
            h.set_dec(
                payment_head::AMOUNT_PAID,
                paid + rust_decimal::Decimal::from(50),
            );
        }
    }
    {
        let h = &mut docs[2].head;
        h.set(logistics_head::ORDER_NO, order_no.as_str());
        h.set(logistics_head::LOGISTICS_NO, logistics_no.as_str());
    }
    {
        let h = &mut docs[3].head;
        h.set(inventory_head::ORDER_NO, order_no.as_str());
        h.set(inventory_head::LOGISTICS_NO, logistics_no.as_str());
        h.set(inventory_head::COP_NO, format!("GWCOP2026112{n:06}"));
        h.set(inventory_head::BUYER_ID_NUMBER, buyer.as_str());
    }
    docs
}

/// The files of set `n` (kinds `kinds`, e.g. `0..4` for all four): (kind,
/// file name, bytes in the official form).
pub fn set_files(
    envelopes: &[Message],
    n: u32,
    pass: bool,
    kinds: std::ops::Range<usize>,
) -> Vec<(usize, String, Vec<u8>)> {
    let docs = gateway_set(envelopes, n, pass);
    kinds
        .map(|k| {
            let mut m = envelopes[k].clone();
            m.documents = vec![docs[k].clone()];
            let bytes = codec::encode(&m, &codec::EncodeOptions::default()).expect("encodes");
            (k, format!("{}-{n:05}.xml", SET_TYPES[k]), bytes)
        })
        .collect()
}

/// A valid ID card number unique to `n` (below 336,000): the sample's
/// region, a birth date in 1990 and a sequence from `n`, the check digit
/// recomputed.
fn buyer_id(sample: &str, n: u32) -> String {
    let (seq, k) = (n % 1000, n / 1000);
    let (month, day) = (k % 12 + 1, (k / 12) % 28 + 1);
    let first = format!("{}1990{month:02}{day:02}{seq:03}", &sample[..6]);
    let check = customs_gateway::formats::id_card_check_char(&first).expect("17 digits") as char;
    format!("{first}{check}")
}

/// Reads every event of a document with quick-xml and builds nothing: the
/// floor any reader on quick-xml pays. The number of events.
pub fn quick_xml_events(text: &str) -> usize {
    let mut reader = quick_xml::reader::Reader::from_str(text);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) | Err(_) => return n,
            Ok(e) => {
                std::hint::black_box(&e);
                n += 1;
            }
        }
    }
}
