//! A mail item's customs status, by mail number: a durable state machine
//! whose moves are listed in one table ([`MailStatus::next`]); any move not
//! listed is refused, so a status never moves back.
//!
//! ```text
//! arrived ─► released
//!         ├► declaration_required ─► under_review ─► rejected ─► under_review (declared again)
//!         │                                      ├► tax_pending ─► tax_paid ─► released
//!         │                                      │             └► tax_review ─► tax_pending | released_without_tax
//!         │                                      ├► released_without_tax (tax of 50 CNY or less)
//!         │                                      └► interview ─► tax_pending | released_without_tax | rejected
//!         └► return_requested ─► returned          (also from declaration_required, rejected,
//!                                                   interview, tax_pending)
//! tax_paid | released (after payment) ─► refund_requested ─► refunded
//! ```

use serde::{Deserialize, Serialize};

/// The status of a mail item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// 已运抵: arrived at the customs mail office.
    Arrived,
    /// 待申报: the recipient must make a supplementary declaration (补充申报).
    DeclarationRequired,
    /// 待审核: a declaration waits for customs' review.
    UnderReview,
    /// 未通过: the declaration was rejected; it may be declared again.
    Rejected,
    /// 现场面洽: the recipient is asked to come in.
    Interview,
    /// 待缴税: tax is due (a certificate was issued).
    TaxPending,
    /// 税款复核: the recipient asked for a review of the tax.
    TaxReview,
    /// 已缴税: the tax is paid.
    TaxPaid,
    /// 免税放行: released without tax (tax of 50 CNY or less).
    ReleasedWithoutTax,
    /// 放行: released.
    Released,
    /// 退税申请: a refund of the paid tax was asked for.
    RefundRequested,
    /// 已退税: the tax was refunded.
    Refunded,
    /// 退运申请: the recipient asked to return the item.
    ReturnRequested,
    /// 已退运: returned abroad.
    Returned,
}

impl MailStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [MailStatus; 14] = [
        MailStatus::Arrived,
        MailStatus::DeclarationRequired,
        MailStatus::UnderReview,
        MailStatus::Rejected,
        MailStatus::Interview,
        MailStatus::TaxPending,
        MailStatus::TaxReview,
        MailStatus::TaxPaid,
        MailStatus::ReleasedWithoutTax,
        MailStatus::Released,
        MailStatus::RefundRequested,
        MailStatus::Refunded,
        MailStatus::ReturnRequested,
        MailStatus::Returned,
    ];

    /// The name in messages and JSON (`tax_pending`).
    pub fn code(self) -> &'static str {
        match self {
            MailStatus::Arrived => "arrived",
            MailStatus::DeclarationRequired => "declaration_required",
            MailStatus::UnderReview => "under_review",
            MailStatus::Rejected => "rejected",
            MailStatus::Interview => "interview",
            MailStatus::TaxPending => "tax_pending",
            MailStatus::TaxReview => "tax_review",
            MailStatus::TaxPaid => "tax_paid",
            MailStatus::ReleasedWithoutTax => "released_without_tax",
            MailStatus::Released => "released",
            MailStatus::RefundRequested => "refund_requested",
            MailStatus::Refunded => "refunded",
            MailStatus::ReturnRequested => "return_requested",
            MailStatus::Returned => "returned",
        }
    }

    /// The Chinese name recipients see.
    pub fn zh(self) -> &'static str {
        match self {
            MailStatus::Arrived => "已运抵",
            MailStatus::DeclarationRequired => "待申报",
            MailStatus::UnderReview => "待审核",
            MailStatus::Rejected => "未通过",
            MailStatus::Interview => "现场面洽",
            MailStatus::TaxPending => "待缴税",
            MailStatus::TaxReview => "税款复核中",
            MailStatus::TaxPaid => "已缴税",
            MailStatus::ReleasedWithoutTax => "免税放行",
            MailStatus::Released => "放行",
            MailStatus::RefundRequested => "退税申请中",
            MailStatus::Refunded => "已退税",
            MailStatus::ReturnRequested => "退运申请中",
            MailStatus::Returned => "已退运",
        }
    }

    /// From its code.
    pub fn parse(code: &str) -> Option<MailStatus> {
        MailStatus::ALL
            .into_iter()
            .find(|s| s.code() == code.trim())
    }

    /// The statuses it may move to.
    pub fn next(self) -> &'static [MailStatus] {
        use MailStatus as S;
        match self {
            S::Arrived => &[S::Released, S::DeclarationRequired, S::ReturnRequested],
            S::DeclarationRequired => &[S::UnderReview, S::ReturnRequested],
            S::UnderReview => &[
                S::Rejected,
                S::TaxPending,
                S::ReleasedWithoutTax,
                S::Interview,
            ],
            S::Rejected => &[S::UnderReview, S::ReturnRequested],
            S::Interview => &[
                S::TaxPending,
                S::ReleasedWithoutTax,
                S::Rejected,
                S::ReturnRequested,
            ],
            S::TaxPending => &[S::TaxPaid, S::TaxReview, S::ReturnRequested],
            S::TaxReview => &[S::TaxPending, S::ReleasedWithoutTax],
            S::TaxPaid => &[S::Released, S::RefundRequested],
            S::Released => &[S::RefundRequested],
            S::RefundRequested => &[S::Refunded],
            S::ReturnRequested => &[S::Returned],
            S::ReleasedWithoutTax | S::Refunded | S::Returned => &[],
        }
    }

    /// `tax_pending 待缴税`.
    pub fn label(self) -> String {
        format!("{} {}", self.code(), self.zh())
    }
}

/// One step of a mail item's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailStep {
    /// The status it moved to.
    pub status: MailStatus,
    /// Why (customs' reason, the declaration, the certificate …).
    pub reason: String,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
}

/// A mail item and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailItem {
    /// The mail number (邮件号).
    pub mail_no: String,
    /// The current status.
    pub status: MailStatus,
    /// Whether tax was paid (a refund needs it).
    pub paid: bool,
    /// Every status it had, oldest first.
    pub history: Vec<MailStep>,
}

impl MailItem {
    /// A mail item that arrived.
    pub fn arrived(mail_no: &str, reason: &str, at_ms: u64) -> MailItem {
        MailItem {
            mail_no: mail_no.to_owned(),
            status: MailStatus::Arrived,
            paid: false,
            history: vec![MailStep {
                status: MailStatus::Arrived,
                reason: reason.to_owned(),
                at_ms,
            }],
        }
    }

    /// Moves to `to`, or says why not. A move to the current status is
    /// refused too (it would record nothing new).
    pub fn advance(&mut self, to: MailStatus, reason: &str, at_ms: u64) -> Result<(), String> {
        if !self.status.next().contains(&to) {
            let allowed: Vec<String> = self.status.next().iter().map(|s| s.label()).collect();
            let allowed = if allowed.is_empty() {
                "nothing: it is final".to_owned()
            } else {
                allowed.join(", ")
            };
            return Err(format!(
                "mail item {} is {}; it cannot move to {} (from {} only to {allowed})",
                self.mail_no,
                self.status.label(),
                to.label(),
                self.status.zh()
            ));
        }
        if to == MailStatus::RefundRequested && !self.paid {
            return Err(format!(
                "mail item {} paid no tax; there is nothing to refund",
                self.mail_no
            ));
        }
        if to == MailStatus::TaxPaid {
            self.paid = true;
        }
        self.status = to;
        self.history.push(MailStep {
            status: to,
            reason: reason.to_owned(),
            at_ms,
        });
        Ok(())
    }
}
