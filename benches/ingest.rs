//! The daemon end to end, measured on the real release binary (issue 7).
//!
//! **Ingest** (the default): order sets, all passing, are generated into a
//! staging folder, dropped by rename into two senders' OutBoxes, and the
//! daemon (`target/release/customs-gateway serve`, `settle_ms = 0`) stores
//! them and writes them into the customs OutBox. Measured: files per
//! second from the first drop to the last forwarded file appearing
//! (inotify on the customs OutBox), the time from drop to forward per set
//! and per file, and in the same run the machine's own rates for the same
//! bytes and count on the same filesystem:
//!
//! - create + write + rename, no fsync (the ceiling),
//! - create + write + fsync + rename, one file at a time (durability
//!   without group commit),
//! - the daemon's own group write (`daemon::files::write_all`: 512 files,
//!   one `syncfs`, renames, the folder synced).
//!
//! A second daemon run drops at a paced rate (half the first run's) so
//! that the latency is the pipeline's, not the queue's.
//!
//! **Restart** (`DOCS=N`): a store with N documents is filled in process
//! through the daemon's own pipeline (`daemon::pipeline::Pipeline` over
//! `store::Store`, passed sets forwarded and transmitted, `OPEN` sets left
//! incomplete so the restart has something to replay); then the release
//! daemon is started on it: the time until the admin API answers and until
//! it answers `/status`, its RSS (VmRSS, VmHWM) at both points, and in the
//! same run `Store::open` alone.
//!
//! ```text
//! cargo build --release && cargo bench --bench ingest
//! FILES=20000 SYNC_FILES=2000 cargo bench --bench ingest
//! DOCS=1000000 cargo bench --bench ingest
//! ```
//!
//! `SIGNED=rsa` or `SIGNED=sm2`: every file is signed (RSA-2048 or SM2, one
//! key made for the run, registered for every enterprise of the sets), so
//! the daemon verifies each under its default signature mode, `warn`.
//!
//! `RELOAD_MS=N` adds, after each round, a run of the last binary during which
//! the configuration file is rewritten every N ms (`customs.retries`
//! toggled, so every look finds a change and reloads it): the rate under
//! live reloads beside the run just before it, and how many reloads the
//! daemon applied meanwhile (`/status` `config.reloads`).
//!
//! Other settings: `RATE` (files/s of the paced run; 0 skips it), `PACED_FILES`,
//! `SCAN_MS` (the daemon's `scan_interval_ms`, default 100), `LOG` (the
//! daemon's log filter, default `info` as shipped), `DIR` (where the
//! temporary tree goes; default the system's temporary folder), `OPEN`,
//! `KEEP=1` (keep the tree), `REUSE=DIR` (restart on a kept tree again,
//! without filling), `ROUNDS`, `COMPARE=name=binary,name=binary` (the same
//! runs, interleaved, for several binaries), `CUSTOMS_GATEWAY_BIN` (the
//! binary).
//! Under `cargo test` (no `--bench`) both modes run tiny, and are skipped
//! when the release binary is missing or older than the sources.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use customs_gateway::config::Config;
use customs_gateway::daemon::files::{NewFile, write_all};
use customs_gateway::daemon::pipeline::{Claimed, Effects, Origin, Pipeline};
use customs_gateway::store::{Store, Tx};

mod common;

use common::daemon::{
    Daemon, cleanup, cpu_time, dir_bytes, env_num, free_port, http_get, mb, ms, percentile, rss,
    start_bench, tree_parent, wait_answering,
};
use common::{SENDERS_TOML, SET_SENDERS, SET_TYPES, envelopes, set_files};

fn main() {
    let Some((benching, bin)) = start_bench("ingest") else {
        return;
    };
    if let Some(docs) = env_num::<u64>("DOCS") {
        restart(&bin, docs, benching);
    } else if benching {
        ingest(&bin, true);
    } else {
        ingest(&bin, false);
        restart(&bin, 200, false);
    }
}

