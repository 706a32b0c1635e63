//! Amazon CloudWatch: the generated CloudFormation types, [`Metric`] (what the constructs' `metric_*` helpers
//! return), [`Alarm`] and [`Dashboard`].

mod generated;
mod metrics;

pub use generated::*;

use std::collections::BTreeMap;

use synth::{Handle, Node, Scope, Val};

use crate::error::{ConstructError, check_range};

/// How a metric's datapoints are aggregated over a period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    Sum,
    Average,
    Maximum,
    Minimum,
    SampleCount,
    /// A percentile, e.g. `Percentile(99.0)` for p99.
    Percentile(f64),
}

impl Stat {
    /// The statistic as CloudWatch writes it (`Sum`, `p99`).
    pub fn name(self) -> String {
        match self {
            Stat::Sum => "Sum".into(),
            Stat::Average => "Average".into(),
            Stat::Maximum => "Maximum".into(),
            Stat::Minimum => "Minimum".into(),
            Stat::SampleCount => "SampleCount".into(),
            Stat::Percentile(p) => {
                if p.fract() == 0.0 {
                    format!("p{}", p as i64)
                } else {
                    format!("p{p}")
                }
            }
        }
    }
}

/// A CloudWatch metric: namespace, name, dimensions, statistic and period.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, Val<String>)>,
    pub stat: Stat,
    /// Seconds per datapoint. Default (from [`Metric::new`]): 60, the finest period of standard metrics.
    pub period_seconds: u32,
    /// Label in dashboards. Default: the metric name.
    pub label: Option<String>,
}

impl Metric {
    /// A metric with statistic `Sum` over 60 s.
    pub fn new(namespace: &str, name: &str) -> Self {
        Metric {
            namespace: namespace.into(),
            name: name.into(),
            dimensions: Vec::new(),
            stat: Stat::Sum,
            period_seconds: 60,
            label: None,
        }
    }
    pub fn with_dimension(mut self, name: &str, value: Val<String>) -> Self {
        self.dimensions.push((name.into(), value));
        self
    }
    pub fn with_stat(mut self, stat: Stat) -> Self {
        self.stat = stat;
        self
    }
    pub fn with_period(mut self, seconds: u32) -> Self {
        self.period_seconds = seconds;
        self
    }
    pub fn with_label(mut self, label: &str) -> Self {
        self.label = Some(label.into());
        self
    }
}

/// Which side of the threshold alarms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Comparison {
    /// `>=`: the default, for counts of bad things (errors, throttles, messages in a dead-letter queue).
    #[default]
    GreaterThanOrEqual,
    GreaterThan,
    LessThan,
    LessThanOrEqual,
}

/// What a period without data means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingData {
    /// Not breaching: the default, because the metrics alarmed on (errors, throttles) are only emitted when
    /// something happens; no data means nothing went wrong.
    #[default]
    NotBreaching,
    Breaching,
    Ignore,
    Missing,
}

/// Optional settings of an [`Alarm`].
#[derive(Clone, Debug, Default)]
pub struct AlarmProps {
    /// Default: [`Comparison::GreaterThanOrEqual`].
    pub comparison: Comparison,
    /// Periods evaluated. Default: 1 (alarm on the first bad minute: what these alarms watch should never happen).
    pub evaluation_periods: Option<u32>,
    /// Breaching periods among them that alarm. Default: all of them.
    pub datapoints_to_alarm: Option<u32>,
    /// Default: [`MissingData::NotBreaching`].
    pub missing_data: MissingData,
    /// Default: none.
    pub description: Option<String>,
    /// ARNs notified on ALARM and OK (an SNS topic). Default: none (the alarm shows in the console only).
    pub actions: Vec<Val<String>>,
}

/// A CloudWatch alarm on one metric.
#[derive(Clone, Debug)]
pub struct Alarm {
    handle: Handle<CfnAlarm>,
}

