//! The TCP source: e-commerce platforms submit messages over a socket
//! (`PROTOCOL.md`), optionally TLS.
//!
//! One task per connection reads frames; a writer task per connection
//! writes ACKs, RECEIPTs and PONGs. A SUBMIT becomes a
//! [`Submission`] for the pipeline, which stores it with the folder
//! source's batch, flushes, and only then hands the ACK back
//! ([`Reply`]). Each submission holds one of the connection's in-flight
//! permits until its ACK is written: when they are all taken the reader
//! stops reading the socket, and the platform's TCP window fills
//! (backpressure, not buffering).
//!
//! The [`Hub`] knows which connection takes each platform's receipts (the
//! oldest one that asked for them); the pipeline hands receipts to it after
//! the flush, and a connection that starts taking them first sends what
//! the store keeps for its platform.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, StreamExt as _};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_util::codec::{Decoder, FramedRead};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::Event;
use super::pipeline::{Outgoing, Reply, Submission};
use crate::config::{PlatformConfig, TcpConfig};
use crate::protocol::{self, Header, Secret};
use crate::store::{InboxRecord, Store};

/// How long a new connection has to complete TLS and send its HELLO.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most SUBMITs a reader hands to the pipeline at once.
const SUBMIT_BATCH: usize = 256;

