//! The outbox: events waiting for Redis, as JSON lines in `$ODP_STATE_DIR/outbox/events.jsonl`.
//!
//! Several processes share it — runs appending while Redis is down, `odp events flush`, the next run delivering what
//! an earlier one kept — so every access holds one lock: an exclusive file lock on `events.jsonl.lock` beside it.
//! A flush holds it from reading the outbox until it has removed or rewritten it, so no append falls between the
//! two and no two flushes deliver the same lines. (The outbox file itself cannot carry the lock: a flush removes or
//! replaces it, and a writer that waited on the old file would append to a file nobody reads.)
//!
//! A line that is not an event (invalid UTF-8, not JSON, cut short) is set aside in `events.jsonl.quarantine`
//! beside the outbox, as it was, and reported with its line number; it never stands in the way of the lines after
//! it. It is set aside before the outbox is rewritten, so that no crash in between loses it: a flush that fails to
//! rewrite the outbox sets the same line aside again next time (the quarantine may hold a line twice, never lose one).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::events::Event;

/// Events waiting for Redis: JSON lines in a file under the state directory.
#[derive(Clone, Debug)]
pub struct Outbox {
    path: PathBuf,
}

/// The outbox (or its lock or quarantine file) could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the event outbox {}: {source}", path.display())]
pub struct OutboxError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
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

    /// Where damaged lines are set aside.
    pub fn quarantine_path(&self) -> PathBuf {
        self.path.with_extension("jsonl.quarantine")
    }

    fn lock_path(&self) -> PathBuf {
        self.path.with_extension("jsonl.lock")
    }

    fn error(&self, path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError {
        let path = path.to_path_buf();
        move |source| OutboxError { path, source }
    }

    /// Takes the outbox's lock, waiting while another process (or task) holds it. Blocks: call it off the async
    /// runtime's workers.
    pub fn lock(&self) -> Result<OutboxLock, OutboxError> {
        let lock_path = self.lock_path();
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(self.error(dir))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(self.error(&lock_path))?;
        file.lock().map_err(self.error(&lock_path))?;
        Ok(OutboxLock {
            outbox: self.clone(),
            _file: file,
        })
    }

    /// Appends an event under the lock and syncs it to disk, so it survives the process. Blocks.
    pub fn append(&self, event: &Event) -> Result<(), OutboxError> {
        let _lock = self.lock()?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(self.error(&self.path))?;
        let mut line = serde_json::to_string(event).expect("events serialize");
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(self.error(&self.path))
    }

    /// Whether nothing waits (a hint: without the lock, another process may append at any time).
    pub fn is_empty(&self) -> bool {
        std::fs::metadata(&self.path).map_or(true, |m| m.len() == 0)
    }
}

/// The outbox, locked until dropped: what a flush reads and then removes or rewrites.
pub struct OutboxLock {
    outbox: Outbox,
    /// Holds the lock; closing it releases the lock.
    _file: File,
}

/// An event waiting in the outbox, with its line as written (kept as is when the outbox is rewritten).
#[derive(Clone, Debug)]
pub struct Waiting {
    pub event: Event,
    line: Vec<u8>,
}

/// A line of the outbox that is not an event, set aside in the quarantine file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedLine {
    /// 1-based, in the outbox as it was read.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for DamagedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What [`OutboxLock::take`] found.
#[derive(Debug, Default)]
pub struct Taken {
    /// The events waiting, oldest first.
    pub waiting: Vec<Waiting>,
    /// The lines set aside in the quarantine file.
    pub damaged: Vec<DamagedLine>,
}

impl OutboxLock {
    /// Reads the outbox. Damaged lines are appended to the quarantine file (and synced) before this returns, so
    /// whatever the caller keeps afterwards can leave them out. Blocks.
    pub fn take(&self) -> Result<Taken, OutboxError> {
        let path = self.outbox.path();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Taken::default()),
            Err(e) => return Err(self.outbox.error(path)(e)),
        };
        let mut taken = Taken::default();
        let mut quarantine = Vec::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match parse_line(line) {
                Ok(event) => taken.waiting.push(Waiting {
                    event,
                    line: line.to_vec(),
                }),
                Err(reason) => {
                    taken.damaged.push(DamagedLine {
                        line: i + 1,
                        reason,
                    });
                    quarantine.extend_from_slice(line);
                    quarantine.push(b'\n');
                }
            }
        }
        if !quarantine.is_empty() {
            let q = self.outbox.quarantine_path();
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&q)
                .map_err(self.outbox.error(&q))?;
            file.write_all(&quarantine)
                .and_then(|()| file.sync_data())
                .map_err(self.outbox.error(&q))?;
        }
        Ok(taken)
    }

    /// Makes the outbox hold exactly `remaining`, in order; removes it when nothing remains. Blocks.
    pub fn keep(&self, remaining: &[Waiting]) -> Result<(), OutboxError> {
        let path = self.outbox.path();
        if remaining.is_empty() {
            return match std::fs::remove_file(path) {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(self.outbox.error(path)(e)),
                _ => Ok(()),
            };
        }
        let tmp = path.with_extension("jsonl.tmp");
        let mut text = Vec::new();
        for w in remaining {
            text.extend_from_slice(&w.line);
            text.push(b'\n');
        }
        File::create(&tmp)
            .and_then(|mut out| {
                out.write_all(&text)?;
                out.sync_data()
            })
            .map_err(self.outbox.error(&tmp))?;
        std::fs::rename(&tmp, path).map_err(self.outbox.error(path))
    }
}

