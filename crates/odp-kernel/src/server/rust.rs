//! `%%rust` cells on the server: the session's results written for Rust, the cell evaluated by evcxr on a blocking
//! thread with its output streamed, an interrupt that kills the process running it, and what it published kept by
//! the session. Built without the `rust-cells` feature, the cell answers how to build it.

use jupyter_protocol::JupyterMessage;

use super::Kernel;
use crate::session::{CellOutput, RustJob};

impl Kernel {
    pub(super) async fn rust_cell(
        &self,
        parent: &JupyterMessage,
        job: RustJob,
        count: usize,
        silent: bool,
    ) -> CellOutput {
        if !silent {
            self.publish_outputs(parent, &job.before, count);
        }
        // The magics' outputs before `%%rust` are shown already; their pages go with the reply.
        let pages = job.before.pages.clone();
        let error = match self.run_rust(parent, job, count, silent).await {
            Ok(out) => return CellOutput { pages, ..out },
            Err(e) => e,
        };
        CellOutput {
            pages,
            error: Some(error),
            ..CellOutput::default()
        }
    }

    #[cfg(not(feature = "rust-cells"))]
    async fn run_rust(
        &self,
        _parent: &JupyterMessage,
        _job: RustJob,
        _count: usize,
        _silent: bool,
    ) -> Result<CellOutput, crate::session::CellError> {
        Err(crate::rust_cells::not_built())
    }

    #[cfg(feature = "rust-cells")]
    async fn run_rust(
        &self,
        parent: &JupyterMessage,
        job: RustJob,
        count: usize,
        silent: bool,
    ) -> Result<CellOutput, crate::session::CellError> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        use jupyter_protocol::StreamContent;
        use tokio_util::sync::CancellationToken;

        use crate::rust_cells::engine::Stream;
        use crate::session::CellError;

        crate::rust_cells::toolchain()?;
        {
            let session = self.session();
            self.rust
                .sync(&job.results, |name| session.value_of(name))?;
        }
        let token = CancellationToken::new();
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        let interrupted = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (rust, interrupted, token) =
                (self.rust.clone(), interrupted.clone(), token.clone());
            tokio::spawn(async move {
                token.cancelled().await;
                interrupted.store(true, Ordering::SeqCst);
                rust.kill();
            })
        };
        let (rust, iopub, parent_msg) = (self.rust.clone(), self.iopub.clone(), parent.clone());
        let color = self.session().color;
        let flag = interrupted.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            let emit = |stream: Stream, text: String| {
                if silent {
                    return;
                }
                let content = match stream {
                    Stream::Stdout => StreamContent::stdout(&text),
                    Stream::Stderr => StreamContent::stderr(&text),
                };
                iopub.send(content.as_child_of(&parent_msg));
            };
            rust.eval(
                &job.code,
                &job.results,
                &format!("cell[{count}]"),
                color,
                &emit,
                &flag,
            )
        })
        .await;
        watcher.abort();
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let evaluated = evaluated.map_err(|e| {
            CellError::new(
                "InternalError",
                format!("the Rust cell's thread failed: {e}"),
            )
        })?;
        if let Some(e) = evaluated.error {
            return Err(e);
        }
        let mut outputs = self.session().finish_rust(evaluated.published, count)?;
        outputs.extend(evaluated.outputs);
        Ok(CellOutput {
            outputs,
            ..CellOutput::default()
        })
    }
}
