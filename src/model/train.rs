//! Training an ensemble on a candle series: the learning data and baselines from
//! [`prepare`], then K members that differ in seed and hidden size, each trained with AdamW on
//! shuffled minibatches of the training split (never across a split boundary), early-stopped on
//! the validation loss (the best epoch's weights are kept), weighted by how much each beats
//! chance on validation, and judged once on the held-out test split beside both baselines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::ModelError;
use super::adamw::AdamW;
use super::calibrate::calibrate_on_validation;
use super::data_error::DataError;
use super::dataset::Dataset;
use super::ensemble::{Ensemble, EnsembleError, EnsembleParams, EnsembleWeighting, MemberInfo};
use super::member::Member;
use super::metrics::{Metrics, evaluate};
use super::normalize::Normalizer;
use super::prepare::{DataSpec, prepare};
use super::rng::Rng;
use super::signal::{Thresholds, member_weights};
use super::weights::MemberSpec;
use crate::config::ModelConfig;
use crate::domain::{Candle, Interval};

/// Windows per forward pass when scoring a split.
const SCORE_BATCH: usize = 1024;

/// Why training stopped without a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("training member {member}: {source}")]
    Model {
        member: usize,
        #[source]
        source: ModelError,
    },
    #[error(transparent)]
    Ensemble(Box<EnsembleError>),
    #[error("training was stopped")]
    Stopped,
}

impl From<EnsembleError> for TrainError {
    fn from(error: EnsembleError) -> Self {
        TrainError::Ensemble(Box::new(error))
    }
}

/// How to train (from the `[model]` config section; the CLI overrides some).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    pub members: usize,
    pub hidden: usize,
    pub layers: usize,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub seed: u64,
    pub data: DataSpec,
    pub thresholds: ThresholdRule,
}

/// How a training run sets the model's Buy / Sell thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ThresholdRule {
    /// The validation-split confidence quantile at which this share of validation candles trade
    /// (see [`super::calibrate`]).
    Calibrate { signal_rate: f64 },
    /// These numbers: retraining a model from before calibration, as it was trained.
    Fixed(Thresholds),
}

impl TrainSpec {
    pub fn from_config(config: &ModelConfig) -> Self {
        let data = DataSpec {
            window: config.window,
            horizon: config.horizon,
            train_fraction: 1.0 - config.validation_share - config.test_share,
            validation_fraction: config.validation_share,
            ..DataSpec::default()
        };
        Self {
            members: config.members,
            hidden: config.hidden,
            layers: config.layers,
            epochs: config.epochs,
            patience: config.patience,
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            weight_decay: config.weight_decay,
            seed: config.seed,
            data,
            thresholds: ThresholdRule::Calibrate {
                signal_rate: config.signal_rate,
            },
        }
    }

    /// The spec a registered ensemble was trained with, from its stored lineage: a
    /// walk-forward retrains "the same model" on each fold with it.
    pub fn from_params(params: &EnsembleParams) -> Result<Self, String> {
        let first = params
            .members
            .first()
            .ok_or_else(|| "the model records no members".to_string())?;
        let training = &params.training;
        let whole = |key: &str| {
            training
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| format!("the model's training settings have no whole {key}"))
        };
        let real = |key: &str| {
            training
                .get(key)
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| format!("the model's training settings have no number {key}"))
        };
        Ok(Self {
            members: params.members.len(),
            hidden: first.spec.hidden,
            layers: first.spec.layers,
            epochs: whole("epochs")? as usize,
            patience: whole("patience")? as usize,
            batch_size: whole("batch_size")? as usize,
            learning_rate: real("learning_rate")?,
            weight_decay: real("weight_decay")?,
            seed: whole("seed")?,
            data: params.data.clone(),
            thresholds: match params.calibration {
                Some(c) => ThresholdRule::Calibrate {
                    signal_rate: c.signal_rate,
                },
                None => ThresholdRule::Fixed(params.thresholds),
            },
        })
    }

    /// Member `k`'s shape: members alternate between the configured hidden size and three
    /// quarters of it, so they differ in capacity as well as in seed.
    pub fn member_spec(&self, k: usize, features: usize) -> MemberSpec {
        let hidden = if k.is_multiple_of(2) {
            self.hidden
        } else {
            (self.hidden * 3 / 4).max(2)
        };
        MemberSpec {
            features,
            hidden,
            layers: self.layers,
            window: self.data.window,
        }
    }

    pub fn member_seed(&self, k: usize) -> u64 {
        self.seed
            .wrapping_add((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// Where a training run is.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// 1-based.
    pub member: usize,
    pub members: usize,
    /// 1-based; the last epoch may be before `epochs` (early stopping).
    pub epoch: usize,
    pub epochs: usize,
    pub train_loss: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
    pub elapsed: Duration,
    /// Assumes every remaining member runs all its epochs: an upper bound.
    pub eta: Option<Duration>,
}

/// A model's and the two baselines' scores on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitScores {
    pub model: Metrics,
    pub logistic: Metrics,
    pub majority: Metrics,
}

impl SplitScores {
    /// Lower log-loss than both baselines.
    pub fn beats_baselines(&self) -> bool {
        self.model.log_loss < self.logistic.log_loss && self.model.log_loss < self.majority.log_loss
    }
}

/// What a training run reports; the registry stores it as the model's metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    pub candles: usize,
    pub data_from_ms: i64,
    pub data_to_ms: i64,
    pub samples_train: usize,
    pub samples_validation: usize,
    pub samples_test: usize,
    pub theta: f64,
    /// Out of sample: the headline.
    pub test: SplitScores,
    pub validation: SplitScores,
    pub members: Vec<MemberInfo>,
    pub seconds: f64,
}

