//! Integration tests of the simulated exchange over real loopback sockets, with a plain
//! tokio-tungstenite websocket client and reqwest, as any Binance client would talk to it.

#![allow(clippy::unwrap_used)]

#[path = "sim_exchange/faults.rs"]
mod faults;
#[path = "sim_exchange/limits.rs"]
mod limits;
#[path = "sim_exchange/replay.rs"]
mod replay;
#[path = "sim_exchange/rest.rs"]
mod rest;
#[path = "sim_exchange/streams.rs"]
mod streams;
#[path = "sim_exchange/support.rs"]
mod support;
