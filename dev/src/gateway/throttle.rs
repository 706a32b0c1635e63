//! Token buckets (stage, method and usage plan rate/burst) and usage plan quotas, as API Gateway counts them.
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html>

use super::model::{QuotaPeriod, Throttle};

/// A token bucket: `burst` tokens at most, refilled at `rate` per second; a request takes one.
#[derive(Debug, Clone)]
pub struct Bucket {
    limit: Throttle,
    tokens: f64,
    /// Milliseconds of the last refill.
    at_ms: u64,
}

impl Bucket {
    /// A full bucket.
    pub fn new(limit: Throttle, now_ms: u64) -> Bucket {
        Bucket { limit, tokens: limit.burst.max(1.0), at_ms: now_ms }
    }

    /// Takes a token if one is left.
    pub fn take(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.at_ms) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.limit.rate).min(self.limit.burst.max(1.0));
        self.at_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Requests counted in the current quota period.
#[derive(Debug, Clone, Default)]
pub struct QuotaCounter {
    period: u64,
    used: u64,
}

impl QuotaCounter {
    /// Counts one request; false when the period's `limit` is used up.
    pub fn take(&mut self, limit: u64, period: QuotaPeriod, now_ms: u64) -> bool {
        let current = period_index(period, now_ms);
        if current != self.period {
            self.period = current;
            self.used = 0;
        }
        if self.used >= limit {
            return false;
        }
        self.used += 1;
        true
    }
}

const DAY_MS: u64 = 86_400_000;

/// Which period `now_ms` falls in (UTC): days since the epoch, ISO weeks (Monday to Sunday), or calendar months.
pub fn period_index(period: QuotaPeriod, now_ms: u64) -> u64 {
    let days = now_ms / DAY_MS;
    match period {
        QuotaPeriod::Day => days,
        // 1970-01-01 was a Thursday: shift so that weeks start on Monday.
        QuotaPeriod::Week => (days + 3) / 7,
        QuotaPeriod::Month => {
            let (y, m, _) = civil_from_days(days as i64);
            (y as u64) * 12 + u64::from(m)
        }
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let mut b = Bucket::new(Throttle { rate: 2.0, burst: 3.0 }, 0);
        assert!((0..3).all(|_| b.take(0)));
        assert!(!b.take(0));
        assert!(!b.take(400));
        assert!(b.take(500), "one token after 0.5 s at 2/s");
        assert!(!b.take(500));
    }

    #[test]
    fn quota_resets_with_the_period() {
        let mut q = QuotaCounter::default();
        let t = 20_000 * DAY_MS;
        assert!(q.take(2, QuotaPeriod::Day, t));
        assert!(q.take(2, QuotaPeriod::Day, t + 1));
        assert!(!q.take(2, QuotaPeriod::Day, t + 2));
        assert!(q.take(2, QuotaPeriod::Day, t + DAY_MS));
    }

    #[test]
    fn periods_follow_the_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        // 2026-11-30 is a Monday: the week changes between Sunday 29 and Monday 30.
        let sunday = 20_786 * DAY_MS;
        assert_eq!(civil_from_days(20_787), (2026, 11, 30));
        assert_ne!(period_index(QuotaPeriod::Week, sunday), period_index(QuotaPeriod::Week, sunday + DAY_MS));
        assert_eq!(period_index(QuotaPeriod::Week, sunday), period_index(QuotaPeriod::Week, sunday - 6 * DAY_MS));
        // November 2026: days 20758 to 20787.
        assert_eq!(
            period_index(QuotaPeriod::Month, 20_787 * DAY_MS),
            period_index(QuotaPeriod::Month, 20_758 * DAY_MS)
        );
        assert_ne!(
            period_index(QuotaPeriod::Month, 20_787 * DAY_MS),
            period_index(QuotaPeriod::Month, 20_788 * DAY_MS)
        );
        assert_ne!(
            period_index(QuotaPeriod::Month, 20_758 * DAY_MS),
            period_index(QuotaPeriod::Month, 20_757 * DAY_MS)
        );
    }
}
