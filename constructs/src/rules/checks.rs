//! The rules themselves: one unit struct per rule, each reading the rendered template.
//!
//! Where a rule needs another resource (a queue's policy, a VPC's flow log), it looks in the same template: a
//! reference to another stack is a `Fn::GetStackOutput` by then and cannot be followed, so such a rule only sees
//! what its stack holds. The platform keeps each resource's policies, logs and rotations in its own stack.

use synth::{Doc, DocResource, Node, Rule};

use super::RuleId;

/// Every rule of the pack, in id order.
pub fn all() -> Vec<&'static dyn Rule> {
    vec![
        &Apig1,
        &Apig2,
        &Apig3,
        &Apig4,
        &Apig6,
        &Cfr2,
        &Cfr3,
        &Cfr4,
        &Cfr5,
        &Cfr7,
        &Ddb3,
        &Ec23,
        &Ec27,
        &Vpc7,
        &Evb1,
        &Iam4,
        &Iam5,
        &Kms5,
        &L1,
        &Os1,
        &Os2,
        &Os3,
        &Os4,
        &Os5,
        &Os7,
        &Os8,
        &Os9,
        &S1,
        &S2,
        &S10,
        &Sf1,
        &Sf2,
        &Smg4,
        &Sns2,
        &Sns3,
        &Sqs2,
        &Sqs3,
        &Sqs4,
        &LambdaTracing,
        &LambdaDlq,
        &LambdaDefaultMemorySize,
        &LambdaDefaultTimeout,
        &LambdaEventSourceMappingDestination,
        &LambdaEventSourceSqsVisibilityTimeout,
        &LogGroupRetention,
        &ApigwStructuredLogging,
        &ApigwXray,
        &ApigwDefaultThrottling,
        &EventBusDlq,
        &DdbCustomerKey,
        &OpenSearchTls,
        &ApigwDomainTls,
        &CacheInVpc,
    ]
}

macro_rules! rule {
    ($name:ident, $id:expr, $desc:expr, [$($t:expr),*], |$doc:ident, $r:ident| $body:block) => {
        #[doc = $desc]
        struct $name;
        impl Rule for $name {
            fn id(&self) -> &'static str {
                $id.as_str()
            }
            fn description(&self) -> &'static str {
                $desc
            }
            fn applies_to(&self) -> &'static [&'static str] {
                &[$($t),*]
            }
            #[allow(unused_variables)]
            fn check(&self, $doc: &Doc, $r: &DocResource) -> Option<String> {
                $body
            }
        }
    };
}

/// The node at a dotted path below `n` (`"AccessLogSetting.DestinationArn"`).
fn at<'a>(n: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(n, |n, k| n.get(k))
}

fn prop<'a>(r: &'a DocResource, path: &str) -> Option<&'a Node> {
    at(&r.properties, path)
}

fn is_true(n: Option<&Node>) -> bool {
    matches!(n, Some(Node::Bool(true))) || matches!(n, Some(Node::Str(s)) if s == "true")
}

fn str_of(n: Option<&Node>) -> Option<&str> {
    n.and_then(Node::as_str)
}

