//! The signing server: `signing.rpc.SigningServer` over mandatory mutual TLS.
//!
//! It exists so that the salt lives on a different machine from Hub's
//! database: Hub knows the seed UUIDs, the signer knows the salt, and
//! neither alone can spend (HIP-002). Unlike the original, which signed
//! anything for anyone holding a client certificate, this server is a
//! policy-enforcing component: it validates every input, lets each key sign
//! exactly one bundle hash (the [`Registry`], recorded durably before the
//! signature leaves), refuses hashes whose normalised form would reveal an
//! unhashed key segment, exports seeds only when the operator allowed it at
//! start-up, and writes every signature, export and refusal to the
//! [`AuditLog`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_protocol::wots::normalized_has_m;
use hub_protocol::{Hash, SeedUuid};
use prost::Message;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Response, Status};

use crate::audit::{AuditEntry, AuditLog, Outcome};
use crate::proto::signing_server_server::{SigningServer, SigningServerServer};
use crate::proto::{self as pb};
use crate::provider::{ProviderError, SeedProvider};
use crate::registry::{Recorded, Registry};
use crate::tls::{server_tls_config, subject_common_name, ServerTls, TlsError};
use crate::{source_chain, LocalProvider};

/// File name of the signed-key registry inside the data directory.
pub const REGISTRY_FILE: &str = "signed-uuids.log";
/// File name of the audit log inside the data directory.
pub const AUDIT_FILE: &str = "audit.log";
/// Largest request accepted (every real request is well under 1 KiB).
const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Longest a request may take, Argon2 queueing included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// How the signing server runs.
#[derive(Debug, Clone)]
pub struct SignerConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Directory of the registry and the audit log (created with mode 0700).
    pub data_dir: PathBuf,
    /// Server certificate, key and the CA of allowed clients. Mandatory.
    pub tls: ServerTls,
    /// Whether GetSeedForUUID may return seeds (off unless the operator says so).
    pub allow_seed_export: bool,
}

/// Why the signing server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// TLS files are missing or invalid.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The registry cannot be opened or is corrupt.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// The audit log cannot be opened.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The data directory cannot be created.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        reason: String,
    },
    /// The gRPC server failed.
    #[error("signing server: {0}")]
    Serve(String),
}

/// A signing server bound to its port, ready to [`serve`](Signer::serve).
pub struct Signer {
    server: tonic::transport::Server,
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    data_dir: PathBuf,
    service: SigningService,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("local_addr", &self.local_addr)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Loads the TLS files, opens the data directory (registry and audit
    /// log) and binds the listen address. Fails with a message naming the
    /// file or address at fault.
    pub async fn bind(provider: LocalProvider, config: SignerConfig) -> Result<Self, SignerError> {
        let tls = server_tls_config(&config.tls)?;
        let server = tonic::transport::Server::builder()
            .tls_config(tls)
            .map_err(|e| {
                TlsError::Config(format!(
                    "server certificate {} and key {} do not work together: {}",
                    config.tls.cert.display(),
                    config.tls.key.display(),
                    source_chain(&e)
                ))
            })?
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true);
        create_private_dir(&config.data_dir)?;
        let registry = Registry::open(&config.data_dir.join(REGISTRY_FILE))?;
        let audit = AuditLog::open(&config.data_dir.join(AUDIT_FILE))?;
        tracing::info!("signed-key registry holds {} keys", registry.len());
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| SignerError::Listen {
                addr: config.listen,
                reason: e.to_string(),
            })?;
        let local_addr = listener.local_addr().map_err(|e| SignerError::Listen {
            addr: config.listen,
            reason: e.to_string(),
        })?;
        Ok(Self {
            server,
            listener,
            local_addr,
            data_dir: config.data_dir,
            service: SigningService {
                inner: Arc::new(Inner {
                    provider,
                    registry: Mutex::new(registry),
                    audit,
                    allow_seed_export: config.allow_seed_export,
                }),
            },
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The data directory (registry and audit log).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Serves until `shutdown` completes, then finishes the requests in
    /// flight and releases the registry.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), SignerError> {
        let mut server = self.server;
        let service = SigningServerServer::new(self.service).max_decoding_message_size(MAX_REQUEST_BYTES);
        server
            .add_service(service)
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), shutdown)
            .await
            .map_err(|e| SignerError::Serve(source_chain(&e)))
    }
}

