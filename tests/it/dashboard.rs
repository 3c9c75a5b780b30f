//! The admin dashboard in a real headless browser (Debian's `chromium`,
//! installed by `scripts/test.sh`): the real daemon with a token, a
//! passing set answered by the customs simulator and pushed to a client, a
//! failing set, an overdue set, a parked push and a hostile order; the
//! rendered DOM is checked page by page, and a screenshot is taken.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use customs_gateway::schema::fields::order_head as oh;
use serde_json::Value;

use crate::gateway::{ECOM, Gateway, message_bytes, names, numbered_set, set_files, wait_for};

const TOKEN: &str = "dash-board-token-7Qx";
const HOSTILE: &str = "<script>alert(1)</script>";

/// Debian's chromium; a test that needs it fails (never skips) without it.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        });
        if let Some(p) = found {
            return p;
        }
    }
    panic!(
        "chromium is not installed: the dashboard is tested in a real headless browser. \
         Run scripts/test.sh (it installs Debian's chromium as root or with sudo), \
         or `apt-get install chromium`"
    );
}

/// Runs headless chromium with `args` and `url` (a fresh profile each
/// time): its stdout. Fails after 90 s.
pub(crate) fn chromium_run(args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out_file = profile.path().join("stdout");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium {args:?} {url}: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} {url} did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(&out_file).unwrap()
}

/// The DOM chromium renders for `path` on the gateway's admin listener.
fn dom(gw: &Gateway, path: &str) -> String {
    let dom = chromium_run(&["--dump-dom"], &format!("http://{}{path}", gw.admin));
    assert!(dom.contains("</html>"), "no page for {path}: {dom}");
    // Nothing from a message ever becomes markup.
    assert!(
        !dom.contains("<script"),
        "a script in the page {path}:\n{dom}"
    );
    assert!(!dom.contains("<img"), "an image in the page {path}:\n{dom}");
    dom
}

/// `path` with the token (the page signs in and redirects to itself).
fn signed(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}token={TOKEN}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// `GET` with the bearer token: the JSON answer.
fn api(gw: &Gateway, path: &str) -> Value {
    let mut r = agent()
        .get(format!("http://{}{path}", gw.admin))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.body_mut().read_json().unwrap()
}

/// The configuration: the customs simulator, two clients of 3301960B02
/// (one whose folder will break), quick parking and a short overdue time.
fn extra() -> String {
    let mut s = String::from(
        "[simulator]\nenabled = true\nrelease_after_ms = 300\n\
         [engine]\nincomplete_timeout_secs = 1\n\
         [push]\nbackoff_ms = 50\nbackoff_max_ms = 100\nmax_attempts = 2\n",
    );
    for id in ["0000009815", "0000009816"] {
        s.push_str(&format!(
            "[[client]]\nid = \"{id}\"\nenterprise = \"3301960B02\"\nfolder = \"clients/{id}/InBox\"\n\
             [[subscription]]\nclient = \"{id}\"\ncontent = [\"receipts\"]\n\
             statuses = [\"入库\", \"退单\", \"审结\", \"删单\", \"放行\", \"结案\", \"查验通知\"]\n\
             valid_until = \"+1y\"\nby = \"QH0030\"\n"
        ));
    }
    s
}

/// An order message the gateway refuses, its reason quoting hostile text:
/// the currency must be 142 (the encoder writes valid documents only, so
/// the text is changed after).
fn refused_order(order: &customs_gateway::model::Document) -> Vec<u8> {
    let text = String::from_utf8(message_bytes(0, order)).unwrap();
    let from = "<ceb:currency>142</ceb:currency>";
    assert!(text.contains(from), "{text}");
    text.replacen(
        from,
        "<ceb:currency>&lt;script&gt;alert(1)&lt;/script&gt;</ceb:currency>",
        1,
    )
    .into_bytes()
}

