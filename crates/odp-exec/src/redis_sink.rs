//! The Redis sink: every event is added to a stream (the durable record; consumers read it with XREAD or a
//! consumer group) and published on a channel (for live listeners; pub/sub is at-most-once). While Redis cannot be
//! reached, events go to an on-disk outbox, in order, and are delivered when Redis is back, at the next start, or
//! by `odp events flush`. None is lost, even when the process exits while Redis is down, and each is added once:
//! one script remembers delivered ids ([`SEEN_RETENTION`]) and adds an id it has seen never again, so a command
//! that timed out but ran, then delivered again from the outbox, leaves one entry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

use crate::BoxFuture;
use crate::events::{Event, EventSink};
pub use crate::outbox::{DamagedLine, Outbox, OutboxError};

/// The stream every event is added to.
pub const STREAM_KEY: &str = "odp:events";
/// The channel every event is published on.
pub const CHANNEL: &str = "odp:events";
/// The stream keeps about this many events (XADD MAXLEN ~).
pub const STREAM_MAXLEN: usize = 100_000;
/// Delivered ids are remembered under `odp:seen:{id}` for this long: an event delivered again within it (a flush
/// retried after a timeout whose command Redis ran after all, an outbox line that was also delivered directly) is
/// not added again. Past it, a consumer still drops the duplicate by its id.
pub const SEEN_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The prefix of the keys that remember delivered ids.
pub const SEEN_KEY_PREFIX: &str = "odp:seen:";

/// Adds an event to the stream and publishes it, once per id: one script, so Redis runs the check and the writes
/// as one step. The id is marked as seen only after the event is in the stream: Redis does not undo a script that
/// fails half-way, and an id marked before a failed XADD would make the next flush drop the event as delivered.
/// KEYS: the seen key, the stream. ARGV: retention (s), max length, id, run id, kind, the envelope, the channel.
/// Returns 1 when added, 0 when the id was seen already.
static ADD_ONCE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
           'id', ARGV[3], 'run_id', ARGV[4], 'kind', ARGV[5], 'event', ARGV[6])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('PUBLISH', ARGV[7], ARGV[6])
return 1
",
    )
});

/// What delivering an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Added,
    /// Redis had the id already (delivered before, within [`SEEN_RETENTION`]).
    AlreadyThere,
}

/// Adds one event to the stream and publishes it, unless Redis has seen its id.
async fn deliver(conn: &mut ConnectionManager, event: &Event) -> redis::RedisResult<Delivery> {
    let json = serde_json::to_string(event).expect("events serialize");
    let id = event.id.to_string();
    let added: i64 = ADD_ONCE
        .key(format!("{SEEN_KEY_PREFIX}{id}"))
        .key(STREAM_KEY)
        .arg(SEEN_RETENTION.as_secs())
        .arg(STREAM_MAXLEN)
        .arg(&id)
        .arg(event.run_id.to_string())
        .arg(event.kind.as_str())
        .arg(&json)
        .arg(CHANNEL)
        .invoke_async(conn)
        .await?;
    Ok(if added == 1 {
        Delivery::Added
    } else {
        Delivery::AlreadyThere
    })
}

/// Why a flush stopped before the outbox was empty.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error("Redis is unreachable ({error}): the events wait in {}", outbox.display())]
    Unreachable {
        error: redis::RedisError,
        outbox: std::path::PathBuf,
    },
    #[error(
        "Redis failed part way ({error}); {waiting} {} still wait in {}",
        if *waiting == 1 { "event" } else { "events" },
        outbox.display()
    )]
    Interrupted {
        error: redis::RedisError,
        waiting: usize,
        outbox: std::path::PathBuf,
    },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// What a flush of the outbox did.
#[derive(Debug, Default)]
pub struct FlushReport {
    /// Events handed to Redis and removed from the outbox (including those Redis had already).
    pub delivered: usize,
    /// Of those, how many Redis had already (delivered before; not added again).
    pub already_there: usize,
    /// Lines that were not events, set aside in the quarantine file.
    pub quarantined: Vec<DamagedLine>,
    /// Why events still wait, if they do.
    pub error: Option<FlushError>,
}

impl FlushReport {
    /// One warning per outbox line the flush set aside, saying where it went.
    pub fn set_aside_lines(&self, outbox: &Outbox) -> Vec<String> {
        self.quarantined
            .iter()
            .map(|damaged| {
                format!(
                    "warning: {} line {} is damaged ({}): set aside in {}",
                    outbox.path().display(),
                    damaged.line,
                    damaged.reason,
                    outbox.quarantine_path().display()
                )
            })
            .collect()
    }

    /// Whether the outbox is empty now.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }
}

/// Runs blocking outbox work off the runtime's workers.
async fn blocking<T: Send + 'static>(
    outbox: &Outbox,
    work: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(OutboxError {
            path: outbox.path().to_path_buf(),
            source: std::io::Error::other(format!("the outbox task failed: {e}")),
        })
    })
}

