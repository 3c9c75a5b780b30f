//! The cross-document rules over one complete set. Pure: reads what the
//! engine keeps of the four documents ([`Complete`]), appends
//! [`Violation`]s; formats text only when a rule fails.
//!
//! The rules are one table, [`STEPS`], in the order they are reported: the
//! field comparisons (two fields of two documents must be equal, or a sum
//! must agree within the tolerance) are rows of data; the rules that are
//! more than a comparison (goods lines, weights, registry, limits, ID card
//! check digits) are named steps. The table is Rust, next to the code that
//! runs it, rather than TOML: every row names typed field handles, so a
//! misspelt field or a decimal compared as text does not compile.

use rust_decimal::Decimal;

use super::config::{EngineConfig, Registry, Role};
use super::facts::{Row, Strings, Table};
use super::sets::Complete;
use super::{DocKind, Skipped, Violation};
use crate::formats::is_prc_id_card;
use crate::model::Value;
use crate::schema::fields::{
    inventory_head as ih, inventory_list as il, logistics_head as lh, order_head as oh,
    order_list as ol, payment_head as ph,
};
use crate::schema::{Dec, Field, Int, RuleInfo, Text, rule};

use DocKind::{Inventory as I, Order as O, Payment as P, Waybill as W};

/// Who is counted against the annual limit, for which year, with how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuotaSubject {
    /// `buyerIdNumber`, trimmed, upper case.
    pub buyer: String,
    pub year: u16,
    /// The order's `acturalPaid`.
    pub amount: Decimal,
    /// Where the year came from.
    pub year_path: &'static str,
}

/// The annual-limit input the engine prepares from its ledger.
pub(crate) enum Annual {
    /// The subject and what the ledger holds for the buyer's other orders.
    Check {
        subject: QuotaSubject,
        used: Decimal,
    },
    /// The rule cannot be applied; why.
    Skip(String),
}

/// Who, which year and how much this set counts against the annual limit.
pub(crate) fn quota_subject(docs: &Complete<'_>) -> Result<QuotaSubject, String> {
    let order = docs.order.head(docs.strings);
    let buyer = order.str(oh::BUYER_ID_NUMBER);
    if buyer.is_empty() {
        return Err("OrderHead/buyerIdNumber is absent".to_owned());
    }
    let Some(amount) = order.dec(oh::ACTURAL_PAID) else {
        return Err("OrderHead/acturalPaid is absent or not a number".to_owned());
    };
    let (year, year_path) = match year_of(order.str(oh::APP_TIME)) {
        Some(y) => (y, "OrderHead/appTime"),
        None => match year_of(docs.inventory.head(docs.strings).str(ih::DECL_TIME)) {
            Some(y) => (y, "InventoryHead/declTime"),
            None => {
                return Err(
                    "neither OrderHead/appTime nor InventoryHead/declTime starts with a year"
                        .to_owned(),
                );
            }
        },
    };
    Ok(QuotaSubject {
        buyer: buyer.to_ascii_uppercase(),
        year,
        amount,
        year_path,
    })
}

fn year_of(s: &str) -> Option<u16> {
    let y = s.trim().as_bytes().get(..4)?;
    if !y.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(y)
        .ok()?
        .parse::<u16>()
        .ok()
        .filter(|&y| y > 0)
}

/// One step of the check.
#[derive(Clone, Copy)]
enum Step {
    /// Two text fields must be equal (trimmed).
    Same(
        &'static RuleInfo,
        (DocKind, Field<Text>),
        (DocKind, Field<Text>),
    ),
    /// Two ID numbers must be equal (the check character `x` is `X`).
    SameId(
        &'static RuleInfo,
        (DocKind, Field<Text>),
        (DocKind, Field<Text>),
    ),
    /// Two integers must be equal.
    SameInt(
        &'static RuleInfo,
        (DocKind, Field<Int>),
        (DocKind, Field<Int>),
    ),
    /// `left = ±terms` within the amount tolerance.
    Sum(
        &'static RuleInfo,
        (DocKind, Field<Dec>),
        &'static [(Sign, DocKind, Field<Dec>)],
    ),
    /// OrderHead/goodsValue = Σ OrderList/totalPrice.
    GoodsValue,
    /// The goods lines of order and inventory (1322).
    Goods,
    /// The inventory's weights.
    Weight,
    /// Every enterprise named is registered (22001).
    Registry,
    /// The personal single-transaction and annual limits.
    Limits,
    /// ID card check digits of buyer and payer.
    RealName,
    /// OrderHead/taxTotal against the tax computed for the inventory.
    TaxTotal,
}

use Sign::{Minus, Plus};
use Step::{Same, SameId, SameInt, Sum};

