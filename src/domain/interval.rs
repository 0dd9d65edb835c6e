//! Candle intervals with Binance's names (`1m`, `5m`, `1h`, ...) and their grid.

use std::fmt;
use std::str::FromStr;

/// A candle interval of fixed length. Binance's calendar-month `1M` is not supported: its length
/// varies, so it has no fixed grid to validate against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    S1,
    M1,
    M3,
    M5,
    M15,
    M30,
    H1,
    H2,
    H4,
    H6,
    H8,
    H12,
    D1,
    D3,
    W1,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IntervalError {
    #[error(
        "interval {0:?} is not supported; use one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w"
    )]
    Unknown(String),
}

const ALL: [(Interval, &str, i64); 15] = [
    (Interval::S1, "1s", 1_000),
    (Interval::M1, "1m", 60_000),
    (Interval::M3, "3m", 180_000),
    (Interval::M5, "5m", 300_000),
    (Interval::M15, "15m", 900_000),
    (Interval::M30, "30m", 1_800_000),
    (Interval::H1, "1h", 3_600_000),
    (Interval::H2, "2h", 7_200_000),
    (Interval::H4, "4h", 14_400_000),
    (Interval::H6, "6h", 21_600_000),
    (Interval::H8, "8h", 28_800_000),
    (Interval::H12, "12h", 43_200_000),
    (Interval::D1, "1d", 86_400_000),
    (Interval::D3, "3d", 259_200_000),
    (Interval::W1, "1w", 604_800_000),
];

impl Interval {
    pub fn all() -> impl Iterator<Item = Interval> {
        ALL.iter().map(|(i, _, _)| *i)
    }

    fn entry(self) -> &'static (Interval, &'static str, i64) {
        // ALL lists every variant in declaration order.
        &ALL[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.entry().1
    }

    /// Length of one candle in milliseconds.
    pub fn ms(self) -> i64 {
        self.entry().2
    }

    /// Weekly candles open on Monday 00:00 UTC; 1970-01-01 was a Thursday.
    fn grid_origin_ms(self) -> i64 {
        match self {
            Interval::W1 => 4 * 86_400_000,
            _ => 0,
        }
    }

    /// Is `open_time_ms` the open time of a candle of this interval?
    pub fn is_aligned(self, open_time_ms: i64) -> bool {
        (open_time_ms - self.grid_origin_ms()).rem_euclid(self.ms()) == 0
    }

    /// Open time of the candle containing `time_ms`.
    pub fn floor(self, time_ms: i64) -> i64 {
        let origin = self.grid_origin_ms();
        time_ms - (time_ms - origin).rem_euclid(self.ms())
    }
}

impl FromStr for Interval {
    type Err = IntervalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .find(|(_, name, _)| *name == s)
            .map(|(i, _, _)| *i)
            .ok_or_else(|| IntervalError::Unknown(s.to_string()))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_declaration_order() {
        for (i, (variant, name, _)) in ALL.iter().enumerate() {
            assert_eq!(*variant as usize, i);
            assert_eq!(variant.as_str(), *name);
            assert_eq!(name.parse::<Interval>(), Ok(*variant));
        }
    }

    #[test]
    fn grid() {
        assert!(Interval::M5.is_aligned(1_515_560_100_000));
        assert!(!Interval::M5.is_aligned(1_515_560_100_001));
        assert_eq!(Interval::M1.floor(119_999), 60_000);
        // 2024-01-01 was a Monday.
        assert!(Interval::W1.is_aligned(1_704_067_200_000));
        assert_eq!(Interval::W1.floor(1_704_067_200_000 + 5), 1_704_067_200_000);
    }

    #[test]
    fn refuses_unknown() {
        for bad in ["", "1M", "2m", "60s", "1H", "garbage"] {
            assert!(bad.parse::<Interval>().is_err(), "{bad}");
        }
    }
}
