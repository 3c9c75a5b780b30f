//! Kill -9 (issue 7): the real daemon, with `settle_ms = 0`, is killed with
//! SIGKILL at random moments while it takes a few hundred files of many order
//! sets in random order, and restarted each time; some files are dropped
//! while it is down. Once it has finished and stopped (SIGTERM), every file
//! must be where it belongs exactly once, every document stored once, every
//! passing set forwarded to customs once, the quota ledger the sum of the
//! accepted orders, and every failing set's senders must have their receipts,
//! each once. The daemon signs what it forwards unsigned (`[signing]`), so a
//! forward rewritten after a kill is checked to be the same signed bytes.
//!
//! Environment: `CRASH_SEED` (else from the clock; printed, and again on
//! failure), `CRASH_KILLS` (default 20), `CRASH_SETS` (default 60, a quarter
//! of them failing). `scripts/crash-test.sh N` runs it with N kills.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt as _;
use std::time::{Duration, Instant};

use customs_gateway::codec::{self, Limits};
use customs_gateway::daemon::pipeline::forward_bytes;
use customs_gateway::engine::SetKey;
use customs_gateway::schema::fields::{
    inventory_head as ih, logistics_head as lh, order_head as oh, payment_head as ph,
};
use customs_gateway::sig::{Algorithm, Certificate, Signer};
use customs_gateway::store::{
    DocumentRecord, ForwardRecord, MessageRecord, Store, StoreLedger, key,
};

use crate::gateway::{ECOM, Gateway, PARTNERS, names, numbered_set, set_files};

/// A small deterministic PRNG (SplitMix64): a seed reproduces a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }

    /// A delay of a few to a few hundred milliseconds, short ones as
    /// likely as long ones (log-uniform-ish).
    fn delay_ms(&mut self) -> u64 {
        let e = 2 + self.below(7);
        3 + self.below(1 << e)
    }
}

/// The daemon under test; when the test fails, prints the seed that
/// repeats the run and the end of the daemon's log. With `CRASH_KEEP` set
/// the folder tree (store, boxes, log) is kept for a look.
struct Run {
    gw: Gateway,
    seed: u64,
}

impl Drop for Run {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        if std::env::var_os("CRASH_KEEP").is_some()
            && let Ok(spare) = tempfile::tempdir()
        {
            let kept = std::mem::replace(&mut self.gw.dir, spare).keep();
            eprintln!("folder tree kept in {}", kept.display());
        }
        if !failed {
            return;
        }
        let log = self.gw.log();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("--- the daemon's last log lines ---");
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
        eprintln!(
            "crash test failed; CRASH_SEED={} repeats this run",
            self.seed
        );
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
    )
}

/// One file to drop: its set, its kind (0 order … 3 inventory), its sender.
struct File {
    set: u32,
    kind: usize,
    sender: &'static str,
    name: String,
    bytes: Vec<u8>,
}

const TYPES: [&str; 4] = ["CEB311", "CEB411", "CEB511", "CEB621"];

/// How many, and the first ten, for a failure message.
fn few<T: std::fmt::Debug>(v: &[T]) -> String {
    let shown: Vec<String> = v.iter().take(10).map(|x| format!("{x:?}")).collect();
    let more = if v.len() > 10 { ", …" } else { "" };
    format!("{} [{}{more}]", v.len(), shown.join(", "))
}

