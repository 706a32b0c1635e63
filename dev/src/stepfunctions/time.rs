//! Timestamps as Step Functions writes and reads them (RFC 3339: `2026-01-02T03:04:05Z`, `...05.123+01:00`), and
//! the clock the interpreter runs on: real ([`SystemClock`]) or virtual ([`FakeClock`], where sleeping advances
//! time at once, so retries and waits are tested without waiting).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time and chance, as the interpreter sees them.
pub trait Clock: Sync {
    fn now(&self) -> SystemTime;
    /// Resolves after `d`. The interpreter races task calls against it (the task polled first), so a virtual
    /// clock may resolve at once.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
    /// Uniform in `[0, 1)`: the fraction of a retry's delay that `JitterStrategy: FULL` keeps.
    fn random(&self) -> f64;
}

/// The wall clock, tokio's timer and a random jitter.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
    fn random(&self) -> f64 {
        fastrand::f64()
    }
}

/// A virtual clock: `sleep` advances `now` by its duration when first polled and records it.
#[derive(Debug)]
pub struct FakeClock {
    now: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
    random: f64,
}

impl FakeClock {
    /// Starts at `start`; every jitter draw returns `random`.
    pub fn new(start: SystemTime, random: f64) -> Self {
        FakeClock { now: Mutex::new(start), slept: Mutex::new(Vec::new()), random }
    }
    /// Every sleep so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        self.now.lock().map(|n| *n).unwrap_or(UNIX_EPOCH)
    }
    async fn sleep(&self, d: Duration) {
        if let Ok(mut n) = self.now.lock() {
            *n += d;
        }
        if let Ok(mut s) = self.slept.lock() {
            s.push(d);
        }
    }
    fn random(&self) -> f64 {
        self.random
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the epoch of an RFC 3339 timestamp (`Z` or `±hh:mm`, optional fraction); `None` when
/// `s` is not one (Step Functions' `IsTimestamp` is this test).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) { t.parse().ok() } else { None }
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        millis = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
    }
    let offset = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && matches!(tz.as_bytes()[0], b'+' | b'-') && tz.as_bytes()[3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some(secs * 1000 + millis)
}

/// `t` as Step Functions writes it: UTC with milliseconds (`2026-01-02T03:04:05.678Z`).
pub fn format_rfc3339(t: SystemTime) -> String {
    let ms = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// Milliseconds since the epoch of `t`.
pub fn millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-01-02T03:04:05Z"), Some(1_767_323_045_000));
        assert_eq!(parse_rfc3339("2026-01-02T04:04:05.5+01:00"), Some(1_767_323_045_500));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00.123456Z"), Some(1_709_164_800_123));
        for bad in ["2026-01-02", "2026-13-02T03:04:05Z", "2026-01-02T03:04:05", "2026-01-02T03:04:05.Z", "x"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let t = UNIX_EPOCH + Duration::from_millis(1_767_323_045_678);
        assert_eq!(format_rfc3339(t), "2026-01-02T03:04:05.678Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(millis(t)));
    }

    #[tokio::test]
    async fn fake_clock_advances_only_when_sleeping() {
        let c = FakeClock::new(UNIX_EPOCH, 0.5);
        let unpolled = c.sleep(Duration::from_secs(100));
        drop(unpolled);
        c.sleep(Duration::from_secs(3)).await;
        assert_eq!(c.now(), UNIX_EPOCH + Duration::from_secs(3));
        assert_eq!(c.slept(), [Duration::from_secs(3)]);
        assert_eq!(c.random(), 0.5);
    }

    #[tokio::test]
    async fn system_clock_sleeps_on_tokio() {
        let before = std::time::Instant::now();
        SystemClock.sleep(Duration::from_millis(5)).await;
        assert!(before.elapsed() >= Duration::from_millis(5));
        assert!((0.0..1.0).contains(&SystemClock.random()));
    }
}
