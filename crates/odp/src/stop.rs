//! What stops `odp run` early. Ctrl-C (SIGINT) and SIGTERM (what containers and systemd send) do the same: the run is
//! cancelled (calls in flight stop, `run.cancelled` is emitted, the result is written), and the exit code says which
//! signal it was (`run::exit`: 130 or 143, 128 plus the signal's number, as shells report a process a signal ended).

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// The signal that stopped the run, once one has.
#[derive(Clone, Default)]
pub struct Stop(Arc<OnceLock<Signal>>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Stop {
    /// Cancels `cancel` on the first SIGINT or SIGTERM from now on. Must run inside a tokio runtime.
    pub fn on_signals(cancel: &CancellationToken) -> Stop {
        let stop = Stop::default();
        let on_interrupt = (stop.clone(), cancel.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.0.stop(Signal::Interrupt, &on_interrupt.1);
            }
        });
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut terminate) => {
                    let (stop, cancel) = (stop.clone(), cancel.clone());
                    tokio::spawn(async move {
                        if terminate.recv().await.is_some() {
                            stop.stop(Signal::Terminate, &cancel);
                        }
                    });
                }
                Err(e) => eprintln!("warning: cannot listen for SIGTERM: {e}"),
            }
        }
        stop
    }

    fn stop(&self, signal: Signal, cancel: &CancellationToken) {
        if self.0.set(signal).is_ok() {
            eprintln!(
                "odp: {}: cancelling…",
                match signal {
                    Signal::Interrupt => "interrupted",
                    Signal::Terminate => "terminated",
                }
            );
        }
        cancel.cancel();
    }

    /// The signal that stopped the run, if one did.
    pub fn signal(&self) -> Option<Signal> {
        self.0.get().copied()
    }
}
