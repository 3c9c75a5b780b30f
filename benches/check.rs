//! `customs-gateway check` over many generated files against
//! `xmllint --noout --schema` (libxml2 parsing and XSD-validating) over the
//! same files, in one run: wall time, CPU time and peak RSS of each.
//!
//! `cargo build --release && cargo bench --bench check`
//!
//! Environment: `FILES=2000,20000` (file counts, each a folder of passing
//! order sets, four files a set), `ROUNDS=3` (each command this many times,
//! interleaved; the median is reported), `DIR` (where the files go; default
//! `/dev/shm` when it exists, so the disk is not what is measured),
//! `COMPARE=name=binary,…` (more `customs-gateway` binaries run the same
//! way, e.g. a build of an earlier commit), `KEEP=1` (leave the files, to
//! profile `check` over them).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    /// The exit status, as `wait4` reports it.
    status: i32,
    wall: Duration,
    cpu: Duration,
    max_rss_kib: i64,
}

/// Runs `cmd` to its end; its wall time, CPU time (user + system) and peak
/// resident set, from `wait4`.
// The child is reaped by `wait4` (for its resource usage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(mut cmd: Command) -> Run {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn().expect("command starts");
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into two locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Run {
        status,
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    }
}

fn generate(dir: &Path, files: u32) -> u64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let envs = common::envelopes();
    let mut bytes = 0;
    for n in 1..=files.div_ceil(4) {
        for (_, name, data) in common::set_files(&envs, n, true, 0..4) {
            bytes += data.len() as u64;
            std::fs::write(dir.join(name), data).unwrap();
        }
    }
    bytes
}

fn median(mut v: Vec<Run>) -> Run {
    v.sort_by_key(|r| r.wall);
    let mid = v.len() / 2;
    v.swap_remove(mid)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if !std::env::args().any(|a| a == "--bench") {
        // Under `cargo test`: one small run of the binary just built, the
        // generated files must pass.
        let dir = std::env::temp_dir().join(format!(
            "customs-gateway-check-smoke-{}",
            std::process::id()
        ));
        generate(&dir, 8);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_customs-gateway"));
        cmd.arg("check").arg(&dir);
        let run = measure(cmd);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(run.status, 0, "check refused the generated files");
        return;
    }
    let xsd = root.join("../shared/reference/xsd/ceb-import-2022.xsd");
    let counts: Vec<u32> = std::env::var("FILES")
        .unwrap_or_else(|_| "2000,20000".to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("FILES=n,n"))
        .collect();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let base = std::env::var_os("DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            if Path::new("/dev/shm").is_dir() {
                PathBuf::from("/dev/shm")
            } else {
                std::env::temp_dir()
            }
        });
    let mut bins = vec![(
        "check".to_owned(),
        root.join("target/release/customs-gateway"),
    )];
    if let Ok(more) = std::env::var("COMPARE") {
        for pair in more.split(',').filter(|p| !p.is_empty()) {
            let (name, bin) = pair.split_once('=').expect("COMPARE=name=binary");
            bins.push((name.to_owned(), PathBuf::from(bin)));
        }
    }
    for (_, bin) in &bins {
        assert!(
            bin.is_file(),
            "{} is missing: cargo build --release",
            bin.display()
        );
    }
    for files in counts {
        let dir = base.join(format!("customs-gateway-check-{files}"));
        let bytes = generate(&dir, files);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut runs: Vec<(String, Vec<Run>)> = bins
            .iter()
            .map(|(n, _)| (n.clone(), Vec::new()))
            .chain(std::iter::once(("xmllint".to_owned(), Vec::new())))
            .collect();
        for _ in 0..rounds {
            for (i, (_, bin)) in bins.iter().enumerate() {
                let mut cmd = Command::new(bin);
                cmd.arg("check").arg(&dir);
                runs[i].1.push(measure(cmd));
            }
            // One xmllint for all the files (the XSD is parsed once), run in
            // the folder so the argument list stays short.
            let mut cmd = Command::new("xmllint");
            cmd.current_dir(&dir)
                .arg("--noout")
                .arg("--schema")
                .arg(&xsd)
                .args(&names);
            let last = runs.len() - 1;
            runs[last].1.push(measure(cmd));
        }
        let summary: Vec<(String, Run)> = runs.into_iter().map(|(n, r)| (n, median(r))).collect();
        let xmllint = summary.last().map(|(_, r)| r.wall).unwrap();
        println!(
            "{files} files, {bytes} bytes ({} bytes a file), median of {rounds}:",
            bytes / u64::from(files.max(1))
        );
        println!("| command | wall | files/s | CPU | peak RSS | xmllint's wall ÷ this |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, r) in &summary {
            println!(
                "| {name} | {:.2} s | {:.0} | {:.2} s | {:.1} MiB | {:.2}× |",
                r.wall.as_secs_f64(),
                f64::from(files) / r.wall.as_secs_f64(),
                r.cpu.as_secs_f64(),
                r.max_rss_kib as f64 / 1024.0,
                xmllint.as_secs_f64() / r.wall.as_secs_f64(),
            );
        }
        if std::env::var_os("KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
