//! Lifecycle events of runs and steps, and where they go.
//!
//! Every event has a unique `id` (a UUIDv7, so ids sort by time) that consumers use to drop duplicates. The Redis
//! sink adds each id to the stream once (within `redis_sink::SEEN_RETENTION`); an event a sink could neither
//! deliver nor keep is counted ([`EventSink::lost`]), so a front end never reports success having lost one.

use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EventKind {
    #[serde(rename = "run.submitted")]
    RunSubmitted,
    #[serde(rename = "run.started")]
    RunStarted,
    #[serde(rename = "run.completed")]
    RunCompleted,
    #[serde(rename = "run.failed")]
    RunFailed,
    #[serde(rename = "run.cancelled")]
    RunCancelled,
    #[serde(rename = "step.started")]
    StepStarted,
    #[serde(rename = "step.retrying")]
    StepRetrying,
    #[serde(rename = "step.completed")]
    StepCompleted,
    #[serde(rename = "step.failed")]
    StepFailed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunSubmitted => "run.submitted",
            EventKind::RunStarted => "run.started",
            EventKind::RunCompleted => "run.completed",
            EventKind::RunFailed => "run.failed",
            EventKind::RunCancelled => "run.cancelled",
            EventKind::StepStarted => "step.started",
            EventKind::StepRetrying => "step.retrying",
            EventKind::StepCompleted => "step.completed",
            EventKind::StepFailed => "step.failed",
        }
    }

    /// Whether the event ends a run.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EventKind::RunCompleted | EventKind::RunFailed | EventKind::RunCancelled
        )
    }
}

/// One lifecycle event: the envelope every sink writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "ODP lifecycle event")]
pub struct Event {
    /// Unique per event (UUIDv7); consumers drop events whose id they have seen.
    pub id: Uuid,
    pub run_id: Uuid,
    pub kind: EventKind,
    /// The pipeline's name.
    pub pipeline: String,
    /// RFC 3339 with milliseconds, UTC.
    pub timestamp: String,
    /// The step, for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The step's method id, for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// 1-based attempt, for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// How long the run or step took, for completed and failed events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The wait before the next attempt, for `step.retrying`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// What went wrong, for `step.retrying`, `step.failed` and `run.failed`. Never holds secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Event {
    pub fn new(run_id: Uuid, pipeline: &str, kind: EventKind) -> Event {
        Event {
            id: Uuid::now_v7(),
            run_id,
            kind,
            pipeline: pipeline.to_string(),
            timestamp: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            step: None,
            method: None,
            attempt: None,
            duration_ms: None,
            delay_ms: None,
            error: None,
        }
    }

    pub fn step(mut self, step: &str, method: &str, attempt: u32) -> Event {
        self.step = Some(step.to_string());
        self.method = Some(method.to_string());
        self.attempt = Some(attempt);
        self
    }

    pub fn duration(mut self, d: Duration) -> Event {
        self.duration_ms = Some(d.as_millis() as u64);
        self
    }

    pub fn error(mut self, e: impl Into<String>) -> Event {
        self.error = Some(e.into());
        self
    }
}

/// `schemas/events.schema.json`.
pub fn events_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<Event>()).expect("schema serializes")
}

/// Where events go. `emit` never blocks a run and never fails it: a sink that cannot deliver keeps the event
/// (Redis: in the outbox), or logs and counts the loss (a file that cannot be written).
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
    /// Waits until every event emitted so far is delivered or safely kept.
    fn flush(&self) -> crate::BoxFuture<'_, ()>;
    /// How many events emitted so far were neither delivered nor kept (exact after [`EventSink::flush`]). Sinks that
    /// cannot lose an event keep the default.
    fn lost(&self) -> usize {
        0
    }
}

/// Drops every event.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Keeps events in memory (tests, the kernel).
#[derive(Default)]
pub struct MemoryEvents {
    pub events: std::sync::Mutex<Vec<Event>>,
}

