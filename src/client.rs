//! A client of the gateway's TCP protocol (`PROTOCOL.md`): what `send` and
//! the load generator use. An edge: it opens sockets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt as _;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_util::codec::FramedRead;

use crate::daemon::tcp::FrameCodec;

use crate::protocol::{self, Header, Secret};

/// Why the client failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The connection could not be made or broke.
    #[error("{addr}: {reason}")]
    Connect {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The CA file could not be used, or the TLS handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The gateway refused the handshake.
    #[error("the gateway refused the connection: {code}: {message}")]
    Refused {
        /// The error code (`AUTH`, `VERSION`, `BUSY`, …).
        code: String,
        /// The gateway's sentence.
        message: String,
    },
    /// The gateway sent something this client does not understand.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// How to reach the gateway.
#[derive(Debug, Clone)]
pub struct Options {
    /// `HOST:PORT`.
    pub addr: String,
    /// The platform id.
    pub platform: String,
    /// The platform's token.
    pub token: Secret,
    /// A CA certificate (PEM): TLS, trusting only that CA.
    pub tls_ca: Option<PathBuf>,
    /// Whether this connection takes the platform's receipts.
    pub receipts: bool,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An authenticated connection.
pub struct Client {
    frames: FramedRead<ReadHalf<Box<dyn Io>>, FrameCodec>,
    writer: BufWriter<WriteHalf<Box<dyn Io>>>,
    /// How many SUBMITs may wait for their ACK (from `WELCOME`).
    pub max_in_flight: usize,
    /// The largest body (from `WELCOME`).
    pub max_body: usize,
    addr: String,
}

/// One acknowledged message.
#[derive(Debug, Clone)]
pub struct Acked {
    /// Its index in what was submitted.
    pub index: usize,
    /// The ACK frame.
    pub ack: Header,
}

impl Client {
    /// Connects, authenticates and reads the `WELCOME`.
    pub async fn connect(opts: &Options) -> Result<Client, ClientError> {
        let broke = |e: std::io::Error| ClientError::Connect {
            addr: opts.addr.clone(),
            reason: e.to_string(),
        };
        let tcp = TcpStream::connect(&opts.addr).await.map_err(broke)?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match &opts.tls_ca {
            Some(ca) => Box::new(tls(tcp, &opts.addr, ca).await?),
            None => Box::new(tcp),
        };
        let (rd, wr) = tokio::io::split(io);
        // The body limit is not known before WELCOME: read it with the
        // largest frame the gateway may send (its own limit).
        let mut client = Client {
            frames: FramedRead::new(
                rd,
                crate::daemon::tcp::codec(usize::try_from(u32::MAX).unwrap_or(usize::MAX)),
            ),
            writer: BufWriter::new(wr),
            max_in_flight: 1,
            max_body: 0,
            addr: opts.addr.clone(),
        };
        let hello = Header::Hello {
            versions: protocol::VERSIONS.to_vec(),
            platform: opts.platform.clone(),
            token: opts.token.clone(),
            receipts: opts.receipts,
        };
        client.send(&hello, b"").await?;
        client.flush().await?;
        match client.next().await? {
            Some((
                Header::Welcome {
                    max_in_flight,
                    max_body,
                    ..
                },
                _,
            )) => {
                client.max_in_flight = usize::try_from(max_in_flight).unwrap_or(1).max(1);
                client.max_body = usize::try_from(max_body).unwrap_or(usize::MAX);
                Ok(client)
            }
            Some((Header::Error { code, message, .. }, _)) => {
                Err(ClientError::Refused { code, message })
            }
            Some((other, _)) => Err(ClientError::Protocol(format!(
                "expected WELCOME, got {}",
                other.name()
            ))),
            None => Err(ClientError::Connect {
                addr: opts.addr.clone(),
                reason: "closed during the handshake".to_owned(),
            }),
        }
    }

    /// Queues a frame (written at the next flush).
    pub async fn send(&mut self, header: &Header, body: &[u8]) -> Result<(), ClientError> {
        let frame = protocol::encode(header, body);
        self.writer
            .write_all(&frame)
            .await
            .map_err(|e| self.broke(e))
    }

    /// Writes what is queued.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        self.writer.flush().await.map_err(|e| self.broke(e))
    }

    /// The next frame from the gateway; `None` when it closed.
    pub async fn next(&mut self) -> Result<Option<(Header, Vec<u8>)>, ClientError> {
        match self.frames.next().await {
            None => Ok(None),
            Some(Err(e)) => Err(self.broke(e)),
            Some(Ok(payload)) => {
                let (h, body) =
                    protocol::decode(&payload).map_err(|e| ClientError::Protocol(e.to_string()))?;
                Ok(Some((h, body.to_vec())))
            }
        }
    }

    fn broke(&self, e: std::io::Error) -> ClientError {
        ClientError::Connect {
            addr: self.addr.clone(),
            reason: e.to_string(),
        }
    }

    /// Submits `messages` (id, XML) pipelined, at most `max_in_flight` at
    /// a time, calling `on_ack` for each ACK as it comes; returns when every
    /// one is acknowledged. RECEIPT frames met on the way are confirmed
    /// and passed to `on_receipt`.
    pub async fn submit_all(
        self,
        messages: Vec<(String, Vec<u8>)>,
        mut on_ack: impl FnMut(Acked),
        mut on_receipt: impl FnMut(u64, String, Vec<u8>),
    ) -> Result<Client, ClientError> {
        let Client {
            mut frames,
            mut writer,
            max_in_flight,
            max_body,
            addr,
        } = self;
        let window = Arc::new(Semaphore::new(max_in_flight));
        let total = messages.len();
        // Two messages may share an id (the same bytes twice): their ACKs
        // come in the order they were processed, the order they were sent.
        let mut ids: std::collections::HashMap<String, std::collections::VecDeque<usize>> =
            std::collections::HashMap::new();
        for (i, (id, _)) in messages.iter().enumerate() {
            ids.entry(id.clone()).or_default().push_back(i);
        }
        let (confirm_tx, mut confirm_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let broke = |e: std::io::Error| ClientError::Connect {
            addr: addr.clone(),
            reason: e.to_string(),
        };
        let write = async {
            let last = messages.len().saturating_sub(1);
            for (n, (id, body)) in messages.iter().enumerate() {
                // Wait for room; meanwhile write receipt confirmations.
                let permit = loop {
                    tokio::select! {
                        p = window.acquire() => break p,
                        Some(seq) = confirm_rx.recv() => {
                            writer.write_all(&protocol::encode(&Header::Received { seq }, b"")).await.map_err(broke)?;
                            writer.flush().await.map_err(broke)?;
                        }
                    }
                };
                let Ok(permit) = permit else { break };
                permit.forget();
                let frame = protocol::encode(&Header::Submit { id: id.clone() }, body);
                writer.write_all(&frame).await.map_err(broke)?;
                if window.available_permits() == 0 || n == last {
                    writer.flush().await.map_err(broke)?;
                }
            }
            writer.flush().await.map_err(broke)?;
            Ok::<_, ClientError>(())
        };
        let read = async {
            let mut acked = 0usize;
            while acked < total {
                let payload = match frames.next().await {
                    None => {
                        return Err(ClientError::Connect {
                            addr: addr.clone(),
                            reason: format!(
                                "the gateway closed the connection with {} messages unacknowledged",
                                total.saturating_sub(acked)
                            ),
                        });
                    }
                    Some(Err(e)) => return Err(broke(e)),
                    Some(Ok(p)) => p,
                };
                let (h, body) =
                    protocol::decode(&payload).map_err(|e| ClientError::Protocol(e.to_string()))?;
                match h {
                    Header::Ack { ref id, .. } => {
                        let Some(index) = ids.get_mut(id).and_then(|q| q.pop_front()) else {
                            return Err(ClientError::Protocol(format!(
                                "an ACK for an id never sent: {id}"
                            )));
                        };
                        acked = acked.saturating_add(1);
                        window.add_permits(1);
                        on_ack(Acked { index, ack: h });
                    }
                    Header::Receipt { seq, file } => {
                        on_receipt(seq, file, body.to_vec());
                        let _ = confirm_tx.send(seq);
                    }
                    Header::Error { code, message, .. } => {
                        return Err(ClientError::Refused { code, message });
                    }
                    Header::Ping | Header::Pong => {}
                    other => {
                        return Err(ClientError::Protocol(format!(
                            "unexpected {} frame",
                            other.name()
                        )));
                    }
                }
            }
            window.close();
            Ok(())
        };
        tokio::try_join!(write, read)?;
        Ok(Client {
            frames,
            writer,
            max_in_flight,
            max_body,
            addr,
        })
    }

    /// Closes the connection (the gateway sees the end of the stream).
    pub async fn close(mut self) {
        let _ = self.writer.flush().await;
        let _ = self.writer.shutdown().await;
    }
}

async fn tls(
    tcp: TcpStream,
    addr: &str,
    ca: &Path,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ClientError> {
    use rustls::pki_types::ServerName;
    let failed = |e: String| ClientError::Tls(format!("{}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for c in crate::daemon::tcp::read_certs(ca).map_err(failed)? {
        roots.add(c).map_err(|e| failed(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ClientError::Tls(format!("{host}: {e}")))?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| ClientError::Tls(e.to_string()))
}
