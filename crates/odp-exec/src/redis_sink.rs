//! The Redis sink: every event is added to a stream (the durable record; consumers read it with XREAD or a
//! consumer group) and published on a channel (for live listeners; pub/sub is at-most-once). While Redis cannot be
//! reached, events go to an on-disk outbox, in order, and are delivered when Redis is back, at the next start, or
//! by `odp events flush`. None is lost, even when the process exits while Redis is down.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

use crate::BoxFuture;
use crate::events::{Event, EventSink};

/// The stream every event is added to.
pub const STREAM_KEY: &str = "odp:events";
/// The channel every event is published on.
pub const CHANNEL: &str = "odp:events";
/// The stream keeps about this many events (XADD MAXLEN ~).
pub const STREAM_MAXLEN: usize = 100_000;

/// Events waiting for Redis: JSON lines in a file under the state directory.
#[derive(Clone, Debug)]
pub struct Outbox {
    path: PathBuf,
}

impl Outbox {
    pub fn new(state_dir: &Path) -> Outbox {
        Outbox {
            path: state_dir.join("outbox").join("events.jsonl"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an event and syncs it to disk, so it survives the process.
    pub fn append(&self, event: &Event) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut line = serde_json::to_string(event).expect("events serialize");
        line.push('\n');
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }

    /// The events waiting, oldest first. Lines that cannot be read are skipped with a warning.
    pub fn pending(&self) -> Vec<Event> {
        let Ok(file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        std::io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| match serde_json::from_str(&l) {
                Ok(e) => Some(e),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable outbox line");
                    None
                }
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        std::fs::metadata(&self.path).map_or(true, |m| m.len() == 0)
    }

    /// Keeps only the events not yet delivered.
    fn keep(&self, remaining: &[Event]) -> std::io::Result<()> {
        if remaining.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut out = std::fs::File::create(&tmp)?;
        for e in remaining {
            let mut line = serde_json::to_string(e).expect("events serialize");
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        out.sync_data()?;
        std::fs::rename(tmp, &self.path)
    }
}

/// Adds one event to the stream and publishes it.
async fn deliver(conn: &mut ConnectionManager, event: &Event) -> redis::RedisResult<()> {
    let json = serde_json::to_string(event).expect("events serialize");
    let mut pipe = redis::pipe();
    pipe.cmd("XADD")
        .arg(STREAM_KEY)
        .arg("MAXLEN")
        .arg("~")
        .arg(STREAM_MAXLEN)
        .arg("*")
        .arg("id")
        .arg(event.id.to_string())
        .arg("run_id")
        .arg(event.run_id.to_string())
        .arg("kind")
        .arg(event.kind.as_str())
        .arg("event")
        .arg(&json)
        .ignore()
        .cmd("PUBLISH")
        .arg(CHANNEL)
        .arg(&json)
        .ignore();
    pipe.query_async(conn).await
}

/// Delivers the outbox's events in order; returns how many were delivered. Stops at the first failure and keeps
/// the rest.
pub async fn flush_outbox(conn: &mut ConnectionManager, outbox: &Outbox) -> Result<usize, String> {
    let pending = outbox.pending();
    for (i, event) in pending.iter().enumerate() {
        if let Err(e) = deliver(conn, event).await {
            outbox.keep(&pending[i..]).map_err(|e| e.to_string())?;
            return Err(format!(
                "Redis is unreachable ({e}); {} events still wait",
                pending.len() - i
            ));
        }
    }
    outbox.keep(&[]).map_err(|e| e.to_string())?;
    Ok(pending.len())
}

/// A lazily connecting, reconnecting Redis connection with short timeouts, so a down Redis never stalls a run.
pub fn connection(url: &str) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_lazy_with_config(client, config)
}

enum Command {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

/// The Redis sink. Events are handed to a background task that delivers them in order.
pub struct RedisEvents {
    tx: mpsc::UnboundedSender<Command>,
}

impl RedisEvents {
    /// Starts the sink on the current tokio runtime. Fails only for a malformed URL: an unreachable Redis is not an
    /// error (events wait in the outbox).
    pub fn start(url: &str, outbox: Outbox) -> Result<RedisEvents, redis::RedisError> {
        let mut conn = connection(url)?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
        let outbox = Arc::new(outbox);
        tokio::spawn(async move {
            // Degraded: Redis failed, events go to the outbox until it is flushed.
            let mut degraded = !outbox.is_empty();
            // While degraded, reconnect at most this often: every attempt against a down Redis costs a timeout.
            let mut last_attempt: Option<tokio::time::Instant> = None;
            let due = |last: Option<tokio::time::Instant>| {
                last.is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
            };
            let mut retry = tokio::time::interval(Duration::from_millis(500));
            retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    cmd = rx.recv() => {
                        match cmd {
                            Some(Command::Event(event)) => {
                                if degraded && due(last_attempt) {
                                    last_attempt = Some(tokio::time::Instant::now());
                                    degraded = flush_outbox(&mut conn, &outbox).await.is_err();
                                }
                                if !degraded
                                    && let Err(e) = deliver(&mut conn, &event).await
                                {
                                    tracing::warn!(error = %e, "Redis is unreachable: events go to the outbox");
                                    degraded = true;
                                    last_attempt = Some(tokio::time::Instant::now());
                                }
                                if degraded
                                    && let Err(e) = outbox.append(&event)
                                {
                                    tracing::error!(error = %e, event = %event.id, "could not keep an event in the outbox");
                                }
                            }
                            Some(Command::Flush(done)) => {
                                if degraded {
                                    degraded = flush_outbox(&mut conn, &outbox).await.is_err();
                                }
                                let _ = done.send(());
                            }
                            None => break,
                        }
                    }
                    _ = retry.tick(), if degraded && due(last_attempt) => {
                        last_attempt = Some(tokio::time::Instant::now());
                        if let Ok(n) = flush_outbox(&mut conn, &outbox).await {
                            degraded = false;
                            if n > 0 {
                                tracing::info!(events = n, "Redis is back: the outbox is delivered");
                            }
                        }
                    }
                }
            }
        });
        Ok(RedisEvents { tx })
    }
}

impl EventSink for RedisEvents {
    fn emit(&self, event: Event) {
        let _ = self.tx.send(Command::Event(event));
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (done, wait) = oneshot::channel();
            if self.tx.send(Command::Flush(done)).is_ok() {
                let _ = wait.await;
            }
        })
    }
}
