//! Metric helpers on the constructs: the metrics the platform alarms on, named after what they mean.
//! Namespaces and dimensions: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/aws-services-cloudwatch-metrics.html>.

use super::{Metric, Stat};
use crate::dynamodb::Table;
use crate::lambda::Function;
use crate::sqs::Queue;

impl Function {
    fn metric(&self, name: &str) -> Metric {
        Metric::new("AWS/Lambda", name).with_dimension("FunctionName", self.name())
    }
    /// Invocations that ended in an error (Sum per minute).
    pub fn metric_errors(&self) -> Metric {
        self.metric("Errors")
    }
    /// Invocations refused for lack of concurrency (Sum per minute).
    pub fn metric_throttles(&self) -> Metric {
        self.metric("Throttles")
    }
    /// p99 duration in milliseconds.
    pub fn metric_duration_p99(&self) -> Metric {
        self.metric("Duration").with_stat(Stat::Percentile(99.0))
    }
    /// Age of the last record of a stream batch when it was processed, in milliseconds (Maximum): how far a
    /// stream consumer lags behind.
    pub fn metric_iterator_age(&self) -> Metric {
        self.metric("IteratorAge").with_stat(Stat::Maximum)
    }
    /// Invocations (Sum per minute).
    pub fn metric_invocations(&self) -> Metric {
        self.metric("Invocations")
    }
    /// Average duration in milliseconds.
    pub fn metric_duration_average(&self) -> Metric {
        self.metric("Duration").with_stat(Stat::Average)
    }
}

impl Queue {
    fn metric(&self, name: &str) -> Metric {
        Metric::new("AWS/SQS", name).with_dimension("QueueName", self.name())
    }
    /// Messages waiting (Maximum): on a dead-letter queue, anything above 0 is a failure to look at.
    pub fn metric_visible_messages(&self) -> Metric {
        self.metric("ApproximateNumberOfMessagesVisible").with_stat(Stat::Maximum)
    }
    /// Age of the oldest message in seconds (Maximum): a backlog that is not draining.
    pub fn metric_oldest_message_age(&self) -> Metric {
        self.metric("ApproximateAgeOfOldestMessage").with_stat(Stat::Maximum)
    }
}

impl Table {
    fn metric(&self, name: &str) -> Metric {
        Metric::new("AWS/DynamoDB", name).with_dimension("TableName", self.name())
    }
    /// Read requests throttled (Sum per minute).
    pub fn metric_read_throttles(&self) -> Metric {
        self.metric("ReadThrottleEvents")
    }
    /// Write requests throttled (Sum per minute).
    pub fn metric_write_throttles(&self) -> Metric {
        self.metric("WriteThrottleEvents")
    }
    /// Requests that failed inside DynamoDB (HTTP 500, Sum per minute).
    pub fn metric_system_errors(&self) -> Metric {
        self.metric("SystemErrors")
    }
}
