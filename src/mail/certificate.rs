//! Tax certificates (旅客行李、个人邮递物品进口税款缴纳证) and their payments,
//! with the single window's states verbatim. A certificate is 未支付,
//! 支付处理中, 支付成功, 支付失败 or 已作废; only 未支付 or 支付失败 may be paid,
//! only 支付失败 re-paid, and a payment needs an agreement in 签约成功. A failed
//! payment that was paid again shows as 已重新支付. Each payment keeps its
//! steps and its 协议书号, 付款行行号, 申请扣税时间 and 交易流水号.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::agreement::{Agreement, AgreementState};

/// The state of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateState {
    /// 未支付.
    #[serde(rename = "未支付")]
    Unpaid,
    /// 支付处理中.
    #[serde(rename = "支付处理中")]
    Paying,
    /// 支付成功.
    #[serde(rename = "支付成功")]
    Paid,
    /// 支付失败.
    #[serde(rename = "支付失败")]
    PaymentFailed,
    /// 已作废.
    #[serde(rename = "已作废")]
    Void,
}

impl CertificateState {
    /// The single window's name.
    pub fn zh(self) -> &'static str {
        match self {
            CertificateState::Unpaid => "未支付",
            CertificateState::Paying => "支付处理中",
            CertificateState::Paid => "支付成功",
            CertificateState::PaymentFailed => "支付失败",
            CertificateState::Void => "已作废",
        }
    }
}

/// The state of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaymentState {
    /// 支付处理中.
    #[serde(rename = "支付处理中")]
    Processing,
    /// 支付成功.
    #[serde(rename = "支付成功")]
    Succeeded,
    /// 支付失败.
    #[serde(rename = "支付失败")]
    Failed,
    /// 已重新支付: failed, and paid again by a later payment.
    #[serde(rename = "已重新支付")]
    Repaid,
}

impl PaymentState {
    /// The single window's name.
    pub fn zh(self) -> &'static str {
        match self {
            PaymentState::Processing => "支付处理中",
            PaymentState::Succeeded => "支付成功",
            PaymentState::Failed => "支付失败",
            PaymentState::Repaid => "已重新支付",
        }
    }
}

/// The steps of a payment, as the single window shows them.
pub mod steps {
    /// Submitted.
    pub const SUBMITTED: &str = "支付请求已提交，待发送海关";
    /// Customs approved.
    pub const CUSTOMS_APPROVED: &str = "支付请求海关审批通过，待转发国库";
    /// Forwarded to the treasury.
    pub const FORWARDED: &str = "海关支付指令转发国库成功，待国库/银行回复";
    /// The bank approved.
    pub const BANK_APPROVED: &str = "支付请求银行审批通过，结果待发送海关";
    /// Paid.
    pub const SUCCEEDED: &str = "支付成功 交易成功";
    /// The usual steps before the result, in order.
    pub const BEFORE_RESULT: [&str; 3] = [CUSTOMS_APPROVED, FORWARDED, BANK_APPROVED];
}

/// One step of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStep {
    /// What happened.
    pub note: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
}

/// One payment of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// 交易流水号.
    pub serial: String,
    /// 协议书号 of the agreement it deducts under.
    pub agreement: String,
    /// 付款行行号.
    pub bank_code: String,
    /// 申请扣税时间, ms since the Unix epoch.
    pub requested_ms: u64,
    /// Its state.
    pub state: PaymentState,
    /// The bank's reason when it failed (帐户余额不足 …).
    pub reason: Option<String>,
    /// Its steps.
    pub steps: Vec<PaymentStep>,
}

/// One line of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateLine {
    /// 品名和规格.
    pub description: String,
    /// 数量 (with its unit).
    pub quantity: String,
    /// 完税价格.
    pub value: Decimal,
    /// 税率 as a fraction (0.13).
    pub rate: Decimal,
    /// 进口税金额.
    pub tax: Decimal,
}

