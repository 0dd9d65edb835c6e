//! `trademon serve-sim`: the built-in exchange on its own, for other clients or a second trademon.

use std::net::SocketAddr;

use crate::config::Config;
use crate::domain::Symbol;
use crate::feed::sim::{self, SimError, SimOptions};

#[derive(Clone, Debug)]
pub struct ServeSimArgs {
    pub config: Config,
    pub bind: SocketAddr,
    pub replay: Option<std::path::PathBuf>,
    pub symbols: Vec<Symbol>,
}

/// Serves until Ctrl-C.
pub async fn serve(args: ServeSimArgs) -> Result<(), SimError> {
    let sim_config = &args.config.feed.sim;
    let mut options = SimOptions::new(sim_config.seed, args.symbols.clone());
    options.speed = sim_config.speed;
    options.history_minutes = sim_config.history_minutes;
    options.replay = args.replay.clone();
    sim::serve_forever(options, args.bind).await
}
