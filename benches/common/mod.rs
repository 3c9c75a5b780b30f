//! What the engine benches share: the sample set, its registry, numbered copies.

#![allow(dead_code)]

use std::path::PathBuf;

use customs_gateway::codec;
use customs_gateway::engine::{Enterprise, Registry, Role};
use customs_gateway::model::Document;
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