/// A daemon's folder tree and configuration under `root`.
fn write_config(root: &Path, admin: &str, scan_ms: u64) -> PathBuf {
    std::fs::create_dir_all(root).unwrap();
    let text = format!(
        r#"registry = "registry.toml"
[store]
path = "store"
[admin]
listen = "{admin}"
[customs]
outbox = "customs/OutBox"
inbox = "customs/InBox"
failbox = "customs/FailBox"
sentbox = "customs/SentBox"
retries = 2
[ingest]
settle_ms = 0
scan_interval_ms = {scan_ms}
{SENDERS_TOML}"#
    );
    let config = root.join("gateway.toml");
    std::fs::write(&config, text).unwrap();
    let registry = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conf/registry.toml"),
    )
    .unwrap();
    // With SIGNED, the run's certificate is every enterprise's.
    let registry = match SIGNED_CERT.get() {
        Some(pem) => {
            std::fs::write(root.join("signer.pem"), pem).unwrap();
            registry.replace("roles = [", "certificates = [\"signer.pem\"]\nroles = [")
        }
        None => registry,
    };
    std::fs::write(root.join("registry.toml"), registry).unwrap();
    for sub in [
        "senders/ecom/OutBox",
        "senders/partners/OutBox",
        "customs/OutBox",
    ] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    config
}

// ---------------------------------------------------------------------------
// Ingest.

/// The certificate the files were signed with (`SIGNED`), PEM.
static SIGNED_CERT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// With `SIGNED=rsa|sm2`, signs every file (the sample inventory's
/// placeholder signature replaced) with one key made for the run; its
/// certificate, PEM.
fn sign_all(files: &mut [DropFile]) -> Option<String> {
    use customs_gateway::sig::{Algorithm, Certificate, Signer};
    let algorithm = match std::env::var("SIGNED").ok()?.as_str() {
        "rsa" => Algorithm::RsaSha1,
        "sm2" => Algorithm::Sm2Sm3,
        other => panic!("SIGNED={other}: rsa or sm2"),
    };
    let t = Instant::now();
    let id = customs_gateway::keygen::generate(&customs_gateway::keygen::Request {
        algorithm,
        rsa_bits: 2048,
        serial: &[0x01, 0x69, 0x1f, 0xe9],
        subject: "CN=ingest bench,C=CN",
        not_before: 1_700_000_000,
        not_after: 2_200_000_000,
    })
    .unwrap();
    let cert = Certificate::from_der(&id.cert_der).unwrap();
    let signer = Signer::new(algorithm, id.key_pem.as_bytes(), cert).unwrap();
    for f in files.iter_mut() {
        let text = String::from_utf8(std::mem::take(&mut f.bytes)).unwrap();
        let text = match (text.find("<ds:Signature"), text.find("</ds:Signature>")) {
            (Some(a), Some(b)) => format!("{}{}", &text[..a], &text[b + "</ds:Signature>".len()..]),
            _ => text,
        };
        f.bytes = signer.sign(&text).unwrap().into_bytes();
    }
    println!(
        "ingest: every file signed ({}), in {:.1} s",
        algorithm.name(),
        t.elapsed().as_secs_f64()
    );
    Some(id.cert_pem())
}

/// One file to drop: which sender, its name, its bytes; set and kind.
struct DropFile {
    sender: usize,
    name: String,
    bytes: Vec<u8>,
}

