//! The cross-document check (三单对碰, `src/engine`): the consistent set in
//! `samples/set-ok/`, decoded and then mutated rule by rule.

use std::sync::OnceLock;

use customs_gateway::codec::{self, Charset};
use customs_gateway::engine::{
    DocKind, Engine, EngineConfig, EngineError, InboundId, Outcome, ReceiptError, Registry, SetKey,
    SetReport, Status, WaybillLink, describe, return_info, time17,
};
use customs_gateway::formats::id_card_check_char;
use customs_gateway::model::{Document, Message, Record};
use customs_gateway::schema::fields::{
    inventory_head as ih, inventory_list as il, logistics_head as lh, order_head as oh,
    order_list as ol, order_return, payment_head as ph,
};
use customs_gateway::schema::{
    Dec, Field, MSG_CEB311, MSG_CEB312, MSG_CEB411, MSG_CEB511, MSG_CEB621, MessageSpec, Text,
};
use customs_gateway::validate::{Mode, validate};
use proptest::prelude::*;
use rust_decimal::Decimal;

thread_local! {
    static SOURCES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The inbound id of a named source (the same name, the same id).
pub(crate) fn src(name: &str) -> InboundId {
    SOURCES.with(|s| {
        let mut s = s.borrow_mut();
        let n = s.iter().position(|x| x == name).unwrap_or_else(|| {
            s.push(name.to_owned());
            s.len() - 1
        });
        InboundId::new(n as u64, 0)
    })
}

/// The name of a source made by [`src`].
pub(crate) fn name_of(id: InboundId) -> String {
    SOURCES.with(|s| {
        s.borrow()
            .get(id.message as usize)
            .cloned()
            .unwrap_or_default()
    })
}

/// Every report, described.
pub(crate) fn describe_all(reports: &[SetReport]) -> String {
    reports.iter().map(|r| describe(r, &name_of)).collect()
}

/// 2026-11-21 10:20:00 in Beijing, as ms since the epoch.
pub(crate) const T0: u64 = 1_795_227_600_000;

const FILES: [&str; 4] = [
    "CEB311-order.xml",
    "CEB411-payment.xml",
    "CEB511-waybill.xml",
    "CEB621-inventory.xml",
];

fn sample_bytes(name: &str) -> Vec<u8> {
    let path = crate::util::root().join("samples/set-ok").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(bytes: &[u8]) -> Message {
    codec::decode(bytes).expect("sample decodes").message
}

pub(crate) fn d(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// The four documents of one order.
#[derive(Debug, Clone)]
pub(crate) struct Set {
    pub(crate) order: Document,
    pub(crate) payment: Document,
    pub(crate) waybill: Document,
    pub(crate) inventory: Document,
}

impl Set {
    pub(crate) fn sample() -> Set {
        static SAMPLE: OnceLock<Set> = OnceLock::new();
        SAMPLE
            .get_or_init(|| {
                let mut docs = FILES.iter().map(|f| {
                    let mut m = decode(&sample_bytes(f));
                    m.documents.remove(0)
                });
                Set {
                    order: docs.next().unwrap(),
                    payment: docs.next().unwrap(),
                    waybill: docs.next().unwrap(),
                    inventory: docs.next().unwrap(),
                }
            })
            .clone()
    }

    pub(crate) fn key(&self) -> SetKey {
        SetKey::new(
            self.order.head.str(oh::ORDER_NO),
            self.order.head.str(oh::EBP_CODE),
        )
    }

    pub(crate) fn members(&self) -> [(&'static MessageSpec, &Document, &'static str); 4] {
        [
            (&MSG_CEB311, &self.order, FILES[0]),
            (&MSG_CEB411, &self.payment, FILES[1]),
            (&MSG_CEB511, &self.waybill, FILES[2]),
            (&MSG_CEB621, &self.inventory, FILES[3]),
        ]
    }

    /// Submits all four in set order; the report of the set afterwards.
    pub(crate) fn submit(&self, engine: &mut Engine) -> SetReport {
        for (spec, doc, source) in self.members() {
            engine.submit(spec, doc, src(source), T0).expect("submit");
        }
        engine.report(&self.key()).expect("the set exists")
    }

    /// The order's acturalPaid (= the payment's amountPaid) set to `paid`,
    /// with taxTotal absorbing the difference so every sum still holds.
    pub(crate) fn with_paid(mut self, paid: Decimal) -> Set {
        let h = &self.order.head;
        let tax = paid - h.dec(oh::GOODS_VALUE).unwrap() - h.dec(oh::FREIGHT).unwrap()
            + h.dec(oh::DISCOUNT).unwrap();
        self.order.head.set_dec(oh::TAX_TOTAL, tax);
        self.order.head.set_dec(oh::ACTURAL_PAID, paid);
        self.payment.head.set_dec(ph::AMOUNT_PAID, paid);
        self
    }

    /// The same purchase as another order: new orderNo, payment transaction,
    /// waybill number and copNo.
    pub(crate) fn numbered(mut self, n: u32) -> Set {
        let order_no = format!("GW2026112100{n:04}");
        self.order.head.set(oh::ORDER_NO, order_no.as_str());
        self.payment.head.set(ph::ORDER_NO, order_no.as_str());
        self.waybill.head.set(lh::ORDER_NO, order_no.as_str());
        self.inventory.head.set(ih::ORDER_NO, order_no.as_str());
        let pay = format!("PAY20261121{n:011}");
        self.order.head.set(oh::PAY_TRANSACTION_ID, pay.as_str());
        self.payment.head.set(ph::PAY_TRANSACTION_ID, pay.as_str());
        let logistics_no = format!("YT20261121{n:05}");
        self.waybill
            .head
            .set(lh::LOGISTICS_NO, logistics_no.as_str());
        self.inventory
            .head
            .set(ih::LOGISTICS_NO, logistics_no.as_str());
        self.inventory
            .head
            .set(ih::COP_NO, format!("GWCOP2026112{n:06}"));
        self
    }
}

fn bump(r: &mut Record, f: Field<Dec>, delta: &str) {
    let v = r.dec(f).expect("decimal present");
    r.set_dec(f, v + d(delta));
}

fn append(r: &mut Record, f: Field<Text>, suffix: &str) {
    let v = format!("{}{suffix}", r.str(f));
    r.set(f, v);
}

/// Another valid ID card number (serial digit changed, check digit recomputed).
fn other_id(id: &str) -> String {
    let mut first: Vec<u8> = id.as_bytes()[..17].to_vec();
    first[16] = if first[16] == b'9' {
        b'0'
    } else {
        first[16] + 1
    };
    let first = String::from_utf8(first).unwrap();
    let check = id_card_check_char(&first).unwrap() as char;
    format!("{first}{check}")
}

/// The same number with a wrong check digit.
fn bad_check_digit(id: &str) -> String {
    let right = id_card_check_char(&id[..17]).unwrap();
    let wrong = if right == b'0' { '1' } else { '0' };
    format!("{}{wrong}", &id[..17])
}

const REGISTRY: &str = r#"
[[enterprise]]
code = "3301960A01"
name = "杭州示例跨境平台有限公司"
roles = ["platform"]

[[enterprise]]
code = "3301960B02"
name = "杭州示例电商有限公司"
roles = ["ecommerce"]

[[enterprise]]
code = "3301960C03"
name = "示例支付有限公司"
roles = ["payment"]

[[enterprise]]
code = "3301980D04"
name = "示例国际物流有限公司"
roles = ["logistics"]

[[enterprise]]
code = "3301980E05"
name = "杭州示例报关服务有限公司"
roles = ["agent"]
"#;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Reg {
    Full,
    None,
    WithoutAgent,
    PaymentAsLogistics,
}

pub(crate) fn registry(which: Reg) -> Option<Registry> {
    let text = match which {
        Reg::None => return None,
        Reg::Full => REGISTRY.to_owned(),
        Reg::WithoutAgent => REGISTRY
            .split("[[enterprise]]")
            .filter(|e| !e.contains("3301980E05"))
            .collect::<Vec<_>>()
            .join("[[enterprise]]"),
        Reg::PaymentAsLogistics => REGISTRY.replace(
            "name = \"示例支付有限公司\"\nroles = [\"payment\"]",
            "name = \"示例支付有限公司\"\nroles = [\"logistics\"]",
        ),
    };
    Some(Registry::from_toml(&text).expect("registry parses"))
}

pub(crate) fn engine(which: Reg) -> Engine {
    Engine::new(EngineConfig::default(), registry(which)).expect("engine")
}

fn codes(report: &SetReport) -> Vec<&'static str> {
    let mut c = report.failed_codes();
    c.sort_unstable();
    c
}

struct Case {
    name: &'static str,
    registry: Reg,
    mutate: fn(&mut Set),
    /// The rule codes that must fail (exactly these); empty: the set passes.
    fails: &'static [&'static str],
    /// An element path the violations must name.
    path: &'static str,
}

