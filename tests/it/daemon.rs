//! The daemon (`serve`) end to end: the real binary, real folders, SIGTERM.

use std::time::Duration;

use customs_gateway::store::{DocId, DocumentRecord, Store, key};

use crate::gateway::{
    ECOM, Gateway, PARTNERS, message_bytes, names, numbered_set, set_files, wait_for,
};

/// Drops the files of a set, each by its own sender.
fn drop_set(gw: &Gateway, n: u32, pass: bool) -> Vec<(&'static str, String)> {
    set_files(n, pass)
        .into_iter()
        .map(|(sender, name, bytes)| {
            gw.drop_file(sender, &name, &bytes);
            (sender, name)
        })
        .collect()
}

/// A CEB622 receipt for set `n`'s inventory.
fn inventory_receipt(n: u32, status: &str, time: &str, info: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CEB622Message xmlns="http://www.chinaport.gov.cn/ceb" guid="72A5EB59-A12D-55E8-BD9F-BA3EDD26F5E0" version="1.0">
<InventoryReturn><guid>930A8DFD-B364-54C9-B5EE-61DB1EE2D389</guid><customsCode>2991</customsCode>
<ebpCode>3301960A01</ebpCode><ebcCode>3301960B02</ebcCode><agentCode>3301980E05</agentCode>
<copNo>GWCOP2026112{n:06}</copNo><preNo>B20261121000000101</preNo><invtNo>29912026I000000123</invtNo>
<returnStatus>{status}</returnStatus><returnTime>{time}</returnTime><returnInfo>{info}</returnInfo>
</InventoryReturn></CEB622Message>"#
    )
    .into_bytes()
}

/// The stored documents with a business key, read after the daemon stopped.
fn documents(store: &Store, link: &str) -> Vec<DocumentRecord> {
    store
        .linked(link)
        .unwrap()
        .into_iter()
        .map(|id| store.get(&key::document(id)).unwrap().unwrap())
        .collect()
}

