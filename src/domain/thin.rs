//! Thinning a series for a chart that does not need each point.

/// At most `at_most` of `points`, evenly spread, the first and the last kept (all of them when
/// there are no more than that, or when fewer than 2 are asked for).
pub fn thin<T: Clone>(points: &[T], at_most: usize) -> Vec<T> {
    if points.len() <= at_most || at_most < 2 {
        return points.to_vec();
    }
    (0..at_most)
        .map(|i| points[i * (points.len() - 1) / (at_most - 1)].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::thin;

    #[test]
    fn keeps_the_ends_and_spreads_the_rest() {
        let all: Vec<u32> = (0..101).collect();
        assert_eq!(thin(&all, 5), [0, 25, 50, 75, 100]);
        assert_eq!(thin(&all, 200), all);
        assert_eq!(thin(&all, 1), all);
    }
}