/// Why the TCP source could not start.
#[derive(Debug, Error)]
pub enum TcpError {
    /// The listen address could not be bound.
    #[error("tcp.listen {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key could not be read or used.
    #[error("{key} {path}: {reason}")]
    Tls {
        /// `tcp.tls_cert` or `tcp.tls_key`.
        key: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A platform's token file could not be read.
    #[error("platform[{index}].token_file: {source}")]
    Token {
        /// The platform's index.
        index: usize,
        /// Why.
        source: crate::admin::TokenError,
    },
}

/// A platform as the handshake checks it.
struct Platform {
    id: String,
    /// SHA-256 of the token: compared in constant time, and of equal
    /// length whatever the token's. `None`: removed by a reload (its slot
    /// stays, so the indices of connections in flight keep their meaning).
    digest: Option<[u8; 32]>,
    /// Cancelled when a reload removes the platform or changes its token:
    /// its connections finish what they submitted and are closed.
    revoked: CancellationToken,
}

/// What a reload changes for new connections.
struct Live {
    platforms: Vec<Platform>,
    /// `limits.max_bytes`.
    max_body: usize,
}

/// What every connection shares.
pub struct Shared {
    live: std::sync::RwLock<Arc<Live>>,
    tls: Option<TlsAcceptor>,
    max_in_flight: usize,
    /// Authenticated connections (`max_connections`).
    slots: Arc<Semaphore>,
    max_connections: usize,
    /// Bytes of messages in flight on all connections, in KiB.
    budget: Arc<Semaphore>,
    /// The budget's size in KiB (a larger message takes all of it).
    budget_kib: u32,
    idle: Duration,
    frame_timeout: Duration,
    hub: Arc<Hub>,
    store: Store,
    next_conn: AtomicU64,
}

/// The TCP source, bound and ready to run.
pub struct TcpSource {
    listener: TcpListener,
    max_connections: usize,
    shared: Arc<Shared>,
}

impl TcpSource {
    /// Binds the listener and reads the TLS files; `tokens` are the
    /// platforms' tokens as the start-up path read them (`None` for a
    /// platform slot a reload removed).
    pub async fn bind(
        tcp: &TcpConfig,
        platforms: &[PlatformConfig],
        tokens: &[Option<String>],
        max_body: usize,
        hub: Arc<Hub>,
        store: Store,
        shutdown: &CancellationToken,
    ) -> Result<TcpSource, TcpError> {
        let tls = match (&tcp.tls_cert, &tcp.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        let list = platforms
            .iter()
            .enumerate()
            .map(|(i, p)| Platform {
                id: p.id.clone(),
                digest: digest_of(tokens.get(i).and_then(Option::as_deref)),
                revoked: shutdown.child_token(),
            })
            .collect();
        let budget_kib = u32::try_from(tcp.max_in_flight_mb.saturating_mul(1024))
            .unwrap_or(u32::MAX)
            .min(u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        let listener = TcpListener::bind(&tcp.listen)
            .await
            .map_err(|source| TcpError::Listen {
                addr: tcp.listen.clone(),
                source,
            })?;
        Ok(TcpSource {
            listener,
            max_connections: tcp.max_connections,
            shared: Arc::new(Shared {
                live: std::sync::RwLock::new(Arc::new(Live {
                    platforms: list,
                    max_body,
                })),
                tls,
                max_in_flight: tcp.max_in_flight,
                slots: Arc::new(Semaphore::new(tcp.max_connections)),
                max_connections: tcp.max_connections,
                budget: Arc::new(Semaphore::new(budget_kib as usize)),
                budget_kib,
                idle: Duration::from_secs(tcp.idle_timeout_secs),
                frame_timeout: Duration::from_secs(tcp.frame_timeout_secs),
                hub,
                store,
                next_conn: AtomicU64::new(1),
            }),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// What a reload reconfigures.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

/// SHA-256 of a token.
fn digest_of(token: Option<&str>) -> Option<[u8; 32]> {
    token.map(|t| Sha256::digest(t.as_bytes()).into())
}

impl Shared {
    fn live(&self) -> Arc<Live> {
        match self.live.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Takes a reloaded configuration: `platforms` (slots) with their
    /// `tokens`, and `limits.max_bytes`, for connections made from now on.
    /// A platform removed, or given another token, has its connections
    /// closed once what they submitted is acknowledged (`REVOKED`); one
    /// whose codes changed keeps them (the pipeline checks codes per
    /// message). Returns what it did, one line each.
    pub fn reconfigure(
        &self,
        platforms: &[PlatformConfig],
        tokens: &[Option<String>],
        max_body: usize,
        shutdown: &CancellationToken,
    ) -> Vec<String> {
        let old = self.live();
        let mut changes = Vec::new();
        let mut list = Vec::new();
        for (i, p) in platforms.iter().enumerate() {
            let digest = digest_of(tokens.get(i).and_then(Option::as_deref));
            let before = old.platforms.get(i);
            let revoked = match before {
                Some(b) if b.digest.is_some() && b.digest == digest => b.revoked.clone(),
                Some(b) => {
                    if b.digest.is_some() {
                        b.revoked.cancel();
                        changes.push(if digest.is_some() {
                            format!("new token for {}", p.id)
                        } else {
                            format!("removed {}", p.id)
                        });
                    } else if digest.is_some() {
                        changes.push(format!("added {}", p.id));
                    }
                    shutdown.child_token()
                }
                None => {
                    changes.push(format!("added {}", p.id));
                    shutdown.child_token()
                }
            };
            list.push(Platform {
                id: p.id.clone(),
                digest,
                revoked,
            });
        }
        let new = Arc::new(Live {
            platforms: list,
            max_body,
        });
        match self.live.write() {
            Ok(mut l) => *l = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
        changes
    }
}

impl TcpSource {
    /// Accepts connections until `shutdown`; each runs in `tracker`.
    pub(super) async fn run(
        self,
        events: mpsc::Sender<Event>,
        tracker: TaskTracker,
        gauges: Arc<super::stats::Gauges>,
        shutdown: CancellationToken,
    ) {
        let TcpSource {
            listener,
            max_connections,
            shared,
        } = self;
        // Connections not yet authenticated hold a handshake slot (for 5 s
        // at most); authenticated ones a connection slot. Peers that never
        // authenticate cannot take the places of platforms that do.
        let handshakes = Arc::new(Semaphore::new(max_connections));
        // Telling a refused connection why takes a TLS handshake at most:
        // a few at a time, the rest are closed without a word.
        let refusers = Arc::new(Semaphore::new(16));
        gauges.tcp_listening.store(true, Ordering::Relaxed);
        info!(
            message = "TCP source listening.",
            addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            tls = shared.tls.is_some(),
            platforms = shared.live().platforms.len()
        );
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(error) => {
                    // Out of file descriptors and the like: wait, then go on.
                    warn!(message = "Cannot accept a TCP connection.", %error);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            match handshakes.clone().try_acquire_owned() {
                Ok(slot) => {
                    let shared = shared.clone();
                    let events = events.clone();
                    let shutdown = shutdown.clone();
                    let gauges = gauges.clone();
                    tracker.spawn(async move {
                        connection(stream, peer, shared, slot, events, gauges, shutdown).await;
                    });
                }
                Err(_) => {
                    warn!(message = "Connection limit reached; a connection is refused.", %peer, max_connections);
                    if let Ok(permit) = refusers.clone().try_acquire_owned() {
                        let shared = shared.clone();
                        tracker.spawn(async move {
                            let busy = busy(max_connections);
                            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                                if let Ok(mut io) = open(stream, &shared).await {
                                    let _ = io.write_all(&protocol::encode(&busy, b"")).await;
                                    let _ = io.shutdown().await;
                                }
                            })
                            .await;
                            drop(permit);
                        });
                    }
                }
            }
        }
    }
}

/// The certificates of a PEM file: at least one.
pub fn read_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in the file".to_owned());
    }
    Ok(certs)
}

/// Checks that the certificate and key make a TLS server configuration.
pub fn check_tls(cert: &Path, key: &Path) -> Result<(), TcpError> {
    tls_acceptor(cert, key).map(|_| ())
}

/// Builds the TLS acceptor from PEM files, with rustls' ring provider
/// (the only one this build links).
fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TcpError> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject as _;
    let certs = read_certs(cert).map_err(|reason| TcpError::Tls {
        key: "tcp.tls_cert",
        path: cert.display().to_string(),
        reason,
    })?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TcpError::Tls {
        key: "tcp.tls_key",
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, private))
        .map_err(|e| TcpError::Tls {
            key: "tcp.tls_key",
            path: key.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A connection's byte stream, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn open(stream: TcpStream, shared: &Shared) -> std::io::Result<Box<dyn Io>> {
    match &shared.tls {
        Some(acceptor) => Ok(Box::new(acceptor.accept(stream).await?)),
        None => Ok(Box::new(stream)),
    }
}

/// The length-prefixed frame decoder (`PROTOCOL.md` §1).
///
/// Unlike tokio-util's `LengthDelimitedCodec` it leaves the length prefix
/// in the read buffer until the whole frame is there, so "a frame has
/// started" is "the read buffer is not empty" (the frame deadline cannot
/// be dodged by sending only a prefix), and it reserves room as bytes come
/// rather than for the announced length. A length over the limit is an
/// error as soon as the prefix arrives.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame: usize,
}

/// A frame's announced length is over the limit.
#[derive(Debug, thiserror::Error)]
#[error("a frame of {length} bytes is over the limit of {max} bytes")]
pub struct TooLarge {
    /// The announced length.
    pub length: usize,
    /// The limit.
    pub max: usize,
}

impl FrameCodec {
    /// A decoder reading frames of at most `max_frame` bytes after the prefix.
    pub fn new(max_frame: usize) -> FrameCodec {
        FrameCodec { max_frame }
    }

    /// Changes the limit (the handshake reads a HELLO-sized frame at most).
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
    }
}

impl Decoder for FrameCodec {
    type Item = bytes::BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut bytes::BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let Some(prefix) = src.get(..protocol::PREFIX) else {
            return Ok(None);
        };
        let mut len = [0u8; protocol::PREFIX];
        len.copy_from_slice(prefix);
        let length = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
        if length > self.max_frame {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                TooLarge {
                    length,
                    max: self.max_frame,
                },
            ));
        }
        let total = protocol::PREFIX.saturating_add(length);
        if src.len() < total {
            // Room for what comes next, not for the whole announced frame.
            src.reserve(total.saturating_sub(src.len()).min(64 * 1024));
            return Ok(None);
        }
        let mut frame = src.split_to(total);
        let _ = frame.split_to(protocol::PREFIX);
        Ok(Some(frame))
    }
}