/// Every rule, in the order violations are reported.
const STEPS: &[Step] = &[
    Step::GoodsValue,
    Sum(
        rule::SET_ACTURAL_PAID,
        (O, oh::ACTURAL_PAID),
        &[
            (Plus, O, oh::GOODS_VALUE),
            (Plus, O, oh::FREIGHT),
            (Plus, O, oh::TAX_TOTAL),
            (Minus, O, oh::DISCOUNT),
        ],
    ),
    // buyer = payer (1327)
    Same(
        rule::SET_BUYER_PAYER,
        (O, oh::BUYER_NAME),
        (P, ph::PAYER_NAME),
    ),
    Same(
        rule::SET_BUYER_PAYER,
        (O, oh::BUYER_ID_TYPE),
        (P, ph::PAYER_ID_TYPE),
    ),
    SameId(
        rule::SET_BUYER_PAYER,
        (O, oh::BUYER_ID_NUMBER),
        (P, ph::PAYER_ID_NUMBER),
    ),
    // acturalPaid = amountPaid (1332)
    Sum(
        rule::SET_PAID_AMOUNT,
        (O, oh::ACTURAL_PAID),
        &[(Plus, P, ph::AMOUNT_PAID)],
    ),
    // platform, e-commerce enterprise, payment enterprise, logistics
    Same(rule::SET_PLATFORM, (O, oh::EBP_CODE), (P, ph::EBP_CODE)),
    Same(rule::SET_PLATFORM, (O, oh::EBP_NAME), (P, ph::EBP_NAME)),
    Same(rule::SET_PLATFORM, (O, oh::EBP_CODE), (I, ih::EBP_CODE)),
    Same(rule::SET_PLATFORM, (O, oh::EBP_NAME), (I, ih::EBP_NAME)),
    Same(rule::SET_ECOMMERCE, (O, oh::EBC_CODE), (I, ih::EBC_CODE)),
    Same(rule::SET_ECOMMERCE, (O, oh::EBC_NAME), (I, ih::EBC_NAME)),
    Same(
        rule::SET_PAY_ENTERPRISE,
        (O, oh::PAY_CODE),
        (P, ph::PAY_CODE),
    ),
    Same(
        rule::SET_PAY_ENTERPRISE,
        (O, oh::PAY_NAME),
        (P, ph::PAY_NAME),
    ),
    Same(
        rule::SET_PAY_ENTERPRISE,
        (O, oh::PAY_TRANSACTION_ID),
        (P, ph::PAY_TRANSACTION_ID),
    ),
    Same(
        rule::SET_LOGISTICS,
        (W, lh::LOGISTICS_CODE),
        (I, ih::LOGISTICS_CODE),
    ),
    Same(
        rule::SET_LOGISTICS,
        (W, lh::LOGISTICS_NAME),
        (I, ih::LOGISTICS_NAME),
    ),
    Same(
        rule::SET_LOGISTICS,
        (W, lh::LOGISTICS_NO),
        (I, ih::LOGISTICS_NO),
    ),
    // consignee: order = waybill
    Same(rule::SET_CONSIGNEE, (O, oh::CONSIGNEE), (W, lh::CONSIGNEE)),
    Same(
        rule::SET_CONSIGNEE,
        (O, oh::CONSIGNEE_TELEPHONE),
        (W, lh::CONSIGNEE_TELEPHONE),
    ),
    Same(
        rule::SET_CONSIGNEE,
        (O, oh::CONSIGNEE_ADDRESS),
        (W, lh::CONSIGNEE_ADDRESS),
    ),
    // buyer: order = inventory (13127, phone 130126)
    Same(rule::SET_BUYER, (O, oh::BUYER_NAME), (I, ih::BUYER_NAME)),
    Same(
        rule::SET_BUYER,
        (O, oh::BUYER_ID_TYPE),
        (I, ih::BUYER_ID_TYPE),
    ),
    SameId(
        rule::SET_BUYER,
        (O, oh::BUYER_ID_NUMBER),
        (I, ih::BUYER_ID_NUMBER),
    ),
    Same(
        rule::SET_BUYER_PHONE,
        (O, oh::BUYER_TELEPHONE),
        (I, ih::BUYER_TELEPHONE),
    ),
    // order freight = inventory freight + insuredFee
    Sum(
        rule::SET_FREIGHT,
        (O, oh::FREIGHT),
        &[(Plus, I, ih::FREIGHT), (Plus, I, ih::INSURED_FEE)],
    ),
    Step::Goods,
    SameInt(rule::SET_PACK_NO, (W, lh::PACK_NO), (I, ih::PACK_NO)),
    Step::Weight,
    Step::Registry,
    Step::Limits,
    Step::RealName,
    Step::TaxTotal,
];

