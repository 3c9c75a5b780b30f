//! Electronic tax bills (CEB816/CEB818) through the real daemon: stored by
//! taxNo, linked to the inventory they bill (through the inventory's CEB622
//! by invtNo, or by orderNo), status 1 → 2 or 1 → 3 only, entDutyNo
//! recorded, and pushed to every receipts subscriber of the inventory's
//! enterprise, to no one else.

use std::path::Path;

use serde_json::Value;

use crate::gateway::{Gateway, names, numbered_set, set_files, wait_for};
use crate::push::{folder_client, get, subscription};

const BILL: &str = include_str!("../../samples/receipts/CEB816-tax-bill.xml");
const STATUS: &str = include_str!("../../samples/receipts/CEB818-tax-summarised.xml");
const RECEIPT: &str = include_str!("../../samples/receipts/CEB622-inventory-released.xml");

fn bill(gw: &Gateway, tax_no: &str) -> Option<Value> {
    let r = ureq::get(format!("http://{}/tax-bills/{tax_no}", gw.admin)).call();
    match r {
        Ok(mut r) => Some(r.body_mut().read_json::<Value>().unwrap()["tax_bill"].clone()),
        Err(_) => None,
    }
}

fn files_of(dir: &Path) -> Vec<String> {
    let mut n = names(dir);
    n.sort();
    n
}

#[test]
fn tax_bills_are_stored_linked_to_their_inventory_monotonic_and_pushed_to_its_subscribers() {
    let extra = format!(
        "{}{}{}{}",
        folder_client("T1", "3301960B02"),
        // Subscribed to 放行 only: a tax bill goes to every receipts subscriber.
        subscription("T1", &["放行"], "+1y"),
        folder_client("O1", "3301960A01"),
        subscription(
            "O1",
            &["入库", "退单", "审结", "删单", "放行", "结案", "查验通知"],
            "+1y"
        ),
    );
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    let n = 7;
    // Set 8: an inventory customs has not numbered yet.
    for (sender, name, bytes) in set_files(n, true).into_iter().chain(set_files(8, true)) {
        gw.drop_file(sender, &name, &bytes);
    }
    wait_for(&gw, 30, "the sets forwarded", || {
        names(&gw.customs("OutBox")).len() + names(&gw.customs("SentBox")).len() >= 8
    });
    let set = numbered_set(n, true);
    use customs_gateway::schema::fields::inventory_head as ih;
    let cop_no = set.inventory.head.str(ih::COP_NO).to_owned();
    let order_no = numbered_set(8, true)
        .inventory
        .head
        .str(ih::ORDER_NO)
        .to_owned();
    // Customs answers the inventory with its invtNo (CEB622 放行).
    gw.drop_receipt(
        "R622.xml",
        RECEIPT.replace("GWCOP2026112100001", &cop_no).as_bytes(),
    );
    wait_for(&gw, 30, "the CEB622 filed", || {
        names(&gw.path("clients/T1/InBox")).len() == 1
    });

    // CEB816 status 1: found through the CEB622's invtNo.
    gw.drop_receipt("B1.xml", BILL.as_bytes());
    let tax_no = "29912026I000000123_0";
    wait_for(&gw, 30, "the tax bill", || bill(&gw, tax_no).is_some());
    let b = bill(&gw, tax_no).unwrap();
    assert_eq!(
        (b["status"].as_str(), b["status_label"].as_str()),
        (Some("1"), Some("已生成")),
        "{b}"
    );
    let inventory = b["inventory"]
        .as_str()
        .expect("linked to the inventory")
        .to_owned();
    assert_eq!(b["amounts"]["value_added_tax"], "85.15");

    // CEB818 status 2 with the payment certificate.
    gw.drop_receipt("B2.xml", STATUS.as_bytes());
    wait_for(&gw, 30, "status 2", || {
        bill(&gw, tax_no).is_some_and(|b| b["status"] == "2")
    });
    let b = bill(&gw, tax_no).unwrap();
    assert_eq!(b["ent_duty_no"], "299120261125000017");

    // A CEB816 of status 1 again (a resend after 已汇总): kept in the
    // history, the bill stays 2 and keeps its entDutyNo.
    gw.drop_receipt("B3.xml", BILL.replace("1F6D2A94", "2F6D2A94").as_bytes());
    wait_for(&gw, 30, "the third receipt", || {
        bill(&gw, tax_no).is_some_and(|b| b["history"].as_array().unwrap().len() == 3)
    });
    let b = bill(&gw, tax_no).unwrap();
    assert_eq!(b["status"], "2", "{b}");
    let refused = b["history"][2]["outcome"].as_str().unwrap();
    assert!(refused.contains("moves 1 → 2 or 1 → 3 only"), "{refused}");

    // A bill of an inventory customs numbered in no CEB622 the gateway
    // has, naming its order (real receipts carry orderNo): linked by
    // orderNo to set 8's inventory, declared by the enterprise the bill
    // names; GBK read.
    let real =
        std::fs::read(crate::util::root().join("samples/receipts/CEB816-real-shape-gbk.xml"))
            .unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&real);
    let text = text
        .replace("29912026I000000123", "29912026I000000777")
        .replace("GW20261121000001", &order_no);
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    gw.drop_receipt("B4.xml", &gbk);
    let other = "29912026I000000777_0";
    wait_for(&gw, 30, "the bill by orderNo", || {
        bill(&gw, other).is_some()
    });
    let linked = bill(&gw, other).unwrap()["inventory"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(linked, inventory);
    let cop8 = numbered_set(8, true)
        .inventory
        .head
        .str(ih::COP_NO)
        .to_owned();
    assert_eq!(
        get(&gw, &format!("/documents/{linked}"))["document"]["key"],
        format!("copNo={cop8}")
    );

    // The same order named by a bill of another enterprise (3301960A01):
    // not linked to B02's inventory, delivered to A01's client only.
    let foreign = text
        .replace("29912026I000000777", "29912026I000000888")
        .replace(
            "<ebcCode>3301960B02</ebcCode>",
            "<ebcCode>3301960A01</ebcCode>",
        );
    let (gbk, _, _) = encoding_rs::GBK.encode(&foreign);
    gw.drop_receipt("B4b.xml", &gbk);
    let foreign_no = "29912026I000000888_0";
    wait_for(&gw, 30, "the foreign bill", || {
        bill(&gw, foreign_no).is_some()
    });
    assert_eq!(bill(&gw, foreign_no).unwrap()["inventory"], Value::Null);
    wait_for(&gw, 30, "the foreign bill pushed to O1", || {
        names(&gw.path("clients/O1/InBox")).len() == 1
    });

    // A bill of an inventory the gateway never saw: kept (orphan), its
    // bill unlinked, still delivered by its ebcCode.
    gw.drop_receipt(
        "B5.xml",
        BILL.replace("29912026I000000123", "29912026I000000999")
            .replace("1F6D2A94", "3F6D2A94")
            .as_bytes(),
    );
    let lost = "29912026I000000999_0";
    wait_for(&gw, 30, "the unlinked bill", || bill(&gw, lost).is_some());
    assert_eq!(bill(&gw, lost).unwrap()["inventory"], Value::Null);

    // T1 has the CEB622 and its five tax receipts; O1 only the bill that
    // names its enterprise.
    wait_for(&gw, 30, "the pushes", || {
        names(&gw.path("clients/T1/InBox")).len() == 6
    });
    let got = files_of(&gw.path("clients/T1/InBox"));
    assert_eq!(
        got.iter().filter(|f| f.starts_with("CEB816")).count(),
        4,
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|f| f.starts_with("CEB818")).count(),
        1,
        "{got:?}"
    );
    assert_eq!(names(&gw.path("clients/O1/InBox")).len(), 1);

    // The inventory's history shows the bill; its customs status stays 800.
    let doc = get(&gw, &format!("/documents/{inventory}"));
    assert_eq!(doc["document"]["status"], "customs:800", "{doc}");
    let infos: Vec<String> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["info"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        infos
            .iter()
            .any(|i| i.contains("tax bill 29912026I000000123_0: 2 已汇总")),
        "{infos:?}"
    );
    let list = get(&gw, "/tax-bills");
    assert_eq!(list["count"], 4, "{list}");
    // A page at a time.
    let page = get(&gw, "/tax-bills?limit=3");
    assert_eq!(page["tax_bills"].as_array().unwrap().len(), 3);
    let next = page["next"].as_str().unwrap().to_owned();
    let rest = get(&gw, &format!("/tax-bills?limit=3&after={next}"));
    assert_eq!(rest["tax_bills"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["next"], Value::Null);
    tax_api(&gw);
    assert_eq!(gw.stop().0, Some(0));
}

