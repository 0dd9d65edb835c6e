//! Risk rules of a paper account: how an entry is sized, how many positions may be open, the
//! drawdown kill switch and the cooldown after a stop-loss. Every refusal names its rule.

use crate::domain::Symbol;

use super::order::{Reject, Size};

/// How an entry is sized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sizing {
    /// This share of the symbol's equity.
    Fraction(f64),
    /// So that the stop-loss loses this share of the symbol's equity.
    RiskPerTrade(f64),
}

/// The rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RiskRules {
    pub sizing: Sizing,
    /// 0: no limit.
    pub max_open_positions: usize,
    /// Equity this far below its peak (0..1) trips the kill switch; 1: never.
    pub max_drawdown: f64,
    pub cooldown_after_stop_ms: i64,
}

/// Where the rules stand.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RiskState {
    pub peak_equity: f64,
    /// The kill switch: when it tripped and why.
    pub killed: Option<(i64, String)>,
    /// No entry in a symbol before this time (a stop-loss filled in it).
    pub cooldowns: Vec<(Symbol, i64)>,
}

impl RiskState {
    pub fn new(equity: f64) -> Self {
        Self {
            peak_equity: equity,
            ..Self::default()
        }
    }

    /// Follows equity; trips the kill switch (once) when the drawdown reaches the limit.
    /// Returns the reason when it trips now.
    pub fn on_equity(&mut self, rules: &RiskRules, equity: f64, now_ms: i64) -> Option<String> {
        self.peak_equity = self.peak_equity.max(equity);
        let drawdown = self.drawdown(equity);
        if self.killed.is_none() && rules.max_drawdown < 1.0 && drawdown >= rules.max_drawdown {
            let why = format!(
                "drawdown {:.1} % reached the limit of {:.1} %",
                100.0 * drawdown,
                100.0 * rules.max_drawdown
            );
            self.killed = Some((now_ms, why.clone()));
            return Some(why);
        }
        None
    }

    pub fn drawdown(&self, equity: f64) -> f64 {
        if self.peak_equity > 0.0 {
            (1.0 - equity / self.peak_equity).max(0.0)
        } else {
            0.0
        }
    }

    /// A stop-loss filled in `symbol`: no entry there for the cooldown.
    pub fn on_stop(&mut self, rules: &RiskRules, symbol: Symbol, now_ms: i64) {
        if rules.cooldown_after_stop_ms <= 0 {
            return;
        }
        let until = now_ms.saturating_add(rules.cooldown_after_stop_ms);
        self.cooldowns.retain(|(s, _)| *s != symbol);
        self.cooldowns.push((symbol, until));
    }

    /// The trader reset the kill switch: the peak starts again from equity now.
    pub fn reset(&mut self, equity: f64) {
        self.killed = None;
        self.peak_equity = equity;
    }

    /// Whether a new entry in `symbol` is allowed now, with `open` positions open (not counting
    /// one already open in `symbol`).
    pub fn allow_entry(
        &mut self,
        rules: &RiskRules,
        symbol: Symbol,
        open: usize,
        now_ms: i64,
    ) -> Result<(), Reject> {
        if let Some((_, why)) = &self.killed {
            return Err(Reject::Risk {
                rule: "max_drawdown",
                why: format!("the kill switch is set ({why}); reset it to trade again"),
            });
        }
        self.cooldowns.retain(|(_, until)| *until > now_ms);
        if let Some((_, until)) = self.cooldowns.iter().find(|(s, _)| *s == symbol) {
            return Err(Reject::Risk {
                rule: "cooldown_after_stop",
                why: format!(
                    "{symbol} is cooling down after a stop-loss for {} s more",
                    (until - now_ms + 999) / 1000
                ),
            });
        }
        if rules.max_open_positions > 0 && open >= rules.max_open_positions {
            return Err(Reject::Risk {
                rule: "max_open_positions",
                why: format!(
                    "{open} positions are open, the limit is {}",
                    rules.max_open_positions
                ),
            });
        }
        Ok(())
    }
}

/// The size of an entry at `price` with this much `equity` in the symbol and an optional stop:
/// a share of equity, or the quantity whose loss at the stop is `risk` of equity (never more
/// than equity buys).
pub fn size_entry(
    rules: &RiskRules,
    equity: f64,
    price: Option<f64>,
    stop: Option<f64>,
) -> Result<Size, Reject> {
    match rules.sizing {
        Sizing::Fraction(f) => Ok(Size::EquityFraction(f)),
        Sizing::RiskPerTrade(risk) => {
            let (Some(price), Some(stop)) = (price, stop) else {
                return Err(Reject::Risk {
                    rule: "sizing",
                    why: "sizing by risk per trade needs a stop-loss and a price".into(),
                });
            };
            let per_unit = (price - stop).abs();
            if !(per_unit > 0.0 && price > 0.0) {
                return Err(Reject::Risk {
                    rule: "sizing",
                    why: format!("the stop {stop} is at the price {price}"),
                });
            }
            let quantity = (equity * risk / per_unit).min(equity / price);
            Ok(Size::Quantity(quantity))
        }
    }
}
