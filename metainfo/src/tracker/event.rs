//! The `event` of an announce, as both wire formats spell it.

/// What happened at the client, sent with an announce (HTTP `event=`, BEP 15 event code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Event {
    /// A regular re-announce (no or empty `event`; BEP 15 code 0).
    #[default]
    None,
    /// The download finished (code 1). Trackers count it toward `downloaded`.
    Completed,
    /// The client started the download (code 2).
    Started,
    /// The client is leaving (code 3): its record can be dropped at once.
    Stopped,
}

impl Event {
    /// The HTTP `event` value, or `None` for a regular announce (which sends no `event`).
    pub fn http_name(self) -> Option<&'static str> {
        match self {
            Event::None => None,
            Event::Completed => Some("completed"),
            Event::Started => Some("started"),
            Event::Stopped => Some("stopped"),
        }
    }

    /// Parse an HTTP `event` value. Empty, `empty` and `paused` (sent by some clients) are a
    /// regular announce; anything else unknown is `None`.
    pub fn from_http_name(value: &[u8]) -> Option<Event> {
        match value {
            b"" | b"empty" | b"paused" => Some(Event::None),
            b"started" => Some(Event::Started),
            b"completed" => Some(Event::Completed),
            b"stopped" => Some(Event::Stopped),
            _ => None,
        }
    }

    /// The BEP 15 event code.
    pub fn udp_code(self) -> u32 {
        match self {
            Event::None => 0,
            Event::Completed => 1,
            Event::Started => 2,
            Event::Stopped => 3,
        }
    }

    /// The event of a BEP 15 code, if it is one.
    pub fn from_udp_code(code: u32) -> Option<Event> {
        match code {
            0 => Some(Event::None),
            1 => Some(Event::Completed),
            2 => Some(Event::Started),
            3 => Some(Event::Stopped),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for e in [
            Event::None,
            Event::Completed,
            Event::Started,
            Event::Stopped,
        ] {
            assert_eq!(Event::from_udp_code(e.udp_code()), Some(e));
            let name = e.http_name().unwrap_or("");
            assert_eq!(Event::from_http_name(name.as_bytes()), Some(e));
        }
        assert_eq!(Event::from_udp_code(4), None);
        assert_eq!(Event::from_http_name(b"bogus"), None);
        assert_eq!(Event::from_http_name(b"paused"), Some(Event::None));
    }
}