fn cases() -> Vec<Case> {
    fn c(
        name: &'static str,
        mutate: fn(&mut Set),
        fails: &'static [&'static str],
        path: &'static str,
    ) -> Case {
        Case {
            name,
            registry: Reg::Full,
            mutate,
            fails,
            path,
        }
    }
    vec![
        c("the sample set", |_| {}, &[], ""),
        // 1. goodsValue = Σ totalPrice (tolerance 1, inclusive)
        c(
            "goodsValue +0.99",
            |s| {
                bump(&mut s.order.head, oh::GOODS_VALUE, "0.99");
                bump(&mut s.order.head, oh::TAX_TOTAL, "-0.99");
            },
            &[],
            "",
        ),
        c(
            "goodsValue +1.00",
            |s| {
                bump(&mut s.order.head, oh::GOODS_VALUE, "1.00");
                bump(&mut s.order.head, oh::TAX_TOTAL, "-1.00");
            },
            &[],
            "",
        ),
        c(
            "goodsValue +1.01",
            |s| {
                bump(&mut s.order.head, oh::GOODS_VALUE, "1.01");
                bump(&mut s.order.head, oh::TAX_TOTAL, "-1.01");
            },
            &["SET_GOODS_VALUE"],
            "OrderHead/goodsValue",
        ),
        c(
            "goodsValue -1.01",
            |s| {
                bump(&mut s.order.head, oh::GOODS_VALUE, "-1.01");
                bump(&mut s.order.head, oh::TAX_TOTAL, "1.01");
            },
            &["SET_GOODS_VALUE"],
            "OrderList/totalPrice",
        ),
        // 2. acturalPaid = goodsValue + freight + taxTotal - discount
        c(
            "acturalPaid +0.99",
            |s| {
                bump(&mut s.order.head, oh::ACTURAL_PAID, "0.99");
                bump(&mut s.payment.head, ph::AMOUNT_PAID, "0.99");
            },
            &[],
            "",
        ),
        c(
            "acturalPaid +1.01",
            |s| {
                bump(&mut s.order.head, oh::ACTURAL_PAID, "1.01");
                bump(&mut s.payment.head, ph::AMOUNT_PAID, "1.01");
            },
            &["SET_ACTURAL_PAID"],
            "OrderHead/taxTotal",
        ),
        // 3. buyer = payer
        c(
            "payerName differs",
            |s| s.payment.head.set(ph::PAYER_NAME, "林晓"),
            &["SET_BUYER_PAYER"],
            "PaymentHead/payerName",
        ),
        c(
            "payerIdNumber differs",
            |s| {
                let id = other_id(s.payment.head.str(ph::PAYER_ID_NUMBER));
                s.payment.head.set(ph::PAYER_ID_NUMBER, id);
            },
            &["SET_BUYER_PAYER"],
            "PaymentHead/payerIdNumber",
        ),
        c(
            "payerIdType differs",
            |s| s.payment.head.set(ph::PAYER_ID_TYPE, "2"),
            &["SET_BUYER_PAYER"],
            "OrderHead/buyerIdType",
        ),
        // 4. acturalPaid = amountPaid
        c(
            "amountPaid +0.99",
            |s| bump(&mut s.payment.head, ph::AMOUNT_PAID, "0.99"),
            &[],
            "",
        ),
        c(
            "amountPaid -0.99",
            |s| bump(&mut s.payment.head, ph::AMOUNT_PAID, "-0.99"),
            &[],
            "",
        ),
        c(
            "amountPaid +1.01",
            |s| bump(&mut s.payment.head, ph::AMOUNT_PAID, "1.01"),
            &["SET_PAID_AMOUNT"],
            "PaymentHead/amountPaid",
        ),
        c(
            "amountPaid -1.01",
            |s| bump(&mut s.payment.head, ph::AMOUNT_PAID, "-1.01"),
            &["SET_PAID_AMOUNT"],
            "OrderHead/acturalPaid",
        ),
        // 5. platform, e-commerce enterprise, payment enterprise, logistics
        c(
            "payment ebpName differs",
            |s| append(&mut s.payment.head, ph::EBP_NAME, "分公司"),
            &["SET_PLATFORM", "SET_REGISTRY"],
            "PaymentHead/ebpName",
        ),
        c(
            "inventory ebpName differs",
            |s| append(&mut s.inventory.head, ih::EBP_NAME, "分公司"),
            &["SET_PLATFORM", "SET_REGISTRY"],
            "InventoryHead/ebpName",
        ),
        c(
            "inventory ebcCode differs (and is unregistered)",
            |s| s.inventory.head.set(ih::EBC_CODE, "3301960B99"),
            &["SET_ECOMMERCE", "SET_REGISTRY"],
            "InventoryHead/ebcCode",
        ),
        c(
            "inventory ebcName differs",
            |s| append(&mut s.inventory.head, ih::EBC_NAME, "X"),
            &["SET_ECOMMERCE", "SET_REGISTRY"],
            "InventoryHead/ebcName",
        ),
        c(
            "payTransactionId differs",
            |s| append(&mut s.payment.head, ph::PAY_TRANSACTION_ID, "9"),
            &["SET_PAY_ENTERPRISE"],
            "PaymentHead/payTransactionId",
        ),
        c(
            "order payName differs",
            |s| append(&mut s.order.head, oh::PAY_NAME, "X"),
            &["SET_PAY_ENTERPRISE", "SET_REGISTRY"],
            "OrderHead/payName",
        ),
        c(
            "order has no payCode",
            |s| s.order.head.set(oh::PAY_CODE, ""),
            &["SET_PAY_ENTERPRISE"],
            "OrderHead/payCode",
        ),
        c(
            "waybill logisticsName differs",
            |s| append(&mut s.waybill.head, lh::LOGISTICS_NAME, "X"),
            &["SET_LOGISTICS", "SET_REGISTRY"],
            "LogisticsHead/logisticsName",
        ),
        c(
            "inventory names another waybill",
            |s| append(&mut s.inventory.head, ih::LOGISTICS_NO, "9"),
            &["SET_LOGISTICS"],
            "InventoryHead/logisticsNo",
        ),
        // 6. consignee
        c(
            "waybill consigneeTelephone differs",
            |s| s.waybill.head.set(lh::CONSIGNEE_TELEPHONE, "13957180002"),
            &["SET_CONSIGNEE"],
            "LogisticsHead/consigneeTelephone",
        ),
        c(
            "waybill consigneeAddress differs",
            |s| append(&mut s.waybill.head, lh::CONSIGNEE_ADDRESS, "B座"),
            &["SET_CONSIGNEE"],
            "OrderHead/consigneeAddress",
        ),
        c(
            "waybill consignee differs",
            |s| s.waybill.head.set(lh::CONSIGNEE, "林晓"),
            &["SET_CONSIGNEE"],
            "LogisticsHead/consignee",
        ),
        // 7. buyer: order = inventory
        c(
            "inventory buyerName differs",
            |s| s.inventory.head.set(ih::BUYER_NAME, "林晓"),
            &["SET_BUYER"],
            "InventoryHead/buyerName",
        ),
        c(
            "inventory buyerIdNumber differs",
            |s| {
                let id = other_id(s.inventory.head.str(ih::BUYER_ID_NUMBER));
                s.inventory.head.set(ih::BUYER_ID_NUMBER, id);
            },
            &["SET_BUYER"],
            "InventoryHead/buyerIdNumber",
        ),
        c(
            "inventory buyerTelephone differs",
            |s| s.inventory.head.set(ih::BUYER_TELEPHONE, "13957180009"),
            &["SET_BUYER_PHONE"],
            "InventoryHead/buyerTelephone",
        ),
        // 8. order freight = inventory freight + insuredFee
        c(
            "order freight +0.99",
            |s| {
                bump(&mut s.order.head, oh::FREIGHT, "0.99");
                bump(&mut s.order.head, oh::DISCOUNT, "0.99");
            },
            &[],
            "",
        ),
        c(
            "order freight +1.01",
            |s| {
                bump(&mut s.order.head, oh::FREIGHT, "1.01");
                bump(&mut s.order.head, oh::DISCOUNT, "1.01");
            },
            &["SET_FREIGHT"],
            "OrderHead/freight",
        ),
        c(
            "inventory insuredFee +1.01",
            |s| bump(&mut s.inventory.head, ih::INSURED_FEE, "1.01"),
            &["SET_FREIGHT"],
            "InventoryHead/insuredFee",
        ),
        c(
            "inventory freight -0.99",
            |s| bump(&mut s.inventory.head, ih::FREIGHT, "-0.99"),
            &[],
            "",
        ),
        // 9. goods lines
        c(
            "inventory line 2 qty differs",
            |s| s.inventory.lines[1].set_dec(il::QTY, d("4")),
            &["SET_GOODS"],
            "InventoryList/qty",
        ),
        c(
            "inventory line 1 itemName differs",
            |s| append(&mut s.inventory.lines[0], il::ITEM_NAME, "X"),
            &["SET_GOODS"],
            "InventoryList/itemName",
        ),
        c(
            "inventory line 3 unit differs",
            |s| s.inventory.lines[2].set(il::UNIT, "140"),
            &["SET_GOODS"],
            "InventoryList/unit",
        ),
        c(
            "order line 3 itemNo differs",
            |s| append(&mut s.order.lines[2], ol::ITEM_NO, "X"),
            &["SET_GOODS"],
            "OrderList/itemNo",
        ),
        c(
            "inventory line 1 totalPrice differs by 0.01",
            |s| bump(&mut s.inventory.lines[0], il::TOTAL_PRICE, "0.01"),
            &["SET_GOODS"],
            "InventoryList/totalPrice",
        ),
        c(
            "inventory line 2 qty written 3.000",
            |s| s.inventory.lines[1].set_dec(il::QTY, d("3.000")),
            &[],
            "",
        ),
        c(
            "inventory line missing",
            |s| {
                s.inventory.lines.pop();
            },
            &["SET_GOODS"],
            "InventoryList/gnum",
        ),
        c(
            "inventory line extra",
            |s| {
                let mut extra = s.inventory.lines[2].clone();
                extra.set_int(il::GNUM, 4);
                extra.set(il::ITEM_NO, "GW-SKU-100404");
                s.inventory.lines.push(extra);
            },
            &["SET_GOODS"],
            "OrderList/gnum",
        ),
        c(
            "inventory line renumbered: matched by itemNo",
            |s| s.inventory.lines[2].set_int(il::GNUM, 7),
            &[],
            "",
        ),
        // 10. packNo
        c(
            "waybill packNo differs",
            |s| s.waybill.head.set_int(lh::PACK_NO, 2),
            &["SET_PACK_NO"],
            "LogisticsHead/packNo",
        ),
        // 11. weights
        c(
            "netWeight = grossWeight",
            |s| s.inventory.head.set_dec(ih::NET_WEIGHT, d("1.35")),
            &[],
            "",
        ),
        c(
            "netWeight > grossWeight",
            |s| s.inventory.head.set_dec(ih::NET_WEIGHT, d("1.36")),
            &["SET_WEIGHT"],
            "InventoryHead/netWeight",
        ),
        c(
            "kilograms = grossWeight",
            |s| {
                s.inventory.head.set_dec(ih::GROSS_WEIGHT, d("0.76"));
                s.inventory.head.set_dec(ih::NET_WEIGHT, d("0.76"));
            },
            &[],
            "",
        ),
        c(
            "kilograms > grossWeight",
            |s| {
                s.inventory.head.set_dec(ih::GROSS_WEIGHT, d("0.75"));
                s.inventory.head.set_dec(ih::NET_WEIGHT, d("0.75"));
            },
            &["SET_WEIGHT"],
            "InventoryList/qty1",
        ),
        c(
            "qty2 in kilograms counts",
            |s| {
                s.inventory.lines[2].set_dec(il::QTY2, d("0.60"));
                s.inventory.lines[2].set(il::UNIT2, "035");
            },
            &["SET_WEIGHT"],
            "InventoryList/qty2",
        ),
        // 12. registry
        Case {
            name: "no registry: skipped, not failed",
            registry: Reg::None,
            mutate: |_| {},
            fails: &[],
            path: "",
        },
        Case {
            name: "agent not registered",
            registry: Reg::WithoutAgent,
            mutate: |_| {},
            fails: &["SET_REGISTRY"],
            path: "InventoryHead/agentCode",
        },
        Case {
            name: "payment enterprise registered for another role",
            registry: Reg::PaymentAsLogistics,
            mutate: |_| {},
            fails: &["SET_REGISTRY"],
            path: "PaymentHead/payCode",
        },
        // 13. single-transaction limit
        c(
            "acturalPaid 5000.00",
            |s| *s = s.clone().with_paid(d("5000.00")),
            &[],
            "",
        ),
        c(
            "acturalPaid 5000.01",
            |s| *s = s.clone().with_paid(d("5000.01")),
            &["SET_SINGLE_LIMIT"],
            "OrderHead/acturalPaid",
        ),
        c(
            "inventory total 5000.00",
            |s| inventory_total(s, "4453.30"),
            &[],
            "",
        ),
        c(
            "inventory total 5000.01",
            |s| inventory_total(s, "4453.31"),
            &["SET_SINGLE_LIMIT"],
            "InventoryList/totalPrice",
        ),
        // 14. ID card check digits
        c(
            "one wrong check digit everywhere",
            |s| {
                let id = bad_check_digit(s.order.head.str(oh::BUYER_ID_NUMBER));
                s.order.head.set(oh::BUYER_ID_NUMBER, id.as_str());
                s.payment.head.set(ph::PAYER_ID_NUMBER, id.as_str());
                s.inventory.head.set(ih::BUYER_ID_NUMBER, id.as_str());
            },
            &["SET_REAL_NAME"],
            "PaymentHead/payerIdNumber",
        ),
        c(
            "no check digit for ID type 2",
            |s| {
                let id = bad_check_digit(s.order.head.str(oh::BUYER_ID_NUMBER));
                s.order.head.set(oh::BUYER_ID_NUMBER, id.as_str());
                s.payment.head.set(ph::PAYER_ID_NUMBER, id.as_str());
                s.inventory.head.set(ih::BUYER_ID_NUMBER, id.as_str());
                s.order.head.set(oh::BUYER_ID_TYPE, "2");
                s.payment.head.set(ph::PAYER_ID_TYPE, "2");
                s.inventory.head.set(ih::BUYER_ID_TYPE, "2");
            },
            &[],
            "",
        ),
    ]
}

