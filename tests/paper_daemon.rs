//! The paper account of a real daemon on the built-in exchange survives `kill -9`: with an open
//! position and resting orders placed by hand over the socket, SIGKILL, then the log is intact
//! (`quick_check`), the account rebuilt from it equals what the console showed, a restarted
//! daemon shows the same positions, balances and resting orders, and no order filled twice.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "daemon_support/process.rs"]
mod process;

use std::time::Duration;

use process::{DaemonProcess, Watcher};
use trademon::config::PaperConfig;
use trademon::domain::{Interval, Symbol};
use trademon::engine::paper::restore;
use trademon::protocol::{Command, OrderSide, OrderTicket, PaperView, TicketKind};
use trademon::store::Store;

const ARGS: &[&str] = &["--symbols", "BTCUSDT", "--intervals", "1m"];

fn paper(watcher: &Watcher) -> PaperView {
    let seen = watcher.seen.lock().unwrap();
    seen.replica.as_ref().unwrap().paper.clone()
}

fn ticket(side: OrderSide, kind: TicketKind, quantity: f64, limit: Option<f64>) -> Command {
    Command::PlaceOrder(Box::new(OrderTicket {
        symbol: "BTCUSDT".parse().unwrap(),
        side,
        kind,
        quantity: Some(quantity),
        limit_price: limit,
        stop_loss: None,
        take_profit: None,
        trailing: None,
    }))
}

/// Fills per order id in the log: each at most once.
fn fills_per_order(db: &std::path::Path) -> Vec<(i64, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT order_id, COUNT(*) FROM paper_log WHERE kind = 'fill'
             GROUP BY order_id ORDER BY order_id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_open_positions_and_resting_orders_then_restart_keeps_the_account() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("p.db");
    let socket = home.path().join("p.sock");
    let config = home.path().join("config.toml");
    // Tick mode on the trade stream, orders by hand only (no signal trades between the kill
    // and the comparison).
    std::fs::write(
        &config,
        "[paper]\nenabled = true\nmode = \"tick\"\ntrade_signals = false\nlatency_ms = 0\n",
    )
    .unwrap();
    let args: Vec<&str> = ["--config", config.to_str().unwrap()]
        .into_iter()
        .chain(ARGS.iter().copied())
        .collect();
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    let watcher = Watcher::start(&socket, Interval::M1);
    watcher
        .wait_for(
            "the paper account and a price",
            Duration::from_secs(30),
            |s| {
                s.replica.as_ref().is_some_and(|r| {
                    r.paper.enabled && !r.markets.is_empty() && r.markets[0].last_price.is_some()
                })
            },
        )
        .await;
    let mark = {
        let seen = watcher.seen.lock().unwrap();
        seen.replica.as_ref().unwrap().markets[0]
            .last_price
            .unwrap()
    };
    watcher
        .commands
        .send(ticket(OrderSide::Buy, TicketKind::Market, 0.05, None))
        .await
        .unwrap();
    watcher
        .wait_for("the buy to fill", Duration::from_secs(20), |s| {
            s.replica
                .as_ref()
                .is_some_and(|r| r.paper.positions.len() == 1)
        })
        .await;
    // Two resting limits far from the market: they rest through the kill.
    watcher
        .commands
        .send(ticket(
            OrderSide::Buy,
            TicketKind::Limit,
            0.01,
            Some((mark * 0.5).round()),
        ))
        .await
        .unwrap();
    watcher
        .commands
        .send(ticket(
            OrderSide::Sell,
            TicketKind::Limit,
            0.02,
            Some((mark * 1.5).round()),
        ))
        .await
        .unwrap();
    watcher
        .wait_for("two resting orders", Duration::from_secs(20), |s| {
            s.replica
                .as_ref()
                .is_some_and(|r| r.paper.orders.len() == 2)
        })
        .await;
    // Past the writer's batch (100 ms): everything shown is committed.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = paper(&watcher);
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();

    let store = Store::open(&db).unwrap();
    store.quick_check().unwrap();
    let rows = store.paper_log().unwrap();
    drop(store);
    let costs = trademon::engine::paper::fill_costs(&PaperConfig::default());
    let restored = restore(&rows, costs, &|_| Default::default())
        .unwrap()
        .unwrap();
    let btc: Symbol = "BTCUSDT".parse().unwrap();
    let account = restored.book.account(btc).unwrap();
    assert_eq!(account.cash, before.cash);
    let open = account.open.as_ref().unwrap();
    assert_eq!(open.quantity, before.positions[0].quantity);
    assert_eq!(open.entry_price, before.positions[0].entry_price);
    let ids: Vec<i64> = restored.book.orders().iter().map(|o| o.id as i64).collect();
    let before_ids: Vec<i64> = before.orders.iter().map(|o| o.id).collect();
    assert_eq!(ids, before_ids);
    let fills_before = fills_per_order(&db);
    assert!(
        fills_before.iter().all(|(_, n)| *n == 1),
        "{fills_before:?}"
    );

    // Restarted, the daemon shows the same account.
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    let watcher = Watcher::start(&socket, Interval::M1);
    watcher
        .wait_for("the restored account", Duration::from_secs(30), |s| {
            s.replica.as_ref().is_some_and(|r| r.paper.enabled)
        })
        .await;
    let after = paper(&watcher);
    assert_eq!(after.cash, before.cash);
    assert_eq!(after.positions.len(), 1);
    assert_eq!(after.positions[0].quantity, before.positions[0].quantity);
    assert_eq!(
        after.positions[0].entry_price,
        before.positions[0].entry_price
    );
    let after_ids: Vec<i64> = after.orders.iter().map(|o| o.id).collect();
    assert_eq!(after_ids, before_ids);
    assert!(
        after
            .notes
            .iter()
            .any(|n| n.contains("restored from its log")),
        "{:?}",
        after.notes
    );
    // A new order gets a new id: none is reused.
    watcher
        .commands
        .send(ticket(OrderSide::Sell, TicketKind::Market, 0.01, None))
        .await
        .unwrap();
    watcher
        .wait_for("the sell to fill", Duration::from_secs(20), |s| {
            s.replica
                .as_ref()
                .is_some_and(|r| r.paper.fills.len() > before.fills.len())
        })
        .await;
    daemon.terminate();
    let fills_after = fills_per_order(&db);
    assert!(fills_after.iter().all(|(_, n)| *n == 1), "{fills_after:?}");
    assert_eq!(fills_after.len(), fills_before.len() + 1);
    let newest = fills_after.last().unwrap().0;
    assert!(newest > *before_ids.iter().max().unwrap());
}
