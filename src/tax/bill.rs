//! Electronic tax bills (CEB816 电子税单) and their status (CEB818 电子税单状态):
//! one bill per `taxNo`, linked to its inventory by `invtNo` (and `orderNo`
//! when the receipt carries it). Its status moves 1 已生成 → 2 已汇总 or
//! 1 已生成 → 3 作废 only; `entDutyNo` (缴款书编号, the payment certificate
//! the bill was summarised into) is recorded once. Pure: the `check`
//! command and the daemon's pipeline apply the same [`TaxBill::apply`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{Document, Value};
use crate::schema::{MessageSpec, MessageType};
use crate::track;

/// The status of a tax bill (serialised as its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BillStatus {
    /// 1 已生成.
    #[serde(rename = "1")]
    Generated,
    /// 2 已汇总.
    #[serde(rename = "2")]
    Summarised,
    /// 3 作废.
    #[serde(rename = "3")]
    Void,
}

impl BillStatus {
    /// From the code (`1`, `2`, `3`).
    pub fn parse(code: &str) -> Option<BillStatus> {
        match code.trim() {
            "1" => Some(BillStatus::Generated),
            "2" => Some(BillStatus::Summarised),
            "3" => Some(BillStatus::Void),
            _ => None,
        }
    }

    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            BillStatus::Generated => "1",
            BillStatus::Summarised => "2",
            BillStatus::Void => "3",
        }
    }

    /// The name customs gives it.
    pub fn zh(self) -> &'static str {
        match self {
            BillStatus::Generated => "已生成",
            BillStatus::Summarised => "已汇总",
            BillStatus::Void => "作废",
        }
    }

    /// `1 已生成`.
    pub fn label(self) -> String {
        format!("{} {}", self.code(), self.zh())
    }
}

/// One tax-bill receipt (a CEB816 or CEB818 document), as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillUpdate {
    /// `CEB816` or `CEB818`.
    pub ty: String,
    /// `taxNo`.
    pub tax_no: String,
    /// `invtNo`.
    pub invt_no: String,
    /// `orderNo` (real CEB816 receipts carry it; the XSD does not).
    pub order_no: Option<String>,
    /// `logisticsNo` (or `logisticNo`), likewise.
    pub logistics_no: Option<String>,
    /// `status` as written.
    pub code: String,
    /// `returnTime`.
    pub time: String,
    /// `entDutyNo`.
    pub ent_duty_no: Option<String>,
    /// `ebcCode` (CEB816 only).
    pub ebc_code: Option<String>,
    /// `customsTax`, `valueAddedTax`, `consumptionTax` (CEB816 only).
    pub amounts: Option<BillAmounts>,
}

/// The taxes a CEB816 bills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillAmounts {
    /// 应征关税.
    pub customs_tax: Decimal,
    /// 应征增值税.
    pub value_added_tax: Decimal,
    /// 应征消费税.
    pub consumption_tax: Decimal,
    /// Number of `TaxListRd` lines.
    pub lines: usize,
}

impl BillUpdate {
    /// The update a CEB816 or CEB818 document makes; `None` for another
    /// type or a document without `taxNo`.
    pub fn of(spec: &MessageSpec, doc: &Document) -> Option<BillUpdate> {
        if !matches!(spec.ty, MessageType::Ceb816 | MessageType::Ceb818) {
            return None;
        }
        let get = |name: &str| track::field(doc, spec, name);
        let dec = |name: &str| {
            let i = spec.head.fields.iter().position(|f| f.name == name)?;
            match doc.head.value(i) {
                Value::Dec(d) => Some(d),
                _ => None,
            }
        };
        let amounts = (spec.ty == MessageType::Ceb816).then(|| BillAmounts {
            customs_tax: dec("customsTax").unwrap_or_default(),
            value_added_tax: dec("valueAddedTax").unwrap_or_default(),
            consumption_tax: dec("consumptionTax").unwrap_or_default(),
            lines: doc.lines.len(),
        });
        Some(BillUpdate {
            ty: spec.name.to_owned(),
            tax_no: get("taxNo")?,
            invt_no: get("invtNo").unwrap_or_default(),
            order_no: get("orderNo"),
            logistics_no: get("logisticsNo").or_else(|| get("logisticNo")),
            code: get("status").unwrap_or_default(),
            time: get("returnTime").unwrap_or_default(),
            ent_duty_no: get("entDutyNo"),
            ebc_code: get("ebcCode"),
            amounts,
        })
    }
}

/// One step of a bill's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillEvent {
    /// `CEB816` or `CEB818`.
    pub ty: String,
    /// The status code it carried.
    pub code: String,
    /// Its `returnTime`.
    pub time: String,
    /// What it did (`applied`, `repeated`, or why it changed nothing).
    pub outcome: String,
}

/// A tax bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBill {
    /// `taxNo`.
    pub tax_no: String,
    /// `invtNo`.
    pub invt_no: String,
    /// `orderNo`, when a receipt carried it.
    pub order_no: Option<String>,
    /// `logisticsNo`, when a receipt carried it.
    pub logistics_no: Option<String>,
    /// The current status.
    pub status: BillStatus,
    /// `entDutyNo`, once known.
    pub ent_duty_no: Option<String>,
    /// `ebcCode`, once known.
    pub ebc_code: Option<String>,
    /// The billed taxes, once a CEB816 came.
    pub amounts: Option<BillAmounts>,
    /// Every receipt, in arrival order.
    pub history: Vec<BillEvent>,
}