/// Line 3 priced at `line3` in order and inventory, so the inventory total
/// is 526.70 + `line3` + freight 18.00 + insuredFee 2.00; the order's sums
/// still hold (taxTotal 0, discount 0.02: acturalPaid stays 0.02 lower).
fn inventory_total(s: &mut Set, line3: &str) {
    let v = d(line3);
    s.order.lines[2].set_dec(ol::PRICE, v);
    s.order.lines[2].set_dec(ol::TOTAL_PRICE, v);
    s.inventory.lines[2].set_dec(il::PRICE, v);
    s.inventory.lines[2].set_dec(il::TOTAL_PRICE, v);
    let goods = d("526.70") + v;
    let h = &mut s.order.head;
    h.set_dec(oh::GOODS_VALUE, goods);
    h.set_dec(oh::TAX_TOTAL, d("0"));
    h.set_dec(oh::DISCOUNT, d("0.02"));
    let paid = goods + d("20.00") - d("0.02");
    h.set_dec(oh::ACTURAL_PAID, paid);
    s.payment.head.set_dec(ph::AMOUNT_PAID, paid);
}

#[test]
fn every_rule_table_driven() {
    let mut failures = Vec::new();
    for case in cases() {
        let mut set = Set::sample();
        (case.mutate)(&mut set);
        let mut engine = engine(case.registry);
        let report = set.submit(&mut engine);
        let got = codes(&report);
        let mut want: Vec<&str> = case.fails.to_vec();
        want.sort_unstable();
        if got != want {
            failures.push(format!(
                "{}: expected {want:?}, got {got:?}\n{}",
                case.name,
                describe(&report, &name_of)
            ));
            continue;
        }
        if want.is_empty() {
            if report.status() != Status::Pass {
                failures.push(format!(
                    "{}: not a pass\n{}",
                    case.name,
                    describe(&report, &name_of)
                ));
            }
            continue;
        }
        let named = report
            .violations()
            .iter()
            .any(|v| v.paths.iter().any(|p| p == case.path));
        if !named {
            failures.push(format!(
                "{}: no violation names {}\n{}",
                case.name,
                case.path,
                describe(&report, &name_of)
            ));
        }
        // Every violation names the elements compared, with their values.
        for v in report.violations() {
            assert!(!v.paths.is_empty(), "{}: {v}", case.name);
            assert!(
                v.paths.iter().any(|p| v.message.contains(p.as_str())),
                "{}: message names no compared element: {v}",
                case.name
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn messages_carry_both_values_and_the_tolerance() {
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "-2.00");
    let mut engine = engine(Reg::Full);
    let report = set.submit(&mut engine);
    let v = &report.violations()[0];
    assert_eq!(v.code(), "SET_PAID_AMOUNT");
    assert_eq!(v.national(), Some("1332"));
    assert_eq!(v.paths, ["OrderHead/acturalPaid", "PaymentHead/amountPaid"]);
    assert_eq!(
        v.message,
        "OrderHead/acturalPaid=1020.85 but PaymentHead/amountPaid=1018.85 (difference 2.00 > tolerance 1)"
    );
    assert_eq!(v.documents, [DocKind::Order, DocKind::Payment]);
}

#[test]
fn no_registry_is_reported_as_skipped() {
    let report = Set::sample().submit(&mut engine(Reg::None));
    assert_eq!(report.status(), Status::Pass);
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.rule.code).collect();
    assert_eq!(skipped, ["SET_REGISTRY"]);
    let full = Set::sample().submit(&mut engine(Reg::Full));
    assert!(full.skipped.is_empty(), "{}", describe(&full, &name_of));
}

#[test]
fn all_violations_are_reported_not_only_the_first() {
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "5");
    set.waybill.head.set_int(lh::PACK_NO, 3);
    set.inventory.head.set(ih::BUYER_TELEPHONE, "13957180009");
    set.inventory.lines[0].set_dec(il::QTY, d("9"));
    set.inventory.lines[1].set_dec(il::QTY, d("9"));
    let report = set.submit(&mut engine(Reg::Full));
    assert_eq!(
        codes(&report),
        [
            "SET_BUYER_PHONE",
            "SET_GOODS",
            "SET_PACK_NO",
            "SET_PAID_AMOUNT"
        ]
    );
    let goods = report
        .violations()
        .iter()
        .filter(|v| v.code() == "SET_GOODS")
        .count();
    assert_eq!(goods, 2, "{}", describe(&report, &name_of));
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

#[test]
fn every_arrival_order_gives_the_same_verdict() {
    let orders = permutations(&[0, 1, 2, 3]);
    assert_eq!(orders.len(), 24);
    let good = Set::sample();
    let mut bad = Set::sample();
    bump(&mut bad.payment.head, ph::AMOUNT_PAID, "3");
    for (set, want) in [(&good, Vec::<&str>::new()), (&bad, vec!["SET_PAID_AMOUNT"])] {
        for order in &orders {
            let mut engine = engine(Reg::Full);
            let members = set.members();
            for (step, &n) in order.iter().enumerate() {
                let (spec, doc, source) = members[n];
                let done = engine
                    .submit(spec, doc, src(source), T0 + step as u64)
                    .unwrap();
                let present: Vec<usize> = order[..=step].to_vec();
                if present == [2] {
                    // A waybill alone waits for its set.
                    assert_eq!(done.set, None, "{order:?}");
                    assert!(done.reports.is_empty());
                    assert_eq!(engine.pending_waybills().len(), 1);
                    continue;
                }
                let report = engine.report(&set.key()).expect("set exists");
                if step < 3 {
                    let missing: Vec<DocKind> = DocKind::ALL
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !present.contains(i))
                        .map(|(_, k)| k)
                        .collect();
                    assert_eq!(
                        report.missing(),
                        missing.as_slice(),
                        "{order:?} step {step}"
                    );
                }
            }
            let report = engine.report(&set.key()).unwrap();
            assert_eq!(
                codes(&report),
                want,
                "{order:?}\n{}",
                describe(&report, &name_of)
            );
            assert!(engine.pending_waybills().is_empty());
            assert_eq!(report.members.len(), 4);
        }
    }
}

pub(crate) fn with_app_type(doc: &Document, field: Field<Text>, app_type: &str) -> Document {
    let mut doc = doc.clone();
    doc.head.set(field, app_type);
    doc
}

#[test]
fn a_change_repairs_a_failed_set() {
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "-50");
    let mut engine = engine(Reg::Full);
    let report = set.submit(&mut engine);
    assert_eq!(codes(&report), ["SET_PAID_AMOUNT"]);
    assert!(!engine.receipts(&set.key(), T0).unwrap().is_empty());

    let mut fixed = Set::sample().payment;
    fixed.head.set(ph::APP_TYPE, "2");
    let done = engine
        .submit(
            &MSG_CEB411,
            &fixed,
            src("CEB411-payment-fix.xml"),
            T0 + 60_000,
        )
        .unwrap();
    assert_eq!(done.reports.len(), 1);
    let report = &done.reports[0];
    assert_eq!(
        report.status(),
        Status::Pass,
        "{}",
        describe(report, &name_of)
    );
    assert!(
        report
            .members
            .iter()
            .any(|m| name_of(m.source) == "CEB411-payment-fix.xml")
    );
    assert!(engine.receipts(&set.key(), T0).unwrap().is_empty());
}

