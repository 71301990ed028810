//! The event outbox's reader: any bytes as the outbox file, read under the lock (`OutboxLock::take`), kept
//! (`keep`) and read again.
//!
//! Properties: no panic; every non-blank line is either an event waiting or a damaged line set aside, never both or
//! neither; damaged lines keep their line numbers, in order, and the quarantine file holds exactly their bytes; what
//! is kept reads back as the same events with nothing damaged; an event appended afterwards is read too.

use std::path::PathBuf;

use odp_exec::outbox::Outbox;
use odp_exec::{Event, EventKind};

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let dir = scratch_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let outbox = Outbox::new(&dir);
    std::fs::create_dir_all(outbox.path().parent().expect("the outbox is in a folder")).unwrap();
    std::fs::write(outbox.path(), data).unwrap();

    let lock = outbox.lock().expect("the outbox locks");
    let taken = lock.take().expect("the outbox reads");
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let non_blank = lines.iter().filter(|l| !l.trim_ascii().is_empty()).count();
    assert_eq!(
        taken.waiting.len() + taken.damaged.len(),
        non_blank,
        "a line was lost or read twice"
    );
    let mut quarantined = Vec::new();
    let mut previous = 0;
    for d in &taken.damaged {
        assert!(
            d.line > previous && d.line <= lines.len(),
            "damaged line {} out of order",
            d.line
        );
        previous = d.line;
        assert!(!d.reason.is_empty());
        quarantined.extend_from_slice(lines[d.line - 1]);
        quarantined.push(b'\n');
    }
    let quarantine = std::fs::read(outbox.quarantine_path()).unwrap_or_default();
    assert_eq!(
        quarantine, quarantined,
        "the quarantine file is not the damaged lines"
    );

    lock.keep(&taken.waiting).expect("the outbox is rewritten");
    let again = lock.take().expect("the outbox reads again");
    assert!(
        again.damaged.is_empty(),
        "kept lines read back damaged: {:?}",
        again.damaged
    );
    let ids = |w: &[odp_exec::outbox::Waiting]| w.iter().map(|w| w.event.id).collect::<Vec<_>>();
    assert_eq!(ids(&again.waiting), ids(&taken.waiting));
    drop(lock);

    let event = Event::new(uuid_of(data), "fuzz", EventKind::RunStarted);
    outbox.append(&event).expect("an event appends");
    let last = outbox.lock().unwrap().take().unwrap();
    assert_eq!(last.waiting.len(), taken.waiting.len() + 1);
    assert_eq!(last.waiting.last().map(|w| w.event.id), Some(event.id));
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_of(data: &[u8]) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    for (i, b) in data.iter().take(16).enumerate() {
        bytes[i] = *b;
    }
    uuid::Uuid::from_bytes(bytes)
}

/// A folder of this thread's own, in memory where the system has one (the outbox syncs every write).
fn scratch_dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!(
        "odp-fuzz-outbox-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}
