//! trademon: a local-first terminal trading and monitoring console.
//!
//! Market data streams in over the Binance websocket protocol (from Binance or the built-in
//! simulated exchange), is stored in one SQLite file, and is shown in a terminal console. See
//! ARCHITECTURE in the README for how the modules fit together.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backtest;
pub mod broker;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod engine;
pub mod features;
pub mod feed;
pub mod fmt;
pub mod indicators;
pub mod metrics;
pub mod model;
pub mod monitor;
pub mod protocol;
pub mod store;
pub mod tui;
