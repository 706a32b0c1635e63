//! Amazon CloudWatch: the generated CloudFormation types, [`Metric`] (what the constructs' `metric_*` helpers
//! return), [`Alarm`] and [`Dashboard`].

mod generated;
mod insights;
mod metrics;
pub mod slo;

pub use generated::*;
pub use insights::{ContributorFilter, ContributorRule};

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
    /// The percent of datapoints at or under a value (`PR(:1000)`): for latency, the share of requests that met
    /// a threshold in milliseconds
    /// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>).
    PercentileRank(u32),
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
            Stat::PercentileRank(upper) => format!("PR(:{upper})"),
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
    /// Above the upper edge of an anomaly detection band (the band is the threshold).
    GreaterThanUpperThreshold,
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
            Stat::Percentile(_) | Stat::PercentileRank(_) => (None, Some(metric.stat.name())),
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
        Alarm::on_expressions(scope, id, &[], expression, metrics, threshold, props)
    }

    /// [`Alarm::on_expression`] with intermediate expressions (id, expression) the final one names by id: a
    /// function of several expressions (`MAX([a, b])`) without repeating them.
    pub fn on_expressions(
        scope: &mut Scope,
        id: &str,
        steps: &[(&str, String)],
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
        for (step_id, step) in steps {
            let mut q = cfn_alarm::MetricDataQuery::new(*step_id);
            q.expression = Some(step.as_str().into());
            q.return_data = Some(false.into());
            queries.push(q);
        }
        let mut e = cfn_alarm::MetricDataQuery::new("e");
        e.expression = Some(expression.into());
        e.label = Some(id.into());
        e.return_data = Some(true.into());
        queries.push(e);
        let cfn = CfnAlarm { metrics: Some(Val::list(queries)), ..settings(&path, threshold, &props)? };
        Ok(Alarm { handle: scope.add(id, cfn) })
    }

    /// An alarm when `metric` rises above the upper edge of its anomaly detection band, `band_width` standard
    /// deviations wide (`ANOMALY_DETECTION_BAND(m, band_width)`, the band's id the alarm's `ThresholdMetricId`).
    /// CloudWatch trains the model from the metric's own history (two weeks to settle, hourly and weekly seasons):
    /// a threshold that follows the traffic, where a fixed one is either noisy at peak or blind at night
    /// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html>).
    pub fn on_anomaly(
        scope: &mut Scope,
        id: &str,
        metric: &Metric,
        band_width: f64,
        props: AlarmProps,
    ) -> Result<Alarm, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        if !(band_width > 0.0 && band_width <= 10.0) {
            return Err(ConstructError::Invalid {
                path,
                what: "anomaly band width (standard deviations)",
                value: band_width.to_string(),
                allowed: "above 0, at most 10".into(),
            });
        }
        let mut m = cfn_alarm::MetricDataQuery::new("m");
        m.metric_stat = Some(math_stat(metric).into());
        m.return_data = Some(true.into());
        let mut band = cfn_alarm::MetricDataQuery::new("band");
        band.expression = Some(format!("ANOMALY_DETECTION_BAND(m, {band_width})").as_str().into());
        band.label = Some(format!("{id} expected").as_str().into());
        band.return_data = Some(true.into());
        let props = AlarmProps { comparison: Comparison::GreaterThanUpperThreshold, ..props };
        let cfn = CfnAlarm {
            metrics: Some(Val::list([m, band])),
            threshold_metric_id: Some("band".into()),
            // The band is the threshold: a fixed one is not allowed beside it.
            threshold: None,
            ..settings(&path, 0.0, &props)?
        };
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

/// The rule of a [`CompositeAlarm`]: alarms combined with `AND` and `OR`
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html>).
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmRule {
    /// `ALARM("<arn>")`: the alarm is in state ALARM.
    Alarm(Val<String>),
    /// Every rule holds.
    All(Vec<AlarmRule>),
    /// Any rule holds.
    Any(Vec<AlarmRule>),
}

impl AlarmRule {
    /// `ALARM(a)` for each alarm.
    pub fn alarm(alarm: &Alarm) -> AlarmRule {
        AlarmRule::Alarm(alarm.arn())
    }