fn ingest(bin: &Path, benching: bool) {
    let n_files: usize = env_num("FILES").unwrap_or(if benching { 20_000 } else { 40 });
    let n_sync: usize = env_num("SYNC_FILES").unwrap_or(if benching { 2_000 } else { 20 });
    let scan_ms: u64 = env_num("SCAN_MS").unwrap_or(100);
    let rounds: usize = env_num("ROUNDS").unwrap_or(1);
    let reload_ms: Option<u64> = env_num("RELOAD_MS");
    let mut reloaded: Vec<(RunResult, f64)> = Vec::new();
    // `COMPARE=before=/path/a,after=/path/b`: the same runs for several
    // binaries, interleaved, against the same baselines.
    let bins: Vec<(String, PathBuf)> = match std::env::var("COMPARE") {
        Ok(list) => list
            .split(',')
            .map(|item| {
                let (name, path) = item.split_once('=').unwrap_or((item, item));
                (name.to_owned(), PathBuf::from(path))
            })
            .collect(),
        Err(_) => vec![("release".to_owned(), bin.to_path_buf())],
    };
    let sets = u32::try_from(n_files / 4).unwrap().max(1);
    let n_files = sets as usize * 4;

    let t = Instant::now();
    let envs = envelopes();
    let files: Vec<DropFile> = (0..sets)
        .flat_map(|n| set_files(&envs, n + 1, true, 0..4))
        .map(|(kind, name, bytes)| DropFile {
            sender: SET_SENDERS[kind],
            name,
            bytes,
        })
        .collect();
    let mut files = files;
    if let Some(cert_pem) = sign_all(&mut files) {
        let _ = SIGNED_CERT.set(cert_pem);
    }
    let total_bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    println!(
        "ingest: {n_files} files ({sets} sets, all passing), {} bytes on average, generated in {:.1} s",
        total_bytes / n_files,
        t.elapsed().as_secs_f64()
    );

    let root = tempfile::Builder::new()
        .prefix("ingest-bench")
        .tempdir_in(tree_parent())
        .unwrap();

    // The machine's own rates, same bytes, same filesystem. Nothing is
    // deleted until the end: on a filesystem without a journal, ext4 skips
    // recently freed inodes, and creating files right after deleting many
    // costs several times more.
    let n_sync = n_sync.min(files.len());
    let mut ceilings = vec![baseline(root.path(), &files, Sync::None)];
    let durable = baseline(root.path(), &files[..n_sync], Sync::EachFile);
    let group = baseline(root.path(), &files, Sync::Group);
    println!(
        "baseline create+write+rename, no fsync ({n_files} files): {:.0} files/s",
        ceilings[0]
    );
    println!(
        "baseline create+write+fsync+rename, one at a time ({n_sync} files): {durable:.0} files/s"
    );
    println!("baseline files::write_all, 512 files a syncfs ({n_files} files): {group:.0} files/s");

    // The daemon, files dropped as fast as one thread renames them; the
    // ceiling measured again before each run.
    let mut runs: Vec<(usize, RunResult, f64)> = Vec::new();
    for round in 0..rounds {
        for (b, (name, path)) in bins.iter().enumerate() {
            let before = *ceilings.last().unwrap();
            let r = daemon_run(
                path,
                root.path(),
                &format!("run-{round}-{b}"),
                &files,
                None,
                scan_ms,
                None,
            );
            println!(
                "{name}, round {}: {:.0} files/s ({:.0} µs CPU a file; ceiling just before {before:.0} files/s)",
                round + 1,
                r.files_per_s,
                r.cpu.as_secs_f64() * 1e6 / r.files as f64
            );
            runs.push((b, r, before));
            let c = baseline(root.path(), &files, Sync::None);
            println!("baseline create+write+rename, no fsync: {c:.0} files/s");
            ceilings.push(c);
        }
        if let (Some(every), Some((name, path))) = (reload_ms, bins.last()) {
            let before = runs.last().map_or(0.0, |r| r.1.files_per_s);
            let r = daemon_run(
                path,
                root.path(),
                &format!("run-{round}-reload"),
                &files,
                None,
                scan_ms,
                Some(every),
            );
            println!(
                "{name}, round {}, the configuration rewritten every {every} ms: {:.0} files/s, {} reloads applied = {:.2} × the run just before it without reloads",
                round + 1,
                r.files_per_s,
                r.reloads,
                r.files_per_s / before
            );
            r.print("  ");
            reloaded.push((r, before));
        }
    }

    // The last binary again at a paced rate, for latency.
    let last_rate = runs.last().map_or(0.0, |r| r.1.files_per_s);
    let rate: f64 = env_num("RATE").unwrap_or((last_rate * 0.5).floor());
    let paced = if rate > 0.0 {
        let n: usize = env_num("PACED_FILES").unwrap_or(n_files.min(8_000));
        let n = ((n / 4).max(1) * 4).min(files.len());
        let (_, path) = bins.last().unwrap();
        Some(daemon_run(
            path,
            root.path(),
            "run-paced",
            &files[..n],
            Some(rate),
            scan_ms,
            None,
        ))
    } else {
        None
    };

    let mut sorted = ceilings.clone();
    sorted.sort_by(f64::total_cmp);
    let ceiling = median(&sorted);
    println!();
    println!("---- summary (issue 7: file-drop ingest) ----");
    println!(
        "ceiling, create+write+rename without fsync: {ceiling:.0} files/s (median of {} measurements between the runs, {:.0} to {:.0})",
        ceilings.len(),
        sorted[0],
        sorted[sorted.len() - 1]
    );
    println!("one-at-a-time durable (fsync each file): {durable:.0} files/s");
    println!("group write (files::write_all, 512 a syncfs): {group:.0} files/s");
    for (b, (name, _)) in bins.iter().enumerate() {
        let mine: Vec<&(usize, RunResult, f64)> = runs.iter().filter(|r| r.0 == b).collect();
        let mut rates: Vec<f64> = mine.iter().map(|r| r.1.files_per_s).collect();
        rates.sort_by(f64::total_cmp);
        let median = median(&rates);
        let ratio = median / ceiling;
        println!(
            "daemon {name}, maximal drop rate: {median:.0} files/s (median of {}) = {ratio:.2} × ceiling, {:.1} × one-at-a-time durable, {:.2} × group write",
            rates.len(),
            median / durable,
            median / group
        );
        for (i, r) in mine.iter().enumerate() {
            println!(
                "  round {}: {:.0} files/s, {:.2} × the ceiling measured just before it",
                i + 1,
                r.1.files_per_s,
                r.1.files_per_s / r.2
            );
            r.1.print("    ");
        }
        let goal = median >= 5000.0 && ratio >= 0.5;
        let floor = median >= 2000.0;
        println!(
            "  goal ≥ 5,000 files/s and ≥ 0.5 × ceiling: {}; floor 2,000 files/s: {}",
            if goal { "met" } else { "NOT met" },
            if floor { "met" } else { "NOT met" }
        );
    }
    for (i, (r, before)) in reloaded.iter().enumerate() {
        println!(
            "live reload, round {}: {:.0} files/s with the configuration rewritten every {} ms ({} reloads applied during the run) = {:.2} × {before:.0} files/s of the run just before it without reloads",
            i + 1,
            r.files_per_s,
            reload_ms.unwrap_or(0),
            r.reloads,
            r.files_per_s / before
        );
    }
    if let Some(p) = &paced {
        println!(
            "daemon {}, paced at {rate:.0} files/s: {:.0} files/s forwarded",
            bins.last().unwrap().0,
            p.files_per_s
        );
        p.print("  ");
    }
    cleanup(root);
}

