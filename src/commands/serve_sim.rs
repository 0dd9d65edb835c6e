//! `trademon serve-sim`: the built-in exchange on its own, for other clients or a second trademon.

use std::net::SocketAddr;

use crate::config::Config;
use crate::domain::{Clock, Interval, Symbol, WallClock};
use crate::feed::sim::{self, ShockSpec, SimError, SimOptions};

#[derive(Clone, Debug)]
pub struct ServeSimArgs {
    pub config: Config,
    pub bind: SocketAddr,
    pub replay: Option<std::path::PathBuf>,
    pub symbols: Vec<Symbol>,
    /// `--shock`s, on top of the config's `[feed.sim] shocks`.
    pub shocks: Vec<ShockSpec>,
}

/// The options `serve-sim` runs the exchange with. Shocks without a time start at the sim start,
/// so when some lack one the start is fixed here (the wall clock floored to the minute, as the
/// exchange would pick); the config's shocks apply to the symbols served, `--shock`s must name
/// one of them.
pub fn options(args: &ServeSimArgs, wall_now_ms: i64) -> SimOptions {
    let sim_config = &args.config.feed.sim;
    let mut options = SimOptions::new(sim_config.seed, args.symbols.clone());
    options.speed = sim_config.speed;
    options.history_minutes = sim_config.history_minutes;
    options.replay = args.replay.clone();
    if options.replay.is_none() {
        let start_ms = Interval::M1.floor(wall_now_ms);
        let untimed = args.shocks.iter().any(|s| s.from_ms.is_none())
            || sim_config.shocks.iter().any(|s| s.from_ms.is_none());
        if untimed {
            options.start_ms = Some(start_ms);
        }
        options.shocks = sim::config_shocks(sim_config, &args.symbols, start_ms);
        options
            .shocks
            .extend(args.shocks.iter().map(|s| s.starting(start_ms)));
    } else {
        // Refused by the exchange: a replay plays its file as recorded.
        options.shocks = args.shocks.iter().map(|s| s.starting(0)).collect();
    }
    options
}

/// Serves until Ctrl-C.
pub async fn serve(args: ServeSimArgs) -> Result<(), SimError> {
    let options = options(&args, WallClock.now_ms());
    sim::serve_forever(options, args.bind).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::sim::VolatilityShock;

    fn symbol(name: &str) -> Symbol {
        Symbol::new(name).unwrap()
    }

    #[test]
    fn shocks_without_a_time_start_at_the_sim_start() {
        let config = Config::from_toml(
            "u.toml",
            "[feed]\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n[feed.sim]\nshocks = [\
             { symbol = \"BTCUSDT\", factor = 2.0 }, \
             { symbol = \"ETHUSDT\", factor = 0.5, from = 1000 }]\n",
        )
        .unwrap();
        let mut args = ServeSimArgs {
            config,
            bind: "127.0.0.1:0".parse().unwrap(),
            replay: None,
            symbols: vec![symbol("BTCUSDT")],
            shocks: vec![parse_shock_ok("BTCUSDT:3@2023-11-15")],
        };
        let now = 1_700_006_400_000 + 90_123;
        let options = options(&args, now);
        let start = 1_700_006_400_000 + 60_000;
        assert_eq!(options.start_ms, Some(start));
        // The config's ETHUSDT shock is not for this exchange; --shock comes after the config.
        assert_eq!(
            options.shocks,
            vec![
                VolatilityShock {
                    symbol: symbol("BTCUSDT"),
                    from_ms: start,
                    factor: 2.0
                },
                VolatilityShock {
                    symbol: symbol("BTCUSDT"),
                    from_ms: 1_700_006_400_000,
                    factor: 3.0
                },
            ]
        );
        // All timed: the start is left to the exchange.
        args.config.feed.sim.shocks.clear();
        assert_eq!(super::options(&args, now).start_ms, None);
    }

    fn parse_shock_ok(text: &str) -> ShockSpec {
        sim::parse_shock(text).unwrap()
    }
}