/// Delivers the outbox's events in order, under the outbox's lock; damaged lines are set aside. Stops at the first
/// failure and keeps the rest.
pub async fn flush_outbox(conn: &mut ConnectionManager, outbox: &Outbox) -> FlushReport {
    let mut report = FlushReport::default();
    // Before taking the lock: a flush against a down Redis must not hold up every writer for its timeouts.
    if let Err(error) = redis::cmd("PING").query_async::<()>(conn).await {
        report.error = Some(FlushError::Unreachable {
            error,
            outbox: outbox.path().to_path_buf(),
        });
        return report;
    }
    let to_lock = outbox.clone();
    let locked = blocking(outbox, move || {
        let lock = to_lock.lock()?;
        let taken = lock.take()?;
        Ok((lock, taken))
    })
    .await;
    let (lock, mut taken) = match locked {
        Ok(locked) => locked,
        Err(e) => {
            report.error = Some(e.into());
            return report;
        }
    };
    report.quarantined = std::mem::take(&mut taken.damaged);
    for waiting in &taken.waiting {
        match deliver(conn, &waiting.event).await {
            Ok(delivery) => {
                report.delivered += 1;
                if delivery == Delivery::AlreadyThere {
                    report.already_there += 1;
                }
            }
            Err(error) => {
                report.error = Some(FlushError::Interrupted {
                    error,
                    waiting: taken.waiting.len() - report.delivered,
                    outbox: outbox.path().to_path_buf(),
                });
                break;
            }
        }
    }
    if report.delivered > 0 || !report.quarantined.is_empty() {
        let remaining = taken.waiting.split_off(report.delivered);
        if let Err(e) = blocking(outbox, move || lock.keep(&remaining)).await {
            report.error = Some(e.into());
        }
    }
    report
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
    /// Events neither delivered nor kept in the outbox.
    lost: Arc<AtomicUsize>,
}

/// Logs what a flush set aside (the front ends print it on their own where they flush).
fn warn_damaged(report: &FlushReport, outbox: &Outbox) {
    for damaged in &report.quarantined {
        tracing::warn!(
            outbox = %outbox.path().display(),
            quarantine = %outbox.quarantine_path().display(),
            "a damaged outbox line is set aside: {damaged}"
        );
    }
}

impl RedisEvents {
    /// Starts the sink on the current tokio runtime. Fails only for a malformed URL: an unreachable Redis is not an
    /// error (events wait in the outbox).
    pub fn start(url: &str, outbox: Outbox) -> Result<RedisEvents, redis::RedisError> {
        let mut conn = connection(url)?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
        let lost = Arc::new(AtomicUsize::new(0));
        let lost_in_task = lost.clone();
        tokio::spawn(async move {
            let lost = lost_in_task;
            let flush = async |conn: &mut ConnectionManager, outbox: &Outbox| {
                let report = flush_outbox(conn, outbox).await;
                warn_damaged(&report, outbox);
                report
            };
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
                                    degraded = !flush(&mut conn, &outbox).await.is_complete();
                                }
                                if !degraded
                                    && let Err(e) = deliver(&mut conn, &event).await
                                {
                                    tracing::warn!(error = %e, "Redis is unreachable: events go to the outbox");
                                    degraded = true;
                                    last_attempt = Some(tokio::time::Instant::now());
                                }
                                if degraded {
                                    let id = event.id;
                                    let kept = outbox.clone();
                                    let appended = blocking(&outbox, move || kept.append(&event)).await;
                                    if let Err(e) = appended {
                                        lost.fetch_add(1, Ordering::Relaxed);
                                        tracing::error!(error = %e, event = %id, "could not keep an event in the outbox");
                                    }
                                }
                            }
                            Some(Command::Flush(done)) => {
                                if degraded {
                                    degraded = !flush(&mut conn, &outbox).await.is_complete();
                                }
                                let _ = done.send(());
                            }
                            None => break,
                        }
                    }
                    _ = retry.tick(), if degraded && due(last_attempt) => {
                        last_attempt = Some(tokio::time::Instant::now());
                        let report = flush(&mut conn, &outbox).await;
                        if report.is_complete() {
                            degraded = false;
                            if report.delivered > 0 {
                                tracing::info!(events = report.delivered, "Redis is back: the outbox is delivered");
                            }
                        }
                    }
                }
            }
        });
        Ok(RedisEvents { tx, lost })
    }
}

impl EventSink for RedisEvents {
    fn emit(&self, event: Event) {
        // The sink's task is gone (the runtime shut down): the event can be neither delivered nor kept.
        if self.tx.send(Command::Event(event)).is_err() {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (done, wait) = oneshot::channel();
            if self.tx.send(Command::Flush(done)).is_ok() {
                let _ = wait.await;
            }
        })
    }

    fn lost(&self) -> usize {
        self.lost.load(Ordering::Relaxed)
    }
}