/// Binds and serves a signing server until `shutdown` completes.
pub async fn serve_signer(
    provider: LocalProvider,
    config: SignerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SignerError> {
    Signer::bind(provider, config).await?.serve(shutdown).await
}

fn create_private_dir(dir: &Path) -> Result<(), SignerError> {
    let error = |e: std::io::Error| SignerError::DataDir {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(error)?;
    }
    Ok(())
}

struct Inner {
    provider: LocalProvider,
    registry: Mutex<Registry>,
    audit: AuditLog,
    allow_seed_export: bool,
}

#[derive(Clone)]
struct SigningService {
    inner: Arc<Inner>,
}

/// A status with the message shown to the client and `signing.rpc.Error`
/// in its details, as the original server sent.
fn status(code: Code, message: impl Into<String>) -> Status {
    let details = pb::Error {
        code: pb::ErrorCode::EcUnknown as i32,
    }
    .encode_to_vec();
    Status::with_details(code, message, details.into())
}

fn provider_status(error: ProviderError) -> Status {
    match error {
        ProviderError::Unavailable(m) => status(Code::Unavailable, m),
        ProviderError::Refused(m) => status(Code::Internal, m),
    }
}

/// Who sent a request: the client certificate's common name and the peer address.
fn client_of<T>(request: &Request<T>) -> String {
    let name = request
        .peer_certs()
        .and_then(|certs| certs.first().and_then(|cert| subject_common_name(cert)));
    match (name, request.remote_addr()) {
        (Some(name), Some(addr)) => format!("{name} @ {addr}"),
        (Some(name), None) => name,
        (None, Some(addr)) => addr.to_string(),
        (None, None) => "unknown".into(),
    }
}

/// A request's identity and the fields the audit line needs.
struct Call {
    rpc: &'static str,
    client: String,
    uuid: Option<SeedUuid>,
    bundle_hash: Option<Hash>,
}

impl Call {
    fn new<T>(rpc: &'static str, request: &Request<T>) -> Self {
        Self {
            rpc,
            client: client_of(request),
            uuid: None,
            bundle_hash: None,
        }
    }
}

impl SigningService {
    async fn audit(&self, call: &Call, outcome: Outcome) -> Result<(), Status> {
        let inner = self.inner.clone();
        let (rpc, client) = (call.rpc, call.client.clone());
        let uuid = call.uuid.as_ref().map(|u| u.as_str().to_string());
        let hash = call.bundle_hash.map(|h| h.as_str().to_string());
        let written = tokio::task::spawn_blocking(move || {
            inner.audit.record(&AuditEntry {
                rpc,
                client: &client,
                uuid: uuid.as_deref(),
                bundle_hash: hash.as_deref(),
                outcome,
            })
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::error!("{e}");
                Err(status(Code::Internal, "the signing server cannot write its audit log"))
            }
            Err(e) => {
                tracing::error!("audit log task failed: {e}");
                Err(status(Code::Internal, "the signing server cannot write its audit log"))
            }
        }
    }

    /// Audits a refusal and returns the status to send.
    async fn refuse(&self, call: &Call, status: Status) -> Status {
        match self.audit(call, Outcome::Refused(status.message().to_string())).await {
            Ok(()) => status,
            Err(audit_failed) => audit_failed,
        }
    }

    async fn parse_uuid(&self, call: &mut Call, uuid: &str) -> Result<SeedUuid, Status> {
        match SeedUuid::parse(uuid) {
            Ok(uuid) => {
                call.uuid = Some(uuid.clone());
                Ok(uuid)
            }
            Err(e) => {
                let message = e.for_field("uuid").to_string();
                Err(self.refuse(call, status(Code::InvalidArgument, message)).await)
            }
        }
    }

    async fn parse_bundle_hash(&self, call: &mut Call, hash: &str) -> Result<Hash, Status> {
        let hash = match Hash::from_trytes(hash) {
            Ok(hash) => hash,
            Err(e) => {
                let message = e.for_field("bundleHash").to_string();
                return Err(self.refuse(call, status(Code::InvalidArgument, message)).await);
            }
        };
        call.bundle_hash = Some(hash);
        if normalized_has_m(&hash) {
            let message = "bundleHash: its normalised form contains the tryte M (13), and signing it would reveal an \
                           unhashed key segment; finalise the bundle again (change its obsolete tag)";
            return Err(self.refuse(call, status(Code::InvalidArgument, message)).await);
        }
        Ok(hash)
    }

    /// Checks and records (uuid, hash) under the registry lock.
    async fn record(&self, uuid: &SeedUuid, hash: &Hash) -> Result<Recorded, String> {
        let (inner, uuid, hash) = (self.inner.clone(), uuid.clone(), *hash);
        let recorded = tokio::task::spawn_blocking(move || {
            let mut registry = inner
                .registry
                .lock()
                .map_err(|_| "the signed-key registry lock is poisoned".to_string())?;
            registry.record(&uuid, &hash).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("registry task failed: {e}"))?;
        recorded.inspect_err(|e| tracing::error!("{e}"))
    }
}

#[tonic::async_trait]
impl SigningServer for SigningService {
    async fn get_address_for_uuid(
        &self,
        request: Request<pb::GetAddressForUuidRequest>,
    ) -> Result<Response<pb::GetAddressForUuidReply>, Status> {
        let mut call = Call::new("GetAddressForUUID", &request);
        let uuid = self.parse_uuid(&mut call, &request.get_ref().uuid).await?;
        let address = self.inner.provider.address(&uuid).await.map_err(provider_status)?;
        Ok(Response::new(pb::GetAddressForUuidReply {
            address: address.as_str().to_string(),
        }))
    }

    async fn get_signature_for_uuid(
        &self,
        request: Request<pb::GetSignatureForUuidRequest>,
    ) -> Result<Response<pb::GetSignatureForUuidReply>, Status> {
        let mut call = Call::new("GetSignatureForUUID", &request);
        let uuid = self.parse_uuid(&mut call, &request.get_ref().uuid).await?;
        let hash = self
            .parse_bundle_hash(&mut call, &request.get_ref().bundle_hash)
            .await?;
        let recorded = match self.record(&uuid, &hash).await {
            Ok(recorded) => recorded,
            Err(_) => {
                let message = "the signing server cannot record the signature in its registry; nothing was signed";
                return Err(self.refuse(&call, status(Code::Internal, message)).await);
            }
        };
        let outcome = match recorded {
            Recorded::First => Outcome::Signed,
            Recorded::Repeated => Outcome::Repeated,
            Recorded::Conflict => {
                let message = "uuid: this key already signed a different bundle hash; a second signature would let \
                               anyone forge with it, so the signing server refuses";
                return Err(self.refuse(&call, status(Code::FailedPrecondition, message)).await);
            }
        };
        let signature = match self.inner.provider.sign(&uuid, &hash).await {
            Ok(signature) => signature,
            Err(e) => return Err(self.refuse(&call, provider_status(e)).await),
        };
        self.audit(&call, outcome).await?;
        Ok(Response::new(pb::GetSignatureForUuidReply {
            signature: signature.to_trytes(),
        }))
    }

    async fn get_security_level(
        &self,
        request: Request<pb::GetSecurityLevelRequest>,
    ) -> Result<Response<pb::GetSecurityLevelReply>, Status> {
        let mut call = Call::new("GetSecurityLevel", &request);
        self.parse_uuid(&mut call, &request.get_ref().uuid).await?;
        Ok(Response::new(pb::GetSecurityLevelReply {
            security_level: u32::from(self.inner.provider.security().as_u8()),
        }))
    }

    async fn get_seed_for_uuid(
        &self,
        request: Request<pb::GetSeedForUuidRequest>,
    ) -> Result<Response<pb::GetSeedForUuidReply>, Status> {
        let mut call = Call::new("GetSeedForUUID", &request);
        let uuid = self.parse_uuid(&mut call, &request.get_ref().uuid).await?;
        if !self.inner.allow_seed_export {
            self.audit(&call, Outcome::ExportRefused).await?;
            return Err(status(
                Code::PermissionDenied,
                "seed export is disabled on this signing server (its operator can start it with --allow-seed-export)",
            ));
        }
        let seed = match self.inner.provider.seed(&uuid).await {
            Ok(seed) => seed,
            Err(e) => return Err(self.refuse(&call, provider_status(e)).await),
        };
        self.audit(&call, Outcome::Exported).await?;
        Ok(Response::new(pb::GetSeedForUuidReply {
            seed: seed.expose_trytes().to_string(),
        }))
    }
}