impl Alarm {
    /// An alarm when `metric` crosses `threshold`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        metric: &Metric,
        threshold: f64,
        props: AlarmProps,
    ) -> Result<Alarm, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
        alarm_periods(&path, &props)?;
        let minutes = metric.period_seconds / 60 * 60 == metric.period_seconds;
        if !matches!(metric.period_seconds, 10 | 30) && !minutes || metric.period_seconds == 0 {
            return Err(ConstructError::Invalid {
                path,
                what: "metric period (s)",
                value: metric.period_seconds.to_string(),
                allowed: "10, 30 or a multiple of 60".into(),
            });
        }
        use cfn_alarm::Statistic as S;
        let (statistic, extended) = match metric.stat {
            Stat::Sum => (Some(S::Sum), None),
            Stat::Average => (Some(S::Average), None),
            Stat::Maximum => (Some(S::Maximum), None),
            Stat::Minimum => (Some(S::Minimum), None),
            Stat::SampleCount => (Some(S::SampleCount), None),
            Stat::Percentile(_) => (None, Some(metric.stat.name())),
        };
        let cfn = CfnAlarm {
            namespace: Some(metric.namespace.as_str().into()),
            metric_name: Some(metric.name.as_str().into()),
            dimensions: (!metric.dimensions.is_empty()).then(|| {
                Val::list(metric.dimensions.iter().map(|(n, v)| cfn_alarm::Dimension::new(n.as_str(), v.clone())))
            }),
            statistic: statistic.map(Val::from),
            extended_statistic: extended.map(Val::from),
            period: Some(metric.period_seconds.into()),
            ..settings(&path, threshold, &props)?
        };
        Ok(Alarm { handle: scope.add(id, cfn) })
    }

    /// An alarm when the metric math `expression` over `metrics` (each with the id the expression names it by)
    /// crosses `threshold`; every metric's period is the alarm's
    /// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create-alarm-on-metric-math-expression.html>).
    pub fn on_expression(
        scope: &mut Scope,
        id: &str,
        expression: &str,
        metrics: &[(&str, &Metric)],
        threshold: f64,
        props: AlarmProps,
    ) -> Result<Alarm, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        // A math alarm takes at most 10 metrics, each of the same period
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
        check_range(&path, "metrics of an expression", metrics.len() as i64, 1, 10)?;
        let period = metrics.first().map_or(60, |(_, m)| m.period_seconds);
        if let Some((_, m)) = metrics.iter().find(|(_, m)| m.period_seconds != period) {
            return Err(ConstructError::Conflict {
                path,
                problem: format!(
                    "metric {} has a period of {} s, the expression's first metric {period} s: one period for all",
                    m.name, m.period_seconds
                ),
            });
        }
        alarm_periods(&path, &props)?;
        let mut queries: Vec<cfn_alarm::MetricDataQuery> = metrics
            .iter()
            .map(|(mid, m)| {
                let mut q = cfn_alarm::MetricDataQuery::new(*mid);
                q.metric_stat = Some(
                    cfn_alarm::MetricStat::new(
                        cfn_alarm::Metric {
                            namespace: Some(m.namespace.as_str().into()),
                            metric_name: Some(m.name.as_str().into()),
                            dimensions: (!m.dimensions.is_empty()).then(|| {
                                Val::list(
                                    m.dimensions.iter().map(|(n, v)| cfn_alarm::Dimension::new(n.as_str(), v.clone())),
                                )
                            }),
                        },
                        m.period_seconds,
                        m.stat.name(),
                    )
                    .into(),
                );
                q.return_data = Some(false.into());
                q
            })
            .collect();
        let mut e = cfn_alarm::MetricDataQuery::new("e");
        e.expression = Some(expression.into());
        e.label = Some(id.into());
        e.return_data = Some(true.into());
        queries.push(e);
        let cfn = CfnAlarm { metrics: Some(Val::list(queries)), ..settings(&path, threshold, &props)? };
        Ok(Alarm { handle: scope.add(id, cfn) })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    pub fn handle(&self) -> &Handle<CfnAlarm> {
        &self.handle
    }
}