/// The frame decoder with the body limit.
pub fn codec(max_body: usize) -> FrameCodec {
    FrameCodec::new(protocol::max_frame(max_body))
}

/// Why a connection ends.
enum End {
    /// The client closed its side.
    Closed,
    /// The daemon stops.
    Shutdown,
    /// A read or write failed.
    Io(String),
    /// A protocol error: told to the client, then closed.
    Fatal(Header),
}

/// Serves one connection from accept to close.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    handshake_slot: OwnedSemaphorePermit,
    events: mpsc::Sender<Event>,
    gauges: Arc<super::stats::Gauges>,
    shutdown: CancellationToken,
) {
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    // TLS and the HELLO, within the handshake deadline.
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let io = match tokio::time::timeout_at(deadline, open(stream, &shared)).await {
        Ok(Ok(io)) => io,
        Ok(Err(error)) => {
            info!(message = "TLS handshake failed.", %peer, conn, %error);
            return;
        }
        Err(_) => {
            info!(message = "No TLS handshake in time; closed.", %peer, conn);
            return;
        }
    };
    let (rd, wr) = tokio::io::split(io);
    // Before authentication a frame is a HELLO at most.
    let mut frames = FramedRead::new(rd, FrameCodec::new(protocol::MAX_HEADER.saturating_add(1)));
    let mut wr = BufWriter::new(wr);
    let hello = tokio::select! {
        _ = shutdown.cancelled() => return,
        h = tokio::time::timeout_at(deadline, frames.next()) => h,
    };
    // The configuration as it is now holds for the whole connection.
    let live = shared.live();
    let (platform, receipts, version) = match handshake(hello, &live) {
        Ok(p) => p,
        Err(error) => {
            // The reason goes to the client; the log keeps the code only
            // (a reason may quote what the client sent, a token included).
            if let Header::Error { code, .. } = &error {
                info!(message = "Handshake refused.", %peer, conn, code = %code);
            }
            finish(&mut wr, Some(error), shared.frame_timeout).await;
            return;
        }
    };
    drop(handshake_slot);
    let Ok(_slot) = shared.slots.clone().try_acquire_owned() else {
        finish(
            &mut wr,
            Some(busy(shared.max_connections)),
            shared.frame_timeout,
        )
        .await;
        return;
    };
    let id = live
        .platforms
        .get(platform)
        .map(|p| p.id.clone())
        .unwrap_or_default();
    // Stops the connection when the daemon stops or a reload revokes the
    // platform (a child of the daemon's shutdown).
    let revoked = live
        .platforms
        .get(platform)
        .map_or_else(|| shutdown.clone(), |p| p.revoked.clone());
    let max_body = live.max_body;
    // Authenticated: frames up to the message limit from now on.
    frames
        .decoder_mut()
        .set_max_frame(protocol::max_frame(max_body));
    let welcome = Header::Welcome {
        version,
        server: format!("customs-gateway {}", env!("CARGO_PKG_VERSION")),
        max_body: u64::try_from(max_body).unwrap_or(u64::MAX),
        max_frame: u64::try_from(protocol::max_frame(max_body)).unwrap_or(u64::MAX),
        max_in_flight: u64::try_from(shared.max_in_flight).unwrap_or(u64::MAX),
        idle_timeout_secs: shared.idle.as_secs(),
    };
    if write_frames(
        &mut wr,
        &protocol::encode(&welcome, b""),
        shared.frame_timeout,
    )
    .await
    .is_err()
    {
        return;
    }
    info!(message = "Platform connected.", platform = %id, %peer, conn, receipts);
    gauges.tcp_connections.fetch_add(1, Ordering::Relaxed);

    let (out, out_rx) = mpsc::unbounded_channel::<Outgoing>();
    // Cancelled when the writer gives up (the client does not read): the
    // reader then stops taking messages whose ACKs could not be sent.
    let writer_gone = CancellationToken::new();
    let writer = tokio::spawn(writer(
        wr,
        out_rx,
        Kept {
            store: shared.store.clone(),
            hub: shared.hub.clone(),
            platform,
            name: id.clone(),
        },
        shared.frame_timeout,
        writer_gone.clone(),
    ));
    if receipts {
        shared.hub.register(platform, conn, out.clone());
    }
    let end = tokio::select! {
        end = reader(&mut frames, platform, max_body, &out, &shared, &events, &revoked) => end,
        _ = writer_gone.cancelled() => End::Io(format!(
            "the client did not read its ACKs within {} s (tcp.frame_timeout_secs)",
            shared.frame_timeout.as_secs()
        )),
    };
    shared.hub.unregister(platform, conn);
    gauges.tcp_connections.fetch_sub(1, Ordering::Relaxed);
    drop(out);
    // The ACKs of what was handed to the pipeline still come (the writer
    // ends when the last one is written); then the closing word.
    let wait = shared.frame_timeout.saturating_add(Duration::from_secs(5));
    let wr = match tokio::time::timeout(wait, writer).await {
        Ok(Ok(Some(wr))) => Some(wr),
        _ => None,
    };
    let last = match end {
        End::Closed => {
            info!(message = "Platform disconnected.", platform = %id, conn);
            None
        }
        End::Io(error) => {
            info!(message = "Platform connection failed.", platform = %id, conn, %error);
            None
        }
        End::Shutdown if shutdown.is_cancelled() => Some(Header::fatal(
            "SHUTDOWN",
            "the gateway is stopping; every message acknowledged is stored, send the others again after it restarts",
        )),
        End::Shutdown => {
            info!(message = "Platform connection closed: the platform was removed or given a new token.", platform = %id, conn);
            Some(Header::fatal(
                "REVOKED",
                "the gateway's configuration no longer admits this platform with this token; every message acknowledged is stored",
            ))
        }
        End::Fatal(h) => {
            if let Header::Error { code, message, .. } = &h {
                warn!(message = "Platform connection closed on a protocol error.", platform = %id, conn, code = %code, reason = %message);
            }
            Some(h)
        }
    };
    if let Some(mut wr) = wr {
        finish(&mut wr, last, shared.frame_timeout).await;
    }
}