/// The median of sorted numbers.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sync {
    /// create, write, rename.
    None,
    /// create, write, fsync, rename, one file at a time.
    EachFile,
    /// `files::write_all` in batches of 512.
    Group,
}

/// Writes every file into a fresh folder the way `sync` says; files/s.
fn baseline(root: &Path, files: &[DropFile], sync: Sync) -> f64 {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let base = root.join(format!("baseline-{run}"));
    let tmp = base.join("tmp");
    let out = base.join("out");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let t = Instant::now();
    match sync {
        Sync::None | Sync::EachFile => {
            for f in files {
                let p = tmp.join(format!(".{}.tmp", f.name));
                let mut file = std::fs::File::create(&p).unwrap();
                file.write_all(&f.bytes).unwrap();
                if sync == Sync::EachFile {
                    file.sync_all().unwrap();
                }
                drop(file);
                std::fs::rename(&p, out.join(&f.name)).unwrap();
            }
        }
        Sync::Group => {
            for chunk in files.chunks(512) {
                let batch: Vec<NewFile> = chunk
                    .iter()
                    .map(|f| NewFile {
                        dir: out.clone(),
                        name: f.name.clone(),
                        bytes: f.bytes.clone(),
                    })
                    .collect();
                for r in write_all(&tmp, &batch) {
                    r.unwrap();
                }
            }
        }
    }
    files.len() as f64 / t.elapsed().as_secs_f64()
}

struct RunResult {
    files_per_s: f64,
    wall: Duration,
    per_set: Vec<Duration>,
    per_file: Vec<Duration>,
    cpu: Duration,
    hwm: u64,
    batches: u64,
    overflows: usize,
    drop_rate: f64,
    files: usize,
    /// CPU a second afterwards, idle, all forwards waiting in the OutBox.
    idle: Duration,
    /// Configuration reloads applied during the run.
    reloads: u64,
}

impl RunResult {
    fn print(&self, indent: &str) {
        println!(
            "{indent}{} files dropped at {:.0} files/s, all forwarded in {:.2} s; daemon CPU {:.2} s ({:.0} µs a file), peak RSS {:.0} MB, {} batches",
            self.files,
            self.drop_rate,
            self.wall.as_secs_f64(),
            self.cpu.as_secs_f64(),
            self.cpu.as_secs_f64() * 1e6 / self.files as f64,
            mb(self.hwm),
            self.batches
        );
        println!(
            "{indent}per set (last file dropped → last of its 4 forwards): p50 {}, p99 {}, max {}",
            ms(percentile(&self.per_set, 0.5)),
            ms(percentile(&self.per_set, 0.99)),
            ms(percentile(&self.per_set, 1.0))
        );
        println!(
            "{indent}per file (dropped → its forward in the OutBox):         p50 {}, p99 {}, max {}",
            ms(percentile(&self.per_file, 0.5)),
            ms(percentile(&self.per_file, 0.99)),
            ms(percentile(&self.per_file, 1.0))
        );
        println!(
            "{indent}idle afterwards, {} forwarded files waiting in the customs OutBox: {:.0} % of a core",
            self.files,
            self.idle.as_secs_f64() * 100.0
        );
        if self.overflows > 0 {
            println!(
                "{indent}({} inotify overflows: some arrival times are from a later listing)",
                self.overflows
            );
        }
    }
}