/// The calculators through the admin API: the CLI's JSON, 400 with the reason.
fn tax_api(gw: &Gateway) {
    let v = get(gw, "/tax/capitals?amount=175.66");
    assert_eq!(v["capitals"], "壹佰柒拾伍元陆角陆分");
    let v = get(gw, "/tax/cbec?value=100&hs=2204210000&date=2026-11-21");
    assert_eq!(
        (v["consumption_tax"].as_str(), v["total"].as_str()),
        (Some("7.78"), Some("17.89"))
    );
    let v = get(gw, "/tax/rates?date=2019-01-01");
    assert_eq!(v["postal"]["items"][1]["rate"], "0.25");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let post = |body: Value| {
        let mut r = agent
            .post(format!("http://{}/tax/postal", gw.admin))
            .send_json(body)
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (status, body) = post(serde_json::json!({
        "lines": ["2:250.05"], "origin": "TW", "date": "2026-11-21"
    }));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["payable"].as_str(), v["limit"].as_str()),
        (Some("50.01"), Some("800"))
    );
    let (status, body) = post(serde_json::json!({ "lines": ["2:250.00"] }));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"exempt\":true"), "{body}");
    let (status, body) = post(serde_json::json!({ "lines": ["5:1"] }));
    assert_eq!(status, 400);
    assert!(body.contains("neither a tax item"), "{body}");
    let r = agent
        .get(format!("http://{}/tax/capitals?amount=-1", gw.admin))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
