//! One full console frame at 160×48 on ratatui's TestBackend: build the frame from the snapshot
//! and diff it against the previous one, with the open candle moving between iterations as it
//! does live. Target: at most 2 ms per frame.
//!
//! cargo bench --bench tui_frame

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trademon::tui::{Keymap, Pane, ViewState, draw};

#[allow(dead_code)]
#[path = "../tests/tui_snapshots/fixture.rs"]
mod fixture;

fn frame(c: &mut Criterion) {
    let keymap = Keymap::default_bindings();
    for pane in Pane::ALL {
        let mut snapshot = fixture::snapshot();
        let view = ViewState {
            pane,
            ..ViewState::default()
        };
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
        let mut tick = 0u64;
        let name = format!("frame_160x48_{}", pane.title().to_lowercase());
        c.bench_function(&name, |b| {
            b.iter(|| {
                tick += 1;
                // The open candle's close moves up and down by a few ticks each frame.
                let market = &mut snapshot.markets[0];
                if let Some(open) = market.series[0].open.as_mut() {
                    let step = if tick.is_multiple_of(2) {
                        1.0005
                    } else {
                        1.0 / 1.0005
                    };
                    open.close *= step;
                    open.high = open.high.max(open.close);
                    open.low = open.low.min(open.close);
                    market.last_price = Some(open.close);
                }
                snapshot.health.now_ms += 50;
                terminal
                    .draw(|f| draw(f, Some(black_box(&snapshot)), &view, &keymap))
                    .expect("test backend draws");
            })
        });
    }
}

criterion_group!(benches, frame);
criterion_main!(benches);
