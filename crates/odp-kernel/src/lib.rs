//! The ODP Jupyter kernel: pipeline steps in YAML, cell by cell, checked by the analysis core (the same checker and
//! editor features as `odp check` and `odp-lsp`) and run by the executor (`odp-exec`), with the session's results
//! kept between cells.
//!
//! - [`cell`]: a cell's YAML wrapped into a fragment pipeline for the checker, with offsets mapped back;
//! - [`session`]: the session's state and everything a cell does apart from IO (pure, unit-tested);
//! - [`rust_cells`]: `%%rust` cells, evaluated by evcxr (cargo feature `rust-cells`), with the session's results
//!   as variables and `odp::publish` to hand values back;
//! - [`draft`]: `%%draft` cells (a language model's draft goes into the next cell); a cell's steps run on the
//!   executor's engine ([`session::RunJob::run`]), the one scheduler `odp run` uses too;
//! - [`mime`]: what results look like (JSON, an HTML table of records, a text summary);
//! - [`server`]: the Jupyter protocol over ZeroMQ; [`services`]: where calls and events go;
//! - [`install`] and [`cli`]: `odp kernel install` and `odp kernel --connection-file`; [`stats`]: `%stats`.

pub mod cell;
pub mod cli;
pub mod draft;
pub mod install;
pub mod mime;
pub mod rust_cells;
pub mod server;
pub mod services;
pub mod session;
pub mod stats;

pub use cli::{KernelArgs, main};