#[test]
fn app_types_new_change_delete() {
    let set = Set::sample();
    let mut engine = engine(Reg::Full);
    set.submit(&mut engine);
    let key = set.key();
    // Identical re-delivery: accepted, nothing changes.
    let again = engine
        .submit(&MSG_CEB311, &set.order, src("again.xml"), T0 + 1)
        .unwrap();
    assert!(again.duplicate_of.is_some());
    assert_eq!(again.reports[0].status(), Status::Pass);
    // A different document declared as new again is refused.
    let mut other = set.order.clone();
    append(&mut other.head, oh::NOTE, "x");
    let err = engine
        .submit(&MSG_CEB311, &other, src("other.xml"), T0 + 2)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::AlreadyDeclared {
                kind: DocKind::Order,
                ..
            }
        ),
        "{err}"
    );
    let mut waybill = set.waybill.clone();
    append(&mut waybill.head, lh::NOTE, "x");
    let err = engine
        .submit(&MSG_CEB511, &waybill, src("w.xml"), T0 + 2)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::AlreadyDeclared {
                kind: DocKind::Waybill,
                ..
            }
        ),
        "{err}"
    );

    // Deleting the waybill and the inventory leaves the set incomplete.
    let del = with_app_type(&set.waybill, lh::APP_TYPE, "3");
    let done = engine
        .submit(&MSG_CEB511, &del, src("del.xml"), T0 + 3)
        .unwrap();
    assert_eq!(done.reports[0].missing(), [DocKind::Waybill]);
    let err = engine
        .submit(&MSG_CEB511, &del, src("del.xml"), T0 + 4)
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound { .. }), "{err}");
    let del = with_app_type(&set.inventory, ih::APP_TYPE, "3");
    let done = engine
        .submit(&MSG_CEB621, &del, src("del.xml"), T0 + 5)
        .unwrap();
    assert_eq!(
        done.reports[0].missing(),
        [DocKind::Waybill, DocKind::Inventory]
    );
    // A change of a member never seen fills its place.
    let inv = with_app_type(&set.inventory, ih::APP_TYPE, "2");
    engine
        .submit(&MSG_CEB621, &inv, src("inv2.xml"), T0 + 6)
        .unwrap();
    let wb = with_app_type(&set.waybill, lh::APP_TYPE, "2");
    let done = engine
        .submit(&MSG_CEB511, &wb, src("wb2.xml"), T0 + 7)
        .unwrap();
    assert_eq!(done.reports[0].status(), Status::Pass);
    assert_eq!(done.reports[0].waybill_link, Some(WaybillLink::LogisticsNo));

    // Deleting every member drops the set.
    for (spec, doc, field) in [
        (&MSG_CEB311, &set.order, oh::APP_TYPE),
        (&MSG_CEB411, &set.payment, ph::APP_TYPE),
        (&MSG_CEB511, &set.waybill, lh::APP_TYPE),
        (&MSG_CEB621, &set.inventory, ih::APP_TYPE),
    ] {
        engine
            .submit(
                spec,
                &with_app_type(doc, field, "3"),
                src("del.xml"),
                T0 + 8,
            )
            .unwrap();
    }
    assert!(engine.report(&key).is_none());
    assert_eq!(engine.keys().count(), 0);
    assert!(engine.ledger().is_empty());
}

#[test]
fn documents_that_cannot_be_placed_are_refused() {
    let set = Set::sample();
    let mut engine = engine(Reg::Full);
    let receipt = decode(
        &std::fs::read(crate::util::root().join("samples/receipts/CEB312-order-receipt.xml"))
            .unwrap(),
    );
    let err = engine
        .submit(&MSG_CEB312, &receipt.documents[0], src("r.xml"), T0)
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::NotASetDocument {
            message_type: "CEB312"
        }
    ));
    let err = engine
        .submit(&MSG_CEB411, &set.order, src("x.xml"), T0)
        .unwrap_err();
    assert!(matches!(err, EngineError::WrongRecord { .. }), "{err}");
    let mut no_key = set.order.clone();
    no_key.head.set(oh::ORDER_NO, "");
    let err = engine
        .submit(&MSG_CEB311, &no_key, src("x.xml"), T0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CEB311 (order): OrderHead/orderNo is absent, so the document cannot be placed in a set"
    );
    let bad = with_app_type(&set.order, oh::APP_TYPE, "9");
    let err = engine
        .submit(&MSG_CEB311, &bad, src("x.xml"), T0)
        .unwrap_err();
    assert!(matches!(err, EngineError::BadAppType { .. }), "{err}");
    let del = with_app_type(&set.payment, ph::APP_TYPE, "3");
    let err = engine
        .submit(&MSG_CEB411, &del, src("x.xml"), T0)
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound { .. }), "{err}");
    assert_eq!(engine.keys().count(), 0);
}

