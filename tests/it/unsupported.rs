//! Customs messages the gateway does not model (CEB712, CEB711, CEB626, the
//! SAS `Package`…) are read as unsupported: listed with their root and
//! business key, one info diagnostic, no error. A root in a foreign
//! namespace is still UNKNOWN_ROOT.

use base64::Engine as _;
use customs_gateway::codec::{self, CodecError, Content, Limits};
use customs_gateway::inspect::inspect_bytes;
use customs_gateway::schema::{NS_CEB, Severity};

use crate::util;

/// CEB712 入库明细单回执 (fields as in the 2022 XSD's DeliveryReturn).
const CEB712: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CEB712Message xmlns="http://www.chinaport.gov.cn/ceb" guid="5C2E1B7A-0D3F-4F8E-9A61-2B7C9D0E1F23" version="1.0">
    <DeliveryReturn>
        <guid>8F1D2C3B-4A5E-4F60-8B7C-9D0E1F2A3B4C</guid>
        <customsCode>2991</customsCode>
        <operatorCode>3301980D04</operatorCode>
        <copNo>RKD20261121000001</copNo>
        <preNo>D20261121000000001</preNo>
        <rkdNo>29912026I000000001</rkdNo>
        <returnStatus>120</returnStatus>
        <returnTime>20261121101500123</returnTime>
        <returnInfo>[Code:1800;Desc:逻辑校验通过]</returnInfo>
    </DeliveryReturn>
</CEB712Message>"#;

/// CEB711 入库明细单 (DeliveryHead as in the 2022 XSD).
const CEB711: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB711Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="0E4B1D9C-7A2F-4C35-8E60-1F2A3B4C5D6E" version="1.0">
    <ceb:Delivery>
        <ceb:DeliveryHead>
            <ceb:guid>A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D</ceb:guid>
            <ceb:appType>1</ceb:appType>
            <ceb:appTime>20261121120000</ceb:appTime>
            <ceb:appStatus>2</ceb:appStatus>
            <ceb:customsCode>2991</ceb:customsCode>
            <ceb:copNo>RKD20261121000002</ceb:copNo>
            <ceb:preNo></ceb:preNo>
            <ceb:rkdNo></ceb:rkdNo>
            <ceb:operatorCode>3301980D04</ceb:operatorCode>
            <ceb:operatorName>示例国际物流有限公司</ceb:operatorName>
            <ceb:ieFlag>I</ceb:ieFlag>
            <ceb:trafMode>5</ceb:trafMode>
            <ceb:trafNo>CA1234</ceb:trafNo>
            <ceb:voyageNo>20261121</ceb:voyageNo>
            <ceb:billNo>999-12345675</ceb:billNo>
            <ceb:logisticsCode>3301980D04</ceb:logisticsCode>
            <ceb:logisticsName>示例国际物流有限公司</ceb:logisticsName>
            <ceb:unloadLocation>2991</ceb:unloadLocation>
        </ceb:DeliveryHead>
        <ceb:DeliveryList>
            <ceb:gnum>1</ceb:gnum>
            <ceb:logisticsNo>YT2026112100001</ceb:logisticsNo>
        </ceb:DeliveryList>
    </ceb:Delivery>
</ceb:CEB711Message>"#;

/// CEB626 退货申请单回执 (InvtRefundReturn as in the 2022 XSD), with the `ceb:` prefix.
const CEB626: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ceb:CEB626Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="9D8C7B6A-5F4E-4D3C-2B1A-0F9E8D7C6B5A" version="1.0">
    <ceb:InvtRefundReturn>
        <ceb:guid>1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D</ceb:guid>
        <ceb:customsCode>2991</ceb:customsCode>
        <ceb:agentCode>3301960B02</ceb:agentCode>
        <ceb:ebpCode>3301960A01</ceb:ebpCode>
        <ceb:ebcCode>3301960B02</ceb:ebcCode>
        <ceb:copNo>TH20261121000001</ceb:copNo>
        <ceb:preNo>B20261121000000009</ceb:preNo>
        <ceb:invtNo>29912026I000012345</ceb:invtNo>
        <ceb:returnStatus>100</ceb:returnStatus>
        <ceb:returnTime>20261121150000000</ceb:returnTime>
        <ceb:returnInfo>[Code:2300;Desc:审核通过]</ceb:returnInfo>
    </ceb:InvtRefundReturn>
