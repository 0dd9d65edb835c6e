//! `trademon models list | show ID | promote ID | rollback | export ID FILE | import-torch FILE |
//! eval ID --input FILE`: the model registry from the command line, as an aligned table, readable
//! blocks, or JSON.

use std::path::{Path, PathBuf};

use super::models_eval::{self, EvalReport};
use super::models_text::{change_text, list_text, show_text};
use super::models_torch::{self, ModelsError, TorchImport};
use crate::model::calibrate;
use crate::model::ensemble::EnsembleParams;
use crate::model::registry::{
    ChampionChange, ExportReport, ModelEvent, ModelRecord, Registry, RegistryError,
};
use crate::model::signal::ThresholdOverride;
use crate::monitor::compare_run::{CompareArgs, CompareOutput};
use crate::protocol::SignalThresholds;

/// What to do with the registry.
#[derive(clap::Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum ModelsAction {
    /// Every registered model, oldest first.
    List,
    /// One model: lineage, data, features, parameters, metrics, weighting and its audit log.
    Show {
        /// The id from `models list`, a version tag (ensemble-BTCUSDT-1m@1.2.0) or a version (1.2.0).
        id: String,
    },
    /// Make a model the champion (the one the engine runs); the current champion is retired.
    Promote {
        /// The id, version tag or version.
        id: String,
    },
    /// Give the championship back to the champion before the current one.
    Rollback,
    /// Take a challenger out of shadow scoring (it becomes retired; audited).
    Retire {
        /// The id, version tag or version.
        id: String,
    },
    /// Put a retired model back in shadow scoring as a challenger (audited).
    Challenge {
        /// The id, version tag or version.
        id: String,
    },
    /// Paired evidence on stored candles: both models run through the signal pipeline, each
    /// candle's log-loss and correctness paired, per symbol and pooled. Scored against A's
    /// target (its horizon and flat band).
    Compare {
        /// Model A (the reference: the champion, usually): id, version tag, version or champion.
        a: String,
        /// Model B (the challenger).
        b: String,
        /// One symbol or several, comma-separated.
        #[arg(
            long,
            visible_alias = "symbols",
            value_delimiter = ',',
            required = true
        )]
        symbol: Vec<crate::domain::Symbol>,
        #[arg(long)]
        interval: crate::domain::Interval,
        /// First candle: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = super::features::parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// End of the candles (exclusive), same forms as --from.
        #[arg(long, value_parser = super::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// Add every paired candle (with --json).
        #[arg(long)]
        pairs: bool,
    },
    /// Write a model as one .safetensors file with its record in the header's __metadata__.
    Export {
        /// The id, version tag or version.
        id: String,
        /// The file to write: a new one, or with --force an existing regular file.
        file: PathBuf,
        /// Replace FILE if it exists as a regular file (never a link, a device or a directory).
        #[arg(long)]
        force: bool,
    },
    /// Register a one-member model trained in PyTorch: a .safetensors file under PyTorch's names
    /// (lstm.weight_ih_l0, ..., head.weight, head.bias; check.* tensors are ignored).
    ImportTorch {
        /// The member's .safetensors file.
        file: PathBuf,
        /// The window T (candles per input) the live engine feeds it; without it, the `window`
        /// in the file's metadata, else 20 (a plain `save_file(model.state_dict())` has none).
        #[arg(long, value_name = "T", value_parser = parse_window)]
        window: Option<usize>,
    },
    /// Run a model on windows [B, T, F] from a .safetensors file; print P(down, flat, up) per row.
    /// T may be any length ≥ 1, whatever window the model was stored with (an LSTM runs on any
    /// number of steps); F must be the model's input count.
    Eval {
        /// The id, version tag or version.
        id: String,
        /// The .safetensors file holding the input tensor.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// The name of the input tensor in that file.
        #[arg(long, value_name = "NAME", default_value = "x")]
        tensor: String,
    },
}

/// `--window T`: a whole number of candles, at least 1.
fn parse_window(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("the window must be at least 1 candle".to_string()),
        Ok(t) if t > crate::model::MemberSpec::MAX_SIZE => Err(format!(
            "the window must be at most {} candles",
            crate::model::MemberSpec::MAX_SIZE
        )),
        Ok(t) => Ok(t),
        Err(_) => Err(format!(
            "{text:?} is not a window: give a whole number of candles, at least 1"
        )),
    }
}

/// The result of a models command.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum ModelsOutput {
    List(Vec<ModelRecord>),
    Show {
        model: Box<ModelRecord>,
        /// The confidence its Buy / Sell signals need under the config, and where that comes
        /// from; absent for a model that stores no thresholds (a PyTorch member).
        #[serde(skip_serializing_if = "Option::is_none")]
        thresholds: Option<SignalThresholds>,
        events: Vec<ModelEvent>,
    },
    Change(Box<ChampionChange>),
    Export(ExportReport),
    Event(ModelEvent),
    Compare(Box<CompareOutput>),
    Imported(Box<TorchImport>),
    Eval(EvalReport),
}