    /// The rule as text with `${vN}` for each ARN, and the ARNs by variable.
    fn render(&self, vars: &mut Vec<Val<String>>) -> String {
        let join = |rules: &[AlarmRule], op: &str, vars: &mut Vec<Val<String>>| {
            let parts: Vec<String> = rules.iter().map(|r| r.render(vars)).collect();
            if parts.len() == 1 { parts.join("") } else { format!("({})", parts.join(op)) }
        };
        match self {
            AlarmRule::Alarm(arn) => {
                let i = vars.iter().position(|v| v == arn).unwrap_or_else(|| {
                    vars.push(arn.clone());
                    vars.len() - 1
                });
                format!("ALARM(\"${{v{i}}}\")")
            }
            AlarmRule::All(rules) => join(rules, " AND ", vars),
            AlarmRule::Any(rules) => join(rules, " OR ", vars),
        }
    }

    fn alarms(&self) -> usize {
        match self {
            AlarmRule::Alarm(_) => 1,
            AlarmRule::All(r) | AlarmRule::Any(r) => r.iter().map(AlarmRule::alarms).sum(),
        }
    }
}

/// A composite alarm: in ALARM while its rule holds. The one alarm of a group that acts: its children keep their
/// states (the composite's reason names them) and notify nothing, so one incident pages once.
#[derive(Clone, Debug)]
pub struct CompositeAlarm {
    handle: Handle<CfnCompositeAlarm>,
}

impl CompositeAlarm {
    /// A composite alarm at `<scope>/<id>` on `rule`, notifying `actions` on ALARM and OK.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        rule: &AlarmRule,
        description: &str,
        actions: Vec<Val<String>>,
    ) -> Result<CompositeAlarm, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        // An alarm rule names at most 100 alarms and is at most 10240 characters
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html).
        check_range(&path, "alarms in a composite rule", rule.alarms() as i64, 1, 100)?;
        let mut vars = Vec::new();
        let text = rule.render(&mut vars);
        let vars: BTreeMap<String, Val<String>> =
            vars.into_iter().enumerate().map(|(i, v)| (format!("v{i}"), v)).collect();
        let actions = (!actions.is_empty()).then(|| Val::list(actions));
        let cfn = CfnCompositeAlarm {
            alarm_description: Some(description.into()),
            alarm_actions: actions.clone(),
            ok_actions: actions,
            ..CfnCompositeAlarm::new(Val::sub_with(text, vars))
        };
        Ok(CompositeAlarm { handle: scope.add(id, cfn) })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    pub fn handle(&self) -> &Handle<CfnCompositeAlarm> {
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
    /// Metric math: each series an expression over metrics named by the ids it uses (ids are per series: the
    /// widget renames them apart), with horizontal lines at `annotations` (label, value).
    Expression { title: String, series: Vec<Series>, annotations: Vec<(String, f64)> },
    /// The top contributors of a Contributor Insights rule (by rule name): who sends the most.
    Contributors { title: String, rule_name: Val<String> },
}

/// One line of a [`Widget::Expression`]: `expression` over `metrics` (id, metric).
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub expression: String,
    pub metrics: Vec<(String, Metric)>,
}