/// Checks the HELLO: the platform (by index) and whether it takes receipts,
/// or the error to send before closing.
fn handshake(
    hello: Result<Option<std::io::Result<bytes::BytesMut>>, tokio::time::error::Elapsed>,
    shared: &Live,
) -> Result<(usize, bool, u32), Header> {
    let payload = match hello {
        Err(_) => {
            return Err(Header::fatal(
                "HANDSHAKE",
                format!(
                    "no HELLO within {} s of connecting",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            ));
        }
        Ok(None) => return Err(Header::fatal("HANDSHAKE", "closed before HELLO")),
        Ok(Some(Err(e))) => return Err(read_error(&e, shared.max_body)),
        Ok(Some(Ok(p))) => p,
    };
    let (header, _) = protocol::decode(&payload)
        .map_err(|e| Header::fatal("FRAME", format!("{e}; the first frame must be HELLO")))?;
    let Header::Hello {
        versions,
        platform,
        token,
        receipts,
    } = header
    else {
        return Err(Header::fatal(
            "HANDSHAKE",
            format!("the first frame must be HELLO, not {}", header.name()),
        ));
    };
    let Some(version) = protocol::negotiate(&versions) else {
        return Err(Header::Error {
            code: "VERSION".to_owned(),
            message: format!(
                "no protocol version in common: the client speaks {versions:?}, the gateway {:?}",
                protocol::VERSIONS
            ),
            fatal: true,
            supported: protocol::VERSIONS.to_vec(),
        });
    };
    match authenticate(&shared.platforms, &platform, &token) {
        Some(i) => Ok((i, receipts, version)),
        None => {
            // The log says which; the client is not told whether the
            // platform exists.
            let known = shared
                .platforms
                .iter()
                .any(|p| p.id == platform && p.digest.is_some());
            // What the client sent is logged quoted and cut short.
            let said: String = platform.chars().take(64).collect();
            info!(
                message = "Authentication failed.",
                platform = ?said,
                reason = if known { "wrong token" } else { "unknown platform" }
            );
            Err(Header::fatal("AUTH", "unknown platform or wrong token"))
        }
    }
}

/// The platform whose id and token these are. The token is compared in
/// constant time (as a digest, so its length does not show), and an
/// unknown platform costs the same comparison.
fn authenticate(platforms: &[Platform], id: &str, token: &Secret) -> Option<usize> {
    let digest: [u8; 32] = Sha256::digest(token.0.as_bytes()).into();
    // A removed platform's slot admits no one.
    let candidate = platforms
        .iter()
        .position(|p| p.id == id && p.digest.is_some());
    let expected = candidate
        .and_then(|i| platforms.get(i))
        .and_then(|p| p.digest)
        .unwrap_or([0u8; 32]);
    let equal: bool = expected.ct_eq(&digest).into();
    candidate.filter(|_| equal)
}

/// The answer to a connection over the limit.
fn busy(max_connections: usize) -> Header {
    Header::fatal(
        "BUSY",
        format!(
            "the gateway serves {max_connections} connections at most (tcp.max_connections); try again later"
        ),
    )
}

/// The error frame for a failed read.
fn read_error(e: &std::io::Error, max_body: usize) -> Header {
    if let Some(t) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLarge>())
    {
        let what = if t.max == protocol::max_frame(max_body) {
            format!("a body of limits.max_bytes = {max_body} plus the header")
        } else {
            "a HELLO before authentication".to_owned()
        };
        Header::fatal(
            "TOO_LARGE",
            format!(
                "the frame's length {} is over the limit of {} bytes ({what}); nothing of it was read",
                t.length, t.max
            ),
        )
    } else {
        Header::fatal("FRAME", format!("cannot read the frame: {e}"))
    }
}