/// Arrivals in the customs OutBox: name → first seen.
#[derive(Default)]
struct Arrivals {
    seen: HashMap<String, Instant>,
    overflows: usize,
}

fn list_into(dir: &Path, arrivals: &Mutex<Arrivals>) {
    let now = Instant::now();
    let names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut a = arrivals.lock().unwrap();
    for n in names {
        if n.ends_with(".xml") && !n.starts_with('.') {
            a.seen.entry(n).or_insert(now);
        }
    }
}

fn daemon_run(
    bin: &Path,
    parent: &Path,
    name: &str,
    files: &[DropFile],
    rate: Option<f64>,
    scan_ms: u64,
    reload_ms: Option<u64>,
) -> RunResult {
    let root = parent.join(name);
    let admin = format!("127.0.0.1:{}", free_port());
    let config = write_config(&root, &admin, scan_ms);
    let stage = root.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    for f in files {
        std::fs::write(stage.join(&f.name), &f.bytes).unwrap();
    }
    let outboxes = [
        root.join("senders/ecom/OutBox"),
        root.join("senders/partners/OutBox"),
    ];
    let customs_out = root.join("customs/OutBox");

    let mut daemon = Daemon::spawn(bin, &root, &config);
    wait_answering(&mut daemon, &admin, Duration::from_secs(60));

    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let _watcher = {
        use notify::Watcher as _;
        let a = arrivals.clone();
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let now = Instant::now();
            let mut a = a.lock().unwrap();
            match res {
                Ok(ev) => {
                    if ev.need_rescan() {
                        a.overflows += 1;
                    }
                    for p in ev.paths {
                        if let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned())
                            && n.ends_with(".xml")
                            && !n.starts_with('.')
                        {
                            a.seen.entry(n).or_insert(now);
                        }
                    }
                }
                Err(_) => a.overflows += 1,
            }
        })
        .unwrap();
        w.watch(&customs_out, notify::RecursiveMode::NonRecursive)
            .unwrap();
        w
    };

    // Live reloads while the files flow: `customs.retries` toggled.
    let reloading = Arc::new(std::sync::atomic::AtomicBool::new(reload_ms.is_some()));
    let reloader = reload_ms.map(|every| {
        let (config, on) = (config.clone(), reloading.clone());
        std::thread::spawn(move || {
            let text = std::fs::read_to_string(&config).unwrap();
            let mut flip = false;
            while on.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(every));
                flip = !flip;
                let next = if flip {
                    text.replace("retries = 2", "retries = 3")
                } else {
                    text.clone()
                };
                let tmp = config.with_extension("toml.new");
                std::fs::write(&tmp, next).unwrap();
                std::fs::rename(&tmp, &config).unwrap();
            }
        })
    });
    let cpu0 = cpu_time(daemon.pid());
    let mut dropped: Vec<Instant> = Vec::with_capacity(files.len());
    let t0 = Instant::now();
    for (i, f) in files.iter().enumerate() {
        if let Some(r) = rate {
            let due = t0 + Duration::from_secs_f64(i as f64 / r);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        std::fs::rename(stage.join(&f.name), outboxes[f.sender].join(&f.name)).unwrap();
        dropped.push(Instant::now());
    }
    let drop_wall = t0.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60 + files.len() as u64 / 100);
    let mut last_listing = Instant::now();
    loop {
        let (n, overflowed) = {
            let a = arrivals.lock().unwrap();
            (a.seen.len(), a.overflows > 0)
        };
        if n >= files.len() {
            break;
        }
        if overflowed && last_listing.elapsed() > Duration::from_millis(50) {
            list_into(&customs_out, &arrivals);
            last_listing = Instant::now();
        }
        daemon.check_alive();
        assert!(
            Instant::now() < deadline,
            "only {n} of {} files forwarded\n{}",
            files.len(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let cpu = cpu_time(daemon.pid()).saturating_sub(cpu0);
    let (_, hwm) = rss(daemon.pid());
    reloading.store(false, std::sync::atomic::Ordering::Relaxed);
    if let Some(t) = reloader {
        t.join().unwrap();
    }
    let reloads = http_get(&admin, "/status")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v["config"]["reloads"].as_u64())
        .unwrap_or(0);
    // Then idle, with every forwarded file still waiting in the customs
    // OutBox (no import client takes them here): what watching them costs.
    // Measured 3 s after the last arrival, for 3 s (the pipeline records
    // the last forwards first).
    std::thread::sleep(Duration::from_secs(3));
    let idle_from = cpu_time(daemon.pid());
    std::thread::sleep(Duration::from_secs(3));
    let idle = cpu_time(daemon.pid()).saturating_sub(idle_from) / 3;
    let batches = http_get(&admin, "/status")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v["batches"].as_u64())
        .unwrap_or(0);
    daemon.stop();

    // Which dropped file each forward is: its type and orderNo.
    let a = arrivals.lock().unwrap();
    let index: HashMap<(&str, String), usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| ((&f.name[..6], order_no(&f.bytes)), i))
        .collect();
    let mut arrived: Vec<Option<Instant>> = vec![None; files.len()];
    for (name, at) in &a.seen {
        let bytes = std::fs::read(customs_out.join(name)).unwrap();
        let ty = &name[..6];
        assert!(SET_TYPES.contains(&ty), "{name}");
        let i = index[&(ty, order_no(&bytes))];
        assert!(arrived[i].is_none(), "{name} forwarded twice");
        arrived[i] = Some(*at);
    }
    let arrived: Vec<Instant> = arrived.into_iter().map(Option::unwrap).collect();
    let last = *arrived.iter().max().unwrap();
    let wall = last - t0;
    let mut per_file: Vec<Duration> = arrived
        .iter()
        .zip(&dropped)
        .map(|(a, d)| a.saturating_duration_since(*d))
        .collect();
    per_file.sort();
    let mut per_set: Vec<Duration> = arrived
        .chunks(4)
        .zip(dropped.chunks(4))
        .map(|(a, d)| {
            let a = a.iter().max().unwrap();
            let d = d.iter().max().unwrap();
            a.saturating_duration_since(*d)
        })
        .collect();
    per_set.sort();
    RunResult {
        files_per_s: files.len() as f64 / wall.as_secs_f64(),
        wall,
        per_set,
        per_file,
        cpu,
        hwm,
        batches,
        overflows: a.overflows,
        drop_rate: files.len() as f64 / drop_wall.as_secs_f64(),
        files: files.len(),
        idle,
        reloads,
    }
}

