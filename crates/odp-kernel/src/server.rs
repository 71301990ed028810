//! The Jupyter side: the five channels over ZeroMQ (`jupyter-zmq-client` binds the sockets, signs what is sent
//! and checks the signature of what is received; `jupyter-protocol` has the message types), and the dispatch of
//! each request to the [`Session`].
//!
//! - shell: one request at a time, in order. Each gets `busy` on iopub first, then its outputs, then the reply,
//!   then `idle`. A handler that panics answers with an error reply; the kernel lives on.
//! - control: `kernel_info`, `interrupt` (cancels the running steps; the session keeps its state) and `shutdown`
//!   (also for restarts: the client starts a new process), answered even while a cell runs.
//! - iopub: one task publishes everything, in order; `flush` waits until what was queued is sent.
//! - heartbeat: echoes. stdin: bound, unused (cells never ask for input).
//!
//! Messages with a wrong or missing signature are dropped and logged, never answered.
//!
//! The modules: `wire` (reading and checking messages), `iopub` (publishing, progress lines), `replies`,
//! `dispatch` (the shell and control loops' answers), `execute` (cells and drafts), `rust` (`%%rust` cells),
//! `introspect` (completion, inspection, history).

mod dispatch;
mod execute;
mod introspect;
mod iopub;
mod replies;
mod rust;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};

use jupyter_protocol::{JupyterMessage, JupyterMessageContent, Status};
use jupyter_zmq_client::{
    ConnectionInfo, create_kernel_control_connection, create_kernel_heartbeat_connection,
    create_kernel_iopub_connection, create_kernel_shell_connection, create_kernel_stdin_connection,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use zeromq::{SocketRecv, SocketSend};

pub use iopub::{Iopub, ProgressSink};
pub use replies::{kernel_info, payloads};
pub use wire::{DecodeError, Incoming, decode};

use crate::session::Session;
use wire::read;

// ---- the kernel -------------------------------------------------------------------------------------------------

/// What the kernel needs besides its sockets.
pub struct Setup {
    pub session: Session,
    pub config: odp_workspace::LoadedConfig,
    pub options: crate::services::ServiceOptions,
}

struct Kernel {
    session: Mutex<Session>,
    /// The running cell's cancellation.
    current: Mutex<Option<CancellationToken>>,
    iopub: Iopub,
    progress: Arc<ProgressSink>,
    /// The engine, the configured sinks and the built-in stubs, as `odp run` has them.
    services: Arc<odp_exec::wiring::Services>,
    /// Where cells' steps run: the services' engine, or a Temporal cluster (`--engine temporal`).
    engine: Arc<dyn odp_exec::Engine>,
    banner: String,
    shutdown: CancellationToken,
    /// A note for the first cell that runs steps (the built-in stubs are in use), taken when shown.
    services_note: Mutex<Option<String>>,
    /// `odp.toml`'s `[draft]` section, for `%%draft` (the model itself comes from the environment).
    draft_section: odp_workspace::DraftSection,
    /// `%%rust` cells' evcxr context, made on the first one.
    #[cfg(feature = "rust-cells")]
    rust: Arc<crate::rust_cells::engine::RustCells>,
}

impl Kernel {
    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn interrupt(&self) {
        if let Some(token) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            token.cancel();
        }
    }
}