/// Reads frames until the connection ends.
#[allow(clippy::too_many_arguments)]
async fn reader(
    frames: &mut FramedRead<tokio::io::ReadHalf<Box<dyn Io>>, FrameCodec>,
    platform: usize,
    max_body: usize,
    out: &mpsc::UnboundedSender<Outgoing>,
    shared: &Shared,
    events: &mpsc::Sender<Event>,
    shutdown: &CancellationToken,
) -> End {
    let in_flight = Arc::new(Semaphore::new(shared.max_in_flight));
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_frame = Instant::now();
    let mut partial_since: Option<Instant> = None;
    loop {
        // Backpressure: the next frame is read only with a permit free.
        let permit = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return End::Shutdown,
            p = in_flight.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return End::Shutdown,
            },
        };
        let next = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return End::Shutdown,
                f = frames.next() => break f,
                _ = tick.tick() => {
                    let now = Instant::now();
                    if frames.read_buffer().is_empty() {
                        partial_since = None;
                        let idle = in_flight.available_permits().saturating_add(1) >= shared.max_in_flight;
                        if idle && now.duration_since(last_frame) >= shared.idle {
                            return End::Fatal(Header::fatal(
                                "TIMEOUT",
                                format!("no frame for {} s (tcp.idle_timeout_secs); send PING to keep a connection open", shared.idle.as_secs()),
                            ));
                        }
                    } else {
                        let since = *partial_since.get_or_insert(now);
                        if now.duration_since(since) >= shared.frame_timeout {
                            return End::Fatal(Header::fatal(
                                "TIMEOUT",
                                format!("a frame was started and not completed within {} s (tcp.frame_timeout_secs)", shared.frame_timeout.as_secs()),
                            ));
                        }
                    }
                }
            }
        };
        let mut batch = Vec::new();
        let mut delivered = Vec::new();
        let mut item = Some((next, permit));
        while let Some((next, permit)) = item.take() {
            last_frame = Instant::now();
            partial_since = None;
            let payload = match next {
                None => {
                    flush_batch(events, platform, batch, delivered).await;
                    return End::Closed;
                }
                Some(Err(e)) => {
                    flush_batch(events, platform, batch, delivered).await;
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        return End::Fatal(read_error(&e, max_body));
                    }
                    return End::Io(e.to_string());
                }
                Some(Ok(p)) => p,
            };
            let (header, body) = match protocol::decode(&payload) {
                Ok(d) => d,
                Err(e) => {
                    flush_batch(events, platform, batch, delivered).await;
                    return End::Fatal(Header::fatal("FRAME", e.to_string()));
                }
            };
            match header {
                Header::Submit { id } => {
                    // The gateway's byte budget for messages in flight on
                    // all connections: when it is spent, what this reader
                    // holds goes to the pipeline, and it waits.
                    let need = kib(body.len()).min(shared.budget_kib);
                    let budget = match shared.budget.clone().try_acquire_many_owned(need) {
                        Ok(b) => b,
                        Err(_) => {
                            let held = std::mem::take(&mut batch);
                            let confirmed = std::mem::take(&mut delivered);
                            if !flush_batch(events, platform, held, confirmed).await {
                                return End::Shutdown;
                            }
                            tokio::select! {
                                _ = shutdown.cancelled() => return End::Shutdown,
                                b = shared.budget.clone().acquire_many_owned(need) => match b {
                                    Ok(b) => b,
                                    Err(_) => return End::Shutdown,
                                },
                            }
                        }
                    };
                    batch.push(Submission {
                        platform,
                        id,
                        bytes: body.to_vec(),
                        reply: Reply {
                            to: out.clone(),
                            permit,
                            budget,
                        },
                    });
                }
                Header::Received { seq } => {
                    shared.hub.confirm(platform, seq);
                    delivered.push(seq);
                }
                Header::Ping => {
                    // Counted in flight until its PONG is written: a client
                    // that sends PINGs and reads nothing is held back too.
                    let _ = out.send(Outgoing::Frame(Header::Pong, Vec::new(), vec![permit]));
                }
                Header::Pong => {}
                other => {
                    flush_batch(events, platform, batch, delivered).await;
                    return End::Fatal(Header::fatal(
                        "FRAME",
                        format!("a client does not send {} here", other.name()),
                    ));
                }
            }
            // What else is already here joins the batch.
            if batch.len() < SUBMIT_BATCH
                && let Ok(p) = in_flight.clone().try_acquire_owned()
                && let Some(next) = frames.next().now_or_never()
            {
                item = Some((next, p));
            }
        }
        if !flush_batch(events, platform, batch, delivered).await {
            return End::Shutdown;
        }
    }
}

