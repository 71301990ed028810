//! iopub: one task publishes everything, in the order it was queued; the running cell's step events go out on it
//! as progress lines.

use std::sync::{Arc, Mutex};

use jupyter_protocol::{JupyterMessage, StreamContent};
use odp_exec::{BoxFuture, Event, EventSink};
use tokio::sync::{mpsc, oneshot};

enum IopubCommand {
    Send(Box<JupyterMessage>),
    Flush(oneshot::Sender<()>),
}

/// The iopub publisher: messages go out in the order they were queued.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<IopubCommand>,
}

impl Iopub {
    pub(super) fn spawn(mut conn: jupyter_zmq_client::KernelIoPubConnection) -> Iopub {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(cmd) = rx.recv().await {
                match cmd {
                    IopubCommand::Send(msg) => {
                        if let Err(e) = conn.send(*msg).await {
                            tracing::error!(error = %e, "cannot publish on iopub");
                        }
                    }
                    IopubCommand::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Iopub { tx }
    }

    pub fn send(&self, mut msg: JupyterMessage) {
        msg.header.username = "odp".into();
        let _ = self.tx.send(IopubCommand::Send(Box::new(msg)));
    }

    /// Waits until every message queued so far is sent.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(IopubCommand::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Step events as lines on the running cell's stdout.
pub struct ProgressSink {
    iopub: Iopub,
    /// Shared, not copied per event: the request holds the whole cell, which may be long.
    parent: Mutex<Option<Arc<JupyterMessage>>>,
}

impl ProgressSink {
    pub(super) fn new(iopub: Iopub) -> ProgressSink {
        ProgressSink {
            iopub,
            parent: Mutex::new(None),
        }
    }
}

impl ProgressSink {
    pub(super) fn set_parent(&self, parent: Option<Arc<JupyterMessage>>) {
        *self.parent.lock().unwrap_or_else(|e| e.into_inner()) = parent;
    }
}

impl EventSink for ProgressSink {
    fn emit(&self, event: Event) {
        let parent = self
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let (Some(parent), Some(line)) = (parent, odp_exec::events::progress_line(&event)) {
            self.iopub
                .send(StreamContent::stdout(&format!("{line}\n")).as_child_of(&parent));
        }
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
