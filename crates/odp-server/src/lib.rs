//! The ODP language server. It is the only crate that knows about LSP: every feature comes from `odp-ide` and
//! `odp-analysis`; this crate converts positions, owns the documents and schedules the work.
//!
//! Shaped like rust-analyzer's: [`main_loop`] owns the [`global_state::GlobalState`] and applies notifications in
//! the order they arrive (so edits can never be reordered); [`dispatch`] registers one handler per request and
//! notification type ([`handlers`]), reads the params, and runs requests on worker threads with immutable
//! [`snapshot`]s, catching panics (a bug answers its request with an error and the server lives on) and honouring
//! cancellation; [`to_proto`] and [`from_proto`] hold every conversion; [`capabilities`] what the server offers.
//! Workspaces (`odp.toml` and the registry, which may be fetched from a URL) load on threads of their own:
//! documents and requests that need one wait for it, edits never do. Diagnostics are published only for the
//! version they were computed for, and only while it is still the latest. A malformed message is answered (or
//! logged) by the transport, which reads on; a change that cannot be applied leaves its document out of sync (no
//! diagnostics, no answers about it) until the client sends the whole text again.

mod capabilities;
mod dispatch;
mod document;
mod draft;
mod from_proto;
mod global_state;
mod handlers;
mod heap;
mod main_loop;
mod runs;
mod snapshot;
mod surrogates;
mod to_proto;
mod transport;

pub use main_loop::run;
pub use transport::StreamError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("LSP protocol error: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("the connection closed: {0}")]
    Closed(String),
    #[error("IO error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Stream(#[from] StreamError),
}

/// Serves LSP on stdin/stdout until the client shuts the server down.
pub fn run_stdio() -> Result<(), ServerError> {
    serve(std::io::BufReader::new(std::io::stdin()), std::io::stdout())
}

/// Serves LSP on a byte stream (stdio, or pipes in tests) until the client shuts the server down.
pub fn serve(
    input: impl std::io::BufRead + Send + 'static,
    output: impl std::io::Write + Send + 'static,
) -> Result<(), ServerError> {
    let (connection, transport) = transport::spawn(input, output);
    let served = run(connection);
    let input_ended = match &served {
        Err(ServerError::Closed(_)) => true,
        Err(ServerError::Protocol(e)) => e.channel_is_disconnected(),
        _ => false,
    };
    if input_ended {
        // The reader stopped before `exit`: at the end of the input (the client hung up), or at a stream it could
        // not frame, which is the true reason to report.
        transport.join_reader()?;
        return served;
    }
    served?;
    transport.join()?;
    Ok(())
}

#[cfg(test)]
mod tests;