/// Runs `action` on the registry at `db`; `over` is the config's explicit thresholds, which
/// `show` reports as the ones a model's signals are judged by.
pub fn run(
    db: &Path,
    action: &ModelsAction,
    over: ThresholdOverride,
) -> Result<ModelsOutput, ModelsError> {
    if let ModelsAction::Compare { .. } = action {
        return compare(db, action, over);
    }
    if !db.exists() {
        // Reading an absent registry must not create a database as a side effect.
        return match action {
            ModelsAction::List => Ok(ModelsOutput::List(Vec::new())),
            // An import creates it, but only once its file has been read as a member.
            ModelsAction::ImportTorch { file, window } => Ok(ModelsOutput::Imported(Box::new(
                models_torch::import_torch(db, file, *window)?,
            ))),
            _ => Err(RegistryError::NoDatabase {
                path: db.display().to_string(),
            }
            .into()),
        };
    }
    let mut registry = Registry::open(db)?;
    Ok(match action {
        ModelsAction::List => ModelsOutput::List(registry.list()?),
        ModelsAction::Show { id } => {
            let model = registry.get(id)?;
            let events = registry.events(Some(model.id))?;
            let thresholds = serde_json::from_value::<EnsembleParams>(model.params.clone())
                .ok()
                .map(|params| {
                    let (t, source) = calibrate::effective(&params, over);
                    SignalThresholds {
                        buy: t.buy,
                        sell: t.sell,
                        source,
                    }
                });
            ModelsOutput::Show {
                model: Box::new(model),
                thresholds,
                events,
            }
        }
        ModelsAction::Promote { id } => {
            let id = registry.get(id)?.id;
            ModelsOutput::Change(Box::new(registry.promote(id)?))
        }
        ModelsAction::Rollback => ModelsOutput::Change(Box::new(registry.rollback()?)),
        ModelsAction::Retire { id } => {
            let id = registry.get(id)?.id;
            ModelsOutput::Event(registry.retire(id)?)
        }
        ModelsAction::Challenge { id } => {
            let id = registry.get(id)?.id;
            ModelsOutput::Event(registry.challenge(id)?)
        }
        ModelsAction::Compare { .. } => return compare(db, action, over),
        ModelsAction::Export { id, file, force } => {
            let id = registry.get(id)?.id;
            ModelsOutput::Export(registry.export(id, file, *force)?)
        }
        ModelsAction::ImportTorch { file, window } => {
            ModelsOutput::Imported(Box::new(models_torch::import_torch(db, file, *window)?))
        }
        ModelsAction::Eval { id, input, tensor } => {
            ModelsOutput::Eval(models_eval::eval(&registry, id, input, tensor)?)
        }
    })
}

/// `models compare`: needs no registry write, only the database.
fn compare(
    db: &Path,
    action: &ModelsAction,
    over: ThresholdOverride,
) -> Result<ModelsOutput, ModelsError> {
    let ModelsAction::Compare {
        a,
        b,
        symbol,
        interval,
        from,
        to,
        pairs,
    } = action
    else {
        return Err(ModelsError::Compare("not a comparison".into()));
    };
    let args = CompareArgs {
        a: a.clone(),
        b: b.clone(),
        symbols: symbol.clone(),
        interval: *interval,
        from_ms: *from,
        to_ms: *to,
        thresholds: over,
        pairs: *pairs,
    };
    crate::monitor::compare_run::run(db, &args)
        .map(|o| ModelsOutput::Compare(Box::new(o)))
        .map_err(ModelsError::Compare)
}

/// The human-readable form.
pub fn to_text(output: &ModelsOutput, db: &Path) -> String {
    match output {
        ModelsOutput::List(models) => list_text(models, db),
        ModelsOutput::Show {
            model,
            thresholds,
            events,
        } => show_text(model, thresholds.as_ref(), events),
        ModelsOutput::Change(change) => change_text(change),
        ModelsOutput::Export(r) => format!(
            "wrote {}: {} (id {}), {} tensors, {} bytes\n",
            r.file, r.version, r.id, r.tensors, r.bytes
        ),
        ModelsOutput::Event(e) => format!("{}\n", e.detail),
        ModelsOutput::Compare(c) => super::models_compare::to_text(c),
        ModelsOutput::Imported(r) => models_torch::import_text(r),
        ModelsOutput::Eval(r) => models_eval::eval_text(r),
    }
}
