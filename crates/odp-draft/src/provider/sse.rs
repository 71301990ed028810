//! A minimal server-sent events reader: `event:` and `data:` lines, events separated by a blank line.
//!
//! Ours rather than `eventsource-stream` or `sse-stream`: both drop an event the stream ends in without its blank
//! line (`data: tail` at the end of the body, which [`Parser::finish`] still hands over, and the Anthropic provider
//! reads), and `sse-stream` fails on a line without a colon or with an unknown field, which this reader skips.

/// One event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    pub event: String,
    pub data: String,
}

/// Accumulates bytes and yields complete events.
#[derive(Default)]
pub(crate) struct Parser {
    buffer: String,
    pending: Vec<u8>,
}

impl Parser {
    /// Feeds bytes; returns the events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        // Keep an incomplete UTF-8 sequence for the next chunk.
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        self.buffer.push_str(&text.replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            if let Some(e) = parse_block(&block) {
                events.push(e);
            }
        }
        events
    }

    /// What is left when the stream ends (an event without its final blank line).
    pub fn finish(&mut self) -> Option<Event> {
        let block = std::mem::take(&mut self.buffer);
        parse_block(&block)
    }
}

fn parse_block(block: &str) -> Option<Event> {
    let mut event = Event::default();
    let mut data_lines: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event.event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data_lines.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    if data_lines.is_empty() && event.event.is_empty() {
        return None;
    }
    event.data = data_lines.join("\n");
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_across_chunks() {
        let mut p = Parser::default();
        assert!(p.push(b"event: a\ndata: {\"x\"").is_empty());
        let events = p.push(b": 1}\n\nevent: b\r\ndata: two\r\n\r\ndata: tail");
        assert_eq!(
            events,
            vec![
                Event {
                    event: "a".into(),
                    data: "{\"x\": 1}".into()
                },
                Event {
                    event: "b".into(),
                    data: "two".into()
                },
            ]
        );
        assert_eq!(
            p.finish(),
            Some(Event {
                event: String::new(),
                data: "tail".into()
            })
        );
        // A multi-byte character split between chunks survives.
        let mut p = Parser::default();
        let bytes = "data: ü\n\n".as_bytes();
        assert!(p.push(&bytes[..7]).is_empty());
        assert_eq!(p.push(&bytes[7..])[0].data, "ü");
    }
}
