//! Pearson and Spearman correlation: the feature correlation matrix over the training rows
//! (for the weighting's redundancy penalty and the Signals pane) and rank information
//! coefficients of a feature with the forward return.

use serde::{Deserialize, Serialize};

use super::data_error::DataError;
use super::normalize::Normalizer;

/// Pearson correlations between features, row-major `[F, F]`, symmetric, 1 on the diagonal. A
/// feature constant over the rows correlates 0 with every other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationMatrix {
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

impl CorrelationMatrix {
    /// Correlations over `rows` (population statistics, as [`Normalizer::fit_rows`]).
    pub fn pearson<'a, I>(rows: I, names: &[String]) -> Result<Self, DataError>
    where
        I: Iterator<Item = &'a [f64]> + Clone,
    {
        let width = names.len();
        let stats = Normalizer::fit_rows(rows.clone(), width)?;
        let mut sums = vec![0.0; width * width];
        let mut z = vec![0.0; width];
        let mut n = 0usize;
        for row in rows {
            for j in 0..width {
                z[j] = (row[j] - stats.means[j]) / stats.stds[j];
            }
            // Upper triangle only; mirrored below.
            for i in 0..width {
                let zi = z[i];
                let line = &mut sums[i * width..(i + 1) * width];
                for j in i..width {
                    line[j] += zi * z[j];
                }
            }
            n += 1;
        }
        let mut values = vec![0.0; width * width];
        for i in 0..width {
            values[i * width + i] = 1.0;
            for j in i + 1..width {
                let r = (sums[i * width + j] / n as f64).clamp(-1.0, 1.0);
                values[i * width + j] = r;
                values[j * width + i] = r;
            }
        }
        Ok(Self {
            names: names.to_vec(),
            values,
        })
    }

    pub fn size(&self) -> usize {
        self.names.len()
    }

    /// The correlation of features `i` and `j` (panics out of range, like a slice).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.size() + j]
    }
}

/// Ranks from 1, ties sharing their average rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1 ..= end; their mean is (start + end + 1) / 2.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Pearson correlation of two equally long series; 0 when either does not vary.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (
        a[..n].iter().sum::<f64>() / n as f64,
        b[..n].iter().sum::<f64>() / n as f64,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0)
    }
}

/// Spearman's rank correlation: Pearson of the average ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&average_ranks(a), &average_ranks(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
    }

    #[test]
    fn spearman_by_hand() {
        // Monotone but not linear: Spearman 1, Pearson below 1.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [1.0, 4.0, 9.0, 16.0, 100.0];
        assert!((spearman(&a, &b) - 1.0).abs() < 1e-12);
        assert!(pearson(&a, &b) < 0.95);
        // Without ties Spearman is 1 − 6Σd²/(n(n²−1)); here d = 1, 1, 1, 1, 0.
        let c = [2.0, 1.0, 4.0, 3.0, 5.0];
        let expected = 1.0 - 6.0 * 4.0 / (5.0 * 24.0);
        assert!((spearman(&a, &c) - expected).abs() < 1e-12);
        assert_eq!(spearman(&a, &[7.0; 5]), 0.0, "a constant series");
    }

    #[test]
    fn matrix_is_symmetric_with_unit_diagonal() {
        let rows = [
            [1.0, 2.0, 5.0, -1.0],
            [2.0, 4.0, 5.0, -3.0],
            [3.0, 6.0, 5.0, -2.0],
            [4.0, 8.0, 5.0, -5.0],
        ];
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let m = CorrelationMatrix::pearson(rows.iter().map(|r| r.as_slice()), &names).unwrap();
        assert!((m.get(0, 1) - 1.0).abs() < 1e-12, "b = 2a");
        assert_eq!((m.get(0, 2), m.get(2, 2)), (0.0, 1.0), "c is constant");
        let col = |k: usize| rows.iter().map(|r| r[k]).collect::<Vec<_>>();
        assert!((m.get(0, 3) - pearson(&col(0), &col(3))).abs() < 1e-12);
        assert_eq!(m.get(3, 0), m.get(0, 3));
        let bad = [[1.0, f64::NAN, 0.0, 0.0]];
        assert!(CorrelationMatrix::pearson(bad.iter().map(|r| r.as_slice()), &names).is_err());
    }
}