#[test]
fn annual_limit_across_orders_and_released_by_deletion() {
    let mut engine = engine(Reg::Full);
    let buyer = "330106199208150325";
    // Five orders of 5000.00: 25000.00 accepted.
    for n in 1..=5 {
        let set = Set::sample().numbered(n).with_paid(d("5000.00"));
        let report = set.submit(&mut engine);
        assert_eq!(
            report.status(),
            Status::Pass,
            "{}",
            describe(&report, &name_of)
        );
    }
    assert_eq!(engine.ledger().used(buyer, 2026), d("25000.00"));
    // A sixth of 1000.00 reaches 26000.00 exactly: accepted.
    let sixth = Set::sample().numbered(6).with_paid(d("1000.00"));
    assert_eq!(sixth.submit(&mut engine).status(), Status::Pass);
    assert_eq!(engine.ledger().used(buyer, 2026), d("26000.00"));
    // A seventh of 0.01 more would exceed it.
    let seventh = Set::sample().numbered(7).with_paid(d("1000.00"));
    let report = seventh.submit(&mut engine);
    assert_eq!(
        codes(&report),
        ["SET_ANNUAL_LIMIT"],
        "{}",
        describe(&report, &name_of)
    );
    let v = &report.violations()[0];
    assert_eq!(v.national(), Some("1313"));
    assert!(v.message.contains("26000.00"), "{}", v.message);
    assert!(
        v.message.contains("27000.00 > annual limit 26000"),
        "{}",
        v.message
    );
    assert_eq!(engine.ledger().used(buyer, 2026), d("26000.00"));

    // Re-evaluating never counts an order twice.
    for n in [1, 6, 7] {
        let key = Set::sample().numbered(n).key();
        engine.evaluate(&key, T0 + 10).unwrap();
        engine.evaluate(&key, T0 + 11).unwrap();
    }
    assert_eq!(engine.ledger().used(buyer, 2026), d("26000.00"));
    assert_eq!(engine.ledger().len(), 6);

    // Another year and another buyer have their own quota.
    let mut next_year = Set::sample().numbered(8).with_paid(d("1000.00"));
    next_year.order.head.set(oh::APP_TIME, "20270102100000");
    assert_eq!(next_year.submit(&mut engine).status(), Status::Pass);
    assert_eq!(engine.ledger().used(buyer, 2027), d("1000.00"));

    // Deleting order 1 gives back its 5000.00; order 7 then fits.
    let first = Set::sample().numbered(1);
    let del = with_app_type(&first.order, oh::APP_TYPE, "3");
    engine
        .submit(&MSG_CEB311, &del, src("del.xml"), T0 + 20)
        .unwrap();
    assert_eq!(engine.ledger().used(buyer, 2026), d("21000.00"));
    let mut change = seventh.payment.clone();
    change.head.set(ph::APP_TYPE, "2");
    let done = engine
        .submit(&MSG_CEB411, &change, src("pay7-resent.xml"), T0 + 30)
        .unwrap();
    assert_eq!(
        done.reports[0].status(),
        Status::Pass,
        "{}",
        describe(&done.reports[0], &name_of)
    );
    assert_eq!(engine.ledger().used(buyer, 2026), d("22000.00"));
}

#[test]
fn a_failed_set_records_no_quota_and_a_change_replaces_the_amount() {
    let mut engine = engine(Reg::Full);
    let buyer = "330106199208150325";
    let mut set = Set::sample().with_paid(d("4000.00"));
    set.waybill.head.set_int(lh::PACK_NO, 2);
    set.submit(&mut engine);
    assert_eq!(engine.ledger().used(buyer, 2026), Decimal::ZERO);
    let mut wb = Set::sample().waybill;
    wb.head.set(lh::APP_TYPE, "2");
    engine.submit(&MSG_CEB511, &wb, src("wb.xml"), T0).unwrap();
    assert_eq!(engine.ledger().used(buyer, 2026), d("4000.00"));
    // The order changed to 3000.00: the ledger holds the new amount only.
    let smaller = Set::sample().with_paid(d("3000.00"));
    let order = with_app_type(&smaller.order, oh::APP_TYPE, "2");
    let payment = with_app_type(&smaller.payment, ph::APP_TYPE, "2");
    engine
        .submit(&MSG_CEB311, &order, src("o2.xml"), T0)
        .unwrap();
    let done = engine
        .submit(&MSG_CEB411, &payment, src("p2.xml"), T0)
        .unwrap();
    assert_eq!(done.reports[0].status(), Status::Pass);
    assert_eq!(engine.ledger().used(buyer, 2026), d("3000.00"));
}

fn transcode(name: &str, encoding: &'static encoding_rs::Encoding, label: &str) -> Vec<u8> {
    let text = String::from_utf8(sample_bytes(name)).unwrap();
    assert!(text.contains("encoding=\"UTF-8\""));
    let text = text.replace("encoding=\"UTF-8\"", &format!("encoding=\"{label}\""));
    let (bytes, _, had_errors) = encoding.encode(&text);
    assert!(!had_errors, "{name} has characters outside {label}");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "{name} in {label} is not plain UTF-8"
    );
    bytes.into_owned()
}

#[test]
fn members_in_gbk_and_gb18030_still_pass() {
    for (encoding, label, charset) in [
        (encoding_rs::GBK, "GBK", Charset::Gbk),
        (encoding_rs::GB18030, "GB18030", Charset::Gb18030),
    ] {
        let mut engine = engine(Reg::Full);
        let mut last = None;
        // Mixed: order and inventory transcoded, payment and waybill as UTF-8.
        for (i, (file, spec)) in FILES
            .iter()
            .zip([&MSG_CEB311, &MSG_CEB411, &MSG_CEB511, &MSG_CEB621])
            .enumerate()
        {
            let bytes = if i % 3 == 0 {
                transcode(file, encoding, label)
            } else {
                sample_bytes(file)
            };
            let decoded = codec::decode(&bytes).unwrap();
            if i % 3 == 0 {
                assert_eq!(decoded.charset, charset);
            }
            let done = engine
                .submit(spec, &decoded.message.documents[0], src(file), T0)
                .unwrap();
            last = done.reports.into_iter().last();
        }
        let report = last.unwrap();
        assert_eq!(
            report.status(),
            Status::Pass,
            "{label}\n{}",
            describe(&report, &name_of)
        );
        // All four transcoded too.
        let mut engine2 = self::engine(Reg::Full);
        for (file, spec) in FILES
            .iter()
            .zip([&MSG_CEB311, &MSG_CEB411, &MSG_CEB511, &MSG_CEB621])
        {
            let decoded = codec::decode(&transcode(file, encoding, label)).unwrap();
            engine2
                .submit(spec, &decoded.message.documents[0], src(file), T0)
                .unwrap();
        }
        assert_eq!(engine2.outcome(&Set::sample().key()), Some(Outcome::Pass));
    }
}

#[test]
fn waybill_attachment() {
    // A waybill without orderNo waits until an inventory names it.
    let set = Set::sample();
    let mut engine = engine(Reg::Full);
    let mut waybill = set.waybill.clone();
    waybill.head.set(lh::ORDER_NO, "");
    engine
        .submit(&MSG_CEB511, &waybill, src("w.xml"), T0)
        .unwrap();
    engine
        .submit(&MSG_CEB311, &set.order, src("o.xml"), T0)
        .unwrap();
    engine
        .submit(&MSG_CEB411, &set.payment, src("p.xml"), T0)
        .unwrap();
    assert_eq!(engine.pending_waybills().len(), 1);
    let done = engine
        .submit(&MSG_CEB621, &set.inventory, src("i.xml"), T0)
        .unwrap();
    assert!(engine.pending_waybills().is_empty());
    assert_eq!(done.reports[0].status(), Status::Pass);
    assert_eq!(done.reports[0].waybill_link, Some(WaybillLink::LogisticsNo));

    // Two platforms with the same orderNo: the waybill waits for the
    // inventory that names it, then joins that set.
    let mut engine = engine_without_registry();
    let mut other = Set::sample();
    other.order.head.set(oh::EBP_CODE, "3301960Z99");
    other.payment.head.set(ph::EBP_CODE, "3301960Z99");
    engine
        .submit(&MSG_CEB311, &other.order, src("o-z.xml"), T0)
        .unwrap();
    engine
        .submit(&MSG_CEB311, &set.order, src("o.xml"), T0)
        .unwrap();
    let done = engine
        .submit(&MSG_CEB511, &set.waybill, src("w.xml"), T0)
        .unwrap();
    assert_eq!(done.set, None, "ambiguous orderNo: the waybill waits");
    engine
        .submit(&MSG_CEB411, &set.payment, src("p.xml"), T0)
        .unwrap();
    let done = engine
        .submit(&MSG_CEB621, &set.inventory, src("i.xml"), T0)
        .unwrap();
    assert_eq!(done.reports[0].key, set.key());
    assert_eq!(done.reports[0].status(), Status::Pass);
    let z = SetKey::new("GW20261121000001", "3301960Z99");
    assert_eq!(
        engine.report(&z).unwrap().missing(),
        [DocKind::Payment, DocKind::Waybill, DocKind::Inventory]
    );

    // A changed waybill moves with its new content; deleting it empties its place.
    let mut moved = set.waybill.clone();
    moved.head.set(lh::APP_TYPE, "2");
    moved.head.set(lh::CONSIGNEE, "林晓");
    let done = engine
        .submit(&MSG_CEB511, &moved, src("w2.xml"), T0)
        .unwrap();
    assert_eq!(done.reports[0].failed_codes(), ["SET_CONSIGNEE"]);
}

