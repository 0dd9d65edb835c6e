//! The paper account's log entries as the broker's types: what is written for each order, fill
//! and cancel, and the account rebuilt from the entries read back (after a restart or a crash,
//! the account is exactly what the log says).

use serde::{Deserialize, Serialize};

use crate::broker::{Book, Fill, FillCosts, Order};
use crate::domain::{Symbol, SymbolFilters};
use crate::store::paper::PaperRow;

/// The account's opening entry: what it was opened with. Later config changes do not change an
/// open account's cash or symbols.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opening {
    pub cash: f64,
    pub symbols: Vec<Symbol>,
    pub mode: String,
    pub quote_asset: String,
    /// The interval whose signals it trades (none: the first signal's).
    #[serde(default)]
    pub interval: Option<crate::domain::Interval>,
    /// The exchange's filters it was opened with; the account keeps them.
    #[serde(default)]
    pub filters: Vec<(Symbol, SymbolFilters)>,
}

/// Where a run's trading began: the candle whose close made the first signal it traded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub first_candle_ms: i64,
    pub interval: crate::domain::Interval,
}

pub fn session(time_ms: i64, s: &Session) -> PaperRow {
    row(time_ms, "session", None, None, s)
}

/// An entry refused or a kill switch: the reason, and what was asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub reason: String,
}

pub fn opening(time_ms: i64, o: &Opening) -> PaperRow {
    row(time_ms, "open", None, None, o)
}

pub fn order(o: &Order) -> PaperRow {
    row(o.placed_ms, "order", Some(o.symbol), Some(o.id), o)
}

pub fn fill(f: &Fill) -> PaperRow {
    row(f.time_ms, "fill", Some(f.symbol), Some(f.order_id), f)
}

pub fn cancel(time_ms: i64, symbol: Symbol, id: u64, reason: &str) -> PaperRow {
    let note = Note {
        reason: reason.to_string(),
    };
    row(time_ms, "cancel", Some(symbol), Some(id), &note)
}

pub fn note(time_ms: i64, kind: &str, symbol: Option<Symbol>, reason: &str) -> PaperRow {
    let note = Note {
        reason: reason.to_string(),
    };
    row(time_ms, kind, symbol, None, &note)
}

fn row<T: Serialize>(
    time_ms: i64,
    kind: &str,
    symbol: Option<Symbol>,
    id: Option<u64>,
    detail: &T,
) -> PaperRow {
    PaperRow {
        seq: 0,
        time_ms,
        kind: kind.to_string(),
        symbol,
        order_id: id.map(|i| i as i64),
        // Plain data with finite numbers: serialising cannot fail; "null" keeps the row valid.
        detail: serde_json::to_string(detail).unwrap_or_else(|_| "null".into()),
    }
}

/// The account the log describes.
#[derive(Debug)]
pub struct Restored {
    pub opening: Opening,
    pub opened_ms: i64,
    pub book: Book,
    /// The kill switch as last logged: set (when, why) or reset.
    pub killed: Option<(i64, String)>,
    pub orders: usize,
    pub fills: Vec<Fill>,
    /// The newest entry's time.
    pub last_ms: i64,
    /// Where trading on signals began (the first run's first traded signal).
    pub first_session: Option<Session>,
    /// Exits of an open position's entry that the log lost (a crash between the entry fill's
    /// commit and theirs), placed again: to be logged.
    pub replaced_exits: Vec<Order>,
}

/// Rebuilds the account from `rows` (oldest first): `None` for an empty log. An entry that cannot
/// be read is an error naming its place in the log: nothing is guessed.
pub fn restore(
    rows: &[PaperRow],
    costs: FillCosts,
    filters: &dyn Fn(Symbol) -> SymbolFilters,
) -> Result<Option<Restored>, String> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    if first.kind != "open" {
        return Err(format!(
            "paper_log row {}: the log starts with '{}', not the account's opening",
            first.seq, first.kind
        ));
    }
    let bad =
        |r: &PaperRow, e: serde_json::Error| format!("paper_log row {} ({}): {e}", r.seq, r.kind);
    let opening: Opening = serde_json::from_str(&first.detail).map_err(|e| bad(first, e))?;
    let mut book = Book::new(costs);
    let share = opening.cash / opening.symbols.len().max(1) as f64;
    for &s in &opening.symbols {
        let logged = opening
            .filters
            .iter()
            .find(|(f, _)| *f == s)
            .map(|(_, f)| *f);
        book.add_symbol(s, share, logged.unwrap_or_else(|| filters(s)));
    }
    let mut out = Restored {
        opened_ms: first.time_ms,
        opening,
        book,
        killed: None,
        orders: 0,
        fills: Vec::new(),
        last_ms: first.time_ms,
        first_session: None,
        replaced_exits: Vec::new(),
    };
    // Every order logged, the entries with exits logged, and per symbol the order whose fill
    // opened the position held now.
    let mut logged: std::collections::HashMap<u64, Order> = Default::default();
    let mut with_exits: std::collections::HashSet<u64> = Default::default();
    let mut entries: std::collections::HashMap<Symbol, (u64, f64)> = Default::default();
    for r in &rows[1..] {
        out.last_ms = out.last_ms.max(r.time_ms);
        match r.kind.as_str() {
            "order" => {
                let o: Order = serde_json::from_str(&r.detail).map_err(|e| bad(r, e))?;
                out.orders += 1;
                if let Some(parent) = o.parent {
                    with_exits.insert(parent);
                }
                logged.insert(o.id, o.clone());
                out.book.restore(o);
            }
            "fill" => {
                let f: Fill = serde_json::from_str(&r.detail).map_err(|e| bad(r, e))?;
                let flat = |book: &Book| book.account(f.symbol).is_none_or(|a| a.open.is_none());
                let opens = flat(&out.book);
                out.book.restore_fill(&f);
                if flat(&out.book) {
                    entries.remove(&f.symbol);
                } else if opens {
                    entries.insert(f.symbol, (f.order_id, f.price));
                }
                out.fills.push(f);
            }
            "cancel" => {
                if let Some(id) = r.order_id {
                    let _ = out.book.cancel(id as u64);
                }
            }
            "kill" => {
                let n: Note = serde_json::from_str(&r.detail).map_err(|e| bad(r, e))?;
                out.killed = Some((r.time_ms, n.reason));
            }
            "reset" => out.killed = None,
            "session" => {
                if out.first_session.is_none() {
                    let s: Session = serde_json::from_str(&r.detail).map_err(|e| bad(r, e))?;
                    out.first_session = Some(s);
                }
            }
            "reject" => {}
            other => {
                return Err(format!("paper_log row {}: unknown entry '{other}'", r.seq));
            }
        }
    }
    for (_, (id, price)) in entries {
        let Some(entry) = logged.get(&id) else {
            continue;
        };
        if entry.brackets.is_empty() || with_exits.contains(&id) {
            continue;
        }
        let mut events = Vec::new();
        out.book.place_exits(entry, price, out.last_ms, &mut events);
        out.replaced_exits
            .extend(events.into_iter().filter_map(|e| match e {
                crate::broker::BookEvent::Placed(o) => Some(o),
                _ => None,
            }));
    }
    Ok(Some(out))
}