/// A size in KiB, rounded up, at least 1 (the unit of the byte budget).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}

/// Hands SUBMITs and RECEIVEDs to the pipeline; false when it stopped.
async fn flush_batch(
    events: &mpsc::Sender<Event>,
    platform: usize,
    batch: Vec<Submission>,
    delivered: Vec<u64>,
) -> bool {
    let mut open = true;
    if !delivered.is_empty() {
        open &= events
            .send(Event::Delivered {
                platform,
                seqs: delivered,
            })
            .await
            .is_ok();
    }
    if !batch.is_empty() {
        open &= events.send(Event::Submits(batch)).await.is_ok();
    }
    open
}

/// Where a connection finds the receipts kept for its platform.
struct Kept {
    store: Store,
    hub: Arc<Hub>,
    /// The platform's index.
    platform: usize,
    /// The platform's id (the receipts' `sender`).
    name: String,
}

/// Writes what the pipeline and the reader send, until every sender is
/// gone; gives the stream back for the closing word. `None` when a write
/// failed or did not finish in time (the client does not read).
async fn writer(
    mut wr: BufWriter<tokio::io::WriteHalf<Box<dyn Io>>>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    kept: Kept,
    timeout: Duration,
    gone: CancellationToken,
) -> Option<BufWriter<tokio::io::WriteHalf<Box<dyn Io>>>> {
    // Receipts sent on this connection: the store's list and the pipeline's
    // news may both hold one.
    let mut sent: BTreeSet<u64> = BTreeSet::new();
    let mut buf = Vec::new();
    let mut permits = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(o) = next.take() {
            match o {
                Outgoing::Frame(h, body, permit) => {
                    buf.extend_from_slice(&protocol::encode(&h, &body));
                    permits.extend(permit);
                }
                Outgoing::Receipts(list) => receipts_into(&mut buf, &mut sent, list),
                Outgoing::Pushes(list) => {
                    for (seq, r) in list {
                        let h = Header::Receipt { seq, file: r.file };
                        buf.extend_from_slice(&protocol::encode(&h, &r.bytes));
                    }
                }
                Outgoing::TakeReceipts => {
                    let store = kept.store.clone();
                    let name = kept.name.clone();
                    let pending =
                        tokio::task::spawn_blocking(move || pending_receipts(&store, &name))
                            .await
                            .unwrap_or_default();
                    // Only what is flushed and not confirmed meanwhile.
                    let pending: Vec<(u64, InboxRecord)> = pending
                        .into_iter()
                        .filter(|(seq, _)| kept.hub.sendable(kept.platform, *seq))
                        .collect();
                    debug!(message = "Sending the receipts kept for a platform.", platform = %kept.name, count = pending.len());
                    receipts_into(&mut buf, &mut sent, pending);
                }
            }
            if buf.len() < 1 << 20 {
                next = rx.try_recv().ok();
            }
        }
        if write_frames(&mut wr, &buf, timeout).await.is_err() {
            gone.cancel();
            return None;
        }
        buf.clear();
        // The ACKs are out: their messages leave the in-flight count.
        permits.clear();
    }
    Some(wr)
}