/// `expression` with every identifier token in `ids` prefixed with `prefix`.
fn rename_ids(expression: &str, ids: &[&str], prefix: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if ids.contains(&token.as_str()) {
            out.push_str(prefix);
        }
        out.push_str(token);
        token.clear();
    };
    for c in expression.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || (c == '.' && token.chars().all(|t| t.is_ascii_digit())) {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
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
                Widget::Expression { title, series, annotations } => {
                    let mut rows: Vec<serde_json::Value> = Vec::new();
                    for (n, s) in series.iter().enumerate() {
                        let prefix = format!("s{n}_");
                        let ids: Vec<&str> = s.metrics.iter().map(|(id, _)| id.as_str()).collect();
                        rows.push(serde_json::json!([{
                            "expression": rename_ids(&s.expression, &ids, &prefix),
                            "label": s.label,
                            "id": format!("e{n}"),
                        }]));
                        for (id, m) in &s.metrics {
                            let mut row = vec![serde_json::json!(m.namespace), serde_json::json!(m.name)];
                            for (dn, v) in &m.dimensions {
                                row.push(serde_json::json!(dn));
                                row.push(serde_json::json!(var(v)));
                            }
                            row.push(serde_json::json!({
                                "id": format!("{prefix}{id}"), "visible": false, "stat": m.stat.name(), "period": m.period_seconds,
                            }));
                            rows.push(serde_json::Value::Array(row));
                        }
                    }
                    let lines: Vec<serde_json::Value> =
                        annotations.iter().map(|(l, v)| serde_json::json!({"label": l, "value": v})).collect();
                    serde_json::json!({
                        "title": title, "view": "timeSeries", "region": "${AWS::Region}", "metrics": rows,
                        "annotations": {"horizontal": lines},
                    })
                }
                Widget::Contributors { title, rule_name } => serde_json::json!({
                    "title": title, "view": "timeSeries", "region": "${AWS::Region}", "period": 300, "stacked": false,
                    "insightRule": {"maxContributorCount": 10, "orderBy": "Sum", "ruleName": var(rule_name)},
                    "legend": {"position": "right"},
                }),
            };
            let kind = match w {
                Widget::Graph { .. } | Widget::Expression { .. } | Widget::Contributors { .. } => "metric",
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

/// A metric as the `MetricStat` of a math query.
fn math_stat(m: &Metric) -> cfn_alarm::MetricStat {
    cfn_alarm::MetricStat::new(
        cfn_alarm::Metric {
            namespace: Some(m.namespace.as_str().into()),
            metric_name: Some(m.name.as_str().into()),
            dimensions: (!m.dimensions.is_empty())
                .then(|| Val::list(m.dimensions.iter().map(|(n, v)| cfn_alarm::Dimension::new(n.as_str(), v.clone())))),
        },
        m.period_seconds,
        m.stat.name(),
    )
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
                Comparison::GreaterThanUpperThreshold => C::GreaterThanUpperThreshold,
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

    #[test]
    fn a_composite_pages_once_for_its_children_and_names_each_alarm_once() {
        let mut app = App::new("t");
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
        let mut root = stack.root();
        let m = Metric::new("AWS/ApiGateway", "5XXError");
        let quiet = || AlarmProps::default();
        let a = Alarm::new(&mut root, "A", &m, 1.0, quiet()).unwrap();
        let b = Alarm::new(&mut root, "B", &m, 2.0, quiet()).unwrap();
        let c = Alarm::on_anomaly(&mut root, "C", &m, 2.0, quiet()).unwrap();
        let rule = AlarmRule::Any(vec![
            AlarmRule::All(vec![AlarmRule::alarm(&a), AlarmRule::alarm(&b)]),
            AlarmRule::alarm(&c),
            AlarmRule::alarm(&a),
        ]);
        CompositeAlarm::new(&mut root, "Page", &rule, "why", vec![Val::from("arn:topic")]).unwrap();
        let e =
            CompositeAlarm::new(&mut root, "Empty", &AlarmRule::Any(vec![]), "why", vec![]).map(|_| ()).unwrap_err();
        assert_eq!(e.to_string(), "Empty: alarms in a composite rule 0 is out of range: allowed 1 to 100");
        let assembly = app.synth().unwrap_or_else(|e| panic!("{e}"));
        let t: serde_json::Value = serde_json::from_str(&assembly.stacks[0].template).unwrap();
        let page = &t["Resources"]["Page"]["Properties"];
        assert_eq!(
            page["AlarmRule"]["Fn::Sub"][0],
            "((ALARM(\"${v0}\") AND ALARM(\"${v1}\")) OR ALARM(\"${v2}\") OR ALARM(\"${v0}\"))"
        );
        assert_eq!(page["AlarmRule"]["Fn::Sub"][1]["v2"], serde_json::json!({"Fn::GetAtt": ["C", "Arn"]}));
        assert_eq!(page["AlarmActions"], serde_json::json!(["arn:topic"]));
        assert_eq!(page["OKActions"], serde_json::json!(["arn:topic"]));
        for child in ["A", "B", "C"] {
            assert!(t["Resources"][child]["Properties"].get("AlarmActions").is_none(), "{child} notifies nothing");
        }
        let anomaly = &t["Resources"]["C"]["Properties"];
        assert_eq!(anomaly["ThresholdMetricId"], "band");
        assert_eq!(anomaly["ComparisonOperator"], "GreaterThanUpperThreshold");
        assert_eq!(anomaly["Metrics"][1]["Expression"], "ANOMALY_DETECTION_BAND(m, 2)");
        assert!(anomaly.get("Threshold").is_none());
    }

    #[test]
    fn widget_series_get_ids_of_their_own() {
        assert_eq!(
            rename_ids("IF(total > 0, bad / total, 0) / 0.001", &["bad", "total"], "s1_"),
            "IF(s1_total > 0, s1_bad / s1_total, 0) / 0.001"
        );
        assert_eq!(rename_ids("(100 - fast) / 100", &["fast"], "s0_"), "(100 - s0_fast) / 100");
    }
}
