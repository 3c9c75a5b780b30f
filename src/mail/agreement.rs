//! Three-party agreements (三方协议: payer, bank, customs), with the single
//! window's states verbatim: 签约处理中 → 签约成功 or 签约失败; 签约成功 →
//! 解约处理中 → 解约成功. Only an agreement in 签约成功 can be cancelled, and
//! only one in 签约成功 pays. Each step keeps its 状态说明 and time.

use serde::{Deserialize, Serialize};

/// The state of an agreement, as the single window names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgreementState {
    /// 签约处理中.
    #[serde(rename = "签约处理中")]
    Signing,
    /// 签约成功.
    #[serde(rename = "签约成功")]
    Signed,
    /// 签约失败.
    #[serde(rename = "签约失败")]
    SignFailed,
    /// 解约处理中.
    #[serde(rename = "解约处理中")]
    Cancelling,
    /// 解约成功.
    #[serde(rename = "解约成功")]
    Cancelled,
}

impl AgreementState {
    /// The single window's name.
    pub fn zh(self) -> &'static str {
        match self {
            AgreementState::Signing => "签约处理中",
            AgreementState::Signed => "签约成功",
            AgreementState::SignFailed => "签约失败",
            AgreementState::Cancelling => "解约处理中",
            AgreementState::Cancelled => "解约成功",
        }
    }
}

/// 状态说明 the single window shows for each step of signing and cancelling.
pub mod notes {
    /// The request was submitted.
    pub const SUBMITTED: &str = "签约请求已提交，待发送海关";
    /// Customs approved, forwarding to the bank.
    pub const CUSTOMS_APPROVED: &str = "签约请求海关审批通过，待转发银行";
    /// Customs forwarded the instruction to the treasury.
    pub const FORWARDED: &str = "海关签约指令转发国库成功，待国库/银行回复";
    /// The bank verified the payer and account.
    pub const VERIFIED: &str = "验证成功";
    /// In force.
    pub const SIGNED: &str = "签约成功，协议已生效";
    /// The bank refused.
    pub const BANK_REFUSED: &str = "签约申请银行审批不通过，结果待发送海关";
    /// Verification failed.
    pub const VERIFY_FAILED: &str = "验证失败，协议不存在或信息有误";
    /// A cancellation was submitted.
    pub const CANCEL_SUBMITTED: &str = "解约请求已提交，待发送海关";
    /// Cancelled.
    pub const CANCELLED: &str = "解约成功，协议已终止";
}

/// One step: the state after it, its 状态说明 and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementStep {
    /// The state after the step.
    pub state: AgreementState,
    /// 状态说明.
    pub note: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
}

/// A three-party agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// 协议书号.
    pub no: String,
    /// The payer's phone (the recipient the agreement belongs to).
    pub phone: String,
    /// 缴款单位名称 / the payer's name.
    pub payer: String,
    /// 关区 (4-digit customs code).
    pub customs: String,
    /// 付款行行号 (the bank's clearing number).
    pub bank_code: String,
    /// 开户账号 (kept whole; masked in every output).
    pub account: String,
    /// The current state.
    pub state: AgreementState,
    /// Every step, oldest first.
    pub steps: Vec<AgreementStep>,
}

/// What happens to an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgreementEvent {
    /// An intermediate step while signing or cancelling (状态说明 only).
    Progress(String),
    /// The bank verified: 签约成功.
    Succeeded,
    /// Refused, with the 状态说明: 签约失败.
    Failed(String),
    /// The payer asks to cancel: 解约处理中.
    Cancel,
    /// The cancellation went through: 解约成功.
    CancelDone,
}

impl Agreement {
    /// A new agreement being signed (签约处理中, 签约请求已提交，待发送海关).
    pub fn sign(
        no: &str,
        phone: &str,
        payer: &str,
        customs: &str,
        bank_code: &str,
        account: &str,
        at_ms: u64,
    ) -> Agreement {
        Agreement {
            no: no.to_owned(),
            phone: phone.to_owned(),
            payer: payer.to_owned(),
            customs: customs.to_owned(),
            bank_code: bank_code.to_owned(),
            account: account.to_owned(),
            state: AgreementState::Signing,
            steps: vec![AgreementStep {
                state: AgreementState::Signing,
                note: notes::SUBMITTED.to_owned(),
                at_ms,
            }],
        }
    }

    /// Applies an event, or says why it cannot apply.
    pub fn apply(&mut self, event: &AgreementEvent, at_ms: u64) -> Result<(), String> {
        use AgreementState as S;
        let (state, note) = match (self.state, event) {
            (S::Signing | S::Cancelling, AgreementEvent::Progress(note)) => {
                (self.state, note.clone())
            }
            (S::Signing, AgreementEvent::Succeeded) => (S::Signed, notes::SIGNED.to_owned()),
            (S::Signing, AgreementEvent::Failed(note)) => (S::SignFailed, note.clone()),
            (S::Signed, AgreementEvent::Cancel) => {
                (S::Cancelling, notes::CANCEL_SUBMITTED.to_owned())
            }
            (S::Cancelling, AgreementEvent::CancelDone) => {
                (S::Cancelled, notes::CANCELLED.to_owned())
            }
            (S::Signing, AgreementEvent::Cancel) => {
                return Err(format!(
                    "agreement {} is {}: only an agreement in 签约成功 can be cancelled; wait for the bank's answer",
                    self.no,
                    self.state.zh()
                ));
            }
            (state, AgreementEvent::Cancel) => {
                return Err(format!(
                    "agreement {} is {}: only an agreement in 签约成功 can be cancelled",
                    self.no,
                    state.zh()
                ));
            }
            (state, event) => {
                return Err(format!(
                    "agreement {} is {}: {} does not apply to it",
                    self.no,
                    state.zh(),
                    describe(event)
                ));
            }
        };
        self.state = state;
        self.steps.push(AgreementStep { state, note, at_ms });
        Ok(())
    }
}

fn describe(event: &AgreementEvent) -> String {
    match event {
        AgreementEvent::Progress(note) => format!("the step \"{note}\""),
        AgreementEvent::Succeeded => "a signing success".to_owned(),
        AgreementEvent::Failed(note) => format!("a signing failure (\"{note}\")"),
        AgreementEvent::Cancel => "a cancellation".to_owned(),
        AgreementEvent::CancelDone => "a completed cancellation".to_owned(),
    }
}
