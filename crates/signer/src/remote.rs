//! The remote seed provider: Hub's side of the signing server.
//!
//! With `--signing remote`, Hub holds no salt; every address, signature and
//! seed comes from a signing server over mutual TLS. This provider connects
//! eagerly (so a wrong URL, CA or certificate stops Hub at start-up with a
//! clear message instead of at the first sweep), bounds every call with a
//! timeout, turns transport failures into [`ProviderError::Unavailable`] and
//! the server's refusals into [`ProviderError::Refused`], and checks every
//! reply's shape before Hub uses it. Its errors and `Debug` name the server
//! only through [`redact_url`], so credentials in the URL never reach a
//! client or a log.

use std::future::Future;
use std::time::Duration;

use hub_protocol::wots::Signature;
use hub_protocol::{redact_url, Address, Fragment, Hash, SecurityLevel, Seed, SeedUuid};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Response, Status};
use zeroize::Zeroizing;

use crate::proto::signing_server_client::SigningServerClient;
use crate::proto::{self as pb};
use crate::provider::{BoxFuture, ProviderError, SeedProvider};
use crate::source_chain;
use crate::tls::{client_tls_config, ClientTls};

/// Largest reply accepted (a security-3 signature is 6561 trytes).
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// How long the remote provider waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteTimeouts {
    /// Connecting, including the TLS handshake. Default 5 s.
    pub connect: Duration,
    /// One call. Every address, signature or seed costs the server a full
    /// Argon2 derivation, possibly queued behind others. Default 30 s.
    pub request: Duration,
}

impl Default for RemoteTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// A [`SeedProvider`] that asks a signing server.
#[derive(Clone)]
pub struct RemoteProvider {
    /// The server's URL as errors and logs show it (credentials hidden).
    shown_url: String,
    client: SigningServerClient<Channel>,
    timeouts: RemoteTimeouts,
    security: SecurityLevel,
}