impl MemoryEvents {
    pub fn kinds(&self) -> Vec<(EventKind, Option<String>)> {
        self.events
            .lock()
            .expect("lock")
            .iter()
            .map(|e| (e.kind, e.step.clone()))
            .collect()
    }
}

impl EventSink for MemoryEvents {
    fn emit(&self, event: Event) {
        self.events.lock().expect("lock").push(event);
    }
    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Appends events as JSON lines to a file.
pub struct JsonlEvents {
    file: std::sync::Mutex<std::fs::File>,
    /// Events that could not be written.
    lost: std::sync::atomic::AtomicUsize,
}

impl JsonlEvents {
    pub fn create(path: &std::path::Path) -> std::io::Result<JsonlEvents> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(JsonlEvents {
            file: std::sync::Mutex::new(file),
            lost: Default::default(),
        })
    }
}

impl EventSink for JsonlEvents {
    fn emit(&self, event: Event) {
        use std::io::Write;
        let mut line = serde_json::to_string(&event).expect("events serialize");
        line.push('\n');
        if let Err(e) = self.file.lock().expect("lock").write_all(line.as_bytes()) {
            let earlier = self.lost.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The first failure says why; the rest are counted (a full disk would repeat it for every event).
            if earlier == 0 {
                tracing::error!(error = %e, event = %event.id, "could not write an event");
            }
        }
    }
    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        Box::pin(async {
            // A write the kernel accepted can still fail when it reaches the disk (a full disk with delayed
            // allocation, NFS): such events are lost too, and a run must not end 0 having lost them.
            // (A device or pipe that cannot be synced, such as /dev/stderr, answers EINVAL: nothing is lost there.)
            match self.file.lock().expect("lock").sync_data() {
                Err(e) if e.kind() != std::io::ErrorKind::InvalidInput => {
                    tracing::error!(error = %e, "could not write the events to disk");
                    self.lost.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                _ => {}
            }
        })
    }
    fn lost(&self) -> usize {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Sends every event to several sinks.
pub struct FanOut(pub Vec<std::sync::Arc<dyn EventSink>>);

impl EventSink for FanOut {
    fn emit(&self, event: Event) {
        for sink in &self.0 {
            sink.emit(event.clone());
        }
    }
    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        Box::pin(async {
            for sink in &self.0 {
                sink.flush().await;
            }
        })
    }
    fn lost(&self) -> usize {
        self.0.iter().map(|sink| sink.lost()).sum()
    }
}

/// The one progress line of a step event, as every front end shows it (`odp run` on stderr, a notebook cell's
/// stdout, the editor's progress): `… s (m) started`, `↻ s: attempt 1 failed (…); retrying in 20 ms`,
/// `✓ s (m) done: 1 attempt, 12 ms`, `✗ s (m) failed: 3 attempts, 40 ms: …`. `None` for run-level events. Step
/// names and the services' errors are quoted with control characters escaped.
pub fn progress_line(e: &Event) -> Option<String> {
    let step = e.step.as_deref().unwrap_or_default();
    let method = e.method.as_deref().unwrap_or_default();
    let attempt = e.attempt.unwrap_or(1);
    let attempts = format!("{attempt} attempt{}", if attempt == 1 { "" } else { "s" });
    let ms = e.duration_ms.unwrap_or(0);
    let error = e.error.as_deref().unwrap_or_default();
    let line = match e.kind {
        EventKind::StepStarted => format!("… {step} ({method}) started"),
        EventKind::StepRetrying => format!(
            "↻ {step}: attempt {attempt} failed ({error}); retrying in {} ms",
            e.delay_ms.unwrap_or(0)
        ),
        EventKind::StepCompleted => format!("✓ {step} ({method}) done: {attempts}, {ms} ms"),
        EventKind::StepFailed => {
            format!("✗ {step} ({method}) failed: {attempts}, {ms} ms: {error}")
        }
        _ => return None,
    };
    Some(odp_analysis::escape_control(&line).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `schemas/events.schema.json` is generated from [`Event`]; this fails when it is stale
    /// (`UPDATE_EXPECT=1 cargo test -p odp-exec` writes it anew).
    #[test]
    fn events_schema_is_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/events.schema.json");
        let mut expected = serde_json::to_string_pretty(&events_schema()).unwrap();
        expected.push('\n');
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != expected {
            if std::env::var_os("UPDATE_EXPECT").is_some() {
                std::fs::write(&path, expected).unwrap();
            } else {
                panic!(
                    "schemas/events.schema.json is stale: run `UPDATE_EXPECT=1 cargo test -p odp-exec`"
                );
            }
        }
    }

    #[test]
    fn events_serialize_to_the_envelope() {
        let run = Uuid::now_v7();
        let e = Event::new(run, "p", EventKind::StepRetrying)
            .step("tweets", "social.twitter.search", 2)
            .error("HTTP 503");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "step.retrying");
        assert_eq!(v["attempt"], 2);
        assert!(v.get("duration_ms").is_none());
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        let validator = jsonschema::validator_for(&events_schema()).unwrap();
        assert!(validator.is_valid(&serde_json::to_value(&e).unwrap()));
    }

