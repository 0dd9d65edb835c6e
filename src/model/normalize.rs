//! Per-feature z-scoring with statistics from the training rows only: `z = (v − mean) / std`,
//! population standard deviation, and a feature that does not vary on the training rows
//! (std below [`MIN_STD`]) gets std 1 so it stays finite and centred. Stored with a model.

use serde::{Deserialize, Serialize};

use super::data_error::DataError;
use super::dataset::Dataset;

/// A standard deviation below this counts as a constant feature.
pub const MIN_STD: f64 = 1e-12;

/// Means and standard deviations, one per feature, in the dataset's column order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub means: Vec<f64>,
    pub stds: Vec<f64>,
}

impl Normalizer {
    /// Leaves values as they are (a model imported from elsewhere).
    pub fn identity(width: usize) -> Self {
        Self {
            means: vec![0.0; width],
            stds: vec![1.0; width],
        }
    }

    /// Statistics over the rows the training windows cover.
    pub fn fit(dataset: &Dataset) -> Result<Self, DataError> {
        let rows = dataset.training_rows();
        Self::fit_rows(
            rows.iter().map(|&r| dataset.row_values(r)),
            dataset.feature_count(),
        )
    }

    /// Statistics over `rows` of `width` values each (two passes over the rows).
    pub fn fit_rows<'a, I>(rows: I, width: usize) -> Result<Self, DataError>
    where
        I: Iterator<Item = &'a [f64]> + Clone,
    {
        let mut means = vec![0.0; width];
        let mut n = 0usize;
        for (index, row) in rows.clone().enumerate() {
            check_row(row, width, index)?;
            for (m, v) in means.iter_mut().zip(row) {
                *m += v;
            }
            n += 1;
        }
        if n == 0 {
            return Err(DataError::Empty {
                what: "normalizer statistics",
            });
        }
        means.iter_mut().for_each(|m| *m /= n as f64);
        let mut stds = vec![0.0; width];
        for row in rows {
            for ((s, v), m) in stds.iter_mut().zip(row).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        for s in &mut stds {
            let std = (*s / n as f64).sqrt();
            *s = if std < MIN_STD { 1.0 } else { std };
        }
        Ok(Self { means, stds })
    }

    pub fn width(&self) -> usize {
        self.means.len()
    }

    /// Refuses statistics that would not give finite values (a damaged stored model).
    pub fn check(&self) -> Result<(), DataError> {
        if self.stds.len() != self.means.len() {
            return Err(DataError::WidthMismatch {
                what: "normalizer standard deviations",
                expected: self.means.len(),
                got: self.stds.len(),
            });
        }
        if let Some((index, &value)) = self.means.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return Err(DataError::NotFinite {
                what: "normalizer mean",
                index,
                value,
            });
        }
        if let Some((index, &value)) = self
            .stds
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s >= MIN_STD))
        {
            return Err(DataError::NotFinite {
                what: "normalizer standard deviation (must be finite and positive)",
                index,
                value,
            });
        }
        Ok(())
    }

    /// The means and the per-feature factors `weight / std`, after checking both.
    pub fn scales(&self, weights: &[f64]) -> Result<(&[f64], Vec<f64>), DataError> {
        self.check()?;
        check_row(weights, self.width(), 0).map_err(|e| match e {
            DataError::WidthMismatch { expected, got, .. } => DataError::WidthMismatch {
                what: "indicator weights",
                expected,
                got,
            },
            DataError::NotFinite { index, value, .. } => DataError::NotFinite {
                what: "indicator weight",
                index,
                value,
            },
            other => other,
        })?;
        let scales = weights.iter().zip(&self.stds).map(|(w, s)| w / s).collect();
        Ok((&self.means, scales))
    }

    /// `out[j] = (values[j] − mean[j]) / std[j] × weights[j]`.
    pub fn apply(&self, values: &[f64], weights: &[f64], out: &mut [f64]) -> Result<(), DataError> {
        let (means, scales) = self.scales(weights)?;
        check_row(values, means.len(), 0)?;
        if out.len() != means.len() {
            return Err(DataError::WidthMismatch {
                what: "normalizer output",
                expected: means.len(),
                got: out.len(),
            });
        }
        for (j, o) in out.iter_mut().enumerate() {
            *o = (values[j] - means[j]) * scales[j];
        }
        Ok(())
    }
}

/// A row of `width` finite values; `index` names the row in the error.
fn check_row(row: &[f64], width: usize, index: usize) -> Result<(), DataError> {
    if row.len() != width {
        return Err(DataError::WidthMismatch {
            what: "feature row",
            expected: width,
            got: row.len(),
        });
    }
    match row.iter().position(|v| !v.is_finite()) {
        Some(j) => Err(DataError::NotFinite {
            what: "feature value",
            index: index * width + j,
            value: row[j],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_scores_with_constant_feature_std_one() {
        let rows = [[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]];
        let n = Normalizer::fit_rows(rows.iter().map(|r| r.as_slice()), 3).unwrap();
        assert_eq!(n.means, vec![3.0, 5.0, 5.0]);
        assert!((n.stds[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(n.stds[1], 1.0, "constant feature");
        let mut out = [0.0; 3];
        n.apply(&[3.0 + n.stds[0], 6.0, 5.0], &[2.0, 1.0, 1.0], &mut out)
            .unwrap();
        assert!((out[0] - 2.0).abs() < 1e-12 && out[1] == 1.0 && out[2] == 0.0);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<Normalizer>(&json).unwrap(), n);
    }

    #[test]
    fn garbage_is_refused_with_where() {
        let rows = [[1.0, f64::NAN]];
        let err = Normalizer::fit_rows(rows.iter().map(|r| r.as_slice()), 2).unwrap_err();
        assert!(
            matches!(err, DataError::NotFinite { index: 1, .. }),
            "{err}"
        );
        let err = Normalizer::fit_rows(std::iter::empty::<&[f64]>(), 2).unwrap_err();
        assert!(err.to_string().contains("no samples"), "{err}");
        let mut n = Normalizer::identity(2);
        let mut out = [0.0; 2];
        let err = n
            .apply(&[1.0, 2.0], &[1.0, f64::INFINITY], &mut out)
            .unwrap_err();
        assert!(
            err.to_string().contains("indicator weight: value 1 is inf"),
            "{err}"
        );
        let err = n.apply(&[1.0], &[1.0, 1.0], &mut out).unwrap_err();
        assert!(matches!(
            err,
            DataError::WidthMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ));
        n.stds[0] = 0.0;
        let err = n.apply(&[1.0, 2.0], &[1.0, 1.0], &mut out).unwrap_err();
        assert!(err.to_string().contains("standard deviation"), "{err}");
    }
}