fn receipts_into(buf: &mut Vec<u8>, sent: &mut BTreeSet<u64>, list: Vec<(u64, InboxRecord)>) {
    for (seq, r) in list {
        if sent.insert(seq) {
            let h = Header::Receipt { seq, file: r.file };
            buf.extend_from_slice(&protocol::encode(&h, &r.bytes));
        }
    }
}

/// The receipts the store keeps for a platform, in order.
fn pending_receipts(store: &Store, platform: &str) -> Vec<(u64, InboxRecord)> {
    match store.scan::<InboxRecord>(b"r") {
        Ok(all) => all
            .into_iter()
            .filter(|(_, r)| r.sender == platform)
            .map(|(k, r)| {
                let seq = k
                    .get(1..9)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                (seq, r)
            })
            .collect(),
        Err(error) => {
            warn!(message = "Cannot read a platform's receipts from the store.", platform = %platform, %error);
            Vec::new()
        }
    }
}

/// Writes `bytes` and flushes. The deadline is on progress: each MiB must
/// go out within `timeout`, so a client that reads steadily gets a large
/// backlog of receipts however long it takes, and one that stops reading
/// is cut off.
async fn write_frames<W: AsyncWrite + Unpin>(
    wr: &mut W,
    bytes: &[u8],
    timeout: Duration,
) -> std::io::Result<()> {
    let stalled = || std::io::Error::new(std::io::ErrorKind::TimedOut, "the client does not read");
    for chunk in bytes.chunks(1 << 20) {
        tokio::time::timeout(timeout, wr.write_all(chunk))
            .await
            .map_err(|_| stalled())??;
    }
    tokio::time::timeout(timeout, wr.flush())
        .await
        .map_err(|_| stalled())?
}

/// Writes the last frame, if any, and closes the stream.
async fn finish<W: AsyncWrite + Unpin>(wr: &mut W, last: Option<Header>, timeout: Duration) {
    if let Some(h) = last {
        let _ = write_frames(wr, &protocol::encode(&h, b""), timeout).await;
    }
    let _ = tokio::time::timeout(timeout, wr.shutdown()).await;
}

/// A pushed entry waiting for RECEIVED: the connection it went out on, and
/// the worker's waiter.
type PushWaiter = (u64, tokio::sync::oneshot::Sender<()>);

/// A connection that takes receipts: its number and its writer.
type Taker = (u64, mpsc::UnboundedSender<Outgoing>);

/// Which connection takes each platform's receipts, and what the store's
/// list of receipts may be read for.
#[derive(Debug, Default)]
pub struct Hub {
    /// By platform index: the connections that asked for receipts, oldest
    /// first; the first one takes them.
    conns: Mutex<HashMap<usize, Vec<Taker>>>,
    /// Receipts with a lower sequence number are flushed: a connection
    /// reading the store's list sends only those (the others come from the
    /// pipeline after their flush).
    flushed: AtomicU64,
    /// Receipts a platform confirmed whose removal is not yet flushed: not
    /// sent again.
    confirmed: Mutex<HashMap<usize, BTreeSet<u64>>>,
    /// Pushes to clients waiting for their platform's RECEIVED.
    /// (platform, seq) → (the connection it went out on, the waiter).
    pushes: Mutex<HashMap<(usize, u64), PushWaiter>>,
    /// By platform: woken when the connection taking its receipts changes.
    takers: Mutex<HashMap<usize, Arc<tokio::sync::Notify>>>,
}

impl Hub {
    /// Every receipt below `seq` is on disk.
    pub fn flushed_below(&self, seq: u64) {
        self.flushed.fetch_max(seq, Ordering::Release);
    }