/// An outbox line as an event, or why it is not one.
fn parse_line(line: &[u8]) -> Result<Event, String> {
    let text = std::str::from_utf8(line)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1))?;
    serde_json::from_str(text).map_err(|e| format!("not an event ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    fn event() -> Event {
        Event::new(uuid::Uuid::now_v7(), "p", EventKind::RunStarted)
    }

    fn line(e: &Event) -> Vec<u8> {
        let mut l = serde_json::to_vec(e).unwrap();
        l.push(b'\n');
        l
    }

    #[test]
    fn damaged_lines_are_set_aside_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let events: Vec<Event> = (0..4).map(|_| event()).collect();
        let mut bytes = Vec::new();
        bytes.extend(line(&events[0]));
        bytes.extend(b"{\"id\": \"\xff\xfe\"}\n");
        bytes.extend(line(&events[1]));
        bytes.extend(b"\n{\"not\": \"an event\"}\n");
        bytes.extend(line(&events[2]));
        // The last line, cut short by a crash mid-write.
        let last = line(&events[3]);
        bytes.extend(&last[..last.len() / 2]);
        std::fs::create_dir_all(outbox.path().parent().unwrap()).unwrap();
        std::fs::write(outbox.path(), &bytes).unwrap();

        let lock = outbox.lock().unwrap();
        let taken = lock.take().unwrap();
        let ids: Vec<_> = taken.waiting.iter().map(|w| w.event.id).collect();
        assert_eq!(ids, [events[0].id, events[1].id, events[2].id]);
        let lines: Vec<usize> = taken.damaged.iter().map(|d| d.line).collect();
        assert_eq!(lines, [2, 5, 7], "{:?}", taken.damaged);
        assert!(taken.damaged[0].reason.contains("invalid UTF-8"));
        assert!(taken.damaged[1].reason.contains("not an event"));
        let quarantined = std::fs::read(outbox.quarantine_path()).unwrap();
        let expected = [
            &b"{\"id\": \"\xff\xfe\"}\n"[..],
            b"{\"not\": \"an event\"}\n",
            &last[..last.len() / 2],
            b"\n",
        ]
        .concat();
        assert_eq!(quarantined, expected, "set aside byte for byte");

        // Keeping the last two waiting events rewrites the outbox without the damaged lines.
        lock.keep(&taken.waiting[1..]).unwrap();
        let again = lock.take().unwrap();
        assert!(again.damaged.is_empty());
        let ids: Vec<_> = again.waiting.iter().map(|w| w.event.id).collect();
        assert_eq!(ids, [events[1].id, events[2].id]);
        lock.keep(&[]).unwrap();
        assert!(!outbox.path().exists(), "removed once nothing waits");
        assert!(outbox.is_empty());
    }

    /// A flush holds the lock from reading to rewriting: an append waits for it, and so lands in the new outbox
    /// instead of being overwritten.
    #[test]
    fn an_append_waits_for_the_lock_of_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let first = event();
        outbox.append(&first).unwrap();
        let lock = outbox.lock().unwrap();
        let taken = lock.take().unwrap();
        assert_eq!(taken.waiting.len(), 1);

        let (started, appending) = std::sync::mpsc::channel();
        let appender = {
            let outbox = outbox.clone();
            let late = event();
            let id = late.id;
            (
                std::thread::spawn(move || {
                    started.send(()).unwrap();
                    outbox.append(&late).unwrap()
                }),
                id,
            )
        };
        // Give the appender every chance to write before the flush rewrites the outbox: without the lock its line
        // would land in the file that `keep` then removes. With the lock it is still waiting.
        appending.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            !appender.0.is_finished(),
            "the append did not wait for the lock"
        );
        lock.keep(&[]).unwrap();
        drop(lock);
        appender.0.join().unwrap();
        let lock = outbox.lock().unwrap();
        let ids: Vec<_> = lock
            .take()
            .unwrap()
            .waiting
            .iter()
            .map(|w| w.event.id)
            .collect();
        assert_eq!(ids, [appender.1]);
    }
}
