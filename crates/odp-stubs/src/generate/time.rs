//! Time without a clock: a fixed "now", and conversions between Unix seconds and RFC 3339 dates.

/// "Now" for every answer: 2025-06-02T12:00:00Z.
pub(crate) const NOW: i64 = days_from_civil(2025, 6, 2) * 86_400 + 12 * 3600;

const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds as RFC 3339 in UTC.
pub(crate) fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

pub(crate) fn date(secs: i64) -> String {
    rfc3339(secs)[..10].to_string()
}

/// Parses `YYYY-MM-DD` or an RFC 3339 date-time (fractions ignored, offsets applied) to Unix seconds.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let y = num(text.get(0..4)?)?;
    let m = num(text.get(5..7)?)?;
    let d = num(text.get(8..10)?)?;
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if text.len() >= 19 {
        secs +=
            num(text.get(11..13)?)? * 3600 + num(text.get(14..16)?)? * 60 + num(text.get(17..19)?)?;
        let rest = text[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
            let offset = num(rest.get(1..3)?)? * 3600 + num(rest.get(4..6)?)? * 60;
            secs -= if sign == '+' { offset } else { -offset };
        }
    }
    Some(secs)
}
