//! Every official sample parses; the gateway agrees with the official XSD
//! about which ones are structurally valid.

use customs_gateway::codec;
use customs_gateway::schema::Category;
use customs_gateway::validate::{Mode, validate};

use crate::util;

#[test]
fn every_official_sample_parses_and_agrees_with_the_xsd() {
    let files = util::xml_files(&util::reference().join("samples"));
    assert!(
        files.len() >= 24,
        "expected the official samples, found {}",
        files.len()
    );
    let mut checked_against_xsd = 0;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let decoded = codec::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut diagnostics = decoded.diagnostics.clone();
        diagnostics.extend(validate(&decoded.message, Mode::Read));
        let structural: Vec<String> = diagnostics
            .iter()
            // The XSD cannot look inside a DXP envelope's base64 Data, so a
            // payload that is not a customs message is beyond its reach.
            .filter(|d| {
                d.is_error()
                    && d.rule.category != Category::Business
                    && d.rule.code != "DXP_PAYLOAD"
            })
            .map(ToString::to_string)
            .collect();
        let business = decoded.message.business();
        let Some(xsd) = util::xsd_for(decoded.message.spec) else {
            assert!(structural.is_empty(), "{}: {structural:?}", file.display());
            continue;
        };
        checked_against_xsd += 1;
        match util::xmllint(&bytes, &xsd) {
            Ok(()) => assert!(
                structural.is_empty(),
                "{}: the XSD accepts it but the gateway reports {structural:?}",
                file.display()
            ),
            Err(why) => assert!(
                !structural.is_empty(),
                "{}: the XSD refuses it ({why}) but the gateway reports no structural error",
                file.display()
            ),
        }
        assert!(
            !business.documents.is_empty() || decoded.message.dxp.is_some(),
            "{}: no documents",
            file.display()
        );
    }
    assert!(checked_against_xsd >= 20);
}

#[test]
fn documents_get_business_keys() {
    let cases = [
        (
            "official-2022/CEB311Message.xml",
            "CEB311",
            "orderNo=order20160321116421002,ebpCode=1105910159",
        ),
        (
            "official-2022/CEB622Message.xml",
            "CEB622",
            "copNo=cop2016032211000",
        ),
        (
            "declaration/DecImportResponse-sample.xml",
            "DecImportResponse",
            "ClientSeqNo=decnew201702241727",
        ),
    ];
    for (path, ty, key) in cases {
        let bytes = std::fs::read(util::reference().join("samples").join(path)).unwrap();
        let decoded = codec::decode(&bytes).unwrap();
        let msg = decoded.message.business();
        assert_eq!(msg.spec.name, ty, "{path}");
        assert_eq!(msg.document_key(0), key, "{path}");
    }
}

#[test]
fn one_message_carries_many_documents() {
    let bytes =
        std::fs::read(util::reference().join("samples/official-2022/CEB622Message.xml")).unwrap();
    let decoded = codec::decode(&bytes).unwrap();
    assert_eq!(decoded.message.documents.len(), 10);
}
