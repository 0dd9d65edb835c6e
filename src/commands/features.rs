//! `trademon features --symbol S --interval I [--raw] [--out FILE] [--json] [--from T --to T]`:
//! exports indicator outputs or feature vectors computed from stored candles. The export itself
//! is [`crate::model::feature_export`]; `--from`/`--to` parse with [`crate::domain::parse_time`].

pub use crate::domain::parse_time;
pub use crate::model::feature_export::{
    ExportReport, FeatureExportArgs as FeaturesArgs, FeatureExportError as FeaturesCommandError,
    export, run,
};