/// What one receipt did to its bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A new bill, or a status change.
    Changed,
    /// The same status again (a resend, or the CEB818 of a CEB816).
    Repeated,
    /// Kept in the history; status, `entDutyNo` and enterprise unchanged:
    /// the status would move back or sideways, or the code is unknown, or
    /// `entDutyNo` or `invtNo` differs from the bill's. (`orderNo` and
    /// `logisticsNo` the bill lacked are still taken from a receipt refused
    /// only for its status.)
    Refused(String),
}

impl TaxBill {
    /// A bill from its first receipt; `Err` with the reason when its code
    /// is not a status.
    pub fn new(update: &BillUpdate) -> Result<TaxBill, String> {
        let status = BillStatus::parse(&update.code).ok_or_else(|| unknown(&update.code))?;
        Ok(TaxBill {
            tax_no: update.tax_no.clone(),
            invt_no: update.invt_no.clone(),
            order_no: update.order_no.clone(),
            logistics_no: update.logistics_no.clone(),
            status,
            ent_duty_no: update.ent_duty_no.clone(),
            ebc_code: update.ebc_code.clone(),
            amounts: update.amounts.clone(),
            history: vec![event(update, "applied")],
        })
    }

    /// Applies a later receipt of the same `taxNo`.
    pub fn apply(&mut self, update: &BillUpdate) -> Applied {
        let outcome = self.decide(update);
        let text = match &outcome {
            Applied::Changed => "applied".to_owned(),
            Applied::Repeated => "repeated".to_owned(),
            Applied::Refused(why) => why.clone(),
        };
        self.history.push(event(update, &text));
        let taken = matches!(outcome, Applied::Changed | Applied::Repeated);
        // A receipt refused only for its status (a CEB816 resent after
        // 已汇总) still names the bill rightly: the identifiers the bill
        // lacked (orderNo, logisticsNo, amounts) are taken from it. One that
        // contradicts the bill's invtNo or entDutyNo gives nothing, and the
        // enterprise (which decides who receives the bill) comes only from
        // a receipt that was taken.
        if !taken && self.contradicts(update) {
            return outcome;
        }
        if taken {
            if let Some(s) = BillStatus::parse(&update.code) {
                self.status = s;
            }
            if self.ent_duty_no.is_none() {
                self.ent_duty_no.clone_from(&update.ent_duty_no);
            }
            if self.ebc_code.is_none() {
                self.ebc_code.clone_from(&update.ebc_code);
            }
        }
        if self.order_no.is_none() {
            self.order_no.clone_from(&update.order_no);
        }
        if self.logistics_no.is_none() {
            self.logistics_no.clone_from(&update.logistics_no);
        }
        if self.amounts.is_none() {
            self.amounts.clone_from(&update.amounts);
        }
        if self.invt_no.is_empty() {
            self.invt_no.clone_from(&update.invt_no);
        }
        outcome
    }

    /// Whether a receipt names another invtNo or entDutyNo than the bill.
    fn contradicts(&self, update: &BillUpdate) -> bool {
        let duty = matches!(
            (&self.ent_duty_no, &update.ent_duty_no),
            (Some(a), Some(b)) if a != b
        );
        let invt = !self.invt_no.is_empty()
            && !update.invt_no.is_empty()
            && self.invt_no != update.invt_no;
        duty || invt
    }

    fn decide(&self, update: &BillUpdate) -> Applied {
        let Some(to) = BillStatus::parse(&update.code) else {
            return Applied::Refused(unknown(&update.code));
        };
        if let (Some(had), Some(new)) = (&self.ent_duty_no, &update.ent_duty_no)
            && had != new
        {
            return Applied::Refused(format!(
                "entDutyNo {new} differs from the recorded {had}; the bill keeps {had}"
            ));
        }
        if !self.invt_no.is_empty() && !update.invt_no.is_empty() && self.invt_no != update.invt_no
        {
            return Applied::Refused(format!(
                "invtNo {} differs from the bill's {}; changed nothing",
                update.invt_no, self.invt_no
            ));
        }
        match (self.status, to) {
            (a, b) if a == b => Applied::Repeated,
            (BillStatus::Generated, BillStatus::Summarised | BillStatus::Void) => Applied::Changed,
            (from, to) => Applied::Refused(format!(
                "status {} after {}: a tax bill moves 1 → 2 or 1 → 3 only; it stays {}",
                to.label(),
                from.label(),
                from.label()
            )),
        }
    }
}

fn unknown(code: &str) -> String {
    format!(
        "status \"{code}\" is not a tax-bill status (1 已生成, 2 已汇总, 3 作废); changed nothing"
    )
}

fn event(update: &BillUpdate, outcome: &str) -> BillEvent {
    BillEvent {
        ty: update.ty.clone(),
        code: update.code.clone(),
        time: update.time.clone(),
        outcome: outcome.to_owned(),
    }
}
