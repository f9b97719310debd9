//! Which IRI 1.8.6 network the devnet imitates, and the API limits that go
//! with it.
//!
//! A profile fixes what differs between IRI's testnet and mainnet
//! configurations (`TestnetConfig` and `BaseIotaConfig` of 1.8.6): the
//! minimum weight magnitude, the name `getNodeInfo` reports and the
//! `testnet` feature. Both share IRI's default `maxDepth` and API limits
//! ([`Limits::IRI`]), so a client that works against the devnet stays
//! within what a default IRI node accepts.

/// An IRI network configuration the devnet imitates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// IRI's testnet configuration: MWM 9, quick proof of work. The default.
    #[default]
    Development,
    /// IRI's mainnet configuration: MWM 14, proof of work as on the real network.
    Mainnet,
}

impl Profile {
    /// Every profile, for command-line parsers.
    pub const ALL: [Self; 2] = [Self::Development, Self::Mainnet];

    /// The name on the command line (`development`, `mainnet`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Mainnet => "mainnet",
        }
    }

    /// One line saying what the profile is, for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Development => "IRI testnet settings: MWM 9 (quick proof of work)",
            Self::Mainnet => "IRI mainnet settings: MWM 14 (proof of work as on the real network)",
        }
    }

    /// Default minimum weight magnitude (`TestnetConfig.Defaults.MWM` 9,
    /// `BaseIotaConfig.Defaults.MWM` 14).
    pub fn mwm(self) -> u8 {
        match self {
            Self::Development => 9,
            Self::Mainnet => 14,
        }
    }

    /// The deepest `getTransactionsToApprove` depth accepted
    /// (`BaseIotaConfig.Defaults.MAX_DEPTH`, the same on both networks).
    pub fn max_depth(self) -> u32 {
        15
    }

    /// The API limits (IRI's defaults on both networks).
    pub fn limits(self) -> Limits {
        Limits::IRI
    }

    /// Whether IRI would run with `--testnet`: `getNodeInfo` then says
    /// `IRI Testnet` and lists the `testnet` feature.
    pub fn is_testnet(self) -> bool {
        self == Self::Development
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The API's bounds on one request (IRI's `APIConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items in any list parameter (`maxRequestsList`); more is refused
    /// with "Could not complete request".
    pub max_request_list: usize,
    /// Most transactions one `getTrytes` returns (`maxGetTrytes`).
    pub max_get_trytes: usize,
    /// Most hashes one `findTransactions` returns (`maxFindTransactions`).
    pub max_find_transactions: usize,
    /// Longest request body, in UTF-16 code units as Java counts a
    /// `String`'s length (`maxBodyLength`); longer is "Request too long".
    pub max_body_chars: usize,
}

impl Limits {
    /// IRI 1.8.6's defaults (`BaseIotaConfig.Defaults`).
    pub const IRI: Self = Self {
        max_request_list: 1_000,
        max_get_trytes: 10_000,
        max_find_transactions: 100_000,
        max_body_chars: 1_000_000,
    };
}

impl Default for Limits {
    /// [`Limits::IRI`].
    fn default() -> Self {
        Self::IRI
    }
}
