//! Push end to end, on the real release binary (issue 9): a receipt file
//! renamed into the customs InBox → the same receipt in its subscribed
//! client's InBox.
//!
//! The release daemon is started with `CLIENTS` folder clients (default
//! 10), each of its own enterprise and subscribed to all seven statuses.
//! The generator offers CEB622 receipts (the official sample, each with
//! its own guid, copNo, preNo and invtNo; receipt `i` belongs to enterprise
//! `i % CLIENTS`) at `RATE` receipts/s (default 1,000) for `SECS` seconds
//! (default 10): receipt `i` is written under a dot name and renamed into
//! the InBox at `i / RATE` s. An inotify watch on every client InBox
//! notes when each delivered file appears (its copNo read back from it).
//!
//! Measured: the latency from each receipt's rename into the customs InBox
//! to its file appearing in the client's InBox (p50/p90/p99/max), the
//! sustained rate (receipts delivered over the seconds from the first drop
//! to the last delivery), and the daemon's CPU time per receipt. In the
//! same run, on the same filesystem, the disk's bounds: 4 KiB append +
//! `fsync` per second, and write + `fsync` + rename of a small file per
//! second (what one unbatched delivery costs).
//!
//! ```text
//! cargo build --release && DIR=/var/tmp cargo bench --bench push
//! RATE=2000 SECS=10 CLIENTS=10 DIR=/var/tmp cargo bench --bench push
//! ```
//!
//! Other settings: `SETTLE` (the daemon's `ingest.settle_ms`, default 0:
//! the generator renames whole files in), `LOG`, `DIR`, `KEEP=1`,
//! `CUSTOMS_GATEWAY_BIN`. Under `cargo test` (no `--bench`) it runs tiny
//! (200 receipts/s for 1 s), and is skipped when the release binary is
//! missing or older than the sources.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::Watcher as _;

mod common;

use common::daemon::{
    Daemon, cleanup, cpu_time, env_num, free_port, ms, percentile, start_bench, tree_parent,
    wait_answering,
};

fn main() {
    let Some((benching, bin)) = start_bench("push") else {
        return;
    };
    if benching {
        let rate: f64 = env_num("RATE").unwrap_or(1000.0);
        let secs: f64 = env_num("SECS").unwrap_or(10.0);
        let clients: usize = env_num("CLIENTS").unwrap_or(10);
        run(&bin, rate, secs, clients, 2.0);
    } else {
        run(&bin, 200.0, 1.0, 3, 0.2);
    }
}

fn enterprise(i: usize) -> String {
    format!("33019608{i:02}")
}

fn receipt(sample: &str, ebc: &str, n: usize) -> Vec<u8> {
    sample
        .replace(
            "72A5EB59",
            &format!("{:08X}", n.wrapping_mul(2_654_435_761)),
        )
        .replace("930A8DFD", &format!("{n:08X}"))
        .replace(
            "<ebcCode>3301960B02</ebcCode>",
            &format!("<ebcCode>{ebc}</ebcCode>"),
        )
        .replace("GWCOP2026112100001", &format!("BENCH{n:010}"))
        .replace("29912026I000000123", &format!("29912026I{n:09}"))
        .replace("B20261121000000101", &format!("B2026112{n:010}"))
        .into_bytes()
}

