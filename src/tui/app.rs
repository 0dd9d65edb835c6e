//! The console's loop: applies the engine's updates to the replica, turns keys into actions and
//! actions into commands, and redraws only when something changed, at most `max_fps` times a
//! second, each frame inside a synchronized update.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use tokio::sync::mpsc::{self, Receiver, Sender};
use tokio::time::{Instant, MissedTickBehavior};

use crate::protocol::{AlertLevel, Command, Snapshot, Update};

use super::keymap::Keymap;
use super::term::{self, TerminalGuard};
use super::view::{Outcome, ViewState};
use super::{TuiError, TuiOptions, draw};

/// How often the input thread checks whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// The console's state: the snapshot replica (none until the engine sends one) and the view.
#[derive(Clone, Debug, Default)]
pub struct Console {
    pub snapshot: Option<Snapshot>,
    pub view: ViewState,
    /// A snapshot was asked for and has not come yet.
    snapshot_requested: bool,
    /// An alert asked for the terminal bell since the loop last rang it.
    bell: bool,
}

impl Console {
    /// Applies one update. Returns a command to send when the replica cannot use the update
    /// without a full snapshot first (asked for once until one arrives).
    pub fn apply(&mut self, update: &Update) -> Option<Command> {
        self.apply_at(update, std::time::Instant::now())
    }

    /// [`Console::apply`] at a given wall time: an alert becomes a toast shown from `now` (the
    /// replica does not keep alerts), and asks for the bell when its level is on.
    pub fn apply_at(&mut self, update: &Update, now: std::time::Instant) -> Option<Command> {
        match (&mut self.snapshot, update) {
            (_, Update::Alert(alert)) => {
                self.view.toasts.push(alert, now);
                self.bell |= alert.level == AlertLevel::On;
                None
            }
            (slot, Update::Snapshot(snapshot)) => {
                *slot = Some((**snapshot).clone());
                self.snapshot_requested = false;
                None
            }
            (Some(snapshot), update) => {
                snapshot.apply(update);
                None
            }
            (None, _) if self.snapshot_requested => None,
            (None, _) => {
                self.snapshot_requested = true;
                Some(Command::RequestSnapshot)
            }
        }
    }

    /// Whether the bell is due, once: the loop rings it.
    pub fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.bell)
    }

    /// The engine's update channel closed: keep the last state and say so.
    pub fn engine_stopped(&mut self) {
        self.view.engine_stopped = true;
    }
}

/// Runs the console until the user quits (or `updates` closes). Restores the terminal on every
/// exit path.
pub async fn run(
    mut updates: Receiver<Update>,
    commands: Sender<Command>,
    options: TuiOptions,
) -> Result<(), TuiError> {
    let terminal_error = |action| move |source| TuiError::Terminal { action, source };
    // Declared first so it is dropped last, after the input thread and the terminal.
    let _guard = TerminalGuard::enter().map_err(terminal_error("enter raw mode"))?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
        .map_err(terminal_error("set up the screen"))?;
    terminal
        .clear()
        .map_err(terminal_error("clear the screen"))?;
    let mut input = InputThread::spawn().map_err(TuiError::Input)?;

    let keymap = options.keymap;
    let frame_every = Duration::from_secs(1) / options.max_fps.max(1);
    let mut console = Console {
        snapshot_requested: true,
        ..Console::default()
    };
    let mut daemon_link = options.daemon_link;
    if let Some(link) = &daemon_link {
        console.view.daemon_link = Some(link.borrow().clone());
    }
    send(&commands, Command::RequestSnapshot);
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut next_frame_at = Instant::now();
    loop {
        if !term::is_active() {
            // A panic elsewhere restored the terminal and printed its message on the normal
            // screen; drawing on would overwrite it.
            return Err(TuiError::PanicElsewhere);
        }
        if dirty && Instant::now() >= next_frame_at {
            draw_frame(&mut terminal, &console, &keymap).map_err(terminal_error("draw a frame"))?;
            dirty = false;
            next_frame_at = Instant::now() + frame_every;
        }
        tokio::select! {
            update = updates.recv(), if !console.view.engine_stopped => {
                match update {
                    Some(update) => {
                        apply(&mut console, &update, &commands);
                        // Coalesce a burst into one frame.
                        while let Ok(update) = updates.try_recv() {
                            apply(&mut console, &update, &commands);
                        }
                    }
                    None => console.engine_stopped(),
                }
                if console.take_bell() {
                    ring(&mut terminal).map_err(terminal_error("ring the bell"))?;
                }
                dirty = true;
            }
            event = input.events.recv() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    match console.view.key(key, console.snapshot.as_ref(), &keymap) {
                        Outcome::Quit => break,
                        Outcome::Send(command) => send(&commands, command),
                        Outcome::Continue => {}
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(TuiError::Input(error)),
                None => {
                    return Err(TuiError::Input(io::Error::other("the input thread stopped")));
                }
            },
            changed = link_changed(&mut daemon_link) => {
                match changed {
                    Some(link) => console.view.daemon_link = Some(link),
                    None => daemon_link = None,
                }
                dirty = true;
            }
            _ = clock.tick() => {
                console.view.toasts.expire(std::time::Instant::now());
                dirty = true;
            }
            _ = tokio::time::sleep_until(next_frame_at), if dirty => {}
        }
    }
    input.stop();
    Ok(())
}