fn items(n: Option<&Node>) -> Vec<&Node> {
    match n {
        Some(Node::List(l)) => l.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

fn missing(what: &str) -> Option<String> {
    Some(what.to_owned())
}

fn require(ok: bool, message: &str) -> Option<String> {
    if ok { None } else { missing(message) }
}

/// True when some resource of `type_name` has a property `key` that refers to `id`, and passes `also`.
fn referred_by(doc: &Doc, type_name: &str, key: &str, id: &str, also: impl Fn(&DocResource) -> bool) -> bool {
    doc.of_type(type_name).any(|o| prop(o, key).is_some_and(|n| n.refers_to(id)) && also(o))
}

/// True when a policy document denies requests without TLS (`aws:SecureTransport` false).
fn denies_insecure_transport(document: Option<&Node>) -> bool {
    items(document.and_then(|d| d.get("Statement"))).iter().any(|s| {
        str_of(s.get("Effect")) == Some("Deny")
            && s.get("Condition")
                .and_then(|c| c.get("Bool"))
                .and_then(|b| b.get("aws:SecureTransport"))
                .is_some_and(|v| matches!(v, Node::Bool(false)) || v.as_str() == Some("false"))
    })
}

// ---- API Gateway ----------------------------------------------------------------------------------------------

fn stage_all_methods(r: &DocResource) -> Option<&Node> {
    items(prop(r, "MethodSettings"))
        .into_iter()
        .find(|m| str_of(m.get("ResourcePath")) == Some("/*") && str_of(m.get("HttpMethod")) == Some("*"))
}

rule!(Apig1, RuleId::Apig1, "API Gateway stages write access logs", ["AWS::ApiGateway::Stage"], |doc, r| {
    require(
        prop(r, "AccessLogSetting.DestinationArn").is_some(),
        "the stage writes no access logs (AccessLogSetting.DestinationArn)",
    )
});

rule!(Apig2, RuleId::Apig2, "API Gateway methods validate requests", ["AWS::ApiGateway::Method"], |doc, r| {
    if str_of(prop(r, "HttpMethod")) == Some("OPTIONS") {
        return None;
    }
    require(prop(r, "RequestValidatorId").is_some(), "the method has no request validator (RequestValidatorId)")
});

rule!(
    Apig3,
    RuleId::Apig3,
    "API Gateway stages are protected by a WAFv2 web ACL",
    ["AWS::ApiGateway::Stage"],
    |doc, r| {
        let name = str_of(prop(r, "StageName")).unwrap_or_default();
        let api = prop(r, "RestApiId").map(|n| n.to_json().to_string()).unwrap_or_default();
        let associated = doc.of_type("AWS::WAFv2::WebACLAssociation").any(|a| {
            let arn = prop(a, "ResourceArn").map(|n| n.to_json().to_string()).unwrap_or_default();
            arn.contains(&format!("/stages/{name}")) && arn.contains(&api)
        });
        require(associated, "no WAFv2 web ACL is associated with the stage (AWS::WAFv2::WebACLAssociation)")
    }
);

rule!(Apig4, RuleId::Apig4, "API Gateway methods authorize callers", ["AWS::ApiGateway::Method"], |doc, r| {
    if str_of(prop(r, "HttpMethod")) == Some("OPTIONS") {
        return None;
    }
    match str_of(prop(r, "AuthorizationType")) {
        None | Some("NONE") => missing("the method does not authorize callers (AuthorizationType NONE)"),
        _ => None,
    }
});

rule!(
    Apig6,
    RuleId::Apig6,
    "API Gateway stages log execution errors of every method",
    ["AWS::ApiGateway::Stage"],
    |doc, r| {
        let level = stage_all_methods(r).and_then(|m| str_of(m.get("LoggingLevel")));
        require(
            matches!(level, Some("ERROR" | "INFO")),
            "the stage has no execution logging for /* * (MethodSettings LoggingLevel ERROR or INFO)",
        )
    }
);

rule!(
    ApigwStructuredLogging,
    RuleId::ApigwStructuredLogging,
    "API Gateway access logs are JSON",
    ["AWS::ApiGateway::Stage"],
    |doc, r| {
        let ok = str_of(prop(r, "AccessLogSetting.Format"))
            .is_some_and(|f| serde_json::from_str::<serde_json::Value>(f).is_ok_and(|v| v.is_object()));
        require(ok, "the access log format is not a JSON object")
    }
);

rule!(ApigwXray, RuleId::ApigwXray, "API Gateway stages trace with X-Ray", ["AWS::ApiGateway::Stage"], |doc, r| {
    require(is_true(prop(r, "TracingEnabled")), "X-Ray tracing is off (TracingEnabled)")
});

rule!(
    ApigwDefaultThrottling,
    RuleId::ApigwDefaultThrottling,
    "API Gateway stages set their own throttling",
    ["AWS::ApiGateway::Stage"],
    |doc, r| {
        let ok = stage_all_methods(r)
            .is_some_and(|m| m.get("ThrottlingRateLimit").is_some() && m.get("ThrottlingBurstLimit").is_some());
        require(
            ok,
            "the stage uses the account's default throttling (set ThrottlingRateLimit and ThrottlingBurstLimit for /* *)",
        )
    }
);

rule!(
    ApigwDomainTls,
    RuleId::ApigwDomainTls,
    "API Gateway custom domains require TLS 1.2",
    ["AWS::ApiGateway::DomainName"],
    |doc, r| {
        require(
            str_of(prop(r, "SecurityPolicy")).is_some_and(|p| p.starts_with("TLS_1_2") || p.contains("TLS13")),
            "the domain accepts TLS 1.0 (SecurityPolicy TLS_1_2)",
        )
    }
);

// ---- CloudFront -------------------------------------------------------------------------------------------------

rule!(
    Cfr2,
    RuleId::Cfr2,
    "CloudFront distributions are protected by a WAFv2 web ACL",
    ["AWS::CloudFront::Distribution"],
    |doc, r| {
        require(prop(r, "DistributionConfig.WebACLId").is_some(), "the distribution has no web ACL (WebACLId)")
    }
);

rule!(Cfr3, RuleId::Cfr3, "CloudFront distributions write access logs", ["AWS::CloudFront::Distribution"], |doc, r| {
    require(prop(r, "DistributionConfig.Logging.Bucket").is_some(), "the distribution writes no access logs (Logging)")
});

rule!(
    Cfr4,
    RuleId::Cfr4,
    "CloudFront viewers connect with TLS 1.2 or later",
    ["AWS::CloudFront::Distribution"],
    |doc, r| {
        let v = prop(r, "DistributionConfig.ViewerCertificate");
        let default_cert = v.is_none() || is_true(v.and_then(|v| v.get("CloudFrontDefaultCertificate")));
        let version = str_of(v.and_then(|v| v.get("MinimumProtocolVersion"))).unwrap_or("");
        require(
            !default_cert && version.starts_with("TLSv1.2"),
            "viewers may use TLS 1.0 or 1.1 (the default certificate, or MinimumProtocolVersion below TLSv1.2)",
        )
    }
);

rule!(
    Cfr5,
    RuleId::Cfr5,
    "CloudFront talks to origins with TLS 1.2 only",
    ["AWS::CloudFront::Distribution"],
    |doc, r| {
        for o in items(prop(r, "DistributionConfig.Origins")) {
            if let Some(c) = o.get("CustomOriginConfig") {
                let protocols = items(c.get("OriginSSLProtocols"));
                let weak = protocols.iter().any(|p| matches!(p.as_str(), Some("SSLv3" | "TLSv1" | "TLSv1.1")));
                if protocols.is_empty() || weak {
                    return missing("an origin accepts SSLv3, TLSv1 or TLSv1.1 (OriginSSLProtocols)");
                }
                if str_of(c.get("OriginProtocolPolicy")) != Some("https-only") {
                    return missing("an origin is reached over HTTP (OriginProtocolPolicy https-only)");
                }
            }
        }
        None
    }
);

rule!(
    Cfr7,
    RuleId::Cfr7,
    "CloudFront reads S3 origins through origin access control",
    ["AWS::CloudFront::Distribution"],
    |doc, r| {
        let bad = items(prop(r, "DistributionConfig.Origins"))
            .iter()
            .any(|o| o.get("S3OriginConfig").is_some() && o.get("OriginAccessControlId").is_none());
        require(!bad, "an S3 origin has no origin access control (OriginAccessControlId)")
    }
);

// ---- DynamoDB ---------------------------------------------------------------------------------------------------

rule!(
    Ddb3,
    RuleId::Ddb3,
    "DynamoDB tables have point-in-time recovery",
    ["AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"],
    |doc, r| {
        let ok = if r.type_name == "AWS::DynamoDB::Table" {
            is_true(prop(r, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"))
        } else {
            let replicas = items(prop(r, "Replicas"));
            !replicas.is_empty()
                && replicas
                    .iter()
                    .all(|x| is_true(at(x, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled")))
        };
        require(ok, "point-in-time recovery is off (PointInTimeRecoverySpecification)")
    }
);

rule!(
    DdbCustomerKey,
    RuleId::DdbCustomerKey,
    "DynamoDB tables are encrypted with a customer managed key",
    ["AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"],
    |doc, r| {
        let ok = if r.type_name == "AWS::DynamoDB::Table" {
            is_true(prop(r, "SSESpecification.SSEEnabled")) && prop(r, "SSESpecification.KMSMasterKeyId").is_some()
        } else {
            str_of(prop(r, "SSESpecification.SSEType")) == Some("KMS")
                && items(prop(r, "Replicas")).iter().all(|x| at(x, "SSESpecification.KMSMasterKeyId").is_some())
        };
        require(ok, "the table is not encrypted with a customer managed key (SSESpecification.KMSMasterKeyId)")
    }
);

// ---- EC2 --------------------------------------------------------------------------------------------------------

rule!(
    Ec23,
    RuleId::Ec23,
    "Security groups allow no inbound traffic from anywhere",
    ["AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"],
    |doc, r| {
        let open = |n: &Node| {
            matches!(str_of(n.get("CidrIp")), Some("0.0.0.0/0")) || matches!(str_of(n.get("CidrIpv6")), Some("::/0"))
        };
        let bad = if r.type_name == "AWS::EC2::SecurityGroup" {
            items(prop(r, "SecurityGroupIngress")).into_iter().any(open)
        } else {
            open(&r.properties)
        };
        require(!bad, "inbound traffic from 0.0.0.0/0 or ::/0 is allowed")
    }
);

rule!(
    Ec27,
    RuleId::Ec27,
    "Security groups and their rules have descriptions",
    ["AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"],
    |doc, r| {
        let ok = if r.type_name == "AWS::EC2::SecurityGroup" {
            prop(r, "GroupDescription").is_some()
                && items(prop(r, "SecurityGroupIngress"))
                    .iter()
                    .chain(items(prop(r, "SecurityGroupEgress")).iter())
                    .all(|x| x.get("Description").is_some())
        } else {
            prop(r, "Description").is_some()
        };
        require(ok, "a security group or rule has no description")
    }
);

rule!(Vpc7, RuleId::Vpc7, "VPCs have flow logs", ["AWS::EC2::VPC"], |doc, r| {
    require(
        referred_by(doc, "AWS::EC2::FlowLog", "ResourceId", &r.logical_id, |_| true),
        "the VPC has no flow log (AWS::EC2::FlowLog)",
    )
});

// ---- EventBridge ------------------------------------------------------------------------------------------------

fn open_statement(s: &Node) -> bool {
    let principal = s.get("Principal");
    let anyone = matches!(principal.and_then(Node::as_str), Some("*"))
        || principal.and_then(|p| p.get("AWS")).and_then(Node::as_str) == Some("*");
    str_of(s.get("Effect")) == Some("Allow") && anyone && s.get("Condition").is_none()
}

rule!(
    Evb1,
    RuleId::Evb1,
    "Event bus policies do not allow everyone",
    ["AWS::Events::EventBus", "AWS::Events::EventBusPolicy"],
    |doc, r| {
        let statements = if r.type_name == "AWS::Events::EventBus" {
            items(prop(r, "Policy").and_then(|p| p.get("Statement")))
        } else {
            let mut s = items(prop(r, "Statement"));
            if s.is_empty() {
                s = vec![&r.properties];
            }
            s
        };
        require(!statements.into_iter().any(open_statement), "the bus policy allows any principal without a condition")
    }
);

rule!(
    EventBusDlq,
    RuleId::EventBusDlq,
    "EventBridge rule targets have a dead-letter queue",
    ["AWS::Events::Rule"],
    |doc, r| {
        let bad = items(prop(r, "Targets")).iter().any(|t| at(t, "DeadLetterConfig.Arn").is_none());
        require(!bad, "a target has no dead-letter queue (DeadLetterConfig.Arn)")
    }
);

// ---- IAM --------------------------------------------------------------------------------------------------------

rule!(Iam4, RuleId::Iam4, "Roles use no AWS managed policies", ["AWS::IAM::Role"], |doc, r| {
    let managed =
        items(prop(r, "ManagedPolicyArns")).iter().any(|p| p.to_json().to_string().contains(":iam::aws:policy/"));
    require(!managed, "the role uses an AWS managed policy (broader than any one function needs)")
});

/// The reasons declared for `"*"` resources: actions covered.
fn wildcard_reasons(r: &DocResource) -> Vec<String> {
    items(r.metadata.get(crate::iam::WILDCARD_METADATA_KEY))
        .into_iter()
        .filter(|e| str_of(e.get("reason")).is_some_and(|s| !s.trim().is_empty()))
        .flat_map(|e| items(e.get("actions")).into_iter().filter_map(|a| a.as_str().map(str::to_owned)))
        .collect()
}

rule!(
    Iam5,
    RuleId::Iam5,
    "IAM policies use no wildcard without a declared reason",
    ["AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"],
    |doc, r| {
        let documents: Vec<&Node> = if r.type_name == "AWS::IAM::Role" {
            items(prop(r, "Policies")).iter().filter_map(|p| p.get("PolicyDocument")).collect()
        } else {
            prop(r, "PolicyDocument").into_iter().collect()
        };
        let reasons = wildcard_reasons(r);
        for d in documents {
            for s in items(d.get("Statement")) {
                if str_of(s.get("Effect")) != Some("Allow") {
                    continue;
                }
                let actions: Vec<&str> = items(s.get("Action")).iter().filter_map(|a| a.as_str()).collect();
                if let Some(a) = actions.iter().find(|a| a.contains('*')) {
                    return Some(format!("action {a:?} is a wildcard"));
                }
                let star = items(s.get("Resource")).iter().any(|x| x.as_str() == Some("*"));
                if star && let Some(a) = actions.iter().find(|a| !reasons.iter().any(|x| x == *a)) {
                    return Some(format!(
                        "action {a:?} on resource \"*\" has no reason in Metadata.{}",
                        crate::iam::WILDCARD_METADATA_KEY
                    ));
                }
            }
        }
        None
    }
);

// ---- KMS, Lambda, logs -----------------------------------------------------------------------------------------

rule!(Kms5, RuleId::Kms5, "KMS keys rotate", ["AWS::KMS::Key"], |doc, r| {
    let symmetric = str_of(prop(r, "KeySpec")).is_none_or(|s| s == "SYMMETRIC_DEFAULT");
    require(!symmetric || is_true(prop(r, "EnableKeyRotation")), "key rotation is off (EnableKeyRotation)")
});

/// The newest runtime of each family (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>).
const LATEST_RUNTIMES: &[&str] = &[
    "provided.al2023",
    "nodejs22.x",
    "nodejs24.x",
    "python3.13",
    "python3.14",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.4",
];

rule!(
    L1,
    RuleId::L1,
    "Lambda functions use the latest runtime of their family",
    ["AWS::Lambda::Function"],
    |doc, r| {
        match str_of(prop(r, "Runtime")) {
            Some(rt) if !LATEST_RUNTIMES.contains(&rt) => {
                Some(format!("runtime {rt:?} is not the latest of its family"))
            }
            _ => None,
        }
    }
);

rule!(
    LambdaTracing,
    RuleId::LambdaTracing,
    "Lambda functions trace with X-Ray",
    ["AWS::Lambda::Function"],
    |doc, r| {
        require(
            str_of(prop(r, "TracingConfig.Mode")) == Some("Active"),
            "X-Ray tracing is not active (TracingConfig.Mode)",
        )
    }
);

rule!(
    LambdaDefaultMemorySize,
    RuleId::LambdaDefaultMemorySize,
    "Lambda functions set their memory",
    ["AWS::Lambda::Function"],
    |doc, r| { require(prop(r, "MemorySize").is_some(), "memory is the 128 MB default (MemorySize)") }
);

rule!(
    LambdaDefaultTimeout,
    RuleId::LambdaDefaultTimeout,
    "Lambda functions set their timeout",
    ["AWS::Lambda::Function"],
    |doc, r| { require(prop(r, "Timeout").is_some(), "the timeout is the 3 s default (Timeout)") }
);

rule!(
    LambdaDlq,
    RuleId::LambdaDlq,
    "Lambda functions invoked asynchronously keep failed events",
    ["AWS::Lambda::Function"],
    |doc, r| {
        if prop(r, "DeadLetterConfig.TargetArn").is_some() {
            return None;
        }
        let destination = referred_by(doc, "AWS::Lambda::EventInvokeConfig", "FunctionName", &r.logical_id, |c| {
            prop(c, "DestinationConfig.OnFailure.Destination").is_some()
        });
        let declared = r.metadata.get(crate::lambda::INVOCATION_METADATA_KEY).is_some_and(|m| {
            str_of(m.get("type")) == Some("synchronous")
                && str_of(m.get("reason")).is_some_and(|s| !s.trim().is_empty())
        });
        require(
            destination || declared,
            "no dead-letter queue or on-failure destination, and not declared synchronous (Metadata.rcdk:invocation)",
        )
    }
);

rule!(
    LambdaEventSourceMappingDestination,
    RuleId::LambdaEventSourceMappingDestination,
    "Stream event sources send failed batches to a destination",
    ["AWS::Lambda::EventSourceMapping"],
    |doc, r| {
        // Stream sources (DynamoDB, Kinesis) have a starting position; queues keep failures in their own redrive.
        prop(r, "StartingPosition")?;
        require(
            prop(r, "DestinationConfig.OnFailure.Destination").is_some(),
            "failed batches are dropped (DestinationConfig.OnFailure)",
        )
    }
);

fn target_id(n: Option<&Node>) -> Option<&str> {
    match n? {
        Node::Fn(f) => match &**f {
            synth::Intrinsic::Ref(t) | synth::Intrinsic::GetAtt(t, _) => Some(&t.logical_id),
            _ => None,
        },
        _ => None,
    }
}

fn int(n: Option<&Node>) -> Option<i64> {
    match n? {
        Node::Int(i) => Some(*i),
        Node::Str(s) => s.parse().ok(),
        _ => None,
    }
}

rule!(
    LambdaEventSourceSqsVisibilityTimeout,
    RuleId::LambdaEventSourceSqsVisibilityTimeout,
    "SQS queues hide messages for at least 6 x the consumer's timeout",
    ["AWS::Lambda::EventSourceMapping"],
    |doc, r| {
        let queue = doc.resource(target_id(prop(r, "EventSourceArn"))?)?;
        if queue.type_name != "AWS::SQS::Queue" {
            return None;
        }
        let mut f = doc.resource(target_id(prop(r, "FunctionName"))?)?;
        if f.type_name == "AWS::Lambda::Alias" {
            f = doc.resource(target_id(prop(f, "FunctionName"))?)?;
        }
        let timeout = int(prop(f, "Timeout")).unwrap_or(3);
        let visibility = int(prop(queue, "VisibilityTimeout")).unwrap_or(30);
        if visibility < 6 * timeout {
            Some(format!(
                "queue {} hides messages for {visibility} s, less than 6 x the timeout {timeout} s of {}",
                queue.logical_id, f.logical_id
            ))
        } else {
            None
        }
    }
);

rule!(
    LogGroupRetention,
    RuleId::LogGroupRetention,
    "Log groups have a retention period",
    ["AWS::Logs::LogGroup"],
    |doc, r| { require(prop(r, "RetentionInDays").is_some(), "events are kept forever (RetentionInDays)") }
);

// ---- OpenSearch -------------------------------------------------------------------------------------------------

const DOMAIN: &str = "AWS::OpenSearchService::Domain";

rule!(Os1, RuleId::Os1, "OpenSearch domains are in a VPC", [DOMAIN], |doc, r| {
    require(prop(r, "VPCOptions.SubnetIds").is_some(), "the domain has a public endpoint (VPCOptions)")
});
rule!(Os2, RuleId::Os2, "OpenSearch domains encrypt traffic between nodes", [DOMAIN], |doc, r| {
    require(is_true(prop(r, "NodeToNodeEncryptionOptions.Enabled")), "node-to-node encryption is off")
});
rule!(Os3, RuleId::Os3, "OpenSearch domains are reachable only from known networks", [DOMAIN], |doc, r| {
    let ip = prop(r, "AccessPolicies").is_some_and(|p| p.to_json().to_string().contains("aws:SourceIp"));
    require(prop(r, "VPCOptions.SubnetIds").is_some() || ip, "the domain is neither in a VPC nor limited to source IPs")
});
rule!(Os4, RuleId::Os4, "OpenSearch domains have dedicated master nodes", [DOMAIN], |doc, r| {
    require(
        is_true(prop(r, "ClusterConfig.DedicatedMasterEnabled")),
        "no dedicated master nodes (ClusterConfig.DedicatedMasterEnabled)",
    )
});
rule!(Os5, RuleId::Os5, "OpenSearch domains allow no anonymous access", [DOMAIN], |doc, r| {
    let open = items(prop(r, "AccessPolicies.Statement")).into_iter().any(open_statement);
    require(!open, "the access policy allows anyone without a condition")
});
rule!(Os7, RuleId::Os7, "OpenSearch domains spread over zones", [DOMAIN], |doc, r| {
    require(
        is_true(prop(r, "ClusterConfig.ZoneAwarenessEnabled")),
        "zone awareness is off (ClusterConfig.ZoneAwarenessEnabled)",
    )
});
rule!(Os8, RuleId::Os8, "OpenSearch domains encrypt data at rest", [DOMAIN], |doc, r| {
    require(is_true(prop(r, "EncryptionAtRestOptions.Enabled")), "encryption at rest is off")
});
rule!(Os9, RuleId::Os9, "OpenSearch domains publish slow logs", [DOMAIN], |doc, r| {
    let on = |k: &str| is_true(prop(r, "LogPublishingOptions").and_then(|l| l.get(k)).and_then(|o| o.get("Enabled")));
    require(on("SEARCH_SLOW_LOGS") && on("INDEX_SLOW_LOGS"), "search and index slow logs are not published")
});
rule!(OpenSearchTls, RuleId::OpenSearchTls, "OpenSearch domains require HTTPS with TLS 1.2", [DOMAIN], |doc, r| {
    let https = is_true(prop(r, "DomainEndpointOptions.EnforceHTTPS"));
    let tls = str_of(prop(r, "DomainEndpointOptions.TLSSecurityPolicy")).is_some_and(|p| p.contains("TLS-1-2"));
    require(https && tls, "the domain accepts HTTP or TLS below 1.2 (DomainEndpointOptions)")
});

// ---- S3, Step Functions, Secrets Manager, SNS, SQS, ElastiCache -------------------------------------------------

rule!(S1, RuleId::S1, "S3 buckets write server access logs", ["AWS::S3::Bucket"], |doc, r| {
    require(
        prop(r, "LoggingConfiguration.DestinationBucketName").is_some(),
        "the bucket writes no server access logs (LoggingConfiguration)",
    )
});
rule!(S2, RuleId::S2, "S3 buckets block public access", ["AWS::S3::Bucket"], |doc, r| {
    let all = ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"]
        .iter()
        .all(|k| is_true(prop(r, &format!("PublicAccessBlockConfiguration.{k}"))));
    require(all, "public access is not fully blocked (PublicAccessBlockConfiguration)")
});
rule!(S10, RuleId::S10, "S3 buckets deny requests without TLS", ["AWS::S3::Bucket"], |doc, r| {
    let ok = referred_by(doc, "AWS::S3::BucketPolicy", "Bucket", &r.logical_id, |p| {
        denies_insecure_transport(prop(p, "PolicyDocument"))
    });
    require(ok, "no bucket policy denies requests without TLS (aws:SecureTransport)")
});
rule!(Sf1, RuleId::Sf1, "State machines log every event", ["AWS::StepFunctions::StateMachine"], |doc, r| {
    require(str_of(prop(r, "LoggingConfiguration.Level")) == Some("ALL"), "logging level is not ALL")
});
rule!(Sf2, RuleId::Sf2, "State machines trace with X-Ray", ["AWS::StepFunctions::StateMachine"], |doc, r| {
    require(is_true(prop(r, "TracingConfiguration.Enabled")), "X-Ray tracing is off")
});
rule!(Smg4, RuleId::Smg4, "Secrets rotate", ["AWS::SecretsManager::Secret"], |doc, r| {
    require(
        referred_by(doc, "AWS::SecretsManager::RotationSchedule", "SecretId", &r.logical_id, |_| true),
        "the secret has no rotation schedule",
    )
});
rule!(Sns2, RuleId::Sns2, "SNS topics are encrypted", ["AWS::SNS::Topic"], |doc, r| {
    require(prop(r, "KmsMasterKeyId").is_some(), "the topic is not encrypted (KmsMasterKeyId)")
});
rule!(Sns3, RuleId::Sns3, "SNS topics deny publishing without TLS", ["AWS::SNS::Topic"], |doc, r| {
    let ok = referred_by(doc, "AWS::SNS::TopicPolicy", "Topics", &r.logical_id, |p| {
        denies_insecure_transport(prop(p, "PolicyDocument"))
    });
    require(ok, "no topic policy denies requests without TLS")
});
rule!(Sqs2, RuleId::Sqs2, "SQS queues are encrypted", ["AWS::SQS::Queue"], |doc, r| {
    require(
        prop(r, "KmsMasterKeyId").is_some() || is_true(prop(r, "SqsManagedSseEnabled")),
        "the queue is not encrypted",
    )
});
rule!(Sqs3, RuleId::Sqs3, "SQS queues have a dead-letter queue, or are one", ["AWS::SQS::Queue"], |doc, r| {
    if prop(r, "RedrivePolicy").is_some() {
        return None;
    }
    let id = &r.logical_id;
    let used = doc.resources.iter().any(|o| {
        let p = &o.properties;
        let refers = |path: &str| at(p, path).is_some_and(|n| n.refers_to(id));
        (o.type_name == "AWS::SQS::Queue" && refers("RedrivePolicy.deadLetterTargetArn"))
            || refers("DestinationConfig.OnFailure.Destination")
            || refers("DeadLetterConfig.TargetArn")
            || items(p.get("Targets")).iter().any(|t| at(t, "DeadLetterConfig.Arn").is_some_and(|n| n.refers_to(id)))
    });
    require(used, "the queue has no dead-letter queue (RedrivePolicy) and is not one")
});
rule!(Sqs4, RuleId::Sqs4, "SQS queues deny requests without TLS", ["AWS::SQS::Queue"], |doc, r| {
    let ok = referred_by(doc, "AWS::SQS::QueuePolicy", "Queues", &r.logical_id, |p| {
        denies_insecure_transport(prop(p, "PolicyDocument"))
    });
    require(ok, "no queue policy denies requests without TLS")
});
rule!(
    CacheInVpc,
    RuleId::CacheInVpc,
    "ElastiCache serverless caches are in chosen subnets behind a security group",
    ["AWS::ElastiCache::ServerlessCache"],
    |doc, r| {
        require(
            prop(r, "SubnetIds").is_some() && prop(r, "SecurityGroupIds").is_some(),
            "the cache uses the default VPC and security group",
        )
    }
);
