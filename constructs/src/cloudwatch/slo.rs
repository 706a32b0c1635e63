//! Service level objectives as alarms: the error budget of an objective, and multi-window, multi-burn-rate alerting
//! (the Google SRE workbook, "Alerting on SLOs", <https://sre.google/workbook/alerting-on-slos/>, its sixth
//! iteration): an alarm per window, and a condition that needs the long window *and* the short one, so a page starts
//! when the budget is burning fast and stops soon after the burning does.

use super::{Metric, Stat};

/// The period an objective is measured over: 30 days, the workbook's (its burn rates are fractions of it).
pub const SLO_PERIOD_HOURS: f64 = 30.0 * 24.0;

/// One alerting condition: the budget burns at `burn_rate` times the sustainable rate over the long window, and
/// still does over the short one (a twelfth of the long, the workbook's ratio).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnWindow {
    /// `Fast`, `Slow`: what the alarms' logical ids say.
    pub name: &'static str,
    /// Seconds: the long window, also the period of its alarm (one datapoint covers the window).
    pub long_seconds: u32,
    /// Seconds: the short window.
    pub short_seconds: u32,
    /// Multiple of the rate that spends the whole budget in exactly [`SLO_PERIOD_HOURS`].
    pub burn_rate: f64,
}

impl BurnWindow {
    /// The share of the whole period's budget spent when the condition holds for the whole long window:
    /// `burn_rate * long window / period` (14.4 over 1 h: 2 %; 6 over 6 h: 5 %).
    pub fn budget_spent(&self) -> f64 {
        self.burn_rate * f64::from(self.long_seconds) / 3600.0 / SLO_PERIOD_HOURS
    }
}

/// The workbook's two paging conditions: 2 % of a 30-day budget in an hour (14.4×, 1 h and 5 min), 5 % in six hours
/// (6×, 6 h and 30 min). Its third (1× over 3 days) is a ticket, not a page, and a 3-day period is beyond what one
/// alarm datapoint may span (a day, PutMetricAlarm): left out.
pub const PAGE_WINDOWS: [BurnWindow; 2] = [
    BurnWindow { name: "Fast", long_seconds: 3600, short_seconds: 300, burn_rate: 14.4 },
    BurnWindow { name: "Slow", long_seconds: 21_600, short_seconds: 1800, burn_rate: 6.0 },
];

/// The error budget of an objective given in percent: the fraction of events allowed to be bad (99.9 → 0.001).
/// Rounded to 12 significant decimals so that `100 - 99.9` prints as `0.001` in a template.
pub fn error_budget(objective_percent: f64) -> f64 {
    round((100.0 - objective_percent) / 100.0)
}

fn round(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

/// The indicator an objective is about, as metric math over two metrics of one period: what
/// [`burn_rate_expression`] divides by the budget.
#[derive(Clone, Debug, PartialEq)]
pub enum Indicator {
    /// Bad events over all events: `bad / total` (e.g. 5XXError and Count, both Sum).
    Ratio { bad: Metric, total: Metric },
    /// Events slower than `threshold_ms`: `(100 - PR(:threshold)) / 100` of the latency metric (its percentile
    /// rank, the percent of requests at or under the threshold) where `total` counts any.
    SlowerThan { latency: Metric, threshold_ms: u32, total: Metric },
}

impl Indicator {
    /// The metrics of the expression, by the ids it names them with, at period `seconds`.
    pub fn metrics(&self, seconds: u32) -> Vec<(&'static str, Metric)> {
        match self {
            Indicator::Ratio { bad, total } => {
                vec![
                    ("bad", bad.clone().with_stat(Stat::Sum).with_period(seconds)),
                    ("total", total.clone().with_stat(Stat::Sum).with_period(seconds)),
                ]
            }
            Indicator::SlowerThan { latency, threshold_ms, total } => vec![
                ("fast", latency.clone().with_stat(Stat::PercentileRank(*threshold_ms)).with_period(seconds)),
                ("total", total.clone().with_stat(Stat::Sum).with_period(seconds)),
            ],
        }
    }

    /// The fraction of bad events (0 to 1); 0 when nothing was requested, so an idle period never alarms.
    pub fn bad_fraction_expression(&self) -> String {
        match self {
            Indicator::Ratio { .. } => "IF(total > 0, bad / total, 0)".into(),
            Indicator::SlowerThan { .. } => "IF(total > 0, (100 - fast) / 100, 0)".into(),
        }
    }
}

/// The burn rate of `indicator` against `budget`: 1 spends the budget in exactly the objective's period, 14.4
/// spends 2 % of it an hour.
pub fn burn_rate_expression(indicator: &Indicator, budget: f64) -> String {
    format!("{} / {budget}", indicator.bad_fraction_expression())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_windows_spend_the_workbooks_shares_of_a_30_day_budget() {
        let spent: Vec<f64> = PAGE_WINDOWS.iter().map(|w| round(w.budget_spent())).collect();
        assert_eq!(spent, [0.02, 0.05]);
        for w in PAGE_WINDOWS {
            assert_eq!(w.long_seconds, w.short_seconds * 12, "{}: the short window is a twelfth of the long", w.name);
        }
    }

    #[test]
    fn error_budgets_are_exact_in_the_template() {
        assert_eq!(error_budget(99.9), 0.001);
        assert_eq!(error_budget(99.95), 0.0005);
        assert_eq!(error_budget(99.0), 0.01);
        assert_eq!(error_budget(99.99), 0.0001);
    }

    #[test]
    fn burn_rate_expressions_divide_the_bad_fraction_by_the_budget() {
        let m = |n: &str| Metric::new("AWS/ApiGateway", n);
        let ratio = Indicator::Ratio { bad: m("5XXError"), total: m("Count") };
        assert_eq!(burn_rate_expression(&ratio, 0.001), "IF(total > 0, bad / total, 0) / 0.001");
        let slow = Indicator::SlowerThan { latency: m("Latency"), threshold_ms: 800, total: m("Count") };
        assert_eq!(burn_rate_expression(&slow, 0.01), "IF(total > 0, (100 - fast) / 100, 0) / 0.01");
        let metrics = slow.metrics(3600);
        let stats: Vec<(&str, String, u32)> =
            metrics.iter().map(|(id, m)| (*id, m.stat.name(), m.period_seconds)).collect();
        assert_eq!(stats, [("fast", "PR(:800)".to_owned(), 3600), ("total", "Sum".to_owned(), 3600)]);
    }

    #[test]
    fn a_burn_rate_at_the_threshold_spends_what_the_window_promises() {
        // 1000 requests an hour, objective 99.9 %: 14.4 bad requests in the hour is exactly the fast threshold.
        let (bad, total, budget) = (14.4_f64, 1000.0_f64, error_budget(99.9));
        let burn = bad / total / budget;
        assert!((burn - PAGE_WINDOWS[0].burn_rate).abs() < 1e-9);
        // Held for the hour, that is 2 % of the month's budget (0.1 % of 720 000 requests = 720; 14.4 = 2 %).
        assert!((bad / (total * SLO_PERIOD_HOURS * budget) - 0.02).abs() < 1e-12);
    }
}
