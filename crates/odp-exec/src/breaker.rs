//! A circuit breaker per service: after `failure_threshold` consecutive service failures it opens and calls fail
//! fast; after `open_for` one probe call is let through (half-open): success closes it, failure opens it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    states: Mutex<HashMap<String, BreakerState>>,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            states: Mutex::default(),
        }
    }

    pub fn state(&self, service: &str) -> BreakerState {
        *self
            .states
            .lock()
            .expect("lock")
            .get(service)
            .unwrap_or(&BreakerState::Closed { failures: 0 })
    }

    /// Whether a call may go out now. An open breaker past its wait lets exactly one probe through.
    pub fn allow(&self, service: &str) -> bool {
        let mut states = self.states.lock().expect("lock");
        let state = states
            .entry(service.to_string())
            .or_insert(BreakerState::Closed { failures: 0 });
        match *state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if Instant::now() >= until => {
                *state = BreakerState::HalfOpen;
                true
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => false,
        }
    }

    pub fn record_success(&self, service: &str) {
        self.states
            .lock()
            .expect("lock")
            .insert(service.to_string(), BreakerState::Closed { failures: 0 });
    }

    /// Records a service failure (connection error, timeout, 5xx).
    pub fn record_failure(&self, service: &str) {
        let mut states = self.states.lock().expect("lock");
        let state = states
            .entry(service.to_string())
            .or_insert(BreakerState::Closed { failures: 0 });
        let open = BreakerState::Open {
            until: Instant::now() + self.config.open_for,
        };
        *state = match *state {
            BreakerState::Closed { failures } if failures + 1 >= self.config.failure_threshold => {
                open
            }
            BreakerState::Closed { failures } => BreakerState::Closed {
                failures: failures + 1,
            },
            BreakerState::HalfOpen | BreakerState::Open { .. } => open,
        };
    }

    /// A call that neither succeeded nor failed the service (a 4xx): a half-open probe is released.
    pub fn record_neutral(&self, service: &str) {
        let mut states = self.states.lock().expect("lock");
        if let Some(state @ BreakerState::HalfOpen) = states.get_mut(service) {
            *state = BreakerState::Closed { failures: 0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_fails_fast_probes_and_closes() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(10),
        });
        assert!(b.allow("model"));
        b.record_failure("model");
        assert!(b.allow("model"));
        b.record_failure("model");
        assert!(matches!(b.state("model"), BreakerState::Open { .. }));
        assert!(!b.allow("model"));
        assert!(b.allow("crawler"), "breakers are per service");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(b.allow("model"), "one probe after the wait");
        assert!(!b.allow("model"), "only one probe at a time");
        b.record_failure("model");
        assert!(!b.allow("model"), "a failed probe opens it again");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(b.allow("model"));
        b.record_success("model");
        assert_eq!(b.state("model"), BreakerState::Closed { failures: 0 });
    }
}