/// A tax certificate and its payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// 海关编号 / certificate number (`51002021X40000006501`).
    pub no: String,
    /// 作业单号: the mail number.
    pub mail_no: String,
    /// 申报口岸 (4-digit customs code).
    pub port: String,
    /// 纳税人姓名.
    pub name: String,
    /// The recipient's phone.
    pub phone: String,
    /// The lines.
    pub lines: Vec<CertificateLine>,
    /// 进口税合计.
    pub total: Decimal,
    /// 类型: 邮递物品.
    pub kind: String,
    /// Issued, ms since the Unix epoch.
    pub issued_ms: u64,
    /// The current state.
    pub state: CertificateState,
    /// Every payment, oldest first.
    pub payments: Vec<Payment>,
}

impl Certificate {
    /// Starts a payment (`repay`: a re-payment of a failed one), or says why
    /// not. The agreement must be the payer's and in 签约成功.
    pub fn pay(
        &mut self,
        agreement: &Agreement,
        serial: &str,
        repay: bool,
        at_ms: u64,
    ) -> Result<(), String> {
        use CertificateState as C;
        match (self.state, repay) {
            (C::Unpaid, false) | (C::PaymentFailed, _) => {}
            (C::Unpaid, true) => {
                return Err(format!(
                    "certificate {} is 未支付: only a certificate in 支付失败 can be re-paid; pay it instead",
                    self.no
                ));
            }
            (state, _) => {
                return Err(format!(
                    "certificate {} is {}: only a certificate in 未支付 or 支付失败 can be paid",
                    self.no,
                    state.zh()
                ));
            }
        }
        if !super::mask::may_see(&agreement.phone, &self.phone) {
            return Err(format!(
                "agreement {} is not the payer's of certificate {}",
                agreement.no, self.no
            ));
        }
        if agreement.state != AgreementState::Signed {
            return Err(format!(
                "agreement {} is {}: a payment needs an agreement in 签约成功",
                agreement.no,
                agreement.state.zh()
            ));
        }
        if self.state == C::PaymentFailed
            && let Some(last) = self
                .payments
                .iter_mut()
                .rev()
                .find(|p| p.state == PaymentState::Failed)
        {
            last.state = PaymentState::Repaid;
        }
        self.payments.push(Payment {
            serial: serial.to_owned(),
            agreement: agreement.no.clone(),
            bank_code: agreement.bank_code.clone(),
            requested_ms: at_ms,
            state: PaymentState::Processing,
            reason: None,
            steps: vec![PaymentStep {
                note: steps::SUBMITTED.to_owned(),
                at_ms,
            }],
        });
        self.state = C::Paying;
        Ok(())
    }

    /// The payment in progress.
    fn current(&mut self) -> Result<&mut Payment, String> {
        let no = self.no.clone();
        match self.payments.last_mut() {
            Some(p) if p.state == PaymentState::Processing => Ok(p),
            _ => Err(format!("certificate {no} has no payment in progress")),
        }
    }

    /// Records an intermediate step of the payment in progress.
    pub fn payment_step(&mut self, note: &str, at_ms: u64) -> Result<(), String> {
        let p = self.current()?;
        p.steps.push(PaymentStep {
            note: note.to_owned(),
            at_ms,
        });
        Ok(())
    }

    /// Ends the payment in progress: paid, or failed with the bank's reason.
    pub fn payment_result(&mut self, failure: Option<&str>, at_ms: u64) -> Result<(), String> {
        let p = self.current()?;
        match failure {
            None => {
                p.state = PaymentState::Succeeded;
                p.steps.push(PaymentStep {
                    note: steps::SUCCEEDED.to_owned(),
                    at_ms,
                });
                self.state = CertificateState::Paid;
            }
            Some(reason) => {
                p.state = PaymentState::Failed;
                p.reason = Some(reason.to_owned());
                p.steps.push(PaymentStep {
                    note: format!("支付失败 {reason}"),
                    at_ms,
                });
                self.state = CertificateState::PaymentFailed;
            }
        }
        Ok(())
    }

    /// Voids the certificate (customs reissues or cancels it): only one
    /// that is not paid and not being paid.
    pub fn void(&mut self) -> Result<(), String> {
        match self.state {
            CertificateState::Unpaid | CertificateState::PaymentFailed => {
                self.state = CertificateState::Void;
                Ok(())
            }
            state => Err(format!(
                "certificate {} is {}: only a certificate in 未支付 or 支付失败 can be voided",
                self.no,
                state.zh()
            )),
        }
    }
}
