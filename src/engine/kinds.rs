//! What the engine names: the four document kinds and one table of their
//! head fields ([`DocKind::head`]), set keys, waybill identities, `appType`
//! and the durable id of an inbound document.

use std::fmt;

use serde::Serialize;

use super::EngineError;
use crate::model::Record;
use crate::schema::fields::payment_head as ph;
use crate::schema::fields::{inventory_head as ih, logistics_head as lh, order_head as oh};
use crate::schema::{
    Field, MSG_CEB311, MSG_CEB411, MSG_CEB511, MSG_CEB621, MessageSpec, MessageType, Text,
};

/// The four documents of an order set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum DocKind {
    /// CEB311 电子订单.
    #[serde(rename = "CEB311")]
    Order,
    /// CEB411 支付凭证.
    #[serde(rename = "CEB411")]
    Payment,
    /// CEB511 物流运单.
    #[serde(rename = "CEB511")]
    Waybill,
    /// CEB621 进口清单.
    #[serde(rename = "CEB621")]
    Inventory,
}

/// The head fields the engine needs of one document kind, in one place.
#[derive(Debug)]
pub struct HeadFields {
    /// The message type.
    pub spec: &'static MessageSpec,
    /// `order`, `payment`, `waybill` or `inventory`.
    pub label: &'static str,
    /// `appType`.
    pub app_type: Field<Text>,
    /// `guid` (describes the transmission, not the business content).
    pub guid: Field<Text>,
    /// `appTime` (describes the transmission, not the business content).
    pub app_time: Field<Text>,
    /// `orderNo`.
    pub order_no: Field<Text>,
    /// `ebpCode`; the waybill has none.
    pub ebp_code: Option<Field<Text>>,
}

const HEADS: [HeadFields; 4] = [
    HeadFields {
        spec: &MSG_CEB311,
        label: "order",
        app_type: oh::APP_TYPE,
        guid: oh::GUID,
        app_time: oh::APP_TIME,
        order_no: oh::ORDER_NO,
        ebp_code: Some(oh::EBP_CODE),
    },
    HeadFields {
        spec: &MSG_CEB411,
        label: "payment",
        app_type: ph::APP_TYPE,
        guid: ph::GUID,
        app_time: ph::APP_TIME,
        order_no: ph::ORDER_NO,
        ebp_code: Some(ph::EBP_CODE),
    },
    HeadFields {
        spec: &MSG_CEB511,
        label: "waybill",
        app_type: lh::APP_TYPE,
        guid: lh::GUID,
        app_time: lh::APP_TIME,
        order_no: lh::ORDER_NO,
        ebp_code: None,
    },
    HeadFields {
        spec: &MSG_CEB621,
        label: "inventory",
        app_type: ih::APP_TYPE,
        guid: ih::GUID,
        app_time: ih::APP_TIME,
        order_no: ih::ORDER_NO,
        ebp_code: Some(ih::EBP_CODE),
    },
];

impl DocKind {
    /// All four, in set order.
    pub const ALL: [DocKind; 4] = [
        DocKind::Order,
        DocKind::Payment,
        DocKind::Waybill,
        DocKind::Inventory,
    ];

    /// The kind of a message type, if it is one of the four.
    pub fn of(spec: &MessageSpec) -> Option<DocKind> {
        match spec.ty {
            MessageType::Ceb311 => Some(DocKind::Order),
            MessageType::Ceb411 => Some(DocKind::Payment),
            MessageType::Ceb511 => Some(DocKind::Waybill),
            MessageType::Ceb621 => Some(DocKind::Inventory),
            _ => None,
        }
    }

    /// Its head fields.
    pub fn head(self) -> &'static HeadFields {
        match self {
            DocKind::Order => &HEADS[0],
            DocKind::Payment => &HEADS[1],
            DocKind::Waybill => &HEADS[2],
            DocKind::Inventory => &HEADS[3],
        }
    }

    /// The message type's rules.
    pub fn spec(self) -> &'static MessageSpec {
        self.head().spec
    }

    /// The short type name (`CEB311`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// `order`, `payment`, `waybill` or `inventory`.
    pub fn label(self) -> &'static str {
        self.head().label
    }

    /// Its place in a set: 0 to 3.
    pub(crate) fn index(self) -> usize {
        match self {
            DocKind::Order => 0,
            DocKind::Payment => 1,
            DocKind::Waybill => 2,
            DocKind::Inventory => 3,
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.label())
    }
}

/// The key of an order set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SetKey {
    /// `orderNo`.
    #[serde(rename = "orderNo")]
    pub order_no: String,
    /// `ebpCode`.
    #[serde(rename = "ebpCode")]
    pub ebp_code: String,
}

impl SetKey {
    /// A key from its two parts.
    pub fn new(order_no: impl Into<String>, ebp_code: impl Into<String>) -> SetKey {
        SetKey {
            order_no: order_no.into(),
            ebp_code: ebp_code.into(),
        }
    }
}

impl fmt::Display for SetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "orderNo={},ebpCode={}", self.order_no, self.ebp_code)
    }
}

/// The identity of a waybill: `logisticsCode` + `logisticsNo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct WaybillId {
    pub code: String,
    pub no: String,
}

impl fmt::Display for WaybillId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "logisticsCode={},logisticsNo={}", self.code, self.no)
    }
}

/// The durable id of one inbound document: the gateway's id of the message
/// it came in (the store's, or a file's position for `check`) and its place
/// in that message (a message carries 1 to 100 documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct InboundId {
    /// The inbound message.
    pub message: u64,
    /// The document's index in the message, from 0.
    pub document: u32,
}

impl InboundId {
    /// The id of document `document` of message `message`.
    pub fn new(message: u64, document: u32) -> InboundId {
        InboundId { message, document }
    }
}

impl fmt::Display for InboundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.message, self.document)
    }
}

/// `appType`: what a document asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    /// `1` 新增.
    New,
    /// `2` 变更.
    Change,
    /// `3` 删除.
    Delete,
}

impl AppType {
    /// `new`, `change` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::New => "new",
            AppType::Change => "change",
            AppType::Delete => "delete",
        }
    }

    pub(crate) fn parse(kind: DocKind, head: &Record) -> Result<AppType, EngineError> {
        match head.str(kind.head().app_type).trim() {
            "1" => Ok(AppType::New),
            "2" => Ok(AppType::Change),
            "3" => Ok(AppType::Delete),
            other => Err(EngineError::BadAppType {
                kind,
                value: other.to_owned(),
            }),
        }
    }
}

/// How a waybill was attached to its set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaybillLink {
    /// The set's inventory names its `logisticsCode` + `logisticsNo`.
    LogisticsNo,
    /// It is the only set with the waybill's `orderNo`.
    OrderNo,
}