    #[test]
    fn every_kind_has_its_wire_name_and_only_run_ends_are_final() {
        use EventKind::*;
        let all = [
            RunSubmitted,
            RunStarted,
            RunCompleted,
            RunFailed,
            RunCancelled,
            StepStarted,
            StepRetrying,
            StepCompleted,
            StepFailed,
        ];
        for kind in all {
            // The wire name is the serde name, which the schema lists.
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                kind.as_str(),
                "{kind:?}"
            );
        }
        let finals: Vec<&str> = all
            .iter()
            .filter(|k| k.is_final())
            .map(|k| k.as_str())
            .collect();
        assert_eq!(finals, ["run.completed", "run.failed", "run.cancelled"]);
    }

    #[test]
    fn the_jsonl_sink_appends_one_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, "{\"earlier\": true}\n").unwrap();
        let sink = JsonlEvents::create(&path).unwrap();
        let run = Uuid::now_v7();
        sink.emit(Event::new(run, "p", EventKind::RunStarted));
        sink.emit(Event::new(run, "p", EventKind::RunCompleted));
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(sink.flush());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "appended, not truncated: {text}");
        let kinds: Vec<String> = lines[1..]
            .iter()
            .map(|l| {
                serde_json::from_str::<Event>(l)
                    .unwrap()
                    .kind
                    .as_str()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds, ["run.started", "run.completed"]);
        assert_eq!(sink.lost(), 0);
    }

    /// A file that cannot be written (a full disk) counts every event it loses, also through a fan-out, so the run
    /// can say so instead of succeeding.
    #[test]
    fn a_sink_that_cannot_write_counts_what_it_loses() {
        let full = JsonlEvents::create(std::path::Path::new("/dev/full")).unwrap();
        let run = Uuid::now_v7();
        let fan = FanOut(vec![
            std::sync::Arc::new(full),
            std::sync::Arc::new(MemoryEvents::default()),
        ]);
        for kind in [EventKind::RunStarted, EventKind::RunCompleted] {
            fan.emit(Event::new(run, "p", kind));
        }
        assert_eq!(fan.lost(), 2);
    }

    /// A sink on a device that cannot be synced (/dev/null, a terminal, a pipe) loses nothing by it.
    #[tokio::test]
    async fn a_sink_on_a_device_that_cannot_sync_loses_nothing() {
        let null = JsonlEvents::create(std::path::Path::new("/dev/null")).unwrap();
        null.emit(Event::new(Uuid::now_v7(), "p", EventKind::RunStarted));
        null.flush().await;
        assert_eq!(null.lost(), 0);
    }
}