</ceb:CEB626Message>"#;

/// A single-window SAS/INV package (保税核注清单 INV101), no namespace; the
/// customs numbers are still empty, the enterprise's own number is set.
const SAS_PACKAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Package>
    <EnvelopInfo>
        <version>1.0</version>
        <business_id>浙B2M765</business_id>
        <message_id>INV101_fef3da4f-86c8-4bf2-bb60-a5f03bdcbd30</message_id>
        <file_name>INV101_fef3da4f-86c8-4bf2-bb60-a5f03bdcbd30.xml</file_name>
        <message_type>INV101</message_type>
        <sender_id>DXPENT0000112233</sender_id>
        <receiver_id>DXPEDCSAS0000001</receiver_id>
        <send_time>2026-11-21T10:00:00</send_time>
    </EnvelopInfo>
    <DataInfo>
        <BussinessData>
            <InvtMessage>
                <SysId>Z7</SysId>
                <OperCusRegCode>330261A004</OperCusRegCode>
                <InvtHeadType>
                    <BondInvtNo/>
                    <SeqNo></SeqNo>
                    <PutrecNo>T2914W000123</PutrecNo>
                    <EtpsInnerInvtNo>浙B2M765</EtpsInnerInvtNo>
                    <BizopEtpsno>330261A004</BizopEtpsno>
                    <ImpexpMarkcd>I</ImpexpMarkcd>
                </InvtHeadType>
                <InvtListType>
                    <GdsSeqno>1</GdsSeqno>
                    <Gdecd>3304990099</Gdecd>
                    <GdsNm>保湿化妆水</GdsNm>
                </InvtListType>
            </InvtMessage>
            <DelcareFlag>0</DelcareFlag>
        </BussinessData>
    </DataInfo>
</Package>"#;

/// One unsupported message: (name, text, root, namespace, key found).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "CEB712",
            CEB712,
            "CEB712Message",
            NS_CEB,
            Some(("copNo", "RKD20261121000001")),
        ),
        (
            "CEB711",
            CEB711,
            "CEB711Message",
            NS_CEB,
            Some(("copNo", "RKD20261121000002")),
        ),
        (
            "CEB626",
            CEB626,
            "CEB626Message",
            NS_CEB,
            Some(("copNo", "TH20261121000001")),
        ),
        (
            "SAS Package",
            SAS_PACKAGE,
            "Package",
            "",
            Some(("EtpsInnerInvtNo", "浙B2M765")),
        ),
        (
            "CEB625 without a key",
            r#"<CEB625Message xmlns="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"><InvtRefund><InvtRefundHead><guid>g</guid><appType>1</appType></InvtRefundHead></InvtRefund></CEB625Message>"#,
            "CEB625Message",
            NS_CEB,
            None,
        ),
    ]
}

