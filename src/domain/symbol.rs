//! Exchange symbols such as `BTCUSDT`, stored inline so the tick path never allocates.

use std::fmt;
use std::str::FromStr;

/// Longest symbol accepted. Binance symbols are at most 20 characters.
pub const MAX_SYMBOL_LEN: usize = 20;

/// An upper-case exchange symbol (`BTCUSDT`). `Copy`, no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    len: u8,
    bytes: [u8; MAX_SYMBOL_LEN],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SymbolError {
    #[error("symbol {0:?} must be 2 to 20 characters long")]
    Length(String),
    #[error("symbol {0:?} may only contain letters and digits (like BTCUSDT)")]
    Characters(String),
}

impl Symbol {
    /// Parses a symbol, accepting lower case (stream names are lower case) and storing upper case.
    pub fn new(text: &str) -> Result<Self, SymbolError> {
        let raw = text.as_bytes();
        if raw.len() < 2 || raw.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::Length(text.to_string()));
        }
        let mut bytes = [0u8; MAX_SYMBOL_LEN];
        for (slot, &b) in bytes.iter_mut().zip(raw) {
            if !b.is_ascii_alphanumeric() {
                return Err(SymbolError::Characters(text.to_string()));
            }
            *slot = b.to_ascii_uppercase();
        }
        Ok(Self {
            len: raw.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored, so this cannot fail.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("?")
    }

    /// The lower-case form used in Binance stream names (`btcusdt`).
    pub fn stream_name(&self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({})", self.as_str())
    }
}

impl serde::Serialize for Symbol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Symbol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Symbol::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_uppercases() {
        let s = Symbol::new("btcUSDT").expect("valid");
        assert_eq!(s.as_str(), "BTCUSDT");
        assert_eq!(s.stream_name(), "btcusdt");
    }

    #[test]
    fn refuses_garbage() {
        assert!(matches!(Symbol::new(""), Err(SymbolError::Length(_))));
        assert!(matches!(Symbol::new("A"), Err(SymbolError::Length(_))));
        assert!(matches!(
            Symbol::new("ABCDEFGHIJKLMNOPQRSTU"),
            Err(SymbolError::Length(_))
        ));
        assert!(matches!(
            Symbol::new("BTC-USD"),
            Err(SymbolError::Characters(_))
        ));
        assert!(matches!(
            Symbol::new("BTCÜSD"),
            Err(SymbolError::Characters(_))
        ));
    }
}