    /// A platform confirmed a receipt (its removal is on its way to the store).
    fn confirm(&self, platform: usize, seq: u64) {
        if let Ok(mut c) = self.confirmed.lock() {
            c.entry(platform).or_default().insert(seq);
        }
        if let Ok(mut p) = self.pushes.lock()
            && let Some((_, w)) = p.remove(&(platform, seq))
        {
            let _ = w.send(());
        }
    }

    /// Sends pushed entries over the connection taking `platform`'s
    /// receipts; one waiter per entry, fired by the platform's RECEIVED.
    /// `None` when no connection takes them.
    pub fn push(
        &self,
        platform: usize,
        list: Vec<(u64, InboxRecord)>,
    ) -> Option<Vec<tokio::sync::oneshot::Receiver<()>>> {
        // The taker and the waiters under one lock order (conns, then
        // pushes), as in `unregister`: a taker change cannot slip between.
        let map = self.conns.lock().ok()?;
        let (conn, out) = map.get(&platform).and_then(|l| l.first())?;
        let conn = *conn;
        let mut p = self.pushes.lock().ok()?;
        let mut waiters = Vec::with_capacity(list.len());
        for (seq, _) in &list {
            let (tx, rx) = tokio::sync::oneshot::channel();
            p.insert((platform, *seq), (conn, tx));
            waiters.push(rx);
        }
        if out.send(Outgoing::Pushes(list)).is_err() {
            p.retain(|(pl, _), (c, _)| *pl != platform || *c != conn);
            return None;
        }
        Some(waiters)
    }

    /// Whether a connection takes `platform`'s receipts now.
    pub fn has_taker(&self, platform: usize) -> bool {
        self.conns
            .lock()
            .is_ok_and(|m| m.get(&platform).is_some_and(|l| !l.is_empty()))
    }

    /// Woken when the connection taking `platform`'s receipts changes.
    pub fn taker_changed(&self, platform: usize) -> Arc<tokio::sync::Notify> {
        match self.takers.lock() {
            Ok(mut t) => t.entry(platform).or_default().clone(),
            Err(_) => Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn changed(&self, platform: usize) {
        if let Ok(t) = self.takers.lock()
            && let Some(n) = t.get(&platform)
        {
            n.notify_waiters();
        }
    }

    /// These confirmations are stored and flushed.
    pub fn forget_confirmed(&self, done: &[(usize, u64)]) {
        if done.is_empty() {
            return;
        }
        if let Ok(mut c) = self.confirmed.lock() {
            for (platform, seq) in done {
                if let Some(set) = c.get_mut(platform) {
                    set.remove(seq);
                }
            }
        }
    }

    /// Whether the store's record `seq` may be sent to `platform` now.
    fn sendable(&self, platform: usize, seq: u64) -> bool {
        seq < self.flushed.load(Ordering::Acquire)
            && self
                .confirmed
                .lock()
                .map(|c| c.get(&platform).is_none_or(|s| !s.contains(&seq)))
                .unwrap_or(true)
    }

    fn register(&self, platform: usize, conn: u64, out: mpsc::UnboundedSender<Outgoing>) {
        let Ok(mut map) = self.conns.lock() else {
            return;
        };
        let list = map.entry(platform).or_default();
        let first = list.is_empty();
        if first {
            let _ = out.send(Outgoing::TakeReceipts);
        }
        list.push((conn, out));
        drop(map);
        if first {
            self.changed(platform);
        }
    }

    fn unregister(&self, platform: usize, conn: u64) {
        let Ok(mut map) = self.conns.lock() else {
            return;
        };
        let Some(list) = map.get_mut(&platform) else {
            return;
        };
        let was_first = list.first().is_some_and(|(c, _)| *c == conn);
        list.retain(|(c, _)| *c != conn);
        if was_first && let Some((_, next)) = list.first() {
            let _ = next.send(Outgoing::TakeReceipts);
        }
        if was_first {
            // Pushes sent over it will not be confirmed there: their
            // workers learn it now, and send them again on the next one.
            if let Ok(mut p) = self.pushes.lock() {
                p.retain(|(pl, _), (c, _)| *pl != platform || *c != conn);
            }
        }
        drop(map);
        if was_first {
            self.changed(platform);
        }
    }

    /// Hands a platform's receipts to the connection taking them; when none
    /// is, they wait in the store for the next one.
    pub fn deliver(&self, platform: usize, receipts: Vec<(u64, InboxRecord)>) {
        let Ok(map) = self.conns.lock() else {
            return;
        };
        if let Some((_, out)) = map.get(&platform).and_then(|l| l.first()) {
            let _ = out.send(Outgoing::Receipts(receipts));
        }
    }
}