/// A gateway with a bearer token, started, holding every case the
/// dashboard shows.
fn loaded_gateway() -> Gateway {
    let mut gw = Gateway::with_config(100, &extra());
    let text = std::fs::read_to_string(&gw.config).unwrap().replacen(
        "[admin]\n",
        "[admin]\ntoken_file = \"admin.token\"\n",
        1,
    );
    std::fs::write(&gw.config, text).unwrap();
    std::fs::write(gw.path("admin.token"), format!("{TOKEN}\n")).unwrap();
    gw.start();
    // The second client's InBox becomes a file: its pushes fail, then park.
    let broken = gw.path("clients/0000009816/InBox");
    std::fs::remove_dir_all(&broken).unwrap();
    std::fs::write(&broken, b"not a folder").unwrap();

    // A set that passes (answered by the simulator, pushed to the client),
    // a set that fails, an order alone (overdue), a hostile order.
    for (sender, name, bytes) in set_files(1, true).into_iter().chain(set_files(2, false)) {
        gw.drop_file(sender, &name, &bytes);
    }
    let alone = numbered_set(3, true);
    gw.drop_file(ECOM, "CEB311-00003.xml", &message_bytes(0, &alone.order));
    let mut hostile = numbered_set(4, true);
    hostile.order.head.set(oh::ORDER_NO, HOSTILE);
    gw.drop_file(
        ECOM,
        "CEB311-<img src=x onerror=alert(3)>.xml",
        &refused_order(&hostile.order),
    );

    let client = gw.path("clients/0000009815/InBox");
    wait_for(&gw, 60, "the client's three receipts", || {
        names(&client).len() >= 3
    });
    wait_for(&gw, 60, "a parked push, an overdue set", || {
        let outbox = api(&gw, "/outbox");
        let status = api(&gw, "/status");
        outbox["clients"][1]["parked"].as_u64().unwrap_or(0) >= 1
            && status["overdue_sets"].as_u64().unwrap_or(0) >= 1
            // Every document of the passing set answered (120, the inventory 800).
            && status["documents"]["customs:120"].as_u64().unwrap_or(0) >= 3
            && status["documents"]["customs:800"].as_u64().unwrap_or(0) >= 1
    });
    gw
}