fn engine_without_registry() -> Engine {
    engine(Reg::None)
}

#[test]
fn overdue_sets_and_waybills() {
    let set = Set::sample();
    let mut engine = Engine::new(
        EngineConfig {
            incomplete_timeout_secs: 3600,
            ..EngineConfig::default()
        },
        None,
    )
    .unwrap();
    engine
        .submit(&MSG_CEB311, &set.order, src("o.xml"), T0)
        .unwrap();
    let mut lone = Set::sample().numbered(2).waybill;
    lone.head.set(lh::ORDER_NO, "GW-UNKNOWN");
    engine
        .submit(&MSG_CEB511, &lone, src("lone.xml"), T0 + 1000)
        .unwrap();
    assert!(engine.overdue(T0 + 3_600_000).is_empty());
    let late = engine.overdue(T0 + 3_600_001);
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].key, Some(set.key()));
    assert_eq!(
        late[0].missing,
        [DocKind::Payment, DocKind::Waybill, DocKind::Inventory]
    );
    assert_eq!(late[0].waited_secs, 3600);
    let late = engine.overdue(T0 + 3_601_001);
    assert_eq!(late.len(), 2);
    assert_eq!(late[1].key, None);
    assert_eq!(name_of(late[1].members[0].source), "lone.xml");
    // Completing the set clears it.
    for (spec, doc, source) in &set.members()[1..] {
        engine.submit(spec, doc, src(source), T0 + 5000).unwrap();
    }
    let late = engine.overdue(T0 + 10_000_000);
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].key, None);
}

#[test]
fn failure_receipts_validate_against_the_xsd() {
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "-2.00");
    set.inventory.lines[0].set_dec(il::QTY, d("5"));
    // The E-port has assigned preNo and customs invtNo (samples/README.md).
    set.inventory.head.set(ih::PRE_NO, "B20261121000000101");
    set.inventory.head.set(ih::INVT_NO, "29912026I000000123");
    let mut engine = engine(Reg::Full);
    set.submit(&mut engine);
    let now = 1_795_227_931_004; // 2026-11-21 10:25:31.004 in Beijing
    let receipts = engine.receipts(&set.key(), now).unwrap();
    assert_eq!(receipts.len(), 4);
    let xsd = crate::util::reference().join("xsd/ceb-import-2022.xsd");
    for r in &receipts {
        let msg = r
            .message
            .as_ref()
            .unwrap_or_else(|e| panic!("{:?}: {e}", r.kind));
        let diags = validate(msg, Mode::Write);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let guid = msg.guid.as_deref().unwrap();
        assert_eq!(guid.len(), 36);
        let again = engine.receipts(&set.key(), now).unwrap();
        let same = again.iter().find(|a| a.kind == r.kind).unwrap();
        assert_eq!(same.message.as_ref().unwrap().guid.as_deref(), Some(guid));
        let bytes = codec::encode(msg, &Default::default()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("<returnStatus>100</returnStatus>"), "{text}");
        assert!(
            text.contains("<returnTime>20261121102531004</returnTime>"),
            "{text}"
        );
        // The receipt reads back as what it is.
        let back = codec::decode(&bytes).unwrap().message;
        assert_eq!(back.spec.name, msg.spec.name);
        if let Err(e) = crate::util::xmllint(&bytes, &xsd) {
            panic!("{}: xmllint: {e}\n{text}", msg.spec.name);
        }
    }
    let order = receipts[0].message.as_ref().unwrap();
    assert_eq!(order.spec.name, "CEB312");
    let info = order.documents[0].head.str(order_return::RETURN_INFO);
    assert_eq!(
        info,
        "[Code:1332;Desc:支付单支付金额与订单支付金额不一致][Code:1322;Desc:订单清单表体商品项不一致]"
    );
    assert_eq!(
        order.documents[0].head.str(order_return::GUID),
        set.order.head.str(oh::GUID),
        "the receipt echoes the order's guid"
    );
    // The waybill is named by no violation: it is refused with the whole set.
    let waybill = receipts
        .iter()
        .find(|r| r.kind == DocKind::Waybill)
        .unwrap();
    let text = String::from_utf8(
        codec::encode(waybill.message.as_ref().unwrap(), &Default::default()).unwrap(),
    )
    .unwrap();
    assert!(text.contains("[Code:1332;"), "{text}");
}

#[test]
fn no_ceb622_without_the_e_port_pre_no() {
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "-2.00");
    let mut engine = engine(Reg::Full);
    set.submit(&mut engine);
    let receipts = engine.receipts(&set.key(), T0).unwrap();
    assert_eq!(receipts.len(), 4);
    for r in &receipts {
        match r.kind {
            DocKind::Inventory => {
                let err = r.message.as_ref().unwrap_err();
                assert!(
                    matches!(
                        err,
                        ReceiptError::MissingField {
                            path: "InventoryReturn/preNo",
                            ..
                        }
                    ),
                    "{err}"
                );
            }
            _ => assert!(r.message.is_ok()),
        }
    }
}

#[test]
fn return_info_fits_in_1000_characters() {
    let mut set = Set::sample();
    // Break nearly everything.
    for (f, v) in [
        (ph::PAYER_NAME, "某"),
        (ph::EBP_NAME, "某"),
        (ph::PAY_TRANSACTION_ID, "X"),
    ] {
        set.payment.head.set(f, v);
    }
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "9");
    bump(&mut set.order.head, oh::GOODS_VALUE, "9");
    bump(&mut set.order.head, oh::FREIGHT, "9");
    set.waybill.head.set(lh::CONSIGNEE, "某");
    set.waybill.head.set_int(lh::PACK_NO, 7);
    set.inventory.head.set(ih::BUYER_NAME, "某");
    set.inventory.head.set(ih::BUYER_TELEPHONE, "13900000000");
    set.inventory.head.set_dec(ih::NET_WEIGHT, d("9"));
    set.inventory.lines[0].set_dec(il::QTY, d("9"));
    let report = set.submit(&mut engine(Reg::Full));
    let info = return_info(None, report.violations());
    assert!(info.chars().count() <= 1000);
    assert!(info.starts_with("[Code:"));
    assert!(
        report.failed_codes().len() >= 10,
        "{}",
        describe(&report, &name_of)
    );
}

#[test]
fn report_serializes_and_describes() {
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "-2.00");
    let report = set.submit(&mut engine(Reg::None));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "fail");
    assert_eq!(json["key"]["orderNo"], "GW20261121000001");
    assert_eq!(json["members"][0]["type"], "CEB311");
    assert_eq!(
        json["members"][0]["source"]["message"],
        src("CEB311-order.xml").message
    );
    assert_eq!(json["violations"][0]["code"], "SET_PAID_AMOUNT");
    assert_eq!(json["violations"][0]["national"], "1332");
    assert_eq!(json["violations"][0]["severity"], "error");
    assert_eq!(json["violations"][0]["paths"][1], "PaymentHead/amountPaid");
    assert_eq!(json["skipped"][0]["code"], "SET_REGISTRY");
    let text = describe(&report, &name_of);
    assert!(
        text.starts_with("set orderNo=GW20261121000001,ebpCode=3301960A01: FAIL (1 violation)"),
        "{text}"
    );
    assert!(
        text.contains("CEB621 inventory CEB621-inventory.xml"),
        "{text}"
    );
    assert!(
        text.contains("error SET_PAID_AMOUNT national 1332"),
        "{text}"
    );
    assert!(
        text.contains("skipped SET_REGISTRY: no enterprise registry is configured"),
        "{text}"
    );
    assert_eq!(
        report.to_string(),
        describe(&report, &|id: InboundId| id.to_string())
    );
}

