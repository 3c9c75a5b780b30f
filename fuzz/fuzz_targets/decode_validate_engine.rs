//! Any bytes through the whole pure core: decode (`decode_any`, so
//! unsupported customs messages too), validate (both modes),
//! write and read back, and the cross-document engine with every document
//! of the message alongside the complete order of `samples/set-ok`.
//!
//! The only failure is a panic (or the writer writing what the reader
//! refuses). See `fuzz/README.md`.

#![no_main]

use customs_gateway::codec::{self, Content, EncodeOptions};
use customs_gateway::engine::{DocKind, Engine, EngineConfig, InboundId};
use customs_gateway::model::Message;
use customs_gateway::validate::{Mode, validate};
use libfuzzer_sys::fuzz_target;

/// The four documents of one complete, valid order.
const SET_OK: [&[u8]; 4] = [
    include_bytes!("../../samples/set-ok/CEB311-order.xml"),
    include_bytes!("../../samples/set-ok/CEB411-payment.xml"),
    include_bytes!("../../samples/set-ok/CEB511-waybill.xml"),
    include_bytes!("../../samples/set-ok/CEB621-inventory.xml"),
];

fn engine(message: &Message) {
    let business = message.business();
    if DocKind::of(business.spec).is_none() {
        return;
    }
    let Ok(mut engine) = Engine::new(EngineConfig::default(), None) else {
        return;
    };
    for doc in &business.documents {
        let _ = engine.submit(business.spec, doc, InboundId::new(1, 0), 1_000);
    }
    for bytes in SET_OK {
        if let Ok(other) = codec::decode(bytes) {
            for doc in &other.message.documents {
                let _ = engine.submit(other.message.spec, doc, InboundId::new(2, 0), 2_000);
            }
        }
    }
    for report in engine.reports() {
        let _ = engine.receipts(&report.key, 3_000);
    }
    let _ = engine.overdue(u64::MAX);
}

fuzz_target!(|data: &[u8]| {
    let decoded = match codec::decode_any(data) {
        Ok(Content::Message(decoded)) => decoded,
        Ok(Content::Unsupported(unsupported)) => {
            let _ = unsupported.diagnostic();
            return;
        }
        Err(_) => return,
    };
    let message = &decoded.message;
    let _ = validate(message, Mode::Read);
    let _ = validate(message, Mode::Write);
    if let Ok(written) = codec::encode(message, &EncodeOptions::default()) {
        match codec::decode(&written) {
            Ok(again) => {
                let _ = validate(&again.message, Mode::Read);
            }
            Err(e) => panic!("the writer wrote what the reader refuses: {e}"),
        }
    }
    engine(message);
});
