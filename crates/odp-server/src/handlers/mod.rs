//! One handler per LSP request or notification, grouped by concern: [`request`] answers about a document on a
//! worker thread; [`notification`] keeps the documents and workspaces; [`command`] runs `workspace/executeCommand`
//! (AI drafts; runs through [`run`], which also offers code lenses and the results' inlay hints; the picture through
//! [`graph`]); [`hints`] answers inlay hints (results and types) and resolves them; [`debug`] holds the test hooks,
//! registered only with `initializationOptions.testing`.

pub(crate) mod command;
pub(crate) mod debug;
pub(crate) mod format;
pub(crate) mod graph;
pub(crate) mod hints;
pub(crate) mod notification;
pub(crate) mod request;
pub(crate) mod run;