#[test]
fn configuration_from_toml() {
    let cfg = EngineConfig::from_toml("amount_tolerance = \"0.5\"\nsingle_limit = 2000\n").unwrap();
    assert_eq!(cfg.amount_tolerance, d("0.5"));
    assert_eq!(cfg.single_limit, d("2000"));
    assert_eq!(cfg.annual_limit, d("26000"));
    assert_eq!(cfg.incomplete_timeout_secs, 86_400);
    assert_eq!(
        EngineConfig::from_toml("amount_tolerance = 0.1\n")
            .unwrap()
            .amount_tolerance,
        d("0.1")
    );
    let typo = EngineConfig::from_toml("amount_tolerence = 1\n")
        .unwrap_err()
        .to_string();
    assert!(
        typo.contains("amount_tolerence") && typo.contains("amount_tolerance"),
        "a typo is refused naming the key and the keys accepted: {typo}"
    );
    let role = Registry::from_toml(
        "[[enterprise]]\ncode = \"X\"\nname = \"x\"\nroles = [\"plattform\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        role.contains("plattform") && role.contains("`logistics`"),
        "a bad role lists the roles: {role}"
    );
    assert!(EngineConfig::from_toml("amount_tolerance = -1\n").is_err());
    assert!(EngineConfig::from_toml("single_limit = \"lots\"\n").is_err());
    assert_eq!(
        EngineConfig::from_toml("").unwrap(),
        EngineConfig::default()
    );

    // A tighter tolerance: 0.60 off now fails.
    let mut set = Set::sample();
    bump(&mut set.payment.head, ph::AMOUNT_PAID, "0.60");
    let mut engine = Engine::new(cfg, None).unwrap();
    assert_eq!(codes(&set.submit(&mut engine)), ["SET_PAID_AMOUNT"]);

    let reg = registry(Reg::Full).unwrap();
    assert_eq!(reg.enterprises().len(), 5);
    assert_eq!(
        reg.get("3301980E05").unwrap().name,
        "杭州示例报关服务有限公司"
    );
    let dup =
        format!("{REGISTRY}\n[[enterprise]]\ncode = \"3301960A01\"\nname = \"x\"\nroles = []\n");
    let err = Registry::from_toml(&dup).unwrap_err();
    assert!(err.to_string().contains("3301960A01"), "{err}");
    assert!(
        Registry::from_toml("[[enterprise]]\ncode = \"A\"\nname = \"a\"\nroles = [\"bank\"]\n")
            .is_err()
    );
    assert!(
        Registry::from_toml("[[enterprise]]\ncode = \"A\"\nname = \"a\"\nroles = []\ncolour = 1\n")
            .is_err()
    );
    assert!(
        Engine::new(
            EngineConfig {
                annual_limit: Decimal::ZERO,
                ..EngineConfig::default()
            },
            None
        )
        .is_err()
    );
}

#[test]
fn receipt_time_is_china_standard_time() {
    assert_eq!(time17(T0).as_deref(), Some("20261121102000000"));
}

// ---------------------------------------------------------------- proptest

/// A consistent set built from the sample with generated buyer, lines and amounts.
#[derive(Debug, Clone)]
struct Gen {
    name: &'static str,
    id17: String,
    phone: String,
    /// (qty, price in cents, kilograms in hundredths)
    lines: Vec<(u32, u32, u32)>,
    freight: u32,
    insured: u32,
    discount: u32,
    tax: u32,
    extra_gross: u32,
}

fn cents(c: u32) -> Decimal {
    Decimal::new(i64::from(c), 2)
}

impl Gen {
    fn build(&self) -> Set {
        let mut s = Set::sample();
        let id = format!(
            "{}{}",
            self.id17,
            id_card_check_char(&self.id17).unwrap() as char
        );
        let order_line = s.order.lines[0].clone();
        let inv_line = s.inventory.lines[0].clone();
        s.order.lines.clear();
        s.inventory.lines.clear();
        let (mut goods, mut kg) = (0u32, 0u32);
        for (n, &(qty, price, weight)) in self.lines.iter().enumerate() {
            let total = qty * price;
            goods += total;
            kg += weight;
            let gnum = i64::try_from(n + 1).unwrap();
            let item_no = format!("GW-SKU-{}", 200 + n);
            let item_name = format!("示例商品{}", n + 1);
            let mut o = order_line.clone();
            o.set_int(ol::GNUM, gnum);
            o.set(ol::ITEM_NO, item_no.as_str());
            o.set(ol::ITEM_NAME, item_name.as_str());
            o.set_dec(ol::QTY, Decimal::from(qty));
            o.set_dec(ol::PRICE, cents(price));
            o.set_dec(ol::TOTAL_PRICE, cents(total));
            s.order.lines.push(o);
            let mut i = inv_line.clone();
            i.set_int(il::GNUM, gnum);
            i.set(il::ITEM_NO, item_no.as_str());
            i.set(il::ITEM_NAME, item_name.as_str());
            i.set_dec(il::QTY, Decimal::from(qty));
            i.set_dec(il::PRICE, cents(price));
            i.set_dec(il::TOTAL_PRICE, cents(total));
            i.set_dec(il::QTY1, cents(weight));
            i.set(il::UNIT1, "035");
            s.inventory.lines.push(i);
        }
        let discount = self.discount.min(goods);
        let freight = self.freight + self.insured;
        let paid = goods + freight + self.tax - discount;
        let o = &mut s.order.head;
        o.set_dec(oh::GOODS_VALUE, cents(goods));
        o.set_dec(oh::FREIGHT, cents(freight));
        o.set_dec(oh::DISCOUNT, cents(discount));
        o.set_dec(oh::TAX_TOTAL, cents(self.tax));
        o.set_dec(oh::ACTURAL_PAID, cents(paid));
        o.set(oh::BUYER_NAME, self.name);
        o.set(oh::CONSIGNEE, self.name);
        o.set(oh::BUYER_ID_NUMBER, id.as_str());
        o.set(oh::BUYER_TELEPHONE, self.phone.as_str());
        o.set(oh::CONSIGNEE_TELEPHONE, self.phone.as_str());
        let p = &mut s.payment.head;
        p.set_dec(ph::AMOUNT_PAID, cents(paid));
        p.set(ph::PAYER_NAME, self.name);
        p.set(ph::PAYER_ID_NUMBER, id.as_str());
        p.set(ph::TELEPHONE, self.phone.as_str());
        let w = &mut s.waybill.head;
        w.set(lh::CONSIGNEE, self.name);
        w.set(lh::CONSIGNEE_TELEPHONE, self.phone.as_str());
        w.set_dec(lh::FREIGHT, cents(self.freight));
        w.set_dec(lh::INSURED_FEE, cents(self.insured));
        w.set_dec(lh::WEIGHT, cents(kg + self.extra_gross));
        let i = &mut s.inventory.head;
        i.set_dec(ih::FREIGHT, cents(self.freight));
        i.set_dec(ih::INSURED_FEE, cents(self.insured));
        i.set(ih::BUYER_NAME, self.name);
        i.set(ih::BUYER_ID_NUMBER, id.as_str());
        i.set(ih::BUYER_TELEPHONE, self.phone.as_str());
        i.set_dec(ih::GROSS_WEIGHT, cents(kg + self.extra_gross));
        i.set_dec(ih::NET_WEIGHT, cents(kg));
        s
    }
}

fn gen_set() -> impl Strategy<Value = Gen> {
    (
        prop::sample::select(vec!["林晓彤", "王小明", "张伟", "李娜", "陈静", "欧阳修远"]),
        "[1-6][0-9]{5}(19[5-9][0-9]|200[0-5])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
        "1[3-9][0-9]{9}",
        prop::collection::vec((1u32..=5, 1u32..=20_000, 1u32..=300), 1..=4),
        (
            0u32..=5000,
            0u32..=500,
            0u32..=1000,
            0u32..=10_000,
            0u32..=200,
        ),
    )
        .prop_map(
            |(name, id17, phone, lines, (freight, insured, discount, tax, extra_gross))| Gen {
                name,
                id17,
                phone,
                lines,
                freight,
                insured,
                discount,
                tax,
                extra_gross,
            },
        )
}

const MUTATIONS: usize = 32;