/// The daemon link's next state; never ready for a console without one. `None`: the link's
/// sender is gone.
async fn link_changed(
    link: &mut Option<tokio::sync::watch::Receiver<super::DaemonLink>>,
) -> Option<super::DaemonLink> {
    match link {
        Some(link) => match link.changed().await {
            Ok(()) => Some(link.borrow_and_update().clone()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

fn apply(console: &mut Console, update: &Update, commands: &Sender<Command>) {
    if let Some(command) = console.apply(update) {
        send(commands, command);
    }
}

/// Sends without waiting: a busy or stopped engine must not freeze the console.
fn send(commands: &Sender<Command>, command: Command) {
    if let Err(error) = commands.try_send(command) {
        tracing::warn!("console command not delivered: {error}");
    }
}

/// One frame inside a synchronized update, so slow links never show it half drawn. The
/// terminal diffs against the previous frame and writes only changed cells.
fn draw_frame<B>(terminal: &mut Terminal<B>, console: &Console, keymap: &Keymap) -> io::Result<()>
where
    B: Backend<Error = io::Error> + io::Write,
{
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| draw(frame, console.snapshot.as_ref(), &console.view, keymap))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

/// The terminal bell, written through the writer the frames go through (so an attached console
/// rings the terminal it is attached from).
fn ring<B>(terminal: &mut Terminal<B>) -> io::Result<()>
where
    B: Backend<Error = io::Error> + io::Write,
{
    let out = terminal.backend_mut();
    out.write_all(b"\x07")?;
    io::Write::flush(out)
}

/// Reads terminal events on a plain thread (crossterm's reads block) and forwards them.
struct InputThread {
    events: Receiver<io::Result<Event>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl InputThread {
    fn spawn() -> io::Result<InputThread> {
        let (tx, events) = mpsc::channel(256);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("tui-input".to_string())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    let event = match event::poll(INPUT_POLL) {
                        Ok(false) => continue,
                        Ok(true) => event::read(),
                        Err(error) => Err(error),
                    };
                    let failed = event.is_err();
                    if tx.blocking_send(event).is_err() || failed {
                        break;
                    }
                }
            })?;
        Ok(InputThread {
            events,
            stop,
            handle: Some(handle),
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.events.close();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_before_the_first_snapshot_ask_for_one_once() {
        let mut console = Console::default();
        let health = Update::Health(Default::default());
        assert_eq!(console.apply(&health), Some(Command::RequestSnapshot));
        assert_eq!(console.apply(&health), None);
        assert!(console.snapshot.is_none());
    }

    #[test]
    fn alerts_become_toasts_and_ring_the_bell_only_when_on() {
        use crate::protocol::AlertToast;
        let mut console = Console::default();
        let now = std::time::Instant::now();
        let silent = AlertToast {
            level: AlertLevel::Silent,
            title: "fill".into(),
            ..AlertToast::default()
        };
        // No snapshot needed for a toast, and none is asked for.
        assert_eq!(
            console.apply_at(&Update::Alert(Box::new(silent)), now),
            None
        );
        assert!(!console.take_bell());
        let loud = AlertToast {
            title: "stop-loss".into(),
            ..AlertToast::default()
        };
        console.apply_at(&Update::Alert(Box::new(loud)), now);
        assert!(console.take_bell());
        assert!(!console.take_bell(), "rung once");
        let titles: Vec<&str> = console
            .view
            .toasts
            .iter()
            .map(|t| t.title.as_str())
            .collect();
        assert_eq!(titles, ["stop-loss", "fill"]);
        assert!(console.snapshot.is_none());
    }
}