/// Runs every rule over a complete set.
pub(crate) fn check(
    docs: &Complete<'_>,
    cfg: &EngineConfig,
    registry: Option<&Registry>,
    annual: &Annual,
    out: &mut Vec<Violation>,
    skipped: &mut Vec<Skipped>,
) {
    let mut ck = Ck { cfg, out };
    let at = |kind: DocKind| {
        let facts = match kind {
            O => docs.order,
            P => docs.payment,
            W => docs.waybill,
            I => docs.inventory,
        };
        At::new(kind, facts.head(docs.strings))
    };
    let (o, p, w, i) = (at(O), at(P), at(W), at(I));
    let order_lines = docs.order.lines();
    let inventory_lines = docs.inventory.lines();
    for step in STEPS {
        match *step {
            Same(r, (ka, fa), (kb, fb)) => ck.same(r, at(ka).text(fa), at(kb).text(fb)),
            SameId(r, (ka, fa), (kb, fb)) => ck.same_id(r, at(ka).text(fa), at(kb).text(fb)),
            SameInt(r, (ka, fa), (kb, fb)) => ck.same_int(r, at(ka).int(fa), at(kb).int(fb)),
            Sum(r, (k, left), terms) => {
                let terms: Vec<(Sign, DecAt<'_>)> =
                    terms.iter().map(|&(s, k, f)| (s, at(k).dec(f))).collect();
                ck.amounts(r, at(k).dec(left), &terms);
            }
            Step::GoodsValue => ck.goods_value(o, rows(order_lines, docs.strings)),
            Step::Goods => ck.goods(order_lines, inventory_lines, docs.strings),
            Step::Weight => ck.weight(i, rows(inventory_lines, docs.strings)),
            Step::Registry => match registry {
                Some(reg) => ck.registry(reg, o, p, w, i),
                None => skipped.push(Skipped {
                    rule: rule::SET_REGISTRY,
                    reason: "no enterprise registry is configured".to_owned(),
                }),
            },
            Step::Limits => {
                ck.single_limit(o, i, rows(inventory_lines, docs.strings));
                match annual {
                    Annual::Check { subject, used } => ck.annual_limit(o, subject, *used),
                    Annual::Skip(reason) => skipped.push(Skipped {
                        rule: rule::SET_ANNUAL_LIMIT,
                        reason: reason.clone(),
                    }),
                }
            }
            Step::RealName => {
                ck.real_name(o.text(oh::BUYER_ID_TYPE), o.text(oh::BUYER_ID_NUMBER));
                ck.real_name(p.text(ph::PAYER_ID_TYPE), p.text(ph::PAYER_ID_NUMBER));
                ck.real_name(i.text(ih::BUYER_ID_TYPE), i.text(ih::BUYER_ID_NUMBER));
            }
            Step::TaxTotal => {
                if let Err(reason) = ck.tax_total(o, i, rows(inventory_lines, docs.strings)) {
                    skipped.push(Skipped {
                        rule: rule::SET_TAX_TOTAL,
                        reason,
                    });
                }
            }
        }
    }
}

/// The rows of a document's goods lines (none when it has no lines table).
fn rows<'a>(t: Option<&'a Table>, strings: &'a Strings) -> impl Iterator<Item = Row<'a>> + Clone {
    t.into_iter().flat_map(move |t| t.rows(strings))
}

/// One document's head (or line) record.
#[derive(Clone, Copy)]
struct At<'a> {
    kind: DocKind,
    rec: Row<'a>,
}

impl<'a> At<'a> {
    fn new(kind: DocKind, rec: Row<'a>) -> At<'a> {
        At { kind, rec }
    }

    fn text(self, field: Field<Text>) -> TextAt<'a> {
        TextAt {
            kind: self.kind,
            field,
            value: self.rec.str(field),
        }
    }

    fn dec(self, field: Field<Dec>) -> DecAt<'a> {
        DecAt {
            kind: self.kind,
            field,
            rec: self.rec,
        }
    }

    fn int(self, field: Field<Int>) -> IntAt<'a> {
        IntAt {
            kind: self.kind,
            field,
            rec: self.rec,
        }
    }
}

/// A text field of one document, trimmed.
#[derive(Clone, Copy)]
struct TextAt<'a> {
    kind: DocKind,
    field: Field<Text>,
    value: &'a str,
}

impl TextAt<'_> {
    fn shown(&self) -> &str {
        shown_text(self.value)
    }
}

/// A decimal field of one document.
#[derive(Clone, Copy)]
struct DecAt<'a> {
    kind: DocKind,
    field: Field<Dec>,
    rec: Row<'a>,
}

impl DecAt<'_> {
    fn get(&self) -> Option<Decimal> {
        self.rec.dec(self.field)
    }

    fn shown(&self) -> String {
        shown_value(&self.rec.value(self.field.index))
    }

    fn path(&self) -> String {
        self.field.path()
    }
}

/// An integer field of one document.
#[derive(Clone, Copy)]
struct IntAt<'a> {
    kind: DocKind,
    field: Field<Int>,
    rec: Row<'a>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Plus,
    Minus,
}

fn shown_text(s: &str) -> &str {
    if s.is_empty() { "(absent)" } else { s }
}

fn shown_value(v: &Value) -> String {
    match v {
        Value::Absent => "(absent)".to_owned(),
        Value::Invalid(s) => format!("\"{s}\" (not a number)"),
        v => v.to_string(),
    }
}

fn kinds(list: &[DocKind]) -> Vec<DocKind> {
    let mut out: Vec<DocKind> = Vec::with_capacity(list.len());
    for k in list {
        if !out.contains(k) {
            out.push(*k);
        }
    }
    out.sort();
    out
}

struct Ck<'a> {
    cfg: &'a EngineConfig,
    out: &'a mut Vec<Violation>,
}

