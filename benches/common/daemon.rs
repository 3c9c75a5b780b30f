//! The release daemon as the end-to-end benches run it (`ingest`, `tcp`):
//! finding the binary, describing the machine, spawning and stopping it,
//! asking its admin API, reading its CPU time and RSS.

use std::io::Read as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A number from the environment.
pub fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

// ---------------------------------------------------------------------------
// The binary, the machine, the tree.

/// The start of a daemon bench: whether it runs as a bench (`cargo bench`
/// passes `--bench`; `cargo test --all-targets` runs it once without it,
/// then everything is tiny) and the release binary; `None` when it is
/// skipped under `cargo test` (said on stdout). Prints the machine.
pub fn start_bench(name: &str) -> Option<(bool, PathBuf)> {
    let benching = std::env::args().any(|a| a == "--bench");
    let bin = match binary() {
        Ok(b) => b,
        Err(why) if !benching => {
            println!("{name}: skipped under cargo test: {why}");
            return None;
        }
        Err(why) => panic!("{name}: {why}"),
    };
    println!("{}", machine());
    Some((benching, bin))
}

/// The release binary: `CUSTOMS_GATEWAY_BIN`, else `target/release` (or
/// `$CARGO_TARGET_DIR/release`). An error when it is missing, or (under
/// `cargo test` only, where a stale binary must not fail the suite) older
/// than a source file.
pub fn binary() -> Result<PathBuf, String> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = match std::env::var_os("CUSTOMS_GATEWAY_BIN") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| manifest.join("target"), PathBuf::from)
            .join("release/customs-gateway"),
    };
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .map_err(|e| {
            format!(
                "no release binary at {} ({e}); build it first: cargo build --release",
                bin.display()
            )
        })?;
    if let Some(newer) = newest_source(&manifest.join("src"))
        && newer.1 > built
    {
        let why = format!(
            "{} is older than {}; rebuild it: cargo build --release",
            bin.display(),
            newer.0.display()
        );
        if std::env::args().any(|a| a == "--bench") {
            println!("warning: {why}");
        } else {
            return Err(why);
        }
    }
    Ok(bin)
}

pub fn newest_source(dir: &Path) -> Option<(PathBuf, SystemTime)> {
    let mut best: Option<(PathBuf, SystemTime)> = None;
    for e in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let p = e.path();
        let cand = if p.is_dir() {
            newest_source(&p)
        } else {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (p.clone(), t))
        };
        if let Some(c) = cand
            && best.as_ref().is_none_or(|b| c.1 > b.1)
        {
            best = Some(c);
        }
    }
    best
}

pub fn tree_parent() -> PathBuf {
    std::env::var_os("DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

/// nproc, the CPU model, the filesystem of the temporary folder, the commit.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fs = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(tree_parent())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    format!(
        "machine: {nproc} cores, {cpu}; temporary tree on {fs} ({}); commit {commit}{}",
        tree_parent().display(),
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        }
    )
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn spawn(bin: &Path, root: &Path, config: &Path) -> Daemon {
        let log = root.join("gateway.log");
        let file = std::fs::File::create(&log).unwrap();
        let filter = std::env::var("LOG").unwrap_or_else(|_| "info".to_owned());
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(config)
            .env("CUSTOMS_GATEWAY_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn check_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the daemon exited: {status}\n{}", self.log());
        }
    }

    /// SIGTERM, then waits: how long it took.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(i32::try_from(self.child.id()).unwrap(), libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the daemon stopped: {status}");
                return t.elapsed();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the daemon did not stop in 120 s\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 GET: the status code and the body.
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {text:.80}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((code, body))
}

/// Waits until the admin API answers any request; returns when.
pub fn wait_answering(d: &mut Daemon, addr: &str, deadline: Duration) -> Instant {
    let t = Instant::now();
    loop {
        if http_get(addr, "/no-such-route").is_ok() {
            return Instant::now();
        }
        d.check_alive();
        assert!(
            t.elapsed() < deadline,
            "the daemon did not answer\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// VmRSS and VmHWM of a process, in bytes.
pub fn rss(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU time of a process so far.
pub fn cpu_time(pid: u32) -> Duration {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 after ')'.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    Duration::from_millis(ticks * 1000 / hz.max(1))
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            n += if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            };
        }
    }
    n
}

pub fn cleanup(dir: tempfile::TempDir) {
    if std::env::var("KEEP").is_ok_and(|v| v == "1") {
        println!("kept: {}", dir.keep().display());
    }
}
