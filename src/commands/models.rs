//! `trademon models list | show ID | promote ID | rollback | export ID FILE | import-torch FILE |
//! eval ID --input FILE`: the model registry from the command line, as an aligned table, readable
//! blocks, or JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::models_eval::{self, EvalReport};
use super::models_torch::{self, ModelsError, TorchImport};
use crate::model::calibrate;
use crate::model::ensemble::EnsembleParams;
use crate::model::registry::{
    ChampionChange, ExportReport, ModelEvent, ModelRecord, Registry, RegistryError, TrainedOn,
};
use crate::model::signal::ThresholdOverride;
use crate::protocol::SignalThresholds;
use crate::tui::format::utc_datetime;

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
    /// Write a model as one .safetensors file with its record in the header's __metadata__.
    Export {
        /// The id, version tag or version.
        id: String,
        /// The file to write (replaced if it exists).
        file: PathBuf,
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
        ModelsAction::Export { id, file } => {
            let id = registry.get(id)?.id;
            ModelsOutput::Export(registry.export(id, file)?)
        }
        ModelsAction::ImportTorch { file, window } => {
            ModelsOutput::Imported(Box::new(models_torch::import_torch(db, file, *window)?))
        }
        ModelsAction::Eval { id, input, tensor } => {
            ModelsOutput::Eval(models_eval::eval(&registry, id, input, tensor)?)
        }
    })
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
        ModelsOutput::Imported(r) => models_torch::import_text(r),
        ModelsOutput::Eval(r) => models_eval::eval_text(r),
    }
}

/// `YYYY-MM-DD` UTC.
fn date(ms: Option<i64>) -> String {
    ms.map(|t| {
        let text = utc_datetime(t);
        text.split_once(' ')
            .map_or(text.clone(), |(d, _)| d.to_string())
    })
    .unwrap_or_else(|| "?".to_string())
}

/// `YYYY-MM-DD HH:MM` UTC.
fn minute(ms: i64) -> String {
    let text = utc_datetime(ms);
    text.rsplit_once(':')
        .map_or(text.clone(), |(m, _)| m.to_string())
}

fn series(m: &ModelRecord) -> String {
    match (m.symbol, m.interval) {
        (Some(s), Some(i)) => format!("{s} {i}"),
        (Some(s), None) => s.to_string(),
        (None, Some(i)) => i.to_string(),
        (None, None) => "-".to_string(),
    }
}

fn data_label(t: TrainedOn) -> &'static str {
    match t {
        TrainedOn::Simulated => "SIMULATED",
        TrainedOn::Real => "real",
        TrainedOn::Unknown => "unknown",
    }
}

fn list_text(models: &[ModelRecord], db: &Path) -> String {
    if models.is_empty() {
        return format!(
            "no models registered in {}; `trademon train` adds one\n",
            db.display()
        );
    }
    let header = [
        "ID",
        "VERSION",
        "ROLE",
        "ORIGIN",
        "DATA",
        "SERIES",
        "CANDLES",
        "ROWS",
        "CREATED (UTC)",
    ];
    let rows: Vec<[String; 9]> = models
        .iter()
        .map(|m| {
            let candles = match (m.data_from_ms, m.data_to_ms) {
                (None, None) => "-".to_string(),
                (from, to) => format!("{} .. {}", date(from), date(to)),
            };
            [
                m.id.to_string(),
                m.version.clone(),
                m.role.to_string(),
                m.origin.to_string(),
                data_label(m.trained_on).to_string(),
                series(m),
                candles,
                format!("{}/{}/{}", m.rows_train, m.rows_validation, m.rows_test),
                minute(m.created_ms),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, text left-aligned.
            let _ = match i {
                0 => write!(text, "{cell:>w$}  "),
                _ => write!(text, "{cell:<w$}  "),
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out.push_str(
        "ROWS: training/validation/test rows. The champion is the model the engine runs.\n",
    );
    if models.iter().any(|m| m.trained_on == TrainedOn::Simulated) {
        out.push_str(
            "SIMULATED: trained on the built-in exchange's simulated prices, not on a real market.\n",
        );
    }
    out
}

/// `key = value` lines of a JSON value, objects flattened to dotted keys, at most `limit`.
fn flat_lines(value: &serde_json::Value, limit: usize) -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                let mut text = other.to_string();
                if text.chars().count() > 90 {
                    text = text.chars().take(87).collect::<String>() + "...";
                }
                out.push((prefix.to_string(), text));
            }
        }
    }
    let mut pairs = Vec::new();
    walk("", value, &mut pairs);
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut lines: Vec<String> = pairs
        .iter()
        .take(limit)
        .map(|(k, v)| {
            if k.is_empty() {
                v.clone()
            } else {
                format!("{k:<width$} = {v}")
            }
        })
        .collect();
    if pairs.len() > limit {
        lines.push(format!(
            "... {} more (--json shows all)",
            pairs.len() - limit
        ));
    }
    lines
}

fn show_text(
    m: &ModelRecord,
    thresholds: Option<&SignalThresholds>,
    events: &[ModelEvent],
) -> String {
    let mut out = format!("model {}: {} ({})\n", m.id, m.version, m.role);
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "  {name:<12}{value}");
    };
    field(
        "trained on",
        match m.trained_on {
            TrainedOn::Simulated => "SIMULATED prices from the built-in exchange: its metrics say \
                                     nothing about a real market"
                .to_string(),
            TrainedOn::Real => "real market prices".to_string(),
            TrainedOn::Unknown => "unknown data (imported model)".to_string(),
        },
    );
    field("kind", format!("{}, origin {}", m.kind, m.origin));
    field("series", series(m));
    if m.data_from_ms.is_some() || m.data_to_ms.is_some() {
        let at = |t: Option<i64>| t.map(utc_datetime).unwrap_or_else(|| "?".to_string());
        field(
            "candles",
            format!("{} .. {} UTC", at(m.data_from_ms), at(m.data_to_ms)),
        );
    }
    field(
        "rows",
        format!(
            "{} train, {} validation, {} test",
            m.rows_train, m.rows_validation, m.rows_test
        ),
    );
    field("created", format!("{} UTC", utc_datetime(m.created_ms)));
    field(
        "weights",
        format!("{} bytes, sha256 {}", m.blob_bytes, m.sha256),
    );
    field(
        "features",
        format!("{}: {}", m.features.len(), m.features.join(", ")),
    );
    if let Some(t) = thresholds {
        field(
            "signals",
            format!(
                "Buy at confidence >= {:.4}, Sell >= {:.4}, Hold below ({})",
                t.buy, t.sell, t.source
            ),
        );
    }
    for (name, value) in [
        ("params", &m.params),
        ("metrics", &m.metrics),
        ("weighting", &m.weighting),
    ] {
        let _ = writeln!(out, "  {name}");
        for line in flat_lines(value, 40) {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "  history");
    for e in events {
        let _ = writeln!(
            out,
            "    {}  {:<9} {}",
            utc_datetime(e.time_ms),
            e.kind.as_str(),
            e.detail
        );
    }
    out
}

fn change_text(change: &ChampionChange) -> String {
    let c = &change.champion;
    let mut out = format!("champion: {} (id {})", c.version, c.id);
    if let Some(p) = &change.previous {
        let _ = write!(out, "; retired {} (id {})", p.version, p.id);
    }
    let _ = writeln!(out, "\n{}: {}", change.event.kind, change.event.detail);
    if c.trained_on == TrainedOn::Simulated {
        out.push_str("note: the champion was trained on SIMULATED prices, not on a real market\n");
    }
    out
}
