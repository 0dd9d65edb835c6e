//! The time-ordered split of the samples into train, validation and test.
//!
//! Samples are windows named by their last row and listed in time order, so each split is a
//! range of sample ids. The fractions are taken of the usable samples, oldest first, with no
//! shuffling. Between two splits the samples whose windows or labels would reach into the
//! neighbour are dropped: the first sample of a split ends at least `window + horizon` rows after
//! the last one of the split before, so its window (`window` rows back from its end) starts after
//! the rows the previous sample's label looks at (`horizon` rows ahead). No window of one split
//! shares a row with a window or a label of another.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::data_error::DataError;

/// Sample id ranges of the three splits, in time order, disjoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub train: Range<usize>,
    pub validation: Range<usize>,
    pub test: Range<usize>,
    /// Rows between the last end row of one split and the first end row of the next, at least.
    pub gap_rows: usize,
}

impl Split {
    /// Samples dropped between the splits.
    pub fn dropped(&self) -> usize {
        (self.validation.start - self.train.end) + (self.test.start - self.validation.end)
    }
}

/// Where the samples came from, for the error that says there are too few.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipCounts {
    pub gap: usize,
    pub label: usize,
}

/// Splits the samples ending at `end_rows` (ascending) by the fractions; the test split gets the
/// rest. Each split must keep at least `min_per_split` samples.
pub fn split_samples(
    end_rows: &[usize],
    train_fraction: f64,
    validation_fraction: f64,
    gap_rows: usize,
    min_per_split: usize,
    skipped: SkipCounts,
) -> Result<Split, DataError> {
    let n = end_rows.len();
    // The epsilon keeps 1000 × 0.7 at 700 whatever the rounding of 0.7.
    let share = |fraction: f64| (n as f64 * fraction + 1e-9).floor() as usize;
    let n_train = share(train_fraction).min(n);
    let validation_end = (n_train + share(validation_fraction)).min(n);
    // The first sample at or after `from` that ends `gap_rows` after the sample before `from`.
    let next_start = |from: usize| -> usize {
        match from.checked_sub(1).map(|last| end_rows[last] + gap_rows) {
            Some(earliest) => from + end_rows[from..].partition_point(|&e| e < earliest),
            None => from,
        }
    };
    let validation_start = next_start(n_train).min(validation_end);
    let validation = validation_start..validation_end;
    let test_start = if validation.is_empty() {
        validation_end
    } else {
        next_start(validation_end)
    };
    let split = Split {
        train: 0..n_train,
        validation,
        test: test_start..n,
        gap_rows,
    };
    let test_fraction = 1.0 - train_fraction - validation_fraction;
    let too_few = [
        ("train", split.train.len(), train_fraction, 0),
        (
            "validation",
            split.validation.len(),
            validation_fraction,
            gap_rows,
        ),
        ("test", split.test.len(), test_fraction, gap_rows),
    ]
    .into_iter()
    .find(|(_, got, _, _)| *got < min_per_split.max(1));
    if let Some((name, got, _, _)) = too_few {
        // With contiguous samples a split loses about `gap_rows` samples at its start.
        let needed = [
            (train_fraction, 0),
            (validation_fraction, gap_rows),
            (test_fraction, gap_rows),
        ]
        .iter()
        .map(|&(fraction, lost)| ((min_per_split.max(1) + lost) as f64 / fraction).ceil() as usize)
        .max()
        .unwrap_or(0)
        .max(n + 1);
        return Err(DataError::TooFewSamples {
            samples: n,
            needed,
            split: name,
            got,
            min: min_per_split.max(1),
            skipped_gap: skipped.gap,
            skipped_label: skipped.label,
        });
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_disjoint_with_gaps() {
        let ends: Vec<usize> = (19..1019).collect();
        let s = split_samples(&ends, 0.7, 0.15, 21, 10, SkipCounts::default()).unwrap();
        assert_eq!(s.train, 0..700);
        assert!(s.train.end <= s.validation.start && s.validation.end <= s.test.start);
        assert_eq!(s.test.end, 1000);
        // Each later split starts `gap_rows` rows after the last end row of the one before.
        assert_eq!(ends[s.validation.start], ends[s.train.end - 1] + 21);
        assert_eq!(ends[s.test.start], ends[s.validation.end - 1] + 21);
        assert_eq!(s.validation.end, 850);
        assert_eq!(s.dropped(), 40);
    }

    #[test]
    fn sparse_samples_need_no_drop() {
        // Samples 100 rows apart: the gap is already there.
        let ends: Vec<usize> = (0..100).map(|i| 19 + 100 * i).collect();
        let s = split_samples(&ends, 0.6, 0.2, 21, 5, SkipCounts::default()).unwrap();
        assert_eq!((s.train, s.validation, s.test), (0..60, 60..80, 80..100));
    }

    #[test]
    fn too_few_samples_say_how_many() {
        let ends: Vec<usize> = (19..119).collect();
        let err =
            split_samples(&ends, 0.7, 0.15, 21, 10, SkipCounts { gap: 3, label: 1 }).unwrap_err();
        match &err {
            DataError::TooFewSamples {
                samples,
                needed,
                split,
                got,
                ..
            } => {
                assert_eq!((*samples, *split, *got), (100, "validation", 0));
                // (10 + 21) / 0.15 = 206.7 → 207.
                assert_eq!(*needed, 207);
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("100 usable windows") && text.contains("207"),
            "{text}"
        );
        let err = split_samples(&[], 0.7, 0.15, 21, 10, SkipCounts::default()).unwrap_err();
        assert!(err.to_string().contains("0 usable windows"), "{err}");
    }
}
