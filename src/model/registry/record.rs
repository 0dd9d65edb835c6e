//! The registry's vocabulary: what a caller hands in ([`NewModel`]), what it gets back
//! ([`ModelRecord`], [`ModelEvent`], [`ChampionChange`]), the closed sets stored as text, and the
//! errors.

use std::fmt;

use serde::Serialize;

use crate::domain::{Interval, Symbol};

/// Everything the registry stores about a new model. The weights are a safetensors file the
/// registry does not interpret beyond its header.
#[derive(Clone, Debug, PartialEq)]
pub struct NewModel {
    /// `ensemble`, `torch-member`, ...: lower-case words joined by `-`.
    pub kind: String,
    pub origin: Origin,
    pub trained_on: TrainedOn,
    /// The series it was trained on; `None` when unknown (a model imported from PyTorch).
    pub symbol: Option<Symbol>,
    pub interval: Option<Interval>,
    /// Open time of the first and last candle it was trained on.
    pub data_from_ms: Option<i64>,
    pub data_to_ms: Option<i64>,
    pub rows_train: u64,
    pub rows_validation: u64,
    pub rows_test: u64,
    /// Feature names in input order.
    pub features: Vec<String>,
    pub params: serde_json::Value,
    pub metrics: serde_json::Value,
    /// Indicator weights, their components and the normalisation statistics.
    pub weighting: serde_json::Value,
    /// The weights: a safetensors file.
    pub blob: Vec<u8>,
}

/// A registered model, everything but its weights.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelRecord {
    pub id: i64,
    /// The unique tag, `<kind>[-<SYMBOL>][-<interval>]@<major>.<minor>.<patch>`.
    pub version: String,
    pub semver: SemVer,
    pub created_ms: i64,
    pub kind: String,
    pub origin: Origin,
    pub trained_on: TrainedOn,
    pub symbol: Option<Symbol>,
    pub interval: Option<Interval>,
    pub data_from_ms: Option<i64>,
    pub data_to_ms: Option<i64>,
    pub rows_train: u64,
    pub rows_validation: u64,
    pub rows_test: u64,
    pub features: Vec<String>,
    pub params: serde_json::Value,
    pub metrics: serde_json::Value,
    pub weighting: serde_json::Value,
    /// sha256 of the stored weights, lower-case hex.
    pub sha256: String,
    pub blob_bytes: u64,
    pub role: Role,
}

/// A semantic version within a (symbol, interval, kind) line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SemVer {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl SemVer {
    pub const FIRST: SemVer = SemVer {
        major: 1,
        minor: 0,
        patch: 0,
    };

    /// Parses `1.2.0` (a leading `v` is accepted).
    pub fn parse(text: &str) -> Option<SemVer> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.').map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse::<u32>().ok()
            }
        });
        let version = SemVer {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(version)
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for SemVer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Declares a closed set stored as lower-case text.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where a model came from.
    Origin {
        Trained => "trained",
        TorchImport => "torch-import",
        Demo => "demo",
    }
);

text_enum!(
    /// What kind of prices it learned from.
    TrainedOn {
        Simulated => "simulated",
        Real => "real",
        Unknown => "unknown",
    }
);

text_enum!(
    /// A model's place: one champion at a time (the model the engine runs by default),
    /// challengers waiting to be promoted, retired former champions.
    Role {
        Challenger => "challenger",
        Champion => "champion",
        Retired => "retired",
    }
);

text_enum!(
    /// An entry of the audit log.
    EventKind {
        Register => "register",
        Promote => "promote",
        Rollback => "rollback",
        Switch => "switch",
        Fallback => "fallback",
        Retire => "retire",
        Challenge => "challenge",
        Retrain => "retrain",
        Evidence => "evidence",
    }
);

text_enum!(
    /// The events the live engine records: a live switch of the active model, and a fall back to
    /// the baseline when the active model fails. Registry changes record their own events.
    LiveEventKind {
        Switch => "switch",
        Fallback => "fallback",
        Retrain => "retrain",
        Evidence => "evidence",
    }
);

impl From<LiveEventKind> for EventKind {
    fn from(kind: LiveEventKind) -> Self {
        match kind {
            LiveEventKind::Switch => EventKind::Switch,
            LiveEventKind::Fallback => EventKind::Fallback,
            LiveEventKind::Retrain => EventKind::Retrain,
            LiveEventKind::Evidence => EventKind::Evidence,
        }
    }
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelEvent {
    pub id: i64,
    pub time_ms: i64,
    pub kind: EventKind,
    pub model_id: Option<i64>,
    pub previous_model_id: Option<i64>,
    pub detail: String,
}

/// The result of a promotion or a rollback.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChampionChange {
    pub champion: ModelRecord,
    /// The champion it replaced, now retired.
    pub previous: Option<ModelRecord>,
    pub event: ModelEvent,
}

/// What `export` wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub id: i64,
    pub version: String,
    pub file: String,
    pub bytes: u64,
    pub tensors: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path}: {source}")]
    Writer {
        path: String,
        #[source]
        source: crate::store::writer::WriteLost,
    },
    #[error("no database at {path}; nothing is registered there (check --db)")]
    NoDatabase { path: String },
    #[error("no model {wanted:?} in {path}; `trademon models list` shows the registered ones")]
    NotFound { wanted: String, path: String },
    #[error(
        "{wanted:?} is not a model id or version; give the number from `trademon models list`, \
         a version tag like ensemble-BTCUSDT-1m@1.0.0, or a version like 1.0.0"
    )]
    BadId { wanted: String },
    #[error("version {wanted} is ambiguous in {path}: {candidates}; give the id or the full tag")]
    Ambiguous {
        wanted: String,
        path: String,
        candidates: String,
    },
    #[error("cannot register the model: {reason}")]
    Invalid { reason: String },
    #[error("the trained model cannot be stored: {0}")]
    Encode(String),
    #[error("cannot register the model: {what} is not a safetensors file: {reason}")]
    NotSafetensors { what: String, reason: String },
    #[error(
        "cannot register the model: the same weights are already registered as {version} (id {id})"
    )]
    AlreadyRegistered { id: i64, version: String },
    #[error("model {version} (id {id}) is already the champion")]
    AlreadyChampion { id: i64, version: String },
    #[error(
        "model {version} (id {id}) is {role}, not {wanted}: only a challenger can be retired \
         from shadow scoring, only a retired model can challenge again (the champion is \
         neither: promote another model first)"
    )]
    WrongRole {
        id: i64,
        version: String,
        role: &'static str,
        wanted: &'static str,
    },
    #[error("nothing to roll back to: {reason}")]
    NothingToRollBack { reason: String },
    #[error(
        "model {version} (id {id}) is refused: its weights do not match their sha256 \
         (expected {expected}, actual {actual}); the stored blob is damaged"
    )]
    HashMismatch {
        id: i64,
        version: String,
        expected: String,
        actual: String,
    },
    #[error("model row {id} in {path} is damaged: {column}: {reason}")]
    BadRow {
        id: i64,
        path: String,
        column: &'static str,
        reason: String,
    },
    #[error("the model registry in {path} is inconsistent: {reason}")]
    Inconsistent { path: String, reason: String },
    #[error("cannot export to {path}: {reason}")]
    Export { path: String, reason: String },
}