impl Ck<'_> {
    fn push(
        &mut self,
        rule: &'static RuleInfo,
        documents: &[DocKind],
        paths: Vec<String>,
        message: String,
    ) {
        self.out.push(Violation {
            rule,
            severity: rule.severity,
            documents: kinds(documents),
            paths,
            message,
        });
    }

    /// `|a - b| <= tolerance`; `None` when the difference overflows.
    fn within(&self, a: Decimal, b: Decimal) -> Result<(), Option<Decimal>> {
        match a.checked_sub(b).map(|d| d.abs()) {
            Some(d) if d <= self.cfg.amount_tolerance => Ok(()),
            d => Err(d),
        }
    }

    fn difference(&self, d: Option<Decimal>) -> String {
        match d {
            Some(d) => format!("difference {d} > tolerance {}", self.cfg.amount_tolerance),
            None => "difference out of range".to_owned(),
        }
    }

    fn same(&mut self, rule: &'static RuleInfo, a: TextAt<'_>, b: TextAt<'_>) {
        if a.value != b.value {
            self.text_mismatch(rule, a, b);
        }
    }

    /// ID numbers: the check character `x` and `X` are the same.
    fn same_id(&mut self, rule: &'static RuleInfo, a: TextAt<'_>, b: TextAt<'_>) {
        if !a.value.eq_ignore_ascii_case(b.value) {
            self.text_mismatch(rule, a, b);
        }
    }

    fn text_mismatch(&mut self, rule: &'static RuleInfo, a: TextAt<'_>, b: TextAt<'_>) {
        let (pa, pb) = (a.field.path(), b.field.path());
        let message = format!("{pa}={} but {pb}={}", a.shown(), b.shown());
        self.push(rule, &[a.kind, b.kind], vec![pa, pb], message);
    }

    fn same_int(&mut self, rule: &'static RuleInfo, a: IntAt<'_>, b: IntAt<'_>) {
        let (va, vb) = (a.rec.value(a.field.index), b.rec.value(b.field.index));
        let (va, vb) = (&va, &vb);
        let equal = match (a.rec.int(a.field), b.rec.int(b.field)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        };
        if !equal {
            let (pa, pb) = (a.field.path(), b.field.path());
            let message = format!("{pa}={} but {pb}={}", shown_value(va), shown_value(vb));
            self.push(rule, &[a.kind, b.kind], vec![pa, pb], message);
        }
    }

    /// `left = ±right[0] ±right[1] …` within the amount tolerance.
    fn amounts(&mut self, rule: &'static RuleInfo, left: DecAt<'_>, right: &[(Sign, DecAt<'_>)]) {
        let mut sum = Some(Decimal::ZERO);
        let mut all_present = left.get().is_some();
        for (sign, term) in right {
            match term.get() {
                Some(v) => {
                    sum = sum.and_then(|s| match sign {
                        Sign::Plus => s.checked_add(v),
                        Sign::Minus => s.checked_sub(v),
                    });
                }
                None => all_present = false,
            }
        }
        let verdict = match (left.get(), sum, all_present) {
            (Some(l), Some(s), true) => match self.within(l, s) {
                Ok(()) => return,
                Err(d) => Some(d),
            },
            _ => None,
        };
        let mut paths = vec![left.path()];
        let mut docs = vec![left.kind];
        let mut terms = String::new();
        for (n, (sign, term)) in right.iter().enumerate() {
            let p = term.path();
            match (n, sign) {
                (0, Sign::Plus) => {}
                (_, Sign::Plus) => terms.push_str(" + "),
                (_, Sign::Minus) => terms.push_str(" - "),
            }
            terms.push_str(&format!("{p}={}", term.shown()));
            paths.push(p);
            docs.push(term.kind);
        }
        let message = match verdict {
            Some(d) => {
                let total = if right.len() > 1 {
                    sum.map(|s| format!(" = {s}")).unwrap_or_default()
                } else {
                    String::new()
                };
                format!(
                    "{}={} but {terms}{total} ({})",
                    left.path(),
                    left.shown(),
                    self.difference(d)
                )
            }
            None => format!(
                "{}={} cannot be compared with {terms}: a value is absent or not a number",
                left.path(),
                left.shown()
            ),
        };
        self.push(rule, &docs, paths, message);
    }

    fn goods_value<'r>(&mut self, o: At<'_>, lines: impl Iterator<Item = Row<'r>> + Clone) {
        let left = o.dec(oh::GOODS_VALUE);
        let mut sum = Some(Decimal::ZERO);
        let mut all_present = true;
        for l in lines.clone() {
            match l.dec(ol::TOTAL_PRICE) {
                Some(v) => sum = sum.and_then(|s| s.checked_add(v)),
                None => all_present = false,
            }
        }
        let verdict = match (left.get(), sum, all_present) {
            (Some(g), Some(s), true) => match self.within(g, s) {
                Ok(()) => return,
                Err(d) => Some(d),
            },
            _ => None,
        };
        let parts: Vec<String> = lines
            .map(|l| shown_value(&l.value(ol::TOTAL_PRICE.index)))
            .collect();
        let sum_text = sum.map(|s| s.to_string()).unwrap_or_else(|| "?".to_owned());
        let message = match verdict {
            Some(d) => format!(
                "OrderHead/goodsValue={} but the sum of OrderList/totalPrice={sum_text} ({}) ({})",
                left.shown(),
                parts.join(" + "),
                self.difference(d)
            ),
            None => format!(
                "OrderHead/goodsValue={} cannot be compared with the sum of OrderList/totalPrice ({}): a value is absent or not a number",
                left.shown(),
                parts.join(" + ")
            ),
        };
        self.push(
            rule::SET_GOODS_VALUE,
            &[DocKind::Order],
            vec![left.path(), ol::TOTAL_PRICE.path()],
            message,
        );
    }

    fn goods(&mut self, order: Option<&Table>, inventory: Option<&Table>, strings: &Strings) {
        let order: Vec<Row<'_>> = rows(order, strings).collect();
        let inventory: Vec<Row<'_>> = rows(inventory, strings).collect();
        let mut taken = vec![false; inventory.len()];
        let mut pairs: Vec<(usize, usize, bool)> = Vec::with_capacity(order.len());
        let mut unmatched_order: Vec<usize> = Vec::new();
        // By gnum first.
        for (a, ol_rec) in order.iter().enumerate() {
            let g = ol_rec.int(ol::GNUM);
            let hit = g.and_then(|g| {
                inventory
                    .iter()
                    .enumerate()
                    .position(|(b, r)| is_free(&taken, b) && r.int(il::GNUM) == Some(g))
            });
            match hit {
                Some(b) => {
                    take(&mut taken, b);
                    pairs.push((a, b, false));
                }
                None => unmatched_order.push(a),
            }
        }
        // Then by itemNo.
        let mut missing: Vec<usize> = Vec::new();
        for a in unmatched_order {
            let item = order.get(a).map_or("", |r| r.str(ol::ITEM_NO));
            let hit = if item.is_empty() {
                None
            } else {
                inventory
                    .iter()
                    .enumerate()
                    .position(|(b, r)| is_free(&taken, b) && r.str(il::ITEM_NO) == item)
            };
            match hit {
                Some(b) => {
                    take(&mut taken, b);
                    pairs.push((a, b, true));
                }
                None => missing.push(a),
            }
        }
        pairs.sort_unstable();
        for (a, b, by_item) in pairs {
            if let (Some(ra), Some(rb)) = (order.get(a), inventory.get(b)) {
                self.line_pair(*ra, *rb, by_item);
            }
        }
        for r in missing.into_iter().filter_map(|a| order.get(a)) {
            self.unmatched_line(
                ("OrderList", "InventoryList"),
                &r.value(ol::GNUM.index),
                r.str(ol::ITEM_NO),
                r.str(ol::ITEM_NAME),
            );
        }
        for (b, r) in inventory.iter().enumerate() {
            if taken.get(b).copied().unwrap_or(true) {
                continue;
            }
            self.unmatched_line(
                ("InventoryList", "OrderList"),
                &r.value(il::GNUM.index),
                r.str(il::ITEM_NO),
                r.str(il::ITEM_NAME),
            );
        }
    }

    /// A goods line of one document with no counterpart in the other.
    fn unmatched_line(&mut self, (own, other): (&str, &str), gnum: &Value, item: &str, name: &str) {
        let (gnum, item) = (shown_value(gnum), shown_text(item.trim()));
        let message = format!(
            "{own}/gnum={gnum} (itemNo={item}, itemName={}) has no counterpart: no {other}/gnum={gnum} and no {other}/itemNo={item} left",
            shown_text(name.trim()),
        );
        self.push(
            rule::SET_GOODS,
            &[DocKind::Order, DocKind::Inventory],
            vec![ol::GNUM.path(), il::GNUM.path()],
            message,
        );
    }

    fn line_pair(&mut self, a: Row<'_>, b: Row<'_>, by_item: bool) {
        let texts = [
            (ol::ITEM_NO, il::ITEM_NO),
            (ol::ITEM_NAME, il::ITEM_NAME),
            (ol::UNIT, il::UNIT),
        ];
        let nums = [(ol::QTY, il::QTY), (ol::TOTAL_PRICE, il::TOTAL_PRICE)];
        let text_diff = texts.iter().any(|(fa, fb)| a.str(*fa) != b.str(*fb));
        let num_diff = nums
            .iter()
            .any(|(fa, fb)| !same_number(a.dec(*fa), b.dec(*fb)));
        if !text_diff && !num_diff {
            return;
        }
        let line = if by_item {
            format!(
                "OrderList line gnum={} and InventoryList line gnum={} (matched by itemNo)",
                shown_value(&a.value(ol::GNUM.index)),
                shown_value(&b.value(il::GNUM.index))
            )
        } else {
            format!("line gnum={}", shown_value(&a.value(ol::GNUM.index)))
        };
        for (fa, fb) in texts {
            let (va, vb) = (a.str(fa), b.str(fb));
            if va != vb {
                let (pa, pb) = (fa.path(), fb.path());
                let message = format!(
                    "{line}: {pa}={} but {pb}={}",
                    shown_text(va),
                    shown_text(vb)
                );
                self.push(
                    rule::SET_GOODS,
                    &[DocKind::Order, DocKind::Inventory],
                    vec![pa, pb],
                    message,
                );
            }
        }
        for (fa, fb) in nums {
            if !same_number(a.dec(fa), b.dec(fb)) {
                let (pa, pb) = (fa.path(), fb.path());
                let message = format!(
                    "{line}: {pa}={} but {pb}={}",
                    shown_value(&a.value(fa.index)),
                    shown_value(&b.value(fb.index))
                );
                self.push(
                    rule::SET_GOODS,
                    &[DocKind::Order, DocKind::Inventory],
                    vec![pa, pb],
                    message,
                );
            }
        }
    }

    fn weight<'r>(&mut self, i: At<'_>, lines: impl Iterator<Item = Row<'r>>) {
        const KG: &str = "035";
        let gross = i.dec(ih::GROSS_WEIGHT);
        let net = i.dec(ih::NET_WEIGHT);
        let mut kg = Some(Decimal::ZERO);
        let mut parts: Vec<Decimal> = Vec::new();
        let mut uses_qty2 = false;
        for l in lines {
            if l.str(il::UNIT1) == KG
                && let Some(q) = l.dec(il::QTY1)
            {
                kg = kg.and_then(|s| s.checked_add(q));
                parts.push(q);
            }
            if l.str(il::UNIT2) == KG
                && let Some(q) = l.dec(il::QTY2)
            {
                kg = kg.and_then(|s| s.checked_add(q));
                parts.push(q);
                uses_qty2 = true;
            }
        }
        let Some(g) = gross.get() else {
            self.push(
                rule::SET_WEIGHT,
                &[DocKind::Inventory],
                vec![gross.path()],
                format!(
                    "InventoryHead/grossWeight={}: the weights cannot be checked",
                    gross.shown()
                ),
            );
            return;
        };
        if !parts.is_empty() && kg.is_none_or(|k| k > g) {
            let what = if uses_qty2 {
                "InventoryList/qty1 and InventoryList/qty2 in kilograms (unit 035)"
            } else {
                "InventoryList/qty1 in kilograms (unit1 035)"
            };
            let sum = kg.map(|k| k.to_string()).unwrap_or_else(|| "?".to_owned());
            let list: Vec<String> = parts.iter().map(Decimal::to_string).collect();
            let mut paths = vec![il::QTY1.path()];
            if uses_qty2 {
                paths.push(il::QTY2.path());
            }
            paths.push(gross.path());
            self.push(
                rule::SET_WEIGHT,
                &[DocKind::Inventory],
                paths,
                format!(
                    "the sum of {what}={sum} ({}) but InventoryHead/grossWeight={} is less",
                    list.join(" + "),
                    gross.shown()
                ),
            );
        }
        match net.get() {
            Some(n) if n <= g => {}
            _ => self.push(
                rule::SET_WEIGHT,
                &[DocKind::Inventory],
                vec![net.path(), gross.path()],
                format!(
                    "InventoryHead/netWeight={} but InventoryHead/grossWeight={} (net must not exceed gross)",
                    net.shown(),
                    gross.shown()
                ),
            ),
        }
    }

    fn registry(&mut self, reg: &Registry, o: At<'_>, p: At<'_>, w: At<'_>, i: At<'_>) {
        let named: [(Role, TextAt<'_>, TextAt<'_>); 10] = [
            (Role::Platform, o.text(oh::EBP_CODE), o.text(oh::EBP_NAME)),
            (Role::Ecommerce, o.text(oh::EBC_CODE), o.text(oh::EBC_NAME)),
            (Role::Payment, o.text(oh::PAY_CODE), o.text(oh::PAY_NAME)),
            (Role::Payment, p.text(ph::PAY_CODE), p.text(ph::PAY_NAME)),
            (Role::Platform, p.text(ph::EBP_CODE), p.text(ph::EBP_NAME)),
            (
                Role::Logistics,
                w.text(lh::LOGISTICS_CODE),
                w.text(lh::LOGISTICS_NAME),
            ),
            (Role::Platform, i.text(ih::EBP_CODE), i.text(ih::EBP_NAME)),
            (Role::Ecommerce, i.text(ih::EBC_CODE), i.text(ih::EBC_NAME)),
            (
                Role::Logistics,
                i.text(ih::LOGISTICS_CODE),
                i.text(ih::LOGISTICS_NAME),
            ),
            (Role::Agent, i.text(ih::AGENT_CODE), i.text(ih::AGENT_NAME)),
        ];
        #[derive(PartialEq)]
        enum Problem<'r> {
            Unregistered,
            Name(&'r str),
            Role(&'r [Role]),
        }
        let mut found: Vec<(Role, TextAt<'_>, TextAt<'_>, Problem<'_>)> = Vec::new();
        // A set names about five enterprises ten times: look each up once.
        let mut looked: Vec<(&str, Option<&super::Enterprise>)> = Vec::with_capacity(named.len());
        for (role, code, name) in &named {
            // An absent code (an order without payCode) names no enterprise.
            if code.value.is_empty() {
                continue;
            }
            let entry = match looked.iter().find(|(c, _)| *c == code.value) {
                Some(&(_, e)) => e,
                None => {
                    let e = reg.get(code.value);
                    looked.push((code.value, e));
                    e
                }
            };
            let problem = match entry {
                None => Problem::Unregistered,
                Some(e) if e.name != name.value => Problem::Name(&e.name),
                Some(e) if !e.roles.contains(role) => Problem::Role(&e.roles),
                Some(_) => continue,
            };
            found.push((*role, *code, *name, problem));
        }
        // Every place naming the same enterprise, name and role with the
        // same problem is one violation.
        type Found<'f> = (Role, TextAt<'f>, TextAt<'f>, Problem<'f>);
        let mut groups: Vec<Vec<&Found<'_>>> = Vec::new();
        for f in &found {
            let same = |g: &&mut Vec<&Found<'_>>| {
                g.first().is_some_and(|h| {
                    h.0 == f.0 && h.1.value == f.1.value && h.2.value == f.2.value && h.3 == f.3
                })
            };
            match groups.iter_mut().find(same) {
                Some(g) => g.push(f),
                None => groups.push(vec![f]),
            }
        }
        for group in groups {
            let Some(&&(role, code, name, ref problem)) = group.first() else {
                continue;
            };
            let docs: Vec<DocKind> = group.iter().map(|f| f.1.kind).collect();
            let also: Vec<String> = group
                .iter()
                .skip(1)
                .map(|f| match problem {
                    Problem::Name(_) => f.2.field.path(),
                    _ => f.1.field.path(),
                })
                .collect();
            let also_text = if also.is_empty() {
                String::new()
            } else {
                format!(" (also {})", also.join(", "))
            };
            let (first, message) = match problem {
                Problem::Unregistered => (
                    code.field.path(),
                    format!(
                        "{}={}{also_text} is not in the enterprise registry (as {role} {})",
                        code.field.path(),
                        code.value,
                        name.shown()
                    ),
                ),
                Problem::Name(registered) => (
                    name.field.path(),
                    format!(
                        "{}={}{also_text} but the registry names {} as {registered}",
                        name.field.path(),
                        name.shown(),
                        code.value
                    ),
                ),
                Problem::Role(roles) => {
                    let list: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                    (
                        code.field.path(),
                        format!(
                            "{}={}{also_text} is registered as [{}], not as {role}",
                            code.field.path(),
                            code.value,
                            list.join(", ")
                        ),
                    )
                }
            };
            let mut paths = vec![first];
            paths.extend(also);
            self.push(rule::SET_REGISTRY, &docs, paths, message);
        }
    }

    fn single_limit<'r>(&mut self, o: At<'_>, i: At<'_>, mut lines: impl Iterator<Item = Row<'r>>) {
        let limit = self.cfg.single_limit;
        let paid = o.dec(oh::ACTURAL_PAID);
        if let Some(v) = paid.get()
            && v > limit
        {
            self.push(
                rule::SET_SINGLE_LIMIT,
                &[DocKind::Order],
                vec![paid.path()],
                format!(
                    "OrderHead/acturalPaid={} > single-transaction limit {limit}",
                    paid.shown()
                ),
            );
        }
        let freight = i.dec(ih::FREIGHT);
        let insured = i.dec(ih::INSURED_FEE);
        let goods = lines.try_fold(Decimal::ZERO, |acc, l| {
            acc.checked_add(l.dec(il::TOTAL_PRICE)?)
        });
        let total = goods
            .zip(freight.get())
            .zip(insured.get())
            .and_then(|((g, f), s)| g.checked_add(f)?.checked_add(s));
        if let (Some(g), Some(t)) = (goods, total)
            && t > limit
        {
            self.push(
                rule::SET_SINGLE_LIMIT,
                &[DocKind::Inventory],
                vec![il::TOTAL_PRICE.path(), freight.path(), insured.path()],
                format!(
                    "the sum of InventoryList/totalPrice={g} + InventoryHead/freight={} + InventoryHead/insuredFee={} = {t} > single-transaction limit {limit}",
                    freight.shown(),
                    insured.shown()
                ),
            );
        }
    }

    /// `SET_TAX_TOTAL`: the order's taxTotal against the comprehensive tax
    /// of the inventory's lines at the rates of their HS codes (the table
    /// in force on the order's appTime). The dutiable value is the lines'
    /// totalPrice plus the inventory's freight and insuredFee less the
    /// order's discount, shared out over groups of lines with the same
    /// rates in proportion to their totalPrice; each group's tax is
    /// rounded to the fen as customs rounds it. A warning beyond
    /// `tax_tolerance`. `Err` says why it could not be computed.
    fn tax_total<'r>(
        &mut self,
        o: At<'_>,
        i: At<'_>,
        lines: impl Iterator<Item = Row<'r>>,
    ) -> Result<(), String> {
        let tables = self
            .cfg
            .tax
            .clone()
            .ok_or_else(|| "no tax rate tables are loaded".to_owned())?;
        let declared = o.dec(oh::TAX_TOTAL);
        let declared_v = declared
            .get()
            .ok_or_else(|| "OrderHead/taxTotal is not a number".to_owned())?;
        let app_time = o.text(oh::APP_TIME);
        let t = app_time.value;
        let date = t
            .get(0..4)
            .zip(t.get(4..6))
            .zip(t.get(6..8))
            .and_then(|((y, m), d)| crate::subscribe::Date::parse(&format!("{y}-{m}-{d}")))
            .ok_or_else(|| format!("OrderHead/appTime \"{t}\" names no date"))?;
        let table = tables
            .cbec_at(date)
            .ok_or_else(|| format!("no cross-border rate table is in force on {date}"))?;
        // Lines grouped by their (VAT, consumption tax) rates.
        let mut groups: Vec<(Decimal, Decimal, Decimal)> = Vec::new();
        let mut goods = Decimal::ZERO;
        let overflow = || "the amounts are too large to compute".to_owned();
        for l in lines {
            let price = l
                .dec(il::TOTAL_PRICE)
                .ok_or_else(|| "an InventoryList/totalPrice is not a number".to_owned())?;
            let r = table.rates_for(l.str(il::GCODE));
            goods = goods.checked_add(price).ok_or_else(overflow)?;
            match groups
                .iter_mut()
                .find(|(v, c, _)| *v == r.vat && *c == r.consumption)
            {
                Some(g) => g.2 = g.2.checked_add(price).ok_or_else(overflow)?,
                None => groups.push((r.vat, r.consumption, price)),
            }
        }
        let dec =
            |at: DecAt<'_>, name: &str| at.get().ok_or_else(|| format!("{name} is not a number"));
        let adjustment = dec(i.dec(ih::FREIGHT), "InventoryHead/freight")?
            .checked_add(dec(i.dec(ih::INSURED_FEE), "InventoryHead/insuredFee")?)
            .and_then(|a| a.checked_sub(o.dec(oh::DISCOUNT).get().unwrap_or_default()))
            .ok_or_else(overflow)?;
        let mut computed = Decimal::ZERO;
        let mut parts = Vec::with_capacity(groups.len());
        for (vat, consumption, sum) in &groups {
            let share = if goods.is_zero() {
                Decimal::ZERO
            } else {
                adjustment
                    .checked_mul(*sum)
                    .and_then(|a| a.checked_div(goods))
                    .ok_or_else(overflow)?
            };
            let base = sum.checked_add(share).ok_or_else(overflow)?;
            let base = if base.is_sign_negative() {
                Decimal::ZERO
            } else {
                base
            };
            let tax = crate::tax::cbec_tax(base, *vat, *consumption).map_err(|e| e.to_string())?;
            computed = computed.checked_add(tax.total).ok_or_else(overflow)?;
            parts.push(format!(
                "{} at VAT {vat}, consumption tax {consumption}: {}",
                crate::tax::to_fen(base),
                tax.total
            ));
        }
        let differs = declared_v
            .checked_sub(computed)
            .map(|d| d.abs())
            .is_none_or(|d| d > self.cfg.tax_tolerance);
        if differs {
            self.push(
                rule::SET_TAX_TOTAL,
                &[DocKind::Order, DocKind::Inventory],
                vec![declared.path(), il::GCODE.path(), il::TOTAL_PRICE.path()],
                format!(
                    "OrderHead/taxTotal={} but the inventory's lines come to {computed} ({}; rates of the table of {}, tolerance {})",
                    declared.shown(),
                    parts.join("; "),
                    table.effective_from,
                    self.cfg.tax_tolerance
                ),
            );
        }
        Ok(())
    }

    fn annual_limit(&mut self, o: At<'_>, subject: &QuotaSubject, used: Decimal) {
        let limit = self.cfg.annual_limit;
        let total = used.checked_add(subject.amount);
        if total.is_some_and(|t| t <= limit) {
            return;
        }
        let total = total
            .map(|t| t.to_string())
            .unwrap_or_else(|| "?".to_owned());
        let id = o.text(oh::BUYER_ID_NUMBER);
        self.push(
            rule::SET_ANNUAL_LIMIT,
            &[DocKind::Order, DocKind::Inventory],
            vec![id.field.path(), oh::ACTURAL_PAID.path()],
            format!(
                "OrderHead/buyerIdNumber={} has {used} accepted in {} (year from {}) by other orders; OrderHead/acturalPaid={} makes {total} > annual limit {limit}",
                id.shown(),
                subject.year,
                subject.year_path,
                subject.amount
            ),
        );
    }

    fn real_name(&mut self, id_type: TextAt<'_>, number: TextAt<'_>) {
        if id_type.value != "1" || is_prc_id_card(number.value) {
            return;
        }
        let (pt, pn) = (id_type.field.path(), number.field.path());
        let message = format!(
            "{pn}={} is not a PRC ID card number with a valid check digit ({pt}=1)",
            number.shown()
        );
        self.push(rule::SET_REAL_NAME, &[number.kind], vec![pn, pt], message);
    }
}

fn same_number(a: Option<Decimal>, b: Option<Decimal>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x == y)
}

fn is_free(taken: &[bool], n: usize) -> bool {
    taken.get(n).is_some_and(|t| !t)
}

fn take(taken: &mut [bool], n: usize) {
    if let Some(t) = taken.get_mut(n) {
        *t = true;
    }
}