/// Breaks one field of a consistent set; returns the element path that must
/// be reported. `delta` is an amount over the tolerance; `line` picks a line.
fn mutate(s: &mut Set, which: usize, delta: Decimal, line: usize) -> &'static str {
    let line = line % s.order.lines.len();
    let add = |r: &mut Record, f: Field<Dec>| {
        let v = r.dec(f).unwrap();
        r.set_dec(f, v + delta);
    };
    match which {
        0 => {
            add(&mut s.order.head, oh::GOODS_VALUE);
            "OrderHead/goodsValue"
        }
        1 => {
            add(&mut s.order.head, oh::ACTURAL_PAID);
            "OrderHead/acturalPaid"
        }
        2 => {
            add(&mut s.order.head, oh::FREIGHT);
            "OrderHead/freight"
        }
        3 => {
            add(&mut s.order.head, oh::DISCOUNT);
            "OrderHead/discount"
        }
        4 => {
            add(&mut s.order.head, oh::TAX_TOTAL);
            "OrderHead/taxTotal"
        }
        5 => {
            add(&mut s.payment.head, ph::AMOUNT_PAID);
            "PaymentHead/amountPaid"
        }
        6 => {
            append(&mut s.payment.head, ph::PAYER_NAME, "甲");
            "PaymentHead/payerName"
        }
        7 => {
            let id = other_id(s.payment.head.str(ph::PAYER_ID_NUMBER));
            s.payment.head.set(ph::PAYER_ID_NUMBER, id);
            "PaymentHead/payerIdNumber"
        }
        8 => {
            let other = if s.order.head.str(oh::BUYER_TELEPHONE) == "13800000000" {
                "13900000000"
            } else {
                "13800000000"
            };
            s.order.head.set(oh::BUYER_TELEPHONE, other);
            "OrderHead/buyerTelephone"
        }
        9 => {
            append(&mut s.inventory.head, ih::BUYER_NAME, "乙");
            "InventoryHead/buyerName"
        }
        10 => {
            let id = other_id(s.inventory.head.str(ih::BUYER_ID_NUMBER));
            s.inventory.head.set(ih::BUYER_ID_NUMBER, id);
            "InventoryHead/buyerIdNumber"
        }
        11 => {
            append(&mut s.order.head, oh::EBP_NAME, "X");
            "OrderHead/ebpName"
        }
        12 => {
            append(&mut s.payment.head, ph::EBP_NAME, "X");
            "PaymentHead/ebpName"
        }
        13 => {
            append(&mut s.inventory.head, ih::EBC_NAME, "X");
            "InventoryHead/ebcName"
        }
        14 => {
            append(&mut s.payment.head, ph::PAY_TRANSACTION_ID, "9");
            "PaymentHead/payTransactionId"
        }
        15 => {
            append(&mut s.order.head, oh::PAY_NAME, "X");
            "OrderHead/payName"
        }
        16 => {
            append(&mut s.waybill.head, lh::LOGISTICS_NAME, "X");
            "LogisticsHead/logisticsName"
        }
        17 => {
            append(&mut s.inventory.head, ih::LOGISTICS_NO, "9");
            "InventoryHead/logisticsNo"
        }
        18 => {
            append(&mut s.waybill.head, lh::CONSIGNEE, "丙");
            "LogisticsHead/consignee"
        }
        19 => {
            append(&mut s.waybill.head, lh::CONSIGNEE_ADDRESS, "1号");
            "LogisticsHead/consigneeAddress"
        }
        20 => {
            add(&mut s.inventory.head, ih::FREIGHT);
            "InventoryHead/freight"
        }
        21 => {
            add(&mut s.inventory.head, ih::INSURED_FEE);
            "InventoryHead/insuredFee"
        }
        22 => {
            append(&mut s.inventory.lines[line], il::ITEM_NAME, "X");
            "InventoryList/itemName"
        }
        23 => {
            let q = s.inventory.lines[line].dec(il::QTY).unwrap();
            s.inventory.lines[line].set_dec(il::QTY, q + Decimal::ONE);
            "InventoryList/qty"
        }
        24 => {
            let t = s.inventory.lines[line].dec(il::TOTAL_PRICE).unwrap();
            s.inventory.lines[line].set_dec(il::TOTAL_PRICE, t + d("0.01"));
            "InventoryList/totalPrice"
        }
        25 => {
            append(&mut s.order.lines[line], ol::ITEM_NO, "X");
            "OrderList/itemNo"
        }
        26 => {
            s.waybill.head.set_int(lh::PACK_NO, 2);
            "LogisticsHead/packNo"
        }
        27 => {
            let g = s.inventory.head.dec(ih::GROSS_WEIGHT).unwrap();
            s.inventory.head.set_dec(ih::NET_WEIGHT, g + d("0.01"));
            "InventoryHead/netWeight"
        }
        28 => {
            let n = s.inventory.head.dec(ih::NET_WEIGHT).unwrap();
            s.inventory.head.set_dec(ih::GROSS_WEIGHT, n - d("0.01"));
            "InventoryHead/grossWeight"
        }
        29 => {
            let id = bad_check_digit(s.payment.head.str(ph::PAYER_ID_NUMBER));
            s.payment.head.set(ph::PAYER_ID_NUMBER, id);
            "PaymentHead/payerIdNumber"
        }
        30 => {
            let q = s.order.lines[line].dec(ol::QTY).unwrap();
            s.order.lines[line].set_dec(ol::QTY, q + Decimal::ONE);
            "OrderList/qty"
        }
        _ => {
            append(&mut s.order.head, oh::CONSIGNEE_ADDRESS, "2号");
            "OrderHead/consigneeAddress"
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn consistent_sets_pass_and_single_breaks_are_reported_at_their_path(
        g in gen_set(),
        which in 0usize..MUTATIONS,
        delta_cents in 102i64..=50_000,
        line in 0usize..4,
    ) {
        let set = g.build();
        let report = set.submit(&mut engine(Reg::Full));
        prop_assert_eq!(report.status(), Status::Pass, "{}", describe(&report, &name_of));

        let mut broken = set.clone();
        let path = mutate(&mut broken, which, Decimal::new(delta_cents, 2), line);
        let report = broken.submit(&mut engine(Reg::Full));
        prop_assert_eq!(report.status(), Status::Fail, "{} not reported\n{}", path, describe(&report, &name_of));
        let named = report.violations().iter().any(|v| v.paths.iter().any(|p| p == path));
        prop_assert!(named, "no violation names {}\n{}", path, describe(&report, &name_of));
    }
}

/// The set's SET_TAX_TOTAL warnings and whether it still passes.
fn tax_total_findings(set: &Set, cfg: EngineConfig) -> (Status, Vec<String>) {
    let mut engine = Engine::new(cfg, None).unwrap();
    let report = set.submit(&mut engine);
    let found = report
        .warnings
        .iter()
        .filter(|v| v.rule.code == "SET_TAX_TOTAL")
        .map(|v| {
            assert_eq!(v.severity, customs_gateway::schema::Severity::Warning);
            v.message.clone()
        })
        .collect();
    (report.status(), found)
}

#[test]
fn the_declared_tax_total_is_compared_with_the_inventorys_computed_tax_as_a_warning() {
    // The sample declares 85.15 = (925.70 + 18.00 + 2.00 − 10.00) × 13 % × 70 %.
    let sample = Set::sample();
    assert_eq!(
        tax_total_findings(&sample, EngineConfig::default()),
        (Status::Pass, vec![])
    );
    // 0.99 off is within the default tolerance of 1; 1.01 off warns, and
    // the set still passes.
    let near = Set::sample().with_paid(d("1021.84"));
    assert_eq!(
        tax_total_findings(&near, EngineConfig::default()).1.len(),
        0
    );
    let off = Set::sample().with_paid(d("1021.86"));
    let (status, found) = tax_total_findings(&off, EngineConfig::default());
    assert_eq!(status, Status::Pass);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("OrderHead/taxTotal=86.16"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("come to 85.15"), "{}", found[0]);
    // The tolerance is configured in [engine].
    let tight = EngineConfig::from_toml("tax_tolerance = \"0\"").unwrap();
    assert_eq!(
        tax_total_findings(&Set::sample().with_paid(d("1020.86")), tight.clone())
            .1
            .len(),
        1
    );
    assert!(EngineConfig::from_toml("tax_tolerance = \"-1\"").is_err());
    // A line of wine (HS 2204, consumption tax 10 %) changes the computation:
    // the declared 85.15 is now short.
    let mut wine = Set::sample();
    wine.inventory.lines[0].set(il::GCODE, "2204210000");
    let (status, found) = tax_total_findings(&wine, EngineConfig::default());
    assert_eq!(status, Status::Pass);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("consumption tax 0.10"), "{}", found[0]);
    // An order of 2018-06 is computed with the table of 2018-05-01 (VAT 16 %).
    let mut old = Set::sample();
    old.order.head.set(oh::APP_TIME, "20180615101500");
    let (_, found) = tax_total_findings(&old, tight);
    assert!(
        found.iter().any(|m| m.contains("table of 2018-05-01")),
        "{found:?}"
    );
}