/// The text of the first `orderNo` element of a message.
fn order_no(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let at = text.find("orderNo>").expect("an orderNo") + "orderNo>".len();
    let rest = &text[at..];
    rest[..rest.find('<').expect("orderNo text")].to_owned()
}

// ---------------------------------------------------------------------------
// Restart with many stored documents.

fn restart(bin: &Path, docs: u64, benching: bool) {
    let open: u64 = env_num("OPEN").unwrap_or((docs / 500).clamp(1, 2_000));
    let complete = docs.saturating_sub(open * 3) / 4;
    let docs = complete * 4 + open * 3;
    let admin = format!("127.0.0.1:{}", free_port());
    // `REUSE=DIR`: a tree kept (`KEEP=1`) by an earlier run with the same
    // DOCS and OPEN: restart on its store again, without filling.
    let (root, config_path) = match std::env::var_os("REUSE") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let config = write_config(&dir, &admin, 2000);
            (Tree::Kept(dir), config)
        }
        None => {
            let root = tempfile::Builder::new()
                .prefix("restart-bench")
                .tempdir_in(tree_parent())
                .unwrap();
            let config = write_config(root.path(), &admin, 2000);
            (Tree::Temp(root), config)
        }
    };
    println!(
        "restart: {docs} documents: {complete} passed sets (forwarded and transmitted), {open} incomplete sets (order, payment, waybill)"
    );
    let store_path = root.path().join("store");
    if let Tree::Temp(_) = &root {
        // Fill, through the daemon's own pipeline, in this process.
        let t = Instant::now();
        let cpu0 = cpu_time(std::process::id());
        fill(root.path(), &config_path, complete, open);
        let fill_wall = t.elapsed();
        let fill_cpu = cpu_time(std::process::id()).saturating_sub(cpu0);
        println!(
            "fill: {:.1} s ({:.0} documents/s in process, CPU {:.1} s); store {:.0} MB on disk",
            fill_wall.as_secs_f64(),
            docs as f64 / fill_wall.as_secs_f64(),
            fill_cpu.as_secs_f64(),
            mb(dir_bytes(&store_path))
        );
    }
    let store_bytes = dir_bytes(&store_path);

    // Store::open alone, in this process: how long, and how much its RSS
    // grows (only telling with REUSE: after a fill this process is big).
    let open_alone = || {
        let (rss0, _) = rss(std::process::id());
        let t = Instant::now();
        let store = Store::open(&store_path).unwrap();
        let took = t.elapsed();
        let (rss1, _) = rss(std::process::id());
        drop(store);
        (took, rss1.saturating_sub(rss0))
    };

    // The daemon straight after the fill (or on the kept tree), then
    // Store::open alone, then the daemon again, then Store::open again.
    let first = start(bin, root.path(), &config_path, &admin);
    let open_between = open_alone();
    let second = start(bin, root.path(), &config_path, &admin);
    let open_after = open_alone();
    let open_sets = second.open_sets;

    println!();
    println!("---- summary (issue 7: {docs} stored documents) ----");
    println!(
        "store on disk: {:.0} MB; messages {}, open sets after restart {open_sets} (expected {open})",
        mb(store_bytes),
        second.messages
    );
    for (i, r) in [&first, &second].iter().enumerate() {
        println!(
            "restart {}: spawn → admin API answering {} (the daemon logged restore_ms={}); → first /status answered {} (that /status took {}; a second one {})",
            i + 1,
            ms(r.answering),
            r.restore_ms,
            ms(r.restart),
            ms(r.restart.saturating_sub(r.answering)),
            ms(r.second_status)
        );
        println!(
            "  RSS: after start {:.0} MB (peak {:.0}), after the first /status {:.0} MB (peak {:.0}), after the second {:.0} MB (peak {:.0}); stop (SIGTERM → exit) {}",
            mb(r.rss[0].0),
            mb(r.rss[0].1),
            mb(r.rss[1].0),
            mb(r.rss[1].1),
            mb(r.rss[2].0),
            mb(r.rss[2].1),
            ms(r.stop)
        );
        if i == 0 {
            println!(
                "Store::open alone (same run, between the two): {}, this process's RSS +{:.0} MB",
                ms(open_between.0),
                mb(open_between.1)
            );
        }
    }
    println!(
        "Store::open alone after the second: {}, RSS +{:.0} MB",
        ms(open_after.0),
        mb(open_after.1)
    );
    let rss_max = [&first, &second]
        .iter()
        .flat_map(|r| r.rss.iter().map(|(a, b)| *a.max(b)))
        .max()
        .unwrap_or(0);
    let restart = first.restart.max(second.restart);
    println!(
        "goal RSS < 256 MB: {} ({:.0} MB peak); goal restart < 3 s: {} ({:.2} s, the slower of the two)",
        if rss_max < 256 * 1024 * 1024 {
            "met"
        } else {
            "NOT met"
        },
        mb(rss_max),
        if restart < Duration::from_secs(3) {
            "met"
        } else {
            "NOT met"
        },
        restart.as_secs_f64()
    );
    if !benching {
        assert_eq!(open_sets, open, "open sets replayed");
    }
    if let Tree::Temp(root) = root {
        cleanup(root);
    }
}

