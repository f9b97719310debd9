//! `SignBundle`: a signature of a caller's bundle hash by an already-swept
//! deposit address's key, for an operator who builds a recovery bundle
//! himself. Fix over the original: the token is a real HMAC-SHA256 over the
//! bundle hash and the address, compared in constant time (the original's
//! was a constant). Held to RecoverFunds' rules: refused while the key's
//! own sweep (or an earlier recovery) is unconfirmed, refused for a hash
//! whose normalised form holds a 13 (it would reveal a fragment's private
//! key whole), and the node is asked first whether the key signed anything
//! Hub has no record of (`crate::spends`). Each signature is recorded
//! before it is made, with an event.

use std::fmt;

use hmac::{Hmac, Mac};
use hub_protocol::address::ChecksumPolicy;
use hub_protocol::{wots, Address, Hash};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{disabled, exact_address};
use crate::spends::{clear_to_sign, SigningKey};
use crate::{Hub, HubError, SignBundleRequest};

/// Shortest accepted SignBundle key.
pub const MIN_AUTH_KEY_BYTES: usize = 32;

/// The key SignBundle tokens are made with: `token = hex(HMAC-SHA256(key,
/// bundleHash ‖ address))`, both as 81 trytes.
#[derive(Clone)]
pub struct AuthKey(Zeroizing<Vec<u8>>);

impl AuthKey {
    /// A key of at least [`MIN_AUTH_KEY_BYTES`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_AUTH_KEY_BYTES {
            return Err(format!(
                "the SignBundle key must be at least {MIN_AUTH_KEY_BYTES} bytes (it has {})",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    fn mac(&self, bundle_hash: &Hash, address: &Address) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(bundle_hash.as_str().as_bytes());
        mac.update(address.as_str().as_bytes());
        mac
    }

    /// The token that authorises signing `bundle_hash` with `address`'s key.
    pub fn token(&self, bundle_hash: &Hash, address: &Address) -> String {
        hex::encode(self.mac(bundle_hash, address).finalize().into_bytes())
    }

    /// Whether `token` authorises exactly this bundle hash and address
    /// (constant-time comparison).
    pub fn verify(&self, token: &str, bundle_hash: &Hash, address: &Address) -> bool {
        match hex::decode(token.trim()) {
            Ok(bytes) => self.mac(bundle_hash, address).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(<redacted>)")
    }
}

impl Hub {
    /// `SignBundle`, with the original's checks in its order.
    pub async fn sign_bundle(&self, request: &SignBundleRequest) -> Result<String, HubError> {
        let Some(key) = &self.sensitive.sign_bundle else {
            return Err(disabled("SignBundle"));
        };
        let address = if request.validate_checksum {
            Address::parse(&request.address, ChecksumPolicy::Required)
                .map_err(|e| HubError::InvalidChecksum(e.for_field("address").to_string()))?
        } else {
            exact_address("address", &request.address)?
        };
        let hash = Hash::from_trytes(&request.bundle_hash).map_err(|e| HubError::argument("bundleHash", e))?;
        let row = self
            .store
            .read()
            .await?
            .user_address(&address)
            .await?
            .ok_or(HubError::UnknownAddress)?;
        if !row.swept {
            return Err(HubError::InvalidAddress(
                "address: only an address that was swept (whose key already signed) may sign again".into(),
            ));
        }
        if !key.verify(&request.authentication, &hash, &address) {
            return Err(HubError::InvalidAuthentication);
        }
        if wots::normalized_has_m(&hash) {
            return Err(HubError::InvalidArgument {
                field: "bundleHash",
                rule: "its normalised form holds a 13, which would reveal a key fragment whole: change the bundle \
                       (e.g. its obsolete tag) and ask again"
                    .into(),
            });
        }
        let mut tx = self.store.begin().await?;
        let row = tx.user_address(&address).await?.ok_or(HubError::UnknownAddress)?;
        if let Some(pending) = tx.unconfirmed_spends(row.id, &row.seed_uuid).await?.first() {
            return Err(HubError::InvalidAddress(format!(
                "address: bundle {pending} spending it is not confirmed yet; sign after it is"
            )));
        }
        tx.record_sign_bundle(&row.seed_uuid, &address, &hash, self.now_ms())
            .await?;
        tx.commit().await?;
        let key = SigningKey {
            address,
            seed_uuid: row.seed_uuid.clone(),
        };
        clear_to_sign(self, &[key], &hash).await?;
        let signature = self
            .provider
            .sign(&row.seed_uuid, &hash)
            .await
            .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
        if !wots::verify(&address, &hash, &signature.0) {
            return Err(HubError::SignatureFailed(
                "the provider's signature does not verify".into(),
            ));
        }
        tracing::warn!(%address, bundle = %hash, "SignBundle: a swept key signed again");
        Ok(signature.to_trytes())
    }
}