fn sleep_until(t: Instant) {
    if let Some(wait) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

/// The regular files in the senders' OutBoxes and TempBoxes.
fn in_flight(gw: &Gateway) -> usize {
    [ECOM, PARTNERS]
        .iter()
        .map(|s| names(&gw.sender(s, "OutBox")).len() + names(&gw.sender(s, "TempBox")).len())
        .sum()
}

/// Effects on the senders' side seen so far: originals moved on, receipts
/// written.
fn sender_effects(gw: &Gateway) -> usize {
    let mut n = 0;
    for s in [ECOM, PARTNERS] {
        for f in ["InBox", "SentBox", "FailBox"] {
            n += names(&gw.sender(s, f)).len();
        }
    }
    n
}

/// The customs OutBox, then each sender's InBox, SentBox and FailBox: how
/// many files each holds.
fn progress(gw: &Gateway) -> Vec<usize> {
    let mut v = vec![names(&gw.customs("OutBox")).len()];
    for s in [ECOM, PARTNERS] {
        for f in ["InBox", "SentBox", "FailBox"] {
            v.push(names(&gw.sender(s, f)).len());
        }
    }
    v
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_doubles_nothing() {
    let seed = env_u64("CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let kills = env_u64("CRASH_KILLS").unwrap_or(20);
    let n_sets = env_u64("CRASH_SETS").unwrap_or(60) as u32;
    assert!(
        (4..=9999).contains(&n_sets),
        "CRASH_SETS must be 4 to 9999 (set numbers name orders)"
    );
    eprintln!("crash test: CRASH_SEED={seed} CRASH_KILLS={kills} CRASH_SETS={n_sets}");
    let verbose = std::env::var_os("CRASH_VERBOSE").is_some();
    let began = Instant::now();
    let mut rng = Rng(seed);

    // A quarter of the sets fail (their payment disagrees with their order).
    let mut numbers: Vec<u32> = (1..=n_sets).collect();
    rng.shuffle(&mut numbers);
    let failing: BTreeSet<u32> = numbers[..(n_sets / 4) as usize].iter().copied().collect();
    let passes = |n: u32| !failing.contains(&n);
    let mut files: Vec<File> = (1..=n_sets)
        .flat_map(|n| {
            set_files(n, passes(n)).into_iter().enumerate().map(
                move |(kind, (sender, name, bytes))| File {
                    set: n,
                    kind,
                    sender,
                    name,
                    bytes,
                },
            )
        })
        .collect();
    rng.shuffle(&mut files);
    {
        let unique: BTreeSet<(&str, &str)> =
            files.iter().map(|f| (f.sender, f.name.as_str())).collect();
        assert_eq!(unique.len(), files.len(), "no name is dropped twice");
    }

    // Kill it again and again while it works.
    // The gateway signs what it forwards unsigned (the orders, payments and
    // waybills): a forward rewritten after a kill must be the same bytes
    // (RSA PKCS#1 v1.5 is deterministic).
    let mut run = Run {
        gw: Gateway::with_config(
            0,
            "[signing]\nkey = \"gateway.key\"\ncertificate = \"gateway.pem\"\nalgorithm = \"rsa-sha1\"\n",
        ),
        seed,
    };
    let identity = customs_gateway::keygen::generate(&customs_gateway::keygen::Request {
        algorithm: Algorithm::RsaSha1,
        rsa_bits: 2048,
        serial: &[0x42],
        subject: "CN=crash test,C=CN",
        not_before: 1_700_000_000,
        not_after: 2_200_000_000,
    })
    .unwrap();
    std::fs::write(run.gw.path("gateway.key"), &identity.key_pem).unwrap();
    std::fs::write(run.gw.path("gateway.pem"), identity.cert_pem()).unwrap();
    let signer = Signer::new(
        Algorithm::RsaSha1,
        identity.key_pem.as_bytes(),
        Certificate::from_der(&identity.cert_der).unwrap(),
    )
    .unwrap();
    let gw = &mut run.gw;
    gw.start();
    let mut next = 0usize;
    let mut busy_kills = 0u64;
    let mut effect_kills = 0u64;
    let mut forward_kills = 0u64;
    let mut down_drops = 0usize;
    for k in 0..kills {
        let left = (files.len() - next) as u64;
        let cycles = kills - k + 1;
        // This cycle's share, around the average, sometimes none.
        let share = (rng.below(2 * left / cycles + 2) as usize).min(files.len() - next);
        let t0 = Instant::now();
        let mut dropped = 0usize;
        let mut drop_now = |gw: &Gateway, n: usize| {
            let n = n.min(share - dropped);
            for f in &files[next..next + n] {
                gw.drop_file(f.sender, &f.name, &f.bytes);
            }
            next += n;
            dropped += n;
        };
        let how = if rng.below(2) == 0 {
            // On a timer: a few to a few hundred ms after the start, with
            // bursts at random moments of the window, the last one shortly
            // before the kill. Lands in the start (store open, recovery of
            // the engine and of claimed files) or in a batch being stored.
            let delay = rng.delay_ms();
            let bursts = 1 + rng.below(3);
            let mut offsets: Vec<u64> = (1..bursts).map(|_| rng.below(delay)).collect();
            offsets.push(delay - rng.below(delay.min(25) + 1));
            offsets.sort_unstable();
            for (b, at) in offsets.iter().enumerate() {
                sleep_until(t0 + Duration::from_millis(*at));
                let n = if b as u64 + 1 == bursts {
                    share
                } else {
                    share / bursts as usize
                };
                drop_now(gw, n);
            }
            sleep_until(t0 + Duration::from_millis(delay));
            format!("{delay} ms after the start")
        } else {
            // On an effect: as soon as the daemon, past a flush, moves an
            // original on or writes a receipt (half of these kills), or
            // writes into the customs OutBox (the other half), plus 0 to 3
            // ms; so that the kill lands between a flush and the end of its
            // effects, or amid the forwarder's writes. At most 2 s.
            let customs = rng.below(2) == 0;
            let watch = |gw: &Gateway| {
                if customs {
                    names(&gw.customs("OutBox")).len()
                } else {
                    sender_effects(gw)
                }
            };
            let before = watch(gw);
            sleep_until(t0 + Duration::from_millis(rng.below(20)));
            drop_now(gw, share);
            let extra = rng.below(4);
            let deadline = Instant::now() + Duration::from_secs(2);
            while watch(gw) == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(300));
            }
            let seen = watch(gw) != before;
            std::thread::sleep(Duration::from_millis(extra));
            if seen && customs {
                forward_kills += 1;
            } else if seen {
                effect_kills += 1;
            }
            format!(
                "{} ms after the start, {}",
                t0.elapsed().as_millis(),
                match (seen, customs) {
                    (true, true) => "on a forward",
                    (true, false) => "on an effect",
                    (false, _) => "nothing seen",
                }
            )
        };
        let ended = gw.kill();
        assert_eq!(
            ended.signal(),
            Some(libc::SIGKILL),
            "kill {k}: the daemon had stopped by itself ({ended})"
        );
        // Files it had claimed and not yet moved on: killed at work.
        let claimed: usize = [ECOM, PARTNERS]
            .iter()
            .map(|s| names(&gw.sender(s, "TempBox")).len())
            .sum();
        if claimed > 0 {
            busy_kills += 1;
        }
        if verbose {
            eprintln!("kill {k}: {how}; {share} files dropped, {claimed} claimed and not moved on");
        }
        // Sometimes files arrive while it is down.
        if rng.below(3) == 0 {
            let n = (rng.below(8) as usize).min(files.len() - next);
            for f in &files[next..next + n] {
                gw.drop_file(f.sender, &f.name, &f.bytes);
            }
            next += n;
            down_drops += n;
        }
        gw.start();
    }
    for f in &files[next..] {
        gw.drop_file(f.sender, &f.name, &f.bytes);
    }

    // Let it finish: wait for the folders a correct daemon ends with (all
    // taken, every passing document forwarded, every receipt written), then
    // for nothing to move for a second, so that the forwarder's last report
    // is stored too. A daemon that gets somewhere else and stays there for
    // 10 s, or is still busy after 120 s, is stopped all the same and the
    // checks below say what is wrong.
    let passed = n_sets as usize - failing.len();
    let count = |s: &str| files.iter().filter(|f| f.sender == s).count();
    let want = vec![
        4 * passed,
        failing.len(),
        count(ECOM),
        0,
        2 * failing.len(),
        count(PARTNERS),
        0,
    ];
    let finish = Instant::now();
    let mut last = (Vec::new(), Instant::now());
    loop {
        let now = (in_flight(gw), progress(gw));
        if now.1 != last.0 || now.0 > 0 {
            last = (now.1.clone(), Instant::now());
        }
        let still = last.1.elapsed();
        if (now.0 == 0 && now.1 == want && still > Duration::from_secs(1))
            || still > Duration::from_secs(10)
        {
            break;
        }
        if finish.elapsed() > Duration::from_secs(120) {
            eprintln!("the daemon is still busy after 120 s: {now:?}, expected (0, {want:?})");
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let (status, _) = gw.stop();
    assert_eq!(status, Some(0), "SIGTERM after the last restart");

    check_files(gw, &files);
    let store = Store::open(&gw.path("store")).unwrap();
    let by_name = check_messages(&store, &files);
    check_forwards(gw, &store, &files, &by_name, &passes, &signer);
    check_ledger(&store, n_sets, &passes);
    check_receipts(gw, n_sets, &failing);

    let summary = format!(
        "crash summary: kills={kills} busy_kills={busy_kills} effect_kills={effect_kills} forward_kills={forward_kills} files={} dropped_while_down={down_drops} \
         sets={n_sets} passed={passed} failed={} forwarded={} seed={seed} secs={:.1}",
        files.len(),
        failing.len(),
        4 * passed,
        began.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
}

/// Every dropped file is in its sender's SentBox exactly once, byte for
/// byte (every file is valid and within its sender's codes, so none is
/// refused); nothing is left in an OutBox, a TempBox or a staging folder,
/// nothing else appeared.
fn check_files(gw: &Gateway, files: &[File]) {
    for s in [ECOM, PARTNERS] {
        assert_eq!(
            names(&gw.sender(s, "OutBox")),
            Vec::<String>::new(),
            "{s} OutBox"
        );
        assert_eq!(
            names(&gw.sender(s, "TempBox")),
            Vec::<String>::new(),
            "{s} TempBox"
        );
        // A write cut short by a kill is finished under the same name at a
        // later start, so no staged file is left behind either.
        assert_eq!(
            names(&gw.sender(s, "TempBox/.staging")),
            Vec::<String>::new(),
            "{s} TempBox/.staging"
        );
        let failed = names(&gw.sender(s, "FailBox"));
        assert!(failed.is_empty(), "{s} FailBox holds {failed:?}");
        let sent = names(&gw.sender(s, "SentBox"));
        let mut expected: Vec<String> = files
            .iter()
            .filter(|f| f.sender == s)
            .map(|f| f.name.clone())
            .collect();
        expected.sort();
        // A doubled move would show as NAME.2.xml; a lost file as a gap.
        assert_eq!(sent, expected, "{s} SentBox");
    }
    for work in ["GatewayTemp/out", "GatewayTemp/in"] {
        assert_eq!(names(&gw.customs(work)), Vec::<String>::new(), "{work}");
    }
    for f in files {
        let bytes = std::fs::read(gw.sender(f.sender, "SentBox").join(&f.name)).unwrap();
        assert!(bytes == f.bytes, "{} {}: other bytes", f.sender, f.name);
    }
}

/// One message record (and one document) per dropped file; no document
/// counted twice (a second processing would leave a `duplicate`); the queues
/// are empty; the status counters agree with the documents. Returns the
/// message ids by (sender, file name).
fn check_messages(store: &Store, files: &[File]) -> BTreeMap<(String, String), u64> {
    let mut by_name: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (_, m) in store.scan::<MessageRecord>(b"m").unwrap() {
        by_name
            .entry((m.source.name.clone(), m.source.file.clone()))
            .or_default()
            .push(m.id);
        assert_eq!(m.documents, 1, "{m:?}");
        // The default signature mode (`warn`) notes the unsigned and the
        // placeholder signatures; nothing else is said.
        assert!(
            m.findings
                .iter()
                .all(|f| f.rule.starts_with("SIGNATURE_") && f.severity == "warning"),
            "{m:?}"
        );
    }
    let expected: BTreeSet<(String, String)> = files
        .iter()
        .map(|f| (f.sender.to_owned(), f.name.clone()))
        .collect();
    let stored: BTreeSet<(String, String)> = by_name.keys().cloned().collect();
    let unknown: Vec<_> = stored.difference(&expected).collect();
    assert!(
        unknown.is_empty(),
        "messages for files never dropped: {}",
        few(&unknown)
    );
    let lost: Vec<_> = expected.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "dropped files without a message: {}",
        few(&lost)
    );
    let doubled: Vec<_> = by_name.iter().filter(|(_, ids)| ids.len() != 1).collect();
    assert!(
        doubled.is_empty(),
        "files stored more than once: {}",
        few(&doubled)
    );
    assert_eq!(
        store.count(b"h"),
        files.len(),
        "one idempotency entry per file"
    );

    let docs: Vec<DocumentRecord> = store
        .scan::<DocumentRecord>(b"d")
        .unwrap()
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(docs.len(), files.len(), "one document per file");
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    for d in &docs {
        *statuses.entry(d.status.clone()).or_default() += 1;
    }
    assert_eq!(
        store.status_counts().unwrap(),
        statuses,
        "the status counters agree with the documents"
    );
    assert_eq!(store.count(b"r"), 0, "receipts still queued");
    assert_eq!(store.count(b"w"), 0, "waybills still waiting");
    assert_eq!(store.count(b"o"), 0, "sets still open");
    for (_, f) in store.scan::<ForwardRecord>(b"f").unwrap() {
        assert_eq!(f.state, "written", "{f:?}");
    }
    by_name.into_iter().map(|(k, ids)| (k, ids[0])).collect()
}

/// The set number and kind a forwarded or receipt message is about, read
/// from its bytes (orderNo, logisticsNo or copNo).
fn set_of_forward(bytes: &[u8]) -> (u32, usize) {
    let m = codec::decode(bytes).unwrap().message;
    let b = m.business();
    let doc = &b.documents[0];
    let (kind, text, prefix) = match b.spec.name {
        "CEB311" => (0, doc.head.str(oh::ORDER_NO), "GW2026112100"),
        "CEB411" => (1, doc.head.str(ph::ORDER_NO), "GW2026112100"),
        "CEB511" => (2, doc.head.str(lh::LOGISTICS_NO), "YT20261121"),
        "CEB621" => (3, doc.head.str(ih::COP_NO), "GWCOP2026112"),
        other => panic!("{other} in the customs OutBox"),
    };
    let n = text
        .strip_prefix(prefix)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{text}: not a test set's number"));
    // The other keys of the document name the same set.
    if kind == 3 {
        assert_eq!(doc.head.str(ih::ORDER_NO), format!("GW2026112100{n:04}"));
    }
    (n, kind)
}

/// The customs OutBox holds each document of each passing set exactly once,
/// in the bytes its message forwards as, under the name of the message that
/// stored that file; nothing of a failing set, nothing else.
fn check_forwards(
    gw: &Gateway,
    store: &Store,
    files: &[File],
    by_name: &BTreeMap<(String, String), u64>,
    passes: &dyn Fn(u32) -> bool,
    signer: &Signer,
) {
    let limits = Limits::default();
    let by_set: BTreeMap<(u32, usize), &File> =
        files.iter().map(|f| ((f.set, f.kind), f)).collect();
    let mut seen: BTreeMap<(u32, usize), Vec<String>> = BTreeMap::new();
    let out = names(&gw.customs("OutBox"));
    for name in &out {
        let bytes = std::fs::read(gw.customs("OutBox").join(name)).unwrap();
        let (n, kind) = set_of_forward(&bytes);
        assert!(
            passes(n),
            "{name}: a document of failing set {n} went to customs"
        );
        let f = by_set[&(n, kind)];
        assert_eq!(
            bytes,
            forward_bytes(&f.bytes, &limits, Some(signer)).unwrap(),
            "{name}: not the bytes of {}",
            f.name
        );
        let msg = by_name[&(f.sender.to_owned(), f.name.clone())];
        let record: MessageRecord = store.get(&key::message(msg)).unwrap().unwrap();
        assert_eq!(
            name,
            &format!("{}_GW{msg:016}.xml", record.ty),
            "{name} is not named after the message that stored {}",
            f.name
        );
        seen.entry((n, kind)).or_default().push(name.clone());
    }
    let doubled: Vec<_> = seen.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        doubled.is_empty(),
        "forwarded more than once: {}",
        few(&doubled)
    );
    let missing: Vec<(u32, &str)> = files
        .iter()
        .filter(|f| passes(f.set) && !seen.contains_key(&(f.set, f.kind)))
        .map(|f| (f.set, TYPES[f.kind]))
        .collect();
    assert!(
        missing.is_empty(),
        "passing documents never forwarded: {}",
        few(&missing)
    );
}

/// The quota ledger holds exactly the accepted orders: one entry per
/// passing set with its buyer and acturalPaid, and each buyer's total is
/// that order alone (every set has its own buyer).
fn check_ledger(store: &Store, n_sets: u32, passes: &dyn Fn(u32) -> bool) {
    let ledger = StoreLedger::new(store);
    let entries: BTreeMap<SetKey, _> = ledger.entries().unwrap().into_iter().collect();
    let mut expected = 0usize;
    for n in 1..=n_sets {
        let order = numbered_set(n, passes(n)).order;
        let key = SetKey::new(order.head.str(oh::ORDER_NO), order.head.str(oh::EBP_CODE));
        let buyer = order.head.str(oh::BUYER_ID_NUMBER).to_uppercase();
        let paid = order.head.dec(oh::ACTURAL_PAID).unwrap();
        match entries.get(&key) {
            Some(e) => {
                assert!(passes(n), "failing set {n} holds quota: {e:?}");
                assert_eq!(e.buyer, buyer, "set {n}");
                assert_eq!(e.amount, paid, "set {n}");
                assert_eq!(
                    ledger.used(&buyer, e.year).unwrap(),
                    paid,
                    "set {n}'s buyer"
                );
                expected += 1;
            }
            None => assert!(!passes(n), "passing set {n} holds no quota"),
        }
    }
    assert_eq!(entries.len(), expected, "ledger entries for unknown orders");
}

/// Each failing set's senders got each receipt exactly once (ecom the
/// order's CEB312, partners the payment's CEB412 and the waybill's CEB512,
/// told apart by orderNo, payTransactionId and logisticsNo; the sample
/// inventory has no preNo, so no CEB622 but the verdict as text, which names
/// the set), and no receipt names a passing set.
fn check_receipts(gw: &Gateway, n_sets: u32, failing: &BTreeSet<u32>) {
    let mut got: BTreeMap<(u32, String, &str), usize> = BTreeMap::new();
    for s in [ECOM, PARTNERS] {
        for name in names(&gw.sender(s, "InBox")) {
            let text = std::fs::read_to_string(gw.sender(s, "InBox").join(&name)).unwrap();
            let ty = name.get(..6).unwrap_or_default().to_owned();
            let n = (1..=n_sets)
                .find(|n| {
                    text.contains(&format!(">GW2026112100{n:04}<"))
                        || text.contains(&format!(">PAY20261121{n:011}<"))
                        || text.contains(&format!(">YT20261121{n:05}<"))
                        || text.contains(&format!("orderNo=GW2026112100{n:04},"))
                })
                .unwrap_or_else(|| panic!("{s} InBox {name} names no test set"));
            *got.entry((n, ty, s)).or_default() += 1;
        }
    }
    let mut expected: BTreeMap<(u32, String, &str), usize> = BTreeMap::new();
    for &n in failing {
        expected.insert((n, "CEB312".to_owned(), ECOM), 1);
        expected.insert((n, "CEB412".to_owned(), PARTNERS), 1);
        expected.insert((n, "CEB512".to_owned(), PARTNERS), 1);
        expected.insert((n, "CEB621".to_owned(), ECOM), 1);
    }
    let diff: Vec<_> = got
        .iter()
        .filter(|(k, v)| expected.get(*k) != Some(v))
        .map(|(k, v)| format!("{k:?}: {v} received"))
        .chain(
            expected
                .keys()
                .filter(|k| !got.contains_key(*k))
                .map(|k| format!("{k:?}: none received")),
        )
        .collect();
    assert!(
        diff.is_empty(),
        "receipts (set, type, sender): {}",
        few(&diff)
    );
}