/// One start of the daemon on a filled store.
struct Start {
    /// Spawn → the admin API answers.
    answering: Duration,
    /// Spawn → the first `/status` answered.
    restart: Duration,
    second_status: Duration,
    /// (VmRSS, VmHWM) after start, after the first and the second `/status`.
    rss: [(u64, u64); 3],
    restore_ms: String,
    open_sets: u64,
    messages: u64,
    stop: Duration,
}

fn start(bin: &Path, root: &Path, config: &Path, admin: &str) -> Start {
    let mut daemon = Daemon::spawn(bin, root, config);
    let spawned = Instant::now();
    let pid = daemon.pid();
    let answering = wait_answering(&mut daemon, admin, Duration::from_secs(600));
    let rss0 = rss(pid);
    let (code, body) = http_get(admin, "/status").unwrap();
    let status_at = Instant::now();
    assert_eq!(code, 200, "{body}");
    let rss1 = rss(pid);
    let t = Instant::now();
    let (_, body2) = http_get(admin, "/status").unwrap();
    let second_status = t.elapsed();
    let rss2 = rss(pid);
    let status: serde_json::Value = serde_json::from_str(&body2).unwrap();
    let log = plain(&daemon.log());
    let restore_ms = log
        .lines()
        .find(|l| l.contains("Store opened."))
        .and_then(|l| l.split("restore_ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("?")
        .to_owned();
    let stop = daemon.stop();
    Start {
        answering: answering - spawned,
        restart: status_at - spawned,
        second_status,
        rss: [rss0, rss1, rss2],
        restore_ms,
        open_sets: status["open_sets"].as_u64().unwrap_or(0),
        messages: status["messages"].as_u64().unwrap_or(0),
        stop,
    }
}

/// Text without its ANSI colour sequences.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A tree made for this run, or one kept by an earlier run.
enum Tree {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Tree {
    fn path(&self) -> &Path {
        match self {
            Tree::Temp(t) => t.path(),
            Tree::Kept(p) => p,
        }
    }
}

/// `complete` passing sets (stored, forwarded, transmitted) and `open` sets
/// missing their inventory, through `Pipeline::process` as the daemon
/// stores them, flushed every 512 files.
fn fill(root: &Path, config_path: &Path, complete: u64, open: u64) {
    let config = Config::load(config_path).unwrap();
    let store = Store::open(&config.store.path).unwrap();
    let mut pipeline = Pipeline::new(
        store.clone(),
        customs_gateway::daemon::pipeline::Settings::new(
            &config,
            config.load_registry().unwrap(),
            None,
            config.sender.clone(),
            config.platform.clone(),
            Default::default(),
        ),
    )
    .unwrap();
    pipeline.recover(0).unwrap();
    // Each file is read from one scratch path, rewritten for every file: on
    // tmpfs when there is one (rewriting a file on ext4 mounted with
    // `discard` and no journal frees and trims its blocks synchronously,
    // which would make this fill measure the disk's TRIM).
    let shm = Path::new("/dev/shm");
    let scratch = if shm.is_dir() {
        shm.join(format!("ingest-bench-{}.xml", std::process::id()))
    } else {
        root.join("scratch.xml")
    };
    let total = complete + open;
    // Files are made on another thread while this one stores.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(usize, String, Vec<u8>)>>(256);
    let maker = std::thread::spawn(move || {
        let envs = envelopes();
        for n in 0..total {
            let kinds = if n < complete { 0..4 } else { 0..3 };
            let set = set_files(&envs, u32::try_from(n + 1).unwrap(), true, kinds);
            if tx.send(set).is_err() {
                break;
            }
        }
    });
    let now = customs_gateway::daemon::now_ms();
    let mut effects = Effects::default();
    let mut in_batch = 0usize;
    let mut done_sets = 0u64;
    let t = Instant::now();
    let mut report = Instant::now();
    let batch_end = |pipeline: &mut Pipeline, tx: &mut Tx, effects: &mut Effects| {
        let full = std::mem::replace(tx, pipeline.begin());
        pipeline.commit(full).unwrap();
        pipeline.store().flush_blocking().unwrap();
        let e = std::mem::take(effects);
        // What the forwarder and the import client would report, stored
        // with the next batch.
        pipeline.forwarded(tx, &e.forwards, now).unwrap();
        let msgs: Vec<u64> = e.forwards.iter().map(|j| j.msg).collect();
        let mut more = Effects::default();
        pipeline
            .transmission(tx, &msgs, &[], now, &mut more)
            .unwrap();
        assert!(e.inbox.is_empty(), "no receipts for passing sets");
    };
    let mut tx = pipeline.begin();
    for set in rx {
        for (kind, name, bytes) in set {
            std::fs::write(&scratch, &bytes).unwrap();
            let claimed = Claimed {
                origin: Origin::Sender(SET_SENDERS[kind]),
                name,
                path: scratch.clone(),
                recovered: false,
            };
            pipeline
                .process(&mut tx, &claimed, now, &mut effects)
                .unwrap();
            in_batch += 1;
            if in_batch == 512 {
                batch_end(&mut pipeline, &mut tx, &mut effects);
                in_batch = 0;
            }
        }
        done_sets += 1;
        if report.elapsed() > Duration::from_secs(30) {
            report = Instant::now();
            println!(
                "fill: {done_sets} of {total} sets, {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    batch_end(&mut pipeline, &mut tx, &mut effects);
    pipeline.commit(tx).unwrap();
    maker.join().unwrap();
    let _ = std::fs::remove_file(&scratch);
    assert_eq!(
        pipeline.engine().stats().sets as u64,
        open,
        "open sets after the fill"
    );
    store.flush_blocking().unwrap();
}