fn write_config(root: &Path, admin: &str, clients: usize) -> PathBuf {
    let settle: u64 = env_num("SETTLE").unwrap_or(0);
    let mut text = format!(
        "[store]\npath = \"store\"\n[admin]\nlisten = \"{admin}\"\n\
         [customs]\noutbox = \"customs/OutBox\"\ninbox = \"customs/InBox\"\n\
         failbox = \"customs/FailBox\"\nsentbox = \"customs/SentBox\"\n\
         [ingest]\nsettle_ms = {settle}\nscan_interval_ms = 1000\n"
    );
    for i in 0..clients {
        text.push_str(&format!(
            "[[client]]\nid = \"C{i}\"\nenterprise = \"{}\"\nfolder = \"clients/C{i}/InBox\"\n\
             [[subscription]]\nclient = \"C{i}\"\ncontent = [\"receipts\"]\n\
             statuses = [\"入库\", \"退单\", \"审结\", \"删单\", \"放行\", \"结案\", \"查验通知\"]\n\
             valid_until = \"+1y\"\nby = \"bench\"\n",
            enterprise(i)
        ));
    }
    let path = root.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// 4 KiB appended + fsync, per second, for `secs`.
fn fsync_rate(dir: &Path, secs: f64) -> f64 {
    let path = dir.join("fsync.probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![7u8; 4096];
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < secs {
        f.write_all(&block).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    let _ = std::fs::remove_file(&path);
    n as f64 / t.elapsed().as_secs_f64()
}

/// A small file written, fsynced and renamed into another folder, per second.
fn create_rename_rate(dir: &Path, secs: f64) -> f64 {
    let (a, b) = (dir.join("probe-a"), dir.join("probe-b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < secs {
        let tmp = a.join(format!("{n}.tmp"));
        let mut f = std::fs::File::create(&tmp).unwrap();
        f.write_all(&[b'x'; 700]).unwrap();
        f.sync_all().unwrap();
        std::fs::rename(&tmp, b.join(format!("{n}.xml"))).unwrap();
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
    rate
}

fn run(bin: &Path, rate: f64, secs: f64, clients: usize, probe_secs: f64) {
    assert!(clients > 0 && clients < 100, "CLIENTS must be 1 to 99");
    let n = (rate * secs).round() as usize;
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/receipts/CEB622-inventory-released.xml"),
    )
    .unwrap();
    let files: Vec<Vec<u8>> = (0..n)
        .map(|i| receipt(&sample, &enterprise(i % clients), i))
        .collect();
    println!(
        "push: {n} receipts offered at {rate:.0}/s for {secs} s to {clients} clients (each its own enterprise)"
    );
    let root = tempfile::Builder::new()
        .prefix("push-bench")
        .tempdir_in(tree_parent())
        .unwrap();
    let admin = format!("127.0.0.1:{}", free_port());
    let config = write_config(root.path(), &admin, clients);
    let fsyncs = fsync_rate(root.path(), probe_secs);
    let renames = create_rename_rate(root.path(), probe_secs);
    println!(
        "disk: 4 KiB append + fsync: {fsyncs:.0}/s; 700 B write + fsync + rename: {renames:.0}/s"
    );
    let mut daemon = Daemon::spawn(bin, root.path(), &config);
    wait_answering(&mut daemon, &admin, Duration::from_secs(60));
    let inbox = root.path().join("customs/InBox");
    let client_dirs: Vec<PathBuf> = (0..clients)
        .map(|i| root.path().join(format!("clients/C{i}/InBox")))
        .collect();
    // Every client folder exists once the daemon answers.
    let (ev_tx, ev_rx) = mpsc::channel::<(PathBuf, Instant)>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let at = Instant::now();
        if let Ok(ev) = res
            && matches!(
                ev.kind,
                notify::EventKind::Create(_)
                    | notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
            )
        {
            for p in ev.paths {
                let _ = ev_tx.send((p, at));
            }
        }
    })
    .unwrap();
    for d in &client_dirs {
        watcher
            .watch(d, notify::RecursiveMode::NonRecursive)
            .unwrap();
    }
    let pid = daemon.pid();
    let cpu0 = cpu_time(pid);
    // The generator, on its own thread: due times from the start.
    let start = Instant::now() + Duration::from_millis(200);
    let gen_dir = inbox.clone();
    let generator = std::thread::spawn(move || {
        let mut dropped = Vec::with_capacity(files.len());
        for (i, bytes) in files.into_iter().enumerate() {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let tmp = gen_dir.join(format!(".R{i:07}.tmp"));
            std::fs::write(&tmp, &bytes).unwrap();
            std::fs::rename(&tmp, gen_dir.join(format!("R{i:07}.xml"))).unwrap();
            dropped.push(Instant::now());
        }
        dropped
    });
    // Deliveries: copNo → first seen.
    let mut seen: HashMap<usize, Instant> = HashMap::with_capacity(n);
    let deadline_after_load = Duration::from_secs(60);
    let mut last_progress = Instant::now();
    while seen.len() < n {
        match ev_rx.recv_timeout(Duration::from_millis(500)) {
            Ok((path, at)) => {
                let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
                if name.starts_with('.') || !name.ends_with(".xml") {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if let Some(s) = text.find("<copNo>BENCH") {
                    let digits = &text[s + 12..s + 22];
                    if let Ok(i) = digits.parse::<usize>() {
                        seen.entry(i).or_insert(at);
                        last_progress = Instant::now();
                    }
                }
            }
            Err(_) => {
                daemon.check_alive();
                if last_progress.elapsed() > deadline_after_load
                    && start.elapsed().as_secs_f64() > secs
                {
                    break;
                }
            }
        }
    }
    let dropped = generator.join().unwrap();
    let cpu = cpu_time(pid).saturating_sub(cpu0);
    let mut lat: Vec<Duration> = seen
        .iter()
        .filter_map(|(i, at)| dropped.get(*i).map(|d| at.saturating_duration_since(*d)))
        .collect();
    lat.sort();
    let last = seen.values().max().copied().unwrap_or(start);
    let first = dropped.first().copied().unwrap_or(start);
    let span = last.saturating_duration_since(first).as_secs_f64();
    let behind = dropped
        .iter()
        .enumerate()
        .map(|(i, d)| d.saturating_duration_since(start + Duration::from_secs_f64(i as f64 / rate)))
        .max()
        .unwrap_or_default();
    println!(
        "push: {} of {n} delivered; {:.0} receipts/s sustained over {span:.2} s (first drop to last delivery); generator at most {} behind its schedule",
        seen.len(),
        seen.len() as f64 / span.max(1e-9),
        ms(behind)
    );
    println!(
        "latency (customs InBox rename → client InBox): p50 {} p90 {} p99 {} max {}",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.90)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default())
    );
    println!(
        "daemon CPU: {:.2} s, {:.0} µs a receipt",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n.max(1) as f64
    );
    drop(watcher);
    daemon.stop();
    assert_eq!(seen.len(), n, "not every receipt was delivered");
    cleanup(root);
}
