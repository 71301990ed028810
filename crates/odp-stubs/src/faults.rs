//! Fault injection: errors, delays, dropped connections and hangs that apply to the next calls of an endpoint.
//!
//! The JSON form (the body of `POST /_stubs/faults`) is flat:
//! `{"endpoint": "/v1/social/twitter/search", "kind": "status", "status": 503, "count": 2}`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::StubError;

/// One injected fault: what happens, on which endpoint, for how many calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FaultJson", into = "FaultJson")]
pub struct Fault {
    /// The endpoint path (`/v1/...`) or method id it applies to; every endpoint when `None`.
    pub endpoint: Option<String>,
    /// How many calls it applies to (then it is removed); every call until cleared when `None`.
    pub count: Option<u32>,
    pub kind: FaultKind,
}

/// What a fault does to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this HTTP status and a JSON error body. With `retry_after`, also send `Retry-After` (whole
    /// seconds, rounded up) and `X-Retry-After-Ms` (milliseconds).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Wait this long before answering normally (or before another fault). Latency faults add up.
    Latency { delay: Duration },
    /// Close the connection without answering.
    Reset,
    /// Hang: answer only after an hour (with 504), long after any client timeout.
    Timeout,
}

impl Fault {
    fn new(kind: FaultKind) -> Fault {
        Fault {
            endpoint: None,
            count: None,
            kind,
        }
    }

    /// Answer with `status`.
    pub fn status(status: u16) -> Fault {
        Fault::new(FaultKind::Status {
            status,
            retry_after: None,
        })
    }

    /// Delay the answer by `delay`.
    pub fn latency(delay: Duration) -> Fault {
        Fault::new(FaultKind::Latency { delay })
    }

    /// Drop the connection without an answer.
    pub fn reset() -> Fault {
        Fault::new(FaultKind::Reset)
    }

    /// Never answer within any reasonable client timeout.
    pub fn timeout() -> Fault {
        Fault::new(FaultKind::Timeout)
    }

    /// Only on this endpoint path or method id.
    pub fn on(mut self, endpoint: impl Into<String>) -> Fault {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Only for the next `count` calls.
    pub fn times(mut self, count: u32) -> Fault {
        self.count = Some(count);
        self
    }

    /// For a status fault: ask the client to retry after `after`. No effect on other kinds.
    pub fn retry_after(mut self, after: Duration) -> Fault {
        if let FaultKind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(after);
        }
        self
    }
}

/// The wire form of a fault: flat, with unknown keys refused.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
}

impl TryFrom<FaultJson> for Fault {
    type Error = String;

    fn try_from(j: FaultJson) -> Result<Fault, String> {
        let only = |allowed: &[&str]| -> Result<(), String> {
            for (name, set) in [
                ("status", j.status.is_some()),
                ("retry_after_ms", j.retry_after_ms.is_some()),
                ("delay_ms", j.delay_ms.is_some()),
            ] {
                if set && !allowed.contains(&name) {
                    return Err(format!("`{name}` does not apply to a `{}` fault", j.kind));
                }
            }
            Ok(())
        };
        let kind = match j.kind.as_str() {
            "status" => {
                only(&["status", "retry_after_ms"])?;
                let status = j.status.ok_or("a `status` fault needs `status`")?;
                if !(200..=599).contains(&status) {
                    return Err(format!("`status` must be 200 to 599, not {status}"));
                }
                FaultKind::Status {
                    status,
                    retry_after: j.retry_after_ms.map(Duration::from_millis),
                }
            }
            "latency" => {
                only(&["delay_ms"])?;
                let ms = j.delay_ms.ok_or("a `latency` fault needs `delay_ms`")?;
                FaultKind::Latency {
                    delay: Duration::from_millis(ms),
                }
            }
            "reset" => {
                only(&[])?;
                FaultKind::Reset
            }
            "timeout" => {
                only(&[])?;
                FaultKind::Timeout
            }
            other => {
                return Err(format!(
                    "unknown fault kind `{other}`: expected status, latency, reset or timeout"
                ));
            }
        };
        if j.count == Some(0) {
            return Err("`count` must be at least 1 (leave it out for every call)".into());
        }
        Ok(Fault {
            endpoint: j.endpoint,
            count: j.count,
            kind,
        })
    }
}

impl From<Fault> for FaultJson {
    fn from(f: Fault) -> FaultJson {
        let mut j = FaultJson {
            endpoint: f.endpoint,
            count: f.count,
            ..FaultJson::default()
        };
        j.kind = match f.kind {
            FaultKind::Status {
                status,
                retry_after,
            } => {
                j.status = Some(status);
                j.retry_after_ms = retry_after.map(|d| d.as_millis() as u64);
                "status"
            }
            FaultKind::Latency { delay } => {
                j.delay_ms = Some(delay.as_millis() as u64);
                "latency"
            }
            FaultKind::Reset => "reset",
            FaultKind::Timeout => "timeout",
        }
        .into();
        j
    }
}

/// What the faults decided for one call.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub delay: Duration,
    /// The first matching fault that is not a latency.
    pub terminal: Option<FaultKind>,
}

/// The active faults of a server. Shared by the programmatic API and `/_stubs/faults`.
///
/// For each call the faults are consulted in the order they were added: every matching latency fault adds its
/// delay, and the first matching status, reset or timeout fault decides the answer. A fault with a `count` is
/// used up by the calls it applies to.
#[derive(Debug)]
pub struct Faults {
    active: Mutex<Vec<Fault>>,
    /// Method id or endpoint → endpoint, to resolve and check `Fault::endpoint`.
    endpoints: HashMap<String, String>,
}

impl Faults {
    pub(crate) fn new(endpoints: HashMap<String, String>) -> Faults {
        Faults {
            active: Mutex::new(Vec::new()),
            endpoints,
        }
    }

    /// Adds a fault. Its `endpoint` may be a method id, which is stored as the method's endpoint; an endpoint
    /// that serves no method is an error.
    pub fn add(&self, mut fault: Fault) -> Result<(), StubError> {
        if let Some(target) = &fault.endpoint {
            let endpoint = self
                .endpoints
                .get(target)
                .ok_or_else(|| StubError::UnknownEndpoint(target.clone()))?;
            fault.endpoint = Some(endpoint.clone());
        }
        self.lock().push(fault);
        Ok(())
    }

    /// Removes every fault; returns how many there were.
    pub fn clear(&self) -> usize {
        std::mem::take(&mut *self.lock()).len()
    }

    /// The active faults, with their remaining counts.
    pub fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    pub(crate) fn resolve(&self, target: &str) -> Option<&str> {
        self.endpoints.get(target).map(String::as_str)
    }

    /// Decides the faults for one call of `endpoint`, using up counts.
    pub(crate) fn take(&self, endpoint: &str) -> Plan {
        let mut plan = Plan::default();
        let mut active = self.lock();
        for fault in active.iter_mut() {
            if fault.endpoint.as_deref().is_some_and(|e| e != endpoint) {
                continue;
            }
            let used = match &fault.kind {
                FaultKind::Latency { delay } => {
                    plan.delay += *delay;
                    true
                }
                kind if plan.terminal.is_none() => {
                    plan.terminal = Some(kind.clone());
                    true
                }
                _ => false,
            };
            if used && let Some(count) = &mut fault.count {
                *count -= 1;
            }
        }
        active.retain(|f| f.count != Some(0));
        plan
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }
}