/// Serves a kernel on the connection's sockets until a shutdown request.
pub async fn serve(info: ConnectionInfo, setup: Setup) -> anyhow::Result<()> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let iopub_conn = create_kernel_iopub_connection(&info, &session_id).await?;
    let shell = create_kernel_shell_connection(&info, &session_id).await?;
    let control = create_kernel_control_connection(&info, &session_id).await?;
    let _stdin = create_kernel_stdin_connection(&info, &session_id).await?;
    let mut heartbeat = create_kernel_heartbeat_connection(&info).await?;
    tracing::info!(
        shell = info.shell_port,
        iopub = info.iopub_port,
        control = info.control_port,
        "odp kernel listening"
    );

    let iopub = Iopub::spawn(iopub_conn);
    iopub.send(JupyterMessage::new(Status::starting(), None));
    tokio::spawn(async move {
        loop {
            let Ok(ping) = heartbeat.socket.recv().await else {
                break;
            };
            if heartbeat.socket.send(ping).await.is_err() {
                break;
            }
        }
    });

    let progress = Arc::new(ProgressSink::new(iopub.clone()));
    let mut session = setup.session;
    let services = crate::services::start(
        &setup.config,
        session.registry().clone(),
        &setup.options,
        progress.clone(),
    )
    .await?;
    let services = Arc::new(services);
    let engine: Arc<dyn odp_exec::Engine> = match &setup.options.temporal {
        None => services.engine.clone(),
        Some(settings) => Arc::new(odp_temporal::TemporalEngine::new(
            odp_temporal::connect(settings).await?,
            settings.clone(),
            services.events.clone(),
            progress.clone(),
            setup.options.concurrency,
        )),
    };
    let description = match &setup.options.temporal {
        None => services.description.clone(),
        Some(t) => format!(
            "on Temporal at {} (task queue `{}`): the workers' services",
            t.address, t.task_queue
        ),
    };
    tracing::info!(services = %description, "odp kernel services");
    session.services = description.clone();
    let note = services
        .stubs
        .as_ref()
        .map(|s| format!("odp: {}\n", odp_exec::wiring::stubs_notice(&s.base_url())));
    let banner = format!(
        "odp kernel {} — ODP pipeline steps in YAML, cell by cell ({} registry methods).\nServices: {}.\n%help lists the magics.",
        env!("CARGO_PKG_VERSION"),
        session.registry().methods().len(),
        description
    );
    let kernel = Arc::new(Kernel {
        session: Mutex::new(session),
        current: Mutex::new(None),
        iopub: iopub.clone(),
        progress,
        services: services.clone(),
        engine,
        banner,
        shutdown: CancellationToken::new(),
        services_note: Mutex::new(note),
        draft_section: setup.config.config.draft.clone(),
        #[cfg(feature = "rust-cells")]
        rust: Arc::default(),
    });
    tokio::spawn(kernel.clone().control_loop(control));

    // SIGINT (a kernelspec with `interrupt_mode: signal`, or Ctrl-C in a terminal) interrupts like a message.
    {
        let kernel = kernel.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                kernel.interrupt();
            }
        });
    }

    let (shell_send, mut shell_recv) = shell.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Incoming>();
    tokio::spawn(async move {
        loop {
            match read(&mut shell_recv, "shell").await {
                Ok(Some(incoming)) => {
                    if tx.send(incoming).is_err() {
                        break;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the shell socket failed");
                    break;
                }
            }
        }
    });
    let mut shell_send = shell_send;
    loop {
        let incoming = tokio::select! {
            m = rx.recv() => match m { Some(m) => m, None => break },
            _ = kernel.shutdown.cancelled() => break,
        };
        let (msg, reply, failed) = kernel.answer(incoming).await;
        // Like ipykernel: the executions queued behind a failed one are aborted, other requests answered. Requests
        // sent before the client saw the error may still be on their way from the socket reader: give it a moment
        // to hand them over (ipykernel's `stop_on_error_timeout`, kept short), and take them before the reply goes
        // out, so that nothing sent after the client saw the error is aborted.
        let mut queued = Vec::new();
        if failed {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            while let Ok(next) = rx.try_recv() {
                queued.push(next);
            }
        }
        if failed {
            tracing::debug!(
                queued = queued.len(),
                "an execution failed: aborting the executions queued behind it"
            );
        }
        kernel.send_reply(&mut shell_send, &msg, reply).await;
        for next in queued {
            if next.problem.is_none()
                && matches!(next.msg.content, JupyterMessageContent::ExecuteRequest(_))
            {
                kernel.abort(&mut shell_send, &next.msg).await;
            } else {
                kernel.shell_request(&mut shell_send, next).await;
            }
        }
        if kernel.shutdown.is_cancelled() {
            break;
        }
    }
    iopub.flush().await;
    kernel.services.events.flush().await;
    drop(kernel);
    // The control loop and the signal task hold the kernel too: the stubs stop with the process if they do.
    if let Ok(services) = Arc::try_unwrap(services) {
        services.shutdown().await;
    }
    Ok(())
}
