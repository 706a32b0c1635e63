//! `cloudwatch::Alarm`, `Dashboard`, the metric helpers, and the alarm topic.

use constructs::cloudwatch::{Alarm, AlarmProps, Dashboard, Metric, Stat, Widget};
use constructs::kms::{Key, KeyProps};
use constructs::lambda::{Function, FunctionProps};
use constructs::sns::Topic;
use constructs::sqs::{Queue, QueueProps};
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn alarms_on_construct_metrics_notify_an_encrypted_topic() {
    let t = template(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let topic = Topic::new(s, "Alarms", &key).unwrap();
        topic.allow_cloudwatch_alarms(s);
        let f = Function::new(s, "Worker", &asset(), FunctionProps::default()).unwrap();
        let q = Queue::new(s, "Jobs", QueueProps::default()).unwrap();
        let errors = Alarm::new(
            s,
            "WorkerErrors",
            &f.metric_errors(),
            1.0,
            AlarmProps { actions: vec![topic.arn()], ..AlarmProps::default() },
        )
        .unwrap();
        Alarm::new(
            s,
            "DlqDepth",
            &q.dead_letter_queue().unwrap().metric_visible_messages(),
            1.0,
            AlarmProps::default(),
        )
        .unwrap();
        Alarm::new(
            s,
            "WorkerP99",
            &f.metric_duration_p99(),
            5000.0,
            AlarmProps { evaluation_periods: Some(5), datapoints_to_alarm: Some(3), ..AlarmProps::default() },
        )
        .unwrap();
        Dashboard::new(
            s,
            "Dashboard",
            vec![
                Widget::Graph { title: "Worker".into(), metrics: vec![f.metric_errors(), f.metric_throttles()] },
                Widget::Alarms { title: "Alarms".into(), alarms: vec![errors.arn()] },
            ],
        )
        .unwrap();
    });
    let a = props(&t, "WorkerErrors");
    assert_eq!(a["Namespace"], "AWS/Lambda");
    assert_eq!(a["Dimensions"], json!([{"Name": "FunctionName", "Value": ref_("Worker")}]));
    assert_eq!(a["Statistic"], "Sum");
    assert_eq!(a["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(a["TreatMissingData"], "notBreaching");
    assert_eq!(a["AlarmActions"], json!([ref_("Alarms")]));
    assert_eq!(a["OKActions"], json!([ref_("Alarms")]));
    let d = props(&t, "DlqDepth");
    assert_eq!(d["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(
        d["Dimensions"][0]["Value"],
        json!({"Fn::Select": [5, {"Fn::Split": [":", get_att("JobsDlq", "Arn")]}]})
    );
    let p = props(&t, "WorkerP99");
    assert_eq!(p["ExtendedStatistic"], "p99");
    assert!(p.get("Statistic").is_none());
    assert_eq!(props(&t, "Alarms")["KmsMasterKeyId"], get_att("Key", "Arn"));
    let policy = &props(&t, "AlarmsPolicy")["PolicyDocument"]["Statement"];
    assert_eq!(policy[0]["Condition"], json!({"Bool": {"aws:SecureTransport": "false"}}));
    assert_eq!(policy[1]["Principal"], json!({"Service": "cloudwatch.amazonaws.com"}));
    let body = &props(&t, "Dashboard")["DashboardBody"]["Fn::Sub"];
    assert!(body[0].as_str().unwrap().contains("\"FunctionName\",\"${v0}\""), "{body}");
    assert_eq!(body[1]["v0"], ref_("Worker"));
}

#[test]
fn alarm_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let m = Metric::new("AWS/Lambda", "Errors").with_stat(Stat::Sum).with_period(45);
    assert_eq!(
        Alarm::new(&mut s, "A", &m, 1.0, AlarmProps::default()).unwrap_err().to_string(),
        "A: invalid metric period (s) \"45\": 10, 30 or a multiple of 60"
    );
    let m = Metric::new("AWS/Lambda", "Errors");
    let props = AlarmProps { evaluation_periods: Some(2), datapoints_to_alarm: Some(3), ..AlarmProps::default() };
    assert_eq!(
        Alarm::new(&mut s, "B", &m, 1.0, props).unwrap_err().to_string(),
        "B: datapoints to alarm 3 is out of range: allowed 1 to 2"
    );
}