/// A dashboard widget.
#[derive(Clone, Debug)]
pub enum Widget {
    /// A time series of metrics.
    Graph { title: String, metrics: Vec<Metric> },
    /// The state of alarms.
    Alarms { title: String, alarms: Vec<Val<String>> },
    /// Markdown.
    Text { markdown: String },
}

/// A CloudWatch dashboard: widgets laid out left to right, two per row (12 of the 24 grid columns each).
#[derive(Clone, Debug)]
pub struct Dashboard {
    handle: Handle<CfnDashboard>,
}

impl Dashboard {
    pub fn new(scope: &mut Scope, id: &str, widgets: Vec<Widget>) -> Result<Dashboard, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
        check_range(&path, "number of widgets", widgets.len() as i64, 1, 500)?;
        let mut vars: BTreeMap<String, Val<String>> = BTreeMap::new();
        let mut var = |v: &Val<String>| -> String {
            if let Some(s) = v.node().as_str() {
                return s.to_owned();
            }
            if let Some((k, _)) = vars.iter().find(|(_, x)| *x == v) {
                return format!("${{{k}}}");
            }
            let k = format!("v{}", vars.len());
            vars.insert(k.clone(), v.clone());
            format!("${{{k}}}")
        };
        let mut body_widgets = Vec::new();
        for (i, w) in widgets.iter().enumerate() {
            let (x, y) = ((i % 2) * 12, (i / 2) * 6);
            let properties = match w {
                Widget::Graph { title, metrics } => {
                    let rows: Vec<serde_json::Value> = metrics
                        .iter()
                        .map(|m| {
                            let mut row = vec![serde_json::json!(m.namespace), serde_json::json!(m.name)];
                            for (n, v) in &m.dimensions {
                                row.push(serde_json::json!(n));
                                row.push(serde_json::json!(var(v)));
                            }
                            let mut opts = serde_json::json!({"stat": m.stat.name(), "period": m.period_seconds});
                            if let Some(l) = &m.label {
                                opts["label"] = serde_json::json!(l);
                            }
                            row.push(opts);
                            serde_json::Value::Array(row)
                        })
                        .collect();
                    serde_json::json!({"title": title, "view": "timeSeries", "region": "${AWS::Region}", "metrics": rows})
                }
                Widget::Alarms { title, alarms } => {
                    let arns: Vec<String> = alarms.iter().map(&mut var).collect();
                    serde_json::json!({"title": title, "alarms": arns})
                }
                Widget::Text { markdown } => serde_json::json!({"markdown": markdown}),
            };
            let kind = match w {
                Widget::Graph { .. } => "metric",
                Widget::Alarms { .. } => "alarm",
                Widget::Text { .. } => "text",
            };
            body_widgets.push(
                serde_json::json!({"type": kind, "x": x, "y": y, "width": 12, "height": 6, "properties": properties}),
            );
        }
        let body = serde_json::json!({"widgets": body_widgets}).to_string();
        let handle = scope.add(id, CfnDashboard::new(Val::sub_with(body, vars)));
        Ok(Dashboard { handle })
    }

    pub fn handle(&self) -> &Handle<CfnDashboard> {
        &self.handle
    }
}

/// Renders a metric as the `MetricStat` of a math query (for composite expressions); unused by the platform but
/// part of the module's surface for callers that need metric math.
pub fn metric_stat(m: &Metric) -> Node {
    synth::ToNode::to_node(&cfn_alarm::MetricStat::new(
        cfn_alarm::Metric {
            namespace: Some(m.namespace.as_str().into()),
            metric_name: Some(m.name.as_str().into()),
            dimensions: (!m.dimensions.is_empty())
                .then(|| Val::list(m.dimensions.iter().map(|(n, v)| cfn_alarm::Dimension::new(n.as_str(), v.clone())))),
        },
        m.period_seconds,
        m.stat.name(),
    ))
}