/// A trained ensemble and its report.
#[derive(Clone, Debug)]
pub struct Trained {
    pub ensemble: Ensemble,
    pub report: TrainingReport,
    /// Per test sample, in order: the ensemble's log-loss and its logistic baseline's (for the
    /// paired test of the two).
    pub test_log_losses: Vec<(f64, f64)>,
}

/// Trains an ensemble on `candles` (oldest first, one series). `progress` is called after every
/// epoch; setting `stop` ends the run with [`TrainError::Stopped`] at the next minibatch.
pub fn train(
    candles: &[Candle],
    interval: Interval,
    spec: &TrainSpec,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Trained, TrainError> {
    let started = Instant::now();
    let prepared = prepare(candles, interval, &spec.data)?;
    let dataset = &prepared.dataset;
    let weights = prepared.weights.weights.clone();
    let split = dataset.split().clone();
    let train_ids: Vec<usize> = split.train.clone().collect();
    let validation_ids: Vec<usize> = split.validation.clone().collect();
    let test_ids: Vec<usize> = split.test.clone().collect();
    let features = dataset.feature_count();
    let context = Context {
        dataset,
        normalizer: &prepared.normalizer,
        weights: &weights,
        spec,
    };
    let validation = context.batch(&validation_ids)?;
    let mut members = Vec::with_capacity(spec.members);
    let mut infos = Vec::with_capacity(spec.members);
    let mut epoch_seconds = Vec::new();
    for k in 0..spec.members {
        let (member, info) = context.train_member(
            k,
            features,
            &train_ids,
            &validation,
            &mut |p: &mut Progress, seconds: f64| {
                epoch_seconds.push(seconds);
                let per_epoch = epoch_seconds.iter().sum::<f64>() / epoch_seconds.len() as f64;
                let left = (spec.epochs - p.epoch) + (spec.members - p.member) * spec.epochs;
                p.eta = Some(Duration::from_secs_f64(per_epoch * left as f64));
                p.elapsed = started.elapsed();
                progress(p);
            },
            stop,
        )?;
        members.push(member);
        infos.push(info);
    }
    let losses: Vec<f64> = infos.iter().map(|i| i.validation_log_loss).collect();
    let params = EnsembleParams {
        interval,
        members: infos.clone(),
        member_weights: member_weights(&losses),
        thresholds: Thresholds::FIXED_DEFAULT,
        calibration: None,
        data: spec.data.clone(),
        theta: dataset.theta(),
        training: serde_json::json!({
            "epochs": spec.epochs,
            "patience": spec.patience,
            "batch_size": spec.batch_size,
            "learning_rate": spec.learning_rate,
            "weight_decay": spec.weight_decay,
            "seed": spec.seed,
        }),
    };
    let mut ensemble = Ensemble::new(
        dataset.names().to_vec(),
        params,
        EnsembleWeighting {
            normalizer: prepared.normalizer.clone(),
            indicators: prepared.weights.clone(),
            logistic: prepared.logistic.clone(),
        },
        members,
    )?;
    match spec.thresholds {
        ThresholdRule::Calibrate { signal_rate } => {
            let (thresholds, calibration) =
                calibrate_on_validation(&ensemble, dataset, signal_rate)?;
            ensemble.set_own_thresholds(thresholds, Some(calibration));
        }
        ThresholdRule::Fixed(thresholds) => ensemble.set_own_thresholds(thresholds, None),
    }
    let predict = |ids: &[usize]| -> Result<(Vec<[f64; 3]>, Vec<u8>), TrainError> {
        let (x, y) = context.batch(ids)?;
        let mut probabilities = Vec::with_capacity(y.len());
        let step = SCORE_BATCH * context.window_values();
        for chunk in x.chunks(step) {
            let batch = chunk.len() / context.window_values();
            probabilities.extend(ensemble.probabilities(chunk, batch)?);
        }
        Ok((probabilities, y))
    };
    let score = |ids: &[usize]| -> Result<Metrics, TrainError> {
        let (probabilities, y) = predict(ids)?;
        Ok(evaluate(&probabilities, &y)?)
    };
    let (test_probabilities, test_y) = predict(&test_ids)?;
    let log_loss = |p: &[f64; 3], y: u8| -p[usize::from(y)].max(super::metrics::LOG_LOSS_CLIP).ln();
    let test_log_losses: Vec<(f64, f64)> = test_probabilities
        .iter()
        .zip(&prepared.test_logistic)
        .zip(&test_y)
        .map(|((m, l), &y)| (log_loss(m, y), log_loss(l, y)))
        .collect();
    let report = TrainingReport {
        candles: candles.len(),
        data_from_ms: candles.first().map_or(0, |c| c.open_time_ms),
        data_to_ms: candles.last().map_or(0, |c| c.open_time_ms),
        samples_train: train_ids.len(),
        samples_validation: validation_ids.len(),
        samples_test: test_ids.len(),
        theta: dataset.theta(),
        test: SplitScores {
            model: evaluate(&test_probabilities, &test_y)?,
            logistic: prepared.test.logistic.clone(),
            majority: prepared.test.majority.clone(),
        },
        validation: SplitScores {
            model: score(&validation_ids)?,
            logistic: prepared.validation.logistic.clone(),
            majority: prepared.validation.majority.clone(),
        },
        members: infos,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(Trained {
        ensemble,
        report,
        test_log_losses,
    })
}

/// The validation split, materialised once.
struct Batch {
    x: Vec<f32>,
    y: Vec<u8>,
}

struct Context<'a> {
    dataset: &'a Dataset,
    normalizer: &'a Normalizer,
    weights: &'a [f64],
    spec: &'a TrainSpec,
}

impl Context<'_> {
    fn window_values(&self) -> usize {
        self.dataset.window() * self.dataset.feature_count()
    }

    fn batch(&self, ids: &[usize]) -> Result<(Vec<f32>, Vec<u8>), DataError> {
        self.dataset.batch(ids, self.normalizer, self.weights)
    }

    /// Mean log-loss and accuracy of `member` on `data`.
    fn score(&self, member: &Member, data: &Batch) -> Result<(f64, f64), ModelError> {
        let per_window = self.window_values();
        let mut loss = 0.0;
        let mut right = 0usize;
        for (chunk, labels) in data
            .x
            .chunks(SCORE_BATCH * per_window)
            .zip(data.y.chunks(SCORE_BATCH))
        {
            let probabilities = member.probabilities(chunk, labels.len())?;
            for (p, &y) in probabilities.iter().zip(labels) {
                loss -= f64::from(p[usize::from(y)]).max(1e-15).ln();
                let top = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(1);
                right += usize::from(top == usize::from(y));
            }
        }
        let n = data.y.len().max(1) as f64;
        Ok((loss / n, right as f64 / n))
    }

    #[allow(clippy::too_many_arguments)]
    fn train_member(
        &self,
        k: usize,
        features: usize,
        train_ids: &[usize],
        validation: &(Vec<f32>, Vec<u8>),
        report: &mut dyn FnMut(&mut Progress, f64),
        stop: &AtomicBool,
    ) -> Result<(Member, MemberInfo), TrainError> {
        let spec = self.spec;
        let fail = |source| TrainError::Model {
            member: k + 1,
            source,
        };
        let member_spec = spec.member_spec(k, features);
        let seed = spec.member_seed(k);
        let mut member = Member::init(member_spec, seed).map_err(fail)?;
        let mut optimizer = AdamW::new(
            spec.learning_rate as f32,
            0.9,
            0.999,
            1e-8,
            spec.weight_decay as f32,
        );
        let mut rng = Rng::new(seed ^ 0x05EE_D0FB_A7C4);
        let mut order = train_ids.to_vec();
        let validation = Batch {
            x: validation.0.clone(),
            y: validation.1.clone(),
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut best = (f64::INFINITY, 0.0, 0usize, member.clone());
        let mut epochs_run = 0;
        for epoch in 1..=spec.epochs {
            let epoch_started = Instant::now();
            rng.shuffle(&mut order);
            let mut loss_sum = 0.0;
            let mut seen = 0usize;
            for ids in order.chunks(spec.batch_size) {
                if stop.load(Ordering::Relaxed) {
                    return Err(TrainError::Stopped);
                }
                self.dataset
                    .batch_into(ids, self.normalizer, self.weights, &mut x, &mut y)?;
                let loss = member.train_step(&mut optimizer, &x, &y).map_err(fail)?;
                loss_sum += f64::from(loss) * ids.len() as f64;
                seen += ids.len();
            }
            epochs_run = epoch;
            let (validation_loss, validation_accuracy) =
                self.score(&member, &validation).map_err(fail)?;
            if validation_loss < best.0 {
                best = (validation_loss, validation_accuracy, epoch, member.clone());
            }
            report(
                &mut Progress {
                    member: k + 1,
                    members: spec.members,
                    epoch,
                    epochs: spec.epochs,
                    train_loss: loss_sum / seen.max(1) as f64,
                    validation_loss,
                    validation_accuracy,
                    elapsed: Duration::ZERO,
                    eta: None,
                },
                epoch_started.elapsed().as_secs_f64(),
            );
            if epoch - best.2 >= spec.patience {
                break;
            }
        }
        let (validation_log_loss, validation_accuracy, best_epoch, member) = best;
        Ok((
            member,
            MemberInfo {
                spec: member_spec,
                seed,
                epochs_run,
                best_epoch,
                validation_log_loss,
                validation_accuracy,
            },
        ))
    }
}