#[test]
fn dashboard_in_headless_chromium_shows_senders_clients_refusals_and_documents() {
    chromium();
    let gw = loaded_gateway();

    // Without the token: the sign-in page, not the dashboard.
    let page = dom(&gw, "/");
    assert!(page.contains("需要管理令牌"), "{page}");
    assert!(!page.contains("运行状况 Health"), "{page}");
    let page = dom(&gw, "/?token=wrong");
    assert!(page.contains("令牌不对"), "{page}");

    // With it (once, as ?token=, then the cookie): the overview.
    let page = dom(&gw, &signed("/"));
    for want in [
        "运行状况 Health",
        "运行时间 Uptime",
        // The senders and the customs source.
        ">ecom<",
        ">partners<",
        ">customs<",
        // The clients, the last delivery, the parked push.
        "0000009815",
        "0000009816",
        "最近送达 Last delivered",
        "CEB622",
        "已暂停推送 Parked pushes",
        // The refusals: the failed set and the hostile order, with reasons.
        "对碰失败 Set failed",
        "SET_PAID_AMOUNT",
        "单证 Document",
        "[FIXED]",
        "orderNo=GW20261121000002",
        // The overdue set, and what it misses.
        "orderNo=GW20261121000003",
        "CEB411",
    ] {
        assert!(page.contains(want), "the overview lacks {want:?}:\n{page}");
    }
    // The hostile order is refused and listed, as text (the browser
    // serializes text `<` as `&lt;`).
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("onerror=alert(3)&gt;.xml"), "{page}");
    let refusals = page.matches("class=\"refusal\"").count();
    assert!(refusals >= 2, "{refusals} refusal rows:\n{page}");

    // A business key opens the document: its set, status history and receipts.
    let page = dom(
        &gw,
        &signed("/ui/search?q=orderNo%3DGW20261121000001%2CebpCode%3D3301960A01"),
    );
    for want in [
        "单证 Document",
        "状态历史 Status history",
        "对碰通过 set_passed",
        "已转发 forwarded",
        "海关 customs:120",
        "海关回执 Customs receipts",
        "orderNo=GW20261121000001,ebpCode=3301960A01",
        // The order and the payment share the key: the newest declaration
        // is shown, the others linked (as `show` does).
        "此编号对应多个单证",
        // The set's other members.
        "CEB411",
        "CEB511",
        "CEB621",
    ] {
        assert!(
            page.contains(want),
            "the document page lacks {want:?}:\n{page}"
        );
    }
    // (Which one depends on the order the files came in; each has a receipt.)
    let receipts = page
        .split("海关回执 Customs receipts")
        .nth(1)
        .and_then(|r| r.split("</table>").next())
        .unwrap_or_default();
    assert!(
        receipts.contains("<a href=\"/ui/documents/") && receipts.contains("customs:120"),
        "no receipt row:\n{page}"
    );
    // A part of a key lists every document holding it; a copNo opens the inventory.
    let page = dom(&gw, &signed("/ui/search?q=GW20261121000001"));
    assert!(page.contains("查询 Search"), "{page}");
    assert!(page.matches("/ui/documents/").count() >= 3, "{page}");
    let page = dom(&gw, &signed("/ui/search?q=GWCOP2026112000001"));
    assert!(page.contains("CEB621"), "{page}");
    assert!(page.contains("海关 customs:800"), "{page}");
    // The hostile order's page, found by its key, shows it as text.
    let page = dom(&gw, &signed("/ui/search?q=%3Cscript%3E"));
    assert!(page.contains("已拒收 refused"), "{page}");
    assert!(page.contains("[FIXED]"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)"), "{page}");
    let page = dom(&gw, &signed("/ui/documents/no-such-key"));
    assert!(page.contains("404"), "{page}");

    // A screenshot of the overview (DASHBOARD_SCREENSHOT=docs/dashboard.png
    // keeps it).
    let shot = gw.path("dashboard.png");
    chromium_run(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600",
            "--hide-scrollbars",
        ],
        &format!("http://{}{}", gw.admin, signed("/")),
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    if let Some(keep) = std::env::var_os("DASHBOARD_SCREENSHOT") {
        let keep = Path::new(&keep);
        let keep = if keep.is_absolute() {
            keep.to_path_buf()
        } else {
            crate::util::root().join(keep)
        };
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn dashboard_auth_takes_bearer_or_cookie_and_the_cookie_opens_no_api() {
    let mut gw = Gateway::with_config(100, "");
    let text = std::fs::read_to_string(&gw.config).unwrap().replacen(
        "[admin]\n",
        "[admin]\ntoken_file = \"admin.token\"\n",
        1,
    );
    std::fs::write(&gw.config, text).unwrap();
    std::fs::write(gw.path("admin.token"), TOKEN).unwrap();
    gw.start();
    let url = |p: &str| format!("http://{}{p}", gw.admin);

    // No token: a sign-in page (401), HTML, locked down.
    let r = agent().get(url("/")).call().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let h = r.headers();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");

    // The bearer token opens pages too.
    let r = agent()
        .get(url("/"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // ?token= redirects to the page without it, setting the cookie.
    let r = agent()
        .get(url("/ui/search?q=x&token=") + TOKEN)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/ui/search?q=x");
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains(TOKEN), "the cookie carries the token");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    // The sign-in form sets the same cookie, and goes only to local paths.
    let r = agent()
        .post(url("/ui/login"))
        .content_type("application/x-www-form-urlencoded")
        .send(format!("token={TOKEN}&next=%2F%2Fevil.example%2F"))
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/");
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with(&cookie)
    );
    let r = agent()
        .post(url("/ui/login"))
        .content_type("application/x-www-form-urlencoded")
        .send("token=wrong&next=%2F")
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("set-cookie").is_none());

    // The cookie opens the pages, not the JSON API.
    let r = agent()
        .get(url("/"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = agent()
        .get(url("/status"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = agent()
        .get(url("/"))
        .header("Cookie", format!("{}x", cookie))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