/// The evaluation periods and datapoints of `props`, checked against PutMetricAlarm's limits
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>).
fn alarm_periods(path: &str, props: &AlarmProps) -> Result<(u32, u32), ConstructError> {
    let periods = props.evaluation_periods.unwrap_or(1);
    check_range(path, "evaluation periods", periods.into(), 1, 100)?;
    let datapoints = props.datapoints_to_alarm.unwrap_or(periods);
    check_range(path, "datapoints to alarm", datapoints.into(), 1, periods.into())?;
    Ok((periods, datapoints))
}

/// What a metric alarm and a metric math alarm share: threshold, comparison, periods, missing data, description and
/// actions (alarm and OK).
fn settings(path: &str, threshold: f64, props: &AlarmProps) -> Result<CfnAlarm, ConstructError> {
    use cfn_alarm::{ComparisonOperator as C, TreatMissingData as M};
    let (periods, datapoints) = alarm_periods(path, props)?;
    let actions = (!props.actions.is_empty()).then(|| Val::list(props.actions.clone()));
    Ok(CfnAlarm {
        threshold: Some(Val::raw(synth::ToNode::to_node(&threshold))),
        comparison_operator: Some(
            match props.comparison {
                Comparison::GreaterThanOrEqual => C::GreaterThanOrEqualToThreshold,
                Comparison::GreaterThan => C::GreaterThanThreshold,
                Comparison::LessThan => C::LessThanThreshold,
                Comparison::LessThanOrEqual => C::LessThanOrEqualToThreshold,
            }
            .into(),
        ),
        evaluation_periods: Some(periods.into()),
        datapoints_to_alarm: Some(datapoints.into()),
        treat_missing_data: Some(
            match props.missing_data {
                MissingData::NotBreaching => M::NotBreaching,
                MissingData::Breaching => M::Breaching,
                MissingData::Ignore => M::Ignore,
                MissingData::Missing => M::Missing,
            }
            .into(),
        ),
        alarm_description: props.description.as_deref().map(Val::from),
        alarm_actions: actions.clone(),
        ok_actions: actions,
        ..CfnAlarm::new()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synth::{App, Stack, StackProps};

    use super::*;

    fn math_alarm(periods: (u32, u32)) -> Result<serde_json::Value, ConstructError> {
        let mut app = App::new("t");
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
        let mut root = stack.root();
        let a = Metric::new("AWS/Lambda", "Invocations").with_period(periods.0);
        let b = Metric::new("AWS/Lambda", "Duration").with_stat(Stat::Average).with_period(periods.1);
        Alarm::on_expression(&mut root, "Cost", "a * b", &[("a", &a), ("b", &b)], 1.5, AlarmProps::default())?;
        let assembly = app.synth().unwrap_or_else(|e| panic!("{e}"));
        Ok(serde_json::from_str(&assembly.stacks[0].template).unwrap())
    }

    #[test]
    fn an_expression_alarm_reads_its_metrics_and_returns_the_expression() {
        let t = math_alarm((86_400, 86_400)).unwrap();
        let p = &t["Resources"]["Cost"]["Properties"];
        let queries = p["Metrics"].as_array().unwrap();
        let ids: Vec<(&str, bool)> =
            queries.iter().map(|q| (q["Id"].as_str().unwrap(), q["ReturnData"].as_bool().unwrap())).collect();
        assert_eq!(ids, [("a", false), ("b", false), ("e", true)]);
        assert_eq!(queries[2]["Expression"], "a * b");
        assert_eq!(queries[1]["MetricStat"]["Stat"], "Average");
        assert_eq!(queries[1]["MetricStat"]["Period"], 86_400);
        assert_eq!(p["Threshold"], 1.5);
        assert!(p.get("MetricName").is_none() && p.get("Period").is_none());
    }

    #[test]
    fn an_expression_over_different_periods_is_refused() {
        let e = math_alarm((60, 86_400)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cost: metric Duration has a period of 86400 s, the expression's first metric 60 s: one period for all"
        );
    }
}
