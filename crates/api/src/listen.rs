//! Serving a listener: connection limits, timeouts and TLS, the same for
//! gRPC and HTTP.
//!
//! Each accepted connection takes a slot of [`Limits::max_connections`]
//! (over the limit it is closed at once), must finish its TLS handshake and
//! each request's headers within [`Limits::read_timeout`] (a slowloris client
//! is cut off), and is closed when nothing moves for
//! [`Limits::idle_timeout`]. With a client CA the TLS handshake requires a
//! certificate it signed; the certificate's subject CN travels with every
//! request as [`Peer::client_cn`] for the access gate. Shutdown stops
//! accepting and lets open requests finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};

/// How long open requests may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Limits applied to every connection of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// Time allowed for the TLS handshake and for each request's headers.
    pub read_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed.
    pub idle_timeout: Duration,
    /// HTTP/2 streams (gRPC calls) open at once on one connection.
    pub max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_concurrent_streams: 128,
        }
    }
}

/// Which HTTP versions a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC: HTTP/2 only.
    Http2,
    /// The JSON API: HTTP/1.1 and HTTP/2.
    Http1And2,
}

impl Protocol {
    /// The ALPN names to offer in TLS.
    pub fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            Protocol::Http2 => vec![b"h2".to_vec()],
            Protocol::Http1And2 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }
}

/// A bound listener and how to serve it.
pub struct Listener {
    /// The bound socket.
    pub tcp: TcpListener,
    /// TLS (with or without required client certificates); `None` is plaintext.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Connection limits.
    pub limits: Limits,
}

/// Who is on the other end of a request (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The client's address.
    pub remote: SocketAddr,
    /// The subject CN of the client certificate the TLS handshake verified.
    pub client_cn: Option<String>,
}

/// Serves `service` on `listener` until `shutdown` completes, then lets
/// open requests finish (at most [`DRAIN_TIMEOUT`]).
pub async fn serve<S, B>(
    listener: Listener,
    protocol: Protocol,
    service: S,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Listener { tcp, tls, limits } = listener;
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams);
    if protocol == Protocol::Http2 {
        builder = builder.http2_only();
    }
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%remote, max = limits.max_connections, "connection limit reached; connection closed");
            continue;
        };
        let acceptor = acceptor.clone();
        let service = service.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let (io, client_cn) = match handshake(stream, acceptor, limits).await {
                Ok(handshaken) => handshaken,
                Err(error) => {
                    tracing::debug!(%remote, %error, "connection closed before its first request");
                    return;
                }
            };
            let peer = Peer { remote, client_cn };
            let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(peer.clone());
                service.clone().oneshot(request)
            });
            let connection = builder.serve_connection(TokioIo::new(io), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%remote, %error, "connection ended with an error");
            }
        });
    }
    drop(tcp);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("open requests did not finish within {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

/// A connection's byte stream: plain or TLS, closed when idle.
type Io = std::pin::Pin<Box<TimeoutStream<Box<dyn Stream>>>>;

/// What a connection's byte stream must be.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// TLS (within the read timeout) if configured, and the verified client CN.
async fn handshake(
    stream: TcpStream,
    acceptor: Option<TlsAcceptor>,
    limits: Limits,
) -> Result<(Io, Option<String>), String> {
    let (stream, client_cn): (Box<dyn Stream>, _) = match acceptor {
        None => (Box::new(stream), None),
        Some(acceptor) => {
            let tls = tokio::time::timeout(limits.read_timeout, acceptor.accept(stream))
                .await
                .map_err(|_| format!("TLS handshake not done within {:?}", limits.read_timeout))?
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
            let client_cn = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| hub_signer::tls::subject_common_name(leaf));
            (Box::new(tls), client_cn)
        }
    };
    let mut stream = TimeoutStream::new(stream);
    stream.set_read_timeout(Some(limits.idle_timeout));
    stream.set_write_timeout(Some(limits.idle_timeout));
    Ok((Box::pin(stream), client_cn))
}