impl std::fmt::Debug for RemoteProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteProvider")
            .field("url", &self.shown_url)
            .field("security", &self.security)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl RemoteProvider {
    /// Connects to the signing server at `url` (`https://host:port`),
    /// trusting only `tls.ca` and presenting `tls.cert`, and asks for its
    /// security level, so that a server that is down, a wrong CA, or a client
    /// certificate the server does not accept are reported here.
    ///
    /// Bad settings (URL, TLS files) give [`ProviderError::Refused`]; a
    /// server that cannot be reached or completes no handshake gives
    /// [`ProviderError::Unavailable`].
    pub async fn connect(url: &str, tls: &ClientTls, timeouts: RemoteTimeouts) -> Result<Self, ProviderError> {
        let shown_url = redact_url(url);
        if !url.starts_with("https://") {
            return Err(ProviderError::Refused(format!(
                "signer URL {shown_url:?}: must start with https:// (the signing server only speaks mutual TLS)"
            )));
        }
        let tls_config = client_tls_config(tls).map_err(|e| ProviderError::Refused(e.to_string()))?;
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| ProviderError::Refused(format!("signer URL {shown_url:?}: {}", source_chain(&e))))?
            .tls_config(tls_config)
            .map_err(|e| ProviderError::Refused(format!("signer TLS settings: {}", source_chain(&e))))?
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .tcp_nodelay(true);
        let channel = match tokio::time::timeout(timeouts.connect, endpoint.connect()).await {
            Err(_) => {
                return Err(ProviderError::Unavailable(format!(
                    "signing server {shown_url}: no connection within {} ms",
                    timeouts.connect.as_millis()
                )))
            }
            Ok(Err(e)) => {
                return Err(ProviderError::Unavailable(format!(
                    "signing server {shown_url}: cannot connect: {}",
                    source_chain(&e)
                )))
            }
            Ok(Ok(channel)) => channel,
        };
        let mut provider = Self {
            shown_url,
            client: SigningServerClient::new(channel).max_decoding_message_size(MAX_REPLY_BYTES),
            timeouts: RemoteTimeouts {
                request: timeouts.connect,
                ..timeouts
            },
            security: SecurityLevel::Medium,
        };
        // The probe is cheap for the server (no derivation), so it gets the
        // connect timeout; it also completes the mutual-TLS handshake.
        provider.security = provider
            .fetch_security_level(&SeedUuid::generate())
            .await
            .map_err(|e| match e {
                ProviderError::Unavailable(message) => ProviderError::Unavailable(format!(
                    "{message} (is this client's certificate signed by the CA the signing server trusts?)"
                )),
                refused => refused,
            })?;
        provider.timeouts = timeouts;
        Ok(provider)
    }

    /// The security level the server reported when this provider connected.
    pub fn security(&self) -> SecurityLevel {
        self.security
    }

    /// The server's URL, credentials hidden (for messages and logs).
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    async fn call<T>(
        &self,
        rpc: &str,
        call: impl Future<Output = Result<Response<T>, Status>>,
    ) -> Result<T, ProviderError> {
        match tokio::time::timeout(self.timeouts.request, call).await {
            Err(_) => Err(ProviderError::Unavailable(format!(
                "signing server {}: {rpc} got no answer within {} ms",
                self.shown_url,
                self.timeouts.request.as_millis()
            ))),
            Ok(Err(status)) => Err(self.status_error(rpc, &status)),
            Ok(Ok(reply)) => Ok(reply.into_inner()),
        }
    }

    fn status_error(&self, rpc: &str, status: &Status) -> ProviderError {
        match status.code() {
            Code::InvalidArgument | Code::FailedPrecondition | Code::PermissionDenied => {
                ProviderError::Refused(format!("signing server: {}", status.message()))
            }
            code => {
                let mut message = status.message().to_string();
                if let Some(source) = std::error::Error::source(status) {
                    message = format!("{message}: {}", source_chain(source));
                }
                ProviderError::Unavailable(format!(
                    "signing server {}: {rpc} failed ({code:?}): {message}",
                    self.shown_url
                ))
            }
        }
    }

    fn malformed(&self, what: String) -> ProviderError {
        ProviderError::Unavailable(format!(
            "signing server {} sent a malformed reply: {what}",
            self.shown_url
        ))
    }

    async fn fetch_security_level(&self, uuid: &SeedUuid) -> Result<SecurityLevel, ProviderError> {
        let mut client = self.client.clone();
        let request = pb::GetSecurityLevelRequest {
            uuid: uuid.as_str().to_string(),
        };
        let reply = self
            .call("GetSecurityLevel", client.get_security_level(request))
            .await?;
        u8::try_from(reply.security_level)
            .ok()
            .and_then(|level| SecurityLevel::try_from(level).ok())
            .ok_or_else(|| self.malformed(format!("security level {} is not 1, 2 or 3", reply.security_level)))
    }

    async fn fetch_address(&self, uuid: &SeedUuid) -> Result<Address, ProviderError> {
        let mut client = self.client.clone();
        let request = pb::GetAddressForUuidRequest {
            uuid: uuid.as_str().to_string(),
        };
        let reply = self
            .call("GetAddressForUUID", client.get_address_for_uuid(request))
            .await?;
        Address::from_trytes(&reply.address).map_err(|e| self.malformed(e.to_string()))
    }

    async fn fetch_signature(&self, uuid: &SeedUuid, bundle_hash: &Hash) -> Result<Signature, ProviderError> {
        let mut client = self.client.clone();
        let request = pb::GetSignatureForUuidRequest {
            uuid: uuid.as_str().to_string(),
            bundle_hash: bundle_hash.as_str().to_string(),
        };
        let reply = self
            .call("GetSignatureForUUID", client.get_signature_for_uuid(request))
            .await?;
        let expected = self.security.fragments() * Fragment::LEN;
        if reply.signature.len() != expected {
            return Err(self.malformed(format!(
                "a signature of {} characters, where security level {} needs {expected} trytes",
                reply.signature.len(),
                self.security
            )));
        }
        Signature::from_trytes(&reply.signature).map_err(|e| self.malformed(e.to_string()))
    }

    async fn fetch_seed(&self, uuid: &SeedUuid) -> Result<Seed, ProviderError> {
        let mut client = self.client.clone();
        let request = pb::GetSeedForUuidRequest {
            uuid: uuid.as_str().to_string(),
        };
        let reply = self.call("GetSeedForUUID", client.get_seed_for_uuid(request)).await?;
        let seed = Zeroizing::new(reply.seed);
        // The parser's message could quote part of the seed, so it is not passed on.
        Seed::from_trytes(&seed).map_err(|_| self.malformed("the seed is not 81 trytes".into()))
    }
}

impl SeedProvider for RemoteProvider {
    fn address<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Address, ProviderError>> {
        Box::pin(self.fetch_address(uuid))
    }

    fn security_level<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<SecurityLevel, ProviderError>> {
        Box::pin(self.fetch_security_level(uuid))
    }

    fn sign<'a>(
        &'a self,
        uuid: &'a SeedUuid,
        bundle_hash: &'a Hash,
    ) -> BoxFuture<'a, Result<Signature, ProviderError>> {
        Box::pin(self.fetch_signature(uuid, bundle_hash))
    }

    fn seed<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Seed, ProviderError>> {
        Box::pin(self.fetch_seed(uuid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a signer URL's password never reaches an error or a debug
    /// print. Method: a URL with credentials where nothing listens, and
    /// one that is not https.
    #[tokio::test]
    async fn a_signer_url_is_named_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let certs = crate::generate_dev_certs(dir.path(), &[]).unwrap();
        let timeouts = RemoteTimeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        };
        for (url, kind) in [
            ("https://user:pw@127.0.0.1:1", "unavailable"),
            ("http://user:pw@127.0.0.1:1", "refused"),
        ] {
            let error = RemoteProvider::connect(url, &certs.client_tls(), timeouts)
                .await
                .unwrap_err();
            let text = error.to_string();
            assert!(text.contains(kind) && text.contains("user:***@127.0.0.1:1"), "{text}");
            assert!(!format!("{text} {error:?}").contains("pw"), "{text}");
        }
    }
}
