//! `odp events`: follow runs live from Redis, and deliver the outbox.

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use odp_exec::Event;
use odp_exec::redis_sink::{FlushReport, Outbox, STREAM_KEY, connection, flush_outbox};

/// Exit codes of `odp events` (also in the README).
pub mod exit {
    /// Followed to the end, or every event of the outbox delivered.
    pub const OK: u8 = 0;
    /// `flush`: damaged outbox lines were set aside in the quarantine file; every readable event was delivered.
    pub const SET_ASIDE: u8 = 1;
    /// Usage or configuration error, Redis unreachable, or the outbox could not be read or written.
    pub const USAGE: u8 = 2;
}

#[derive(Clone, Debug, Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: Option<EventsCommand>,
    /// Follow only this run; stop after its final event.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Start from the oldest event in the stream instead of new ones.
    #[arg(long)]
    pub from_start: bool,
    /// The Redis URL [env: ODP_REDIS_URL].
    #[arg(long, value_name = "URL", env = "ODP_REDIS_URL")]
    pub redis: Option<String>,
}

#[derive(Clone, Debug, Subcommand)]
pub enum EventsCommand {
    /// Deliver the events kept in the outbox while Redis was unreachable.
    Flush,
}

pub fn events(args: EventsArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    match runtime.block_on(events_async(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::USAGE
        }
    }
}

async fn events_async(args: EventsArgs) -> anyhow::Result<u8> {
    let url = args
        .redis
        .clone()
        .ok_or_else(|| anyhow!("no Redis configured: set ODP_REDIS_URL or pass --redis"))?;
    let mut conn = connection(&url).map_err(|e| anyhow!("bad Redis URL: {e}"))?;
    if let Some(EventsCommand::Flush) = args.command {
        let outbox = Outbox::new(&odp_workspace::state_dir());
        let report = flush_outbox(&mut conn, &outbox).await;
        report_set_aside(&report, &outbox);
        let n = report.delivered;
        eprintln!(
            "delivered {n} event{} from {}{}",
            if n == 1 { "" } else { "s" },
            outbox.path().display(),
            match report.already_there {
                0 => String::new(),
                k => format!(" ({k} already in the stream, not added again)"),
            }
        );
        if let Some(e) = report.error {
            return Err(e.into());
        }
        return Ok(if report.quarantined.is_empty() {
            exit::OK
        } else {
            exit::SET_ASIDE
        });
    }
    let mut last_id = if args.from_start {
        "0-0".to_string()
    } else {
        "$".to_string()
    };
    loop {
        let reply: redis::Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(1000)
            .arg("COUNT")
            .arg(100)
            .arg("STREAMS")
            .arg(STREAM_KEY)
            .arg(&last_id)
            .query_async(&mut conn)
            .await
            .context("reading the event stream")?;
        for (entry_id, json) in stream_entries(&reply) {
            last_id = entry_id;
            let Ok(event) = serde_json::from_str::<Event>(&json) else {
                continue;
            };
            if args
                .run
                .as_deref()
                .is_some_and(|r| r != event.run_id.to_string())
            {
                continue;
            }
            println!("{json}");
            if args.run.is_some() && event.kind.is_final() {
                return Ok(exit::OK);
            }
        }
    }
}

/// Says on stderr which outbox lines a flush set aside, and where.
pub fn report_set_aside(report: &FlushReport, outbox: &Outbox) {
    for line in report.set_aside_lines(outbox) {
        eprintln!("{line}");
    }
}

/// `(entry id, event JSON)` pairs of an XREAD reply.
fn stream_entries(reply: &redis::Value) -> Vec<(String, String)> {
    use redis::Value as V;
    let text = |v: &V| match v {
        V::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        V::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    let streams: Vec<&V> = match reply {
        V::Array(items) => items.iter().collect(),
        V::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        _ => return out,
    };
    for stream in streams {
        // RESP2: [name, entries]; RESP3 map values: entries.
        let entries = match stream {
            V::Array(parts)
                if parts.len() == 2
                    && matches!(parts[1], V::Array(_))
                    && text(&parts[0]).is_some() =>
            {
                &parts[1]
            }
            other => other,
        };
        let V::Array(entries) = entries else { continue };
        for entry in entries {
            let V::Array(parts) = entry else { continue };
            let (Some(id), Some(V::Array(fields))) = (parts.first().and_then(text), parts.get(1))
            else {
                continue;
            };
            let mut json = None;
            for pair in fields.chunks(2) {
                if pair.len() == 2 && text(&pair[0]).as_deref() == Some("event") {
                    json = text(&pair[1]);
                }
            }
            if let Some(json) = json {
                out.push((id, json));
            }
        }
    }
    out
}
