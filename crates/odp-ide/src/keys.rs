//! The language's keys as the editor features offer them: the table of [`odp_analysis::keys`] (names, canonical
//! order, documentation with defaults), and the durations offered for `timeout` and the retry intervals.

/// The durations offered as values of `timeout`, `initial_interval` and `maximum_interval`.
pub(crate) const DURATION_SUGGESTIONS: &[&str] = &["500ms", "5s", "30s", "1m", "5m"];