#[test]
fn a_consistent_set_from_two_senders_is_forwarded_once_inventory_last() {
    let mut gw = Gateway::new(0);
    gw.start();
    drop_set(&gw, 1, true);
    wait_for(&gw, 20, "four files in the customs OutBox", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    let out = names(&gw.customs("OutBox"));
    let types: Vec<&str> = out.iter().map(|n| &n[..6]).collect();
    assert_eq!(types, ["CEB311", "CEB411", "CEB511", "CEB621"], "{out:?}");
    // The inventory was renamed into the OutBox last.
    let mtime = |n: &str| {
        std::fs::metadata(gw.customs("OutBox").join(n))
            .unwrap()
            .modified()
            .unwrap()
    };
    let inventory = out.iter().find(|n| n.starts_with("CEB621")).unwrap();
    for other in out.iter().filter(|n| !n.starts_with("CEB621")) {
        assert!(
            mtime(other) <= mtime(inventory),
            "{other} after {inventory}"
        );
    }
    assert_eq!(names(&gw.sender(ECOM, "SentBox")).len(), 2);
    assert_eq!(names(&gw.sender(PARTNERS, "SentBox")).len(), 2);
    assert!(names(&gw.sender(ECOM, "OutBox")).is_empty());

    // A byte-identical file again: archived as a duplicate, not forwarded again.
    let (_, name, bytes) = set_files(1, true).remove(0);
    gw.drop_file(ECOM, &name, &bytes);
    wait_for(&gw, 20, "the duplicate file archived", || {
        names(&gw.sender(ECOM, "SentBox")).len() == 3
    });
    // The same declaration with a new guid (a resend): a duplicate too.
    let set = numbered_set(1, true);
    let mut order = set.order.clone();
    order.head.set(
        customs_gateway::schema::fields::order_head::GUID,
        "0A1B2C3D-0000-4000-8000-000000000001",
    );
    gw.drop_file(ECOM, "resend.xml", &message_bytes(0, &order));
    wait_for(&gw, 20, "the resend archived", || {
        names(&gw.sender(ECOM, "SentBox")).contains(&"resend.xml".to_owned())
    });
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(names(&gw.customs("OutBox")).len(), 4, "forwarded once");
    let (status, took) = gw.stop();
    assert_eq!(status, Some(0), "{}", gw.log());
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");

    let store = Store::open(&gw.path("store")).unwrap();
    let orders = documents(&store, "order|orderNo=GW20261121000001,ebpCode=3301960A01");
    let statuses: Vec<&str> = orders.iter().map(|d| d.status.as_str()).collect();
    assert_eq!(statuses, ["forwarded", "duplicate"], "{orders:#?}");
    let history = store.history(orders[0].id).unwrap();
    let seen: Vec<&str> = history.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(
        seen,
        [
            "received",
            "waiting",
            "set_passed",
            "forwarded",
            "forwarded"
        ],
        "{history:#?}"
    );
    assert!(history[4].info.contains("received again"), "{history:#?}");
}

#[test]
fn a_failing_set_is_never_forwarded_and_each_sender_gets_its_receipts() {
    let mut gw = Gateway::new(0);
    gw.start();
    drop_set(&gw, 2, false);
    wait_for(&gw, 20, "receipts in both InBoxes", || {
        names(&gw.sender(ECOM, "InBox")).len() == 2
            && names(&gw.sender(PARTNERS, "InBox")).len() == 2
    });
    let ecom: Vec<String> = names(&gw.sender(ECOM, "InBox"));
    let partners = names(&gw.sender(PARTNERS, "InBox"));
    assert!(ecom[0].starts_with("CEB312_"), "{ecom:?}");
    // The inventory has no preNo, so no honest CEB622: the verdict as text.
    assert!(
        ecom[1].starts_with("CEB621_") && ecom[1].ends_with(".reason.txt"),
        "{ecom:?}"
    );
    let text = std::fs::read_to_string(gw.sender(ECOM, "InBox").join(&ecom[1])).unwrap();
    assert!(
        text.contains("[SET_PAID_AMOUNT]") && text.contains("规则"),
        "{text}"
    );
    assert!(partners[0].starts_with("CEB412_"), "{partners:?}");
    assert!(partners[1].starts_with("CEB512_"), "{partners:?}");
    let receipt = std::fs::read_to_string(gw.sender(PARTNERS, "InBox").join(&partners[0])).unwrap();
    assert!(
        receipt.contains("<returnStatus>100</returnStatus>"),
        "{receipt}"
    );
    assert!(receipt.contains("[Code:1332;"), "{receipt}");
    std::thread::sleep(Duration::from_millis(600));
    assert!(names(&gw.customs("OutBox")).is_empty());
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn a_file_written_slowly_is_taken_only_when_complete_and_tmp_files_never() {
    let mut gw = Gateway::new(800);
    gw.start();
    let (_, _, bytes) = set_files(3, true).remove(0);
    let outbox = gw.sender(ECOM, "OutBox");
    std::fs::write(outbox.join("ignored.xml.tmp"), &bytes).unwrap();
    std::fs::write(outbox.join(".hidden.xml"), &bytes).unwrap();
    // Written in place, in four pieces, with pauses shorter than the settle time.
    let path = outbox.join("slow.xml");
    let mut file = std::fs::File::create(&path).unwrap();
    for piece in bytes.chunks(bytes.len() / 4 + 1) {
        use std::io::Write as _;
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert!(path.exists(), "taken while still being written");
    }
    drop(file);
    wait_for(&gw, 20, "the slow file stored", || {
        names(&gw.sender(ECOM, "SentBox")) == ["slow.xml"]
    });
    assert!(
        names(&gw.sender(ECOM, "FailBox")).is_empty(),
        "read half-written"
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        names(&outbox),
        [".hidden.xml", "ignored.xml.tmp"],
        "writer names are never taken"
    );
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn documents_outside_the_senders_codes_and_duplicate_declarations_are_refused() {
    let mut gw = Gateway::new(0);
    gw.start();
    // partners may not declare orders for the platform 3301960A01.
    let (_, name, bytes) = set_files(4, true).remove(0);
    gw.drop_file(PARTNERS, &name, &bytes);
    wait_for(&gw, 20, "the order refused", || {
        names(&gw.sender(PARTNERS, "FailBox")).len() == 2
    });
    let reason = std::fs::read_to_string(
        gw.sender(PARTNERS, "FailBox")
            .join(format!("{name}.reason.txt")),
    )
    .unwrap();
    assert!(reason.contains("[SENDER_SCOPE]"), "{reason}");
    assert!(reason.contains("ebpCode 3301960A01"), "{reason}");
    assert!(reason.contains("规则"), "{reason}");
    wait_for(&gw, 20, "its receipt", || {
        names(&gw.sender(PARTNERS, "InBox")).len() == 1
    });

    // The same order from its own sender is taken; a second appType 1 with
    // the same orderNo but other content is a duplicate declaration.
    gw.drop_file(ECOM, &name, &bytes);
    let mut other = numbered_set(4, true).order;
    other.head.set(
        customs_gateway::schema::fields::order_head::NOTE,
        "different content",
    );
    gw.drop_file(ECOM, "again.xml", &message_bytes(0, &other));
    wait_for(&gw, 20, "the second declaration refused", || {
        names(&gw.sender(ECOM, "FailBox")).contains(&"again.xml".to_owned())
    });
    let reason =
        std::fs::read_to_string(gw.sender(ECOM, "FailBox").join("again.xml.reason.txt")).unwrap();
    assert!(reason.contains("[SET_DOCUMENT]"), "{reason}");
    assert_eq!(names(&gw.sender(ECOM, "SentBox")), [name]);
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn a_restart_with_a_set_half_complete_resumes_it() {
    let mut gw = Gateway::new(0);
    gw.start();
    let files = set_files(5, true);
    for (sender, name, bytes) in &files[..3] {
        gw.drop_file(sender, name, bytes);
    }
    wait_for(&gw, 20, "three files stored", || {
        names(&gw.sender(ECOM, "SentBox")).len() + names(&gw.sender(PARTNERS, "SentBox")).len() == 3
    });
    let (status, took) = gw.stop();
    assert_eq!(status, Some(0));
    assert!(took < Duration::from_secs(10));
    assert!(names(&gw.customs("OutBox")).is_empty());
    gw.start();
    let (sender, name, bytes) = &files[3];
    gw.drop_file(sender, name, bytes);
    wait_for(&gw, 20, "the resumed set forwarded", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn customs_receipts_in_and_out_of_order_give_the_right_status_and_history() {
    let mut gw = Gateway::new(0);
    gw.start();
    drop_set(&gw, 6, true);
    wait_for(&gw, 20, "forwarded", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    // 放行 (800) arrives before 入库 (120), which is older.
    gw.drop_receipt(
        "r1.xml",
        &inventory_receipt(6, "800", "20261121143005120", "[Code:2600;Desc:放行]"),
    );
    wait_for(&gw, 20, "the first receipt archived", || {
        names(&gw.path("customs/Archive")).len() == 1
    });
    gw.drop_receipt(
        "r2.xml",
        &inventory_receipt(
            6,
            "120",
            "20261121120000000",
            "[Code:1800;Desc:逻辑校验通过]",
        ),
    );
    // One that answers nothing the gateway forwarded.
    gw.drop_receipt(
        "orphan.xml",
        &inventory_receipt(999_999, "100", "20261121120000000", "[Code:1300;Desc:退单]"),
    );
    wait_for(&gw, 20, "all receipts archived", || {
        names(&gw.path("customs/Archive")).len() == 3
    });
    assert_eq!(gw.stop().0, Some(0));

    let store = Store::open(&gw.path("store")).unwrap();
    let inv = documents(&store, "inventory|copNo=GWCOP2026112000006");
    let inv: Vec<&DocumentRecord> = inv.iter().filter(|d| d.ty == "CEB621").collect();
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].status, "customs:800", "status never moves back");
    let history = store.history(inv[0].id).unwrap();
    let receipts: Vec<(&str, bool)> = history
        .iter()
        .filter_map(|e| e.receipt.as_ref().map(|r| (r.code.as_str(), r.current)))
        .collect();
    assert_eq!(receipts, [("800", true), ("120", false)], "{history:#?}");
    let orphans = store.keys(b"x").unwrap();
    assert_eq!(orphans.len(), 1);
    let orphan: DocumentRecord = store
        .get(&key::document(key::doc_id_suffix(&orphans[0]).unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(orphan.status, "orphan");
    assert_eq!(orphan.ty, "CEB622");
    let _ = DocId { msg: 0, doc: 0 };
}

#[test]
fn zip_files_unreadable_files_and_json_logs() {
    let mut gw = Gateway::new(0);
    gw.start_with(&["--log-format", "json"]);
    let mut zip_bytes = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
        let opts: zip::write::SimpleFileOptions = Default::default();
        for (_, name, bytes) in set_files(7, true)
            .into_iter()
            .filter(|(s, _, _)| *s == ECOM)
        {
            use std::io::Write as _;
            z.start_file(name, opts).unwrap();
            z.write_all(&bytes).unwrap();
        }
        z.finish().unwrap();
    }
    gw.drop_file(ECOM, "pair.zip", &zip_bytes);
    gw.drop_file(ECOM, "garbage.xml", b"this is not xml");
    wait_for(&gw, 20, "both archived", || {
        names(&gw.sender(ECOM, "SentBox")) == ["pair.zip"]
            && names(&gw.sender(ECOM, "FailBox")).len() == 2
    });
    for (sender, name, bytes) in set_files(7, true)
        .into_iter()
        .filter(|(s, _, _)| *s == PARTNERS)
    {
        gw.drop_file(sender, &name, &bytes);
    }
    wait_for(&gw, 20, "the zip's set forwarded", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    assert_eq!(gw.stop().0, Some(0));
    let log = gw.log();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 5, "{log}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v.get("level").is_some() && v.get("message").is_some(),
            "{line}"
        );
    }
    assert!(log.contains("\"file\":\"pair.zip\""), "{log}");
}

#[test]
fn a_sigkill_right_after_a_drop_loses_nothing_and_doubles_nothing() {
    let mut gw = Gateway::new(0);
    gw.start();
    drop_set(&gw, 8, true);
    gw.kill();
    gw.start();
    wait_for(&gw, 20, "the set forwarded after the restart", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(names(&gw.customs("OutBox")).len(), 4);
    let sent =
        names(&gw.sender(ECOM, "SentBox")).len() + names(&gw.sender(PARTNERS, "SentBox")).len();
    assert_eq!(sent, 4);
    assert_eq!(gw.stop().0, Some(0));
}

/// The customs OutBox files of one type.
fn outbox_file(gw: &Gateway, prefix: &str) -> Option<String> {
    names(&gw.customs("OutBox"))
        .into_iter()
        .find(|n| n.starts_with(prefix))
}

/// The CLI against the running daemon: (exit status, stdout, stderr).
fn cli(gw: &Gateway, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = crate::util::gateway();
    cmd.args(args).arg("--config").arg(&gw.config);
    let run = crate::util::run_with_timeout(cmd, 30);
    (run.status, run.stdout, run.stderr)
}

#[test]
fn what_the_import_client_sends_fails_or_parks_is_recorded_and_retried() {
    let mut gw = Gateway::new(0);
    gw.start();
    drop_set(&gw, 9, true);
    wait_for(&gw, 20, "forwarded", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    // The client sends three and fails the order, three times in a row.
    for prefix in ["CEB411", "CEB511", "CEB621"] {
        let n = outbox_file(&gw, prefix).unwrap();
        std::fs::rename(
            gw.customs("OutBox").join(&n),
            gw.customs("SentBox").join(&n),
        )
        .unwrap();
    }
    let mut seen = Vec::new();
    for attempt in 1..=3 {
        wait_for(&gw, 20, "the order in the OutBox", || {
            outbox_file(&gw, "CEB311").is_some()
        });
        let n = outbox_file(&gw, "CEB311").unwrap();
        if attempt > 1 {
            assert!(n.ends_with(&format!("_t{attempt}.xml")), "{n}");
        }
        seen.push(n.clone());
        std::fs::rename(
            gw.customs("OutBox").join(&n),
            gw.customs("FailBox").join(&n),
        )
        .unwrap();
    }
    // retries = 2: after the third failure it is parked, not written again.
    wait_for(&gw, 20, "the order parked", || {
        let (_, out, _) = cli(&gw, &["messages", "--status", "parked", "--json"]);
        out.contains("CEB311")
    });
    assert!(outbox_file(&gw, "CEB311").is_none());
    let (status, out, err) = cli(&gw, &["messages", "--status", "transmitted"]);
    assert_eq!(status, Some(0), "{err}");
    for t in ["CEB411", "CEB511", "CEB621"] {
        assert!(out.contains(t), "{out}");
    }
    let (status, out, err) = cli(&gw, &["status", "--json"]);
    assert_eq!(status, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["documents"]["parked"], 1, "{v}");
    assert_eq!(v["documents"]["transmitted"], 3, "{v}");
    let (_, out, _) = cli(&gw, &["messages", "--type", "CEB311", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = v[0]["id"].as_str().unwrap().to_owned();
    let (status, out, err) = cli(&gw, &["show", &id]);
    assert_eq!(status, Some(0), "{err}");
    for s in ["set_passed", "forwarded", "transmission_failed", "parked"] {
        assert!(out.contains(s), "{s}: {out}");
    }
    assert_eq!(gw.stop().0, Some(0));
    // The CLI says when the daemon is not there.
    let (status, _, err) = cli(&gw, &["status"]);
    assert_eq!(status, Some(2), "{err}");
    let _ = seen;
}

#[test]
fn a_file_over_the_limit_is_refused_without_being_read_whole() {
    let mut gw = Gateway::with_config(0, "[limits]\nmax_bytes = 4096\n");
    gw.start();
    let mut big = b"<?xml version=\"1.0\"?><x>".to_vec();
    big.resize(10_000, b' ');
    gw.drop_file(ECOM, "big.xml", &big);
    gw.drop_receipt("big-receipt.xml", &big);
    wait_for(&gw, 20, "both archived", || {
        names(&gw.sender(ECOM, "FailBox")).len() == 2
            && names(&gw.path("customs/Archive")).len() == 1
    });
    let reason =
        std::fs::read_to_string(gw.sender(ECOM, "FailBox").join("big.xml.reason.txt")).unwrap();
    assert!(
        reason.contains("[TOO_LARGE]") && reason.contains("10000 bytes"),
        "{reason}"
    );
    let (status, out, err) = cli(&gw, &["messages", "--status", "orphan", "--json"]);
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn incomplete_sets_past_the_timeout_are_listed_and_counted_not_forwarded() {
    let mut gw = Gateway::with_config(0, "[engine]\nincomplete_timeout_secs = 1\n");
    gw.start();
    let files = set_files(10, true);
    for (sender, name, bytes) in &files[..2] {
        gw.drop_file(sender, name, bytes);
    }
    wait_for(&gw, 20, "the set listed as overdue", || {
        let (_, out, _) = cli(&gw, &["status", "--json"]);
        serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|v| v["overdue_sets"] == 1)
    });
    let (status, out, err) = cli(&gw, &["status"]);
    assert_eq!(status, Some(0), "{err}");
    assert!(
        out.contains("overdue orderNo=GW20261121000010,ebpCode=3301960A01")
            && out.contains("CEB511, CEB621"),
        "{out}"
    );
    assert!(names(&gw.customs("OutBox")).is_empty());
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn a_change_of_a_forwarded_document_is_forwarded_when_its_set_passes_again() {
    use customs_gateway::schema::fields::order_head as oh;
    let mut gw = Gateway::new(0);
    gw.start();
    drop_set(&gw, 11, true);
    wait_for(&gw, 20, "forwarded", || {
        names(&gw.customs("OutBox")).len() == 4
    });
    // appType 2 with a new note: the closed set comes back from the store,
    // passes again, and only the change goes to customs.
    let mut change = numbered_set(11, true).order;
    change.head.set(oh::APP_TYPE, "2");
    change.head.set(oh::NOTE, "address corrected");
    change
        .head
        .set(oh::GUID, "0A1B2C3D-0000-4000-8000-000000000011");
    gw.drop_file(ECOM, "change.xml", &message_bytes(0, &change));
    wait_for(&gw, 20, "the change forwarded", || {
        names(&gw.customs("OutBox")).len() == 5
    });
    // A change that breaks the set: refused by the check, not forwarded.
    let mut bad = numbered_set(11, true).order;
    bad.head.set(oh::APP_TYPE, "2");
    bad.head
        .set(oh::GUID, "0A1B2C3D-0000-4000-8000-000000000012");
    let paid = bad.head.dec(oh::ACTURAL_PAID).unwrap();
    bad.head
        .set_dec(oh::ACTURAL_PAID, paid + crate::engine::d("100"));
    gw.drop_file(ECOM, "bad-change.xml", &message_bytes(0, &bad));
    wait_for(&gw, 20, "the failing change answered", || {
        names(&gw.sender(ECOM, "InBox")).len() == 2
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(names(&gw.customs("OutBox")).len(), 5);
    assert_eq!(gw.stop().0, Some(0));
    let store = Store::open(&gw.path("store")).unwrap();
    let orders: Vec<DocumentRecord> =
        documents(&store, "order|orderNo=GW20261121000011,ebpCode=3301960A01")
            .into_iter()
            .filter(|d| d.ty == "CEB311")
            .collect();
    let statuses: Vec<&str> = orders.iter().map(|d| d.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["replaced", "replaced", "set_failed"],
        "{orders:#?}"
    );
}

#[test]
fn a_second_daemon_on_the_same_store_is_refused_with_a_clear_reason() {
    let mut gw = Gateway::new(0);
    gw.start();
    let mut cmd = crate::util::gateway();
    cmd.args(["serve", "--config"]).arg(&gw.config);
    let run = crate::util::run_with_timeout(cmd, 30);
    assert_eq!(run.status, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("store") && run.stderr.contains("lock"),
        "{}",
        run.stderr
    );
    assert_eq!(gw.stop().0, Some(0));
}

#[test]
fn a_delete_removes_the_document_and_a_delete_of_nothing_is_refused() {
    use customs_gateway::schema::fields::order_head as oh;
    let mut gw = Gateway::new(0);
    gw.start();
    let files = set_files(12, true);
    let (sender, name, bytes) = &files[0];
    gw.drop_file(sender, name, bytes);
    let mut delete = numbered_set(12, true).order;
    delete.head.set(oh::APP_TYPE, "3");
    delete
        .head
        .set(oh::GUID, "0A1B2C3D-0000-4000-8000-000000000013");
    wait_for(&gw, 20, "the order stored", || {
        names(&gw.sender(ECOM, "SentBox")).len() == 1
    });
    gw.drop_file(ECOM, "delete.xml", &message_bytes(0, &delete));
    wait_for(&gw, 20, "the delete stored", || {
        names(&gw.sender(ECOM, "SentBox")).len() == 2
    });
    // Deleting it again: there is nothing left to delete.
    let mut again = delete.clone();
    again
        .head
        .set(oh::GUID, "0A1B2C3D-0000-4000-8000-000000000014");
    gw.drop_file(ECOM, "delete-again.xml", &message_bytes(0, &again));
    wait_for(&gw, 20, "the second delete refused", || {
        names(&gw.sender(ECOM, "FailBox")).contains(&"delete-again.xml".to_owned())
    });
    assert_eq!(gw.stop().0, Some(0));
    let store = Store::open(&gw.path("store")).unwrap();
    let statuses: Vec<String> =
        documents(&store, "order|orderNo=GW20261121000012,ebpCode=3301960A01")
            .into_iter()
            .map(|d| d.status)
            .collect();
    assert_eq!(statuses, ["deleted", "deleted", "refused"]);
    assert!(store.keys(b"o").unwrap().is_empty(), "no open set left");
}