#[test]
fn unmodelled_customs_messages_are_read_as_unsupported_with_their_key() {
    for (name, xml, root, namespace, key) in cases() {
        let content = codec::decode_any(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Content::Unsupported(u) = content else {
            panic!("{name}: read as a modelled message");
        };
        assert_eq!(u.root, root, "{name}");
        assert_eq!(u.namespace, namespace, "{name}");
        let expected = key.map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(u.key, expected, "{name}");
        let d = u.diagnostic();
        assert_eq!(d.rule.code, "UNSUPPORTED_MESSAGE", "{name}");
        assert_eq!(d.severity, Severity::Info, "{name}");
        assert!(d.message.contains(root), "{name}: {}", d.message);
        if let Some((k, v)) = key {
            assert!(
                d.message.contains(&format!("{k}={v}")),
                "{name}: {}",
                d.message
            );
        }
        // decode() reads modelled messages only, and says why not this one.
        let err = codec::decode(xml.as_bytes()).unwrap_err();
        assert!(
            matches!(err, CodecError::Unsupported { .. }),
            "{name}: {err}"
        );
        assert_eq!(err.rule().code, "UNSUPPORTED_MESSAGE");
    }
}

#[test]
fn inspect_lists_an_unsupported_message_as_one_ok_document() {
    for (name, xml, root, _, key) in cases() {
        let report = inspect_bytes("f.xml", xml.as_bytes(), &Limits::default());
        assert_eq!(report.documents.len(), 1, "{name}");
        let doc = &report.documents[0];
        assert_eq!(doc.ty, root, "{name}");
        assert_eq!(
            doc.key,
            key.map(|(k, v)| format!("{k}={v}")).unwrap_or_default()
        );
        assert_eq!(doc.status, "ok", "{name}");
        assert_eq!(report.diagnostics.len(), 1, "{name}");
        assert_eq!(report.diagnostics[0].rule, "UNSUPPORTED_MESSAGE");
        assert_eq!(report.diagnostics[0].severity, Severity::Info);
        assert!(report.message.is_none());
    }
}

#[test]
fn the_check_command_accepts_unsupported_messages() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (_, xml, ..)) in cases().iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.xml")), xml).unwrap();
    }
    let out = util::gateway()
        .arg("check")
        .arg("--json")
        .arg(dir.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    let types: Vec<&str> = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "CEB712Message",
            "CEB711Message",
            "CEB626Message",
            "Package",
            "CEB625Message"
        ]
    );
    let keys: Vec<&str> = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys[0], "copNo=RKD20261121000001");
    assert!(
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "info" && d["rule"] == "UNSUPPORTED_MESSAGE")
    );
}

#[test]
fn a_dxp_envelope_may_carry_an_unsupported_message() {
    let data = base64::engine::general_purpose::STANDARD.encode(CEB711);
    let xml = format!(
        r#"<dxp:DxpMsg ver="1.0" xmlns:dxp="http://www.chinaport.gov.cn/dxp"><dxp:TransInfo><dxp:CopMsgId>1</dxp:CopMsgId><dxp:SenderId>DXPEDCCEB0000002</dxp:SenderId><dxp:ReceiverIds><dxp:ReceiverId>DXPENT0000112233</dxp:ReceiverId></dxp:ReceiverIds><dxp:CreatTime>2026-11-21T12:00:00</dxp:CreatTime><dxp:MsgType>CEB711Message</dxp:MsgType></dxp:TransInfo><dxp:Data>{data}</dxp:Data></dxp:DxpMsg>"#
    );
    let decoded = codec::decode(xml.as_bytes()).unwrap();
    let dxp = decoded.message.dxp.as_ref().unwrap();
    assert!(dxp.inner.is_none());
    assert_eq!(dxp.data, CEB711.as_bytes());
    let codes: Vec<(&str, Severity)> = decoded
        .diagnostics
        .iter()
        .map(|d| (d.rule.code, d.severity))
        .collect();
    assert_eq!(codes, [("UNSUPPORTED_MESSAGE", Severity::Info)]);
}

#[test]
fn a_root_in_a_foreign_namespace_is_still_an_unknown_root() {
    for xml in [
        r#"<CEB712Message xmlns="urn:example:not-customs"><DeliveryReturn/></CEB712Message>"#,
        r#"<Package xmlns="urn:example:not-customs"><EnvelopInfo/></Package>"#,
        r#"<Packages><EnvelopInfo/></Packages>"#,
        r#"<html><body/></html>"#,
    ] {
        let err = codec::decode_any(xml.as_bytes()).unwrap_err();
        assert_eq!(err.rule().code, "UNKNOWN_ROOT", "{xml}: {err}");
        let report = inspect_bytes("f.xml", xml.as_bytes(), &Limits::default());
        assert!(report.documents.is_empty());
        assert_eq!(report.diagnostics[0].rule, "UNKNOWN_ROOT");
        assert_eq!(report.diagnostics[0].severity, Severity::Error);
    }
    // A modelled root in the wrong namespace is still NAMESPACE.
    let err = codec::decode_any(br#"<CEB311Message xmlns="http://www.chinaport.gov.cn/dec"/>"#)
        .unwrap_err();
    assert_eq!(err.rule().code, "NAMESPACE", "{err}");
}
