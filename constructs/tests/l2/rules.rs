//! The rule pack: each rule finds what it is about, with its message, and nothing else.

use constructs::rules::{RuleId, all};
use serde_json::{Value, json};
use synth::{App, RawResource, Stack, StackProps};

/// The findings of the rule pack on one raw resource `Bad` of `type_name` with `properties`.
fn findings(type_name: &str, properties: Value) -> Vec<String> {
    let mut app = App::new("t");
    let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
    stack.root().add("Bad", RawResource::new(type_name, properties));
    match app.synth_with(&all()) {
        Ok(_) => Vec::new(),
        Err(e) => e.messages(),
    }
}

fn check(type_name: &str, properties: Value, rule: RuleId, message: &str) {
    let got = findings(type_name, properties);
    let want = format!("error: Main/Bad: {}: {message}", rule.as_str());
    assert!(got.contains(&want), "{type_name}: expected {want:?} among {got:#?}");
}

#[test]
fn ids_are_unique_and_cdk_nag_shaped() {
    let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len());
    for id in ids {
        assert!(id.starts_with("AwsSolutions-") || id.starts_with("Serverless-") || id.starts_with("Rcdk-"), "{id}");
    }
    assert!(all().iter().all(|r| !r.description().is_empty()));
}

#[test]
fn api_gateway_rules() {
    let stage = "AWS::ApiGateway::Stage";
    check(
        stage,
        json!({"RestApiId": "a", "StageName": "prod"}),
        RuleId::Apig1,
        "the stage writes no access logs (AccessLogSetting.DestinationArn)",
    );
    check(
        stage,
        json!({"RestApiId": "a", "StageName": "prod"}),
        RuleId::Apig3,
        "no WAFv2 web ACL is associated with the stage (AWS::WAFv2::WebACLAssociation)",
    );
    check(
        stage,
        json!({"RestApiId": "a"}),
        RuleId::Apig6,
        "the stage has no execution logging for /* * (MethodSettings LoggingLevel ERROR or INFO)",
    );
    check(stage, json!({"RestApiId": "a"}), RuleId::ApigwXray, "X-Ray tracing is off (TracingEnabled)");
    check(
        stage,
        json!({"RestApiId": "a"}),
        RuleId::ApigwDefaultThrottling,
        "the stage uses the account's default throttling (set ThrottlingRateLimit and ThrottlingBurstLimit for /* *)",
    );
    check(
        stage,
        json!({"RestApiId": "a", "AccessLogSetting": {"DestinationArn": "x", "Format": "$context.requestId"}}),
        RuleId::ApigwStructuredLogging,
        "the access log format is not a JSON object",
    );
    let method = "AWS::ApiGateway::Method";
    check(
        method,
        json!({"HttpMethod": "GET", "AuthorizationType": "NONE"}),
        RuleId::Apig4,
        "the method does not authorize callers (AuthorizationType NONE)",
    );
    check(
        method,
        json!({"HttpMethod": "GET"}),
        RuleId::Apig2,
        "the method has no request validator (RequestValidatorId)",
    );
    assert!(findings(method, json!({"HttpMethod": "OPTIONS"})).is_empty(), "CORS preflights need neither");
    check(
        "AWS::ApiGateway::DomainName",
        json!({"SecurityPolicy": "TLS_1_0"}),
        RuleId::ApigwDomainTls,
        "the domain accepts TLS 1.0 (SecurityPolicy TLS_1_2)",
    );
}

#[test]
fn cloudfront_rules() {
    let d = "AWS::CloudFront::Distribution";
    let config = json!({"DistributionConfig": {
        "ViewerCertificate": {"CloudFrontDefaultCertificate": true},
        "Origins": [
            {"Id": "a", "DomainName": "x", "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1", "TLSv1.2"]}},
            {"Id": "b", "DomainName": "y", "S3OriginConfig": {}}
        ]
    }});
    check(d, config.clone(), RuleId::Cfr2, "the distribution has no web ACL (WebACLId)");
    check(d, config.clone(), RuleId::Cfr3, "the distribution writes no access logs (Logging)");
    check(
        d,
        config.clone(),
        RuleId::Cfr4,
        "viewers may use TLS 1.0 or 1.1 (the default certificate, or MinimumProtocolVersion below TLSv1.2)",
    );
    check(d, config.clone(), RuleId::Cfr5, "an origin accepts SSLv3, TLSv1 or TLSv1.1 (OriginSSLProtocols)");
    check(d, config, RuleId::Cfr7, "an S3 origin has no origin access control (OriginAccessControlId)");
}

#[test]
fn data_rules() {
    check(
        "AWS::DynamoDB::Table",
        json!({"KeySchema": []}),
        RuleId::Ddb3,
        "point-in-time recovery is off (PointInTimeRecoverySpecification)",
    );
    check(
        "AWS::DynamoDB::Table",
        json!({"KeySchema": []}),
        RuleId::DdbCustomerKey,
        "the table is not encrypted with a customer managed key (SSESpecification.KMSMasterKeyId)",
    );
    check(
        "AWS::DynamoDB::GlobalTable",
        json!({"Replicas": [{"Region": "a"}]}),
        RuleId::Ddb3,
        "point-in-time recovery is off (PointInTimeRecoverySpecification)",
    );
    check("AWS::S3::Bucket", json!({}), RuleId::S1, "the bucket writes no server access logs (LoggingConfiguration)");
    check(
        "AWS::S3::Bucket",
        json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}),
        RuleId::S2,
        "public access is not fully blocked (PublicAccessBlockConfiguration)",
    );
    check(
        "AWS::S3::Bucket",
        json!({}),
        RuleId::S10,
        "no bucket policy denies requests without TLS (aws:SecureTransport)",
    );
    check("AWS::SQS::Queue", json!({}), RuleId::Sqs2, "the queue is not encrypted");
    check(
        "AWS::SQS::Queue",
        json!({}),
        RuleId::Sqs3,
        "the queue has no dead-letter queue (RedrivePolicy) and is not one",
    );
    check("AWS::SQS::Queue", json!({}), RuleId::Sqs4, "no queue policy denies requests without TLS");
    check("AWS::SNS::Topic", json!({}), RuleId::Sns2, "the topic is not encrypted (KmsMasterKeyId)");
    check("AWS::SNS::Topic", json!({}), RuleId::Sns3, "no topic policy denies requests without TLS");
    check("AWS::SecretsManager::Secret", json!({}), RuleId::Smg4, "the secret has no rotation schedule");
    check("AWS::KMS::Key", json!({}), RuleId::Kms5, "key rotation is off (EnableKeyRotation)");
    check("AWS::Logs::LogGroup", json!({}), RuleId::LogGroupRetention, "events are kept forever (RetentionInDays)");
    check(
        "AWS::ElastiCache::ServerlessCache",
        json!({"Engine": "redis"}),
        RuleId::CacheInVpc,
        "the cache uses the default VPC and security group",
    );
}

#[test]
fn compute_and_integration_rules() {
    let f = "AWS::Lambda::Function";
    let bare = json!({"Runtime": "nodejs16.x", "Role": "r", "Code": {}});
    check(f, bare.clone(), RuleId::L1, "runtime \"nodejs16.x\" is not the latest of its family");
    check(f, bare.clone(), RuleId::LambdaTracing, "X-Ray tracing is not active (TracingConfig.Mode)");
    check(f, bare.clone(), RuleId::LambdaDefaultMemorySize, "memory is the 128 MB default (MemorySize)");
    check(f, bare.clone(), RuleId::LambdaDefaultTimeout, "the timeout is the 3 s default (Timeout)");
    check(
        f,
        bare,
        RuleId::LambdaDlq,
        "no dead-letter queue or on-failure destination, and not declared synchronous (Metadata.rcdk:invocation)",
    );
    check(
        "AWS::Lambda::EventSourceMapping",
        json!({"FunctionName": "f", "StartingPosition": "LATEST"}),
        RuleId::LambdaEventSourceMappingDestination,
        "failed batches are dropped (DestinationConfig.OnFailure)",
    );
    check("AWS::StepFunctions::StateMachine", json!({"RoleArn": "r"}), RuleId::Sf1, "logging level is not ALL");
    check("AWS::StepFunctions::StateMachine", json!({"RoleArn": "r"}), RuleId::Sf2, "X-Ray tracing is off");
    check(
        "AWS::Events::Rule",
        json!({"Targets": [{"Arn": "a", "Id": "t"}]}),
        RuleId::EventBusDlq,
        "a target has no dead-letter queue (DeadLetterConfig.Arn)",
    );
    check(
        "AWS::Events::EventBus",
        json!({"Name": "b", "Policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents"}]}}),
        RuleId::Evb1,
        "the bus policy allows any principal without a condition",
    );
}

#[test]
fn iam_and_network_rules() {
    let role = |statement: Value| json!({"AssumeRolePolicyDocument": {}, "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]});
    check(
        "AWS::IAM::Role",
        role(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"})),
        RuleId::Iam5,
        "action \"s3:*\" is a wildcard",
    );
    check(
        "AWS::IAM::Role",
        role(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})),
        RuleId::Iam5,
        "action \"s3:GetObject\" on resource \"*\" has no reason in Metadata.rcdk:iam-wildcards",
    );
    check(
        "AWS::IAM::Role",
        json!({"AssumeRolePolicyDocument": {}, "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}),
        RuleId::Iam4,
        "the role uses an AWS managed policy (broader than any one function needs)",
    );
    check(
        "AWS::EC2::SecurityGroup",
        json!({"GroupDescription": "g", "SecurityGroupIngress": [{"IpProtocol": "tcp", "CidrIp": "0.0.0.0/0"}]}),
        RuleId::Ec23,
        "inbound traffic from 0.0.0.0/0 or ::/0 is allowed",
    );
    check(
        "AWS::EC2::SecurityGroup",
        json!({"GroupDescription": "g", "SecurityGroupIngress": [{"IpProtocol": "tcp", "CidrIp": "10.0.0.0/8"}]}),
        RuleId::Ec27,
        "a security group or rule has no description",
    );
    check(
        "AWS::EC2::VPC",
        json!({"CidrBlock": "10.0.0.0/16"}),
        RuleId::Vpc7,
        "the VPC has no flow log (AWS::EC2::FlowLog)",
    );
    let d = "AWS::OpenSearchService::Domain";
    let open =
        json!({"AccessPolicies": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*"}]}});
    check(d, open.clone(), RuleId::Os1, "the domain has a public endpoint (VPCOptions)");
    check(d, open.clone(), RuleId::Os2, "node-to-node encryption is off");
    check(d, open.clone(), RuleId::Os3, "the domain is neither in a VPC nor limited to source IPs");
    check(d, open.clone(), RuleId::Os4, "no dedicated master nodes (ClusterConfig.DedicatedMasterEnabled)");
    check(d, open.clone(), RuleId::Os5, "the access policy allows anyone without a condition");
    check(d, open.clone(), RuleId::Os7, "zone awareness is off (ClusterConfig.ZoneAwarenessEnabled)");
    check(d, open.clone(), RuleId::Os8, "encryption at rest is off");
    check(d, open.clone(), RuleId::Os9, "search and index slow logs are not published");
    check(d, open, RuleId::OpenSearchTls, "the domain accepts HTTP or TLS below 1.2 (DomainEndpointOptions)");
}

#[test]
fn suppressions_need_a_reason_and_must_be_used() {
    let mut app = App::new("t");
    let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
    let h = stack.root().add("Topic", RawResource::new("AWS::SNS::Topic", json!({"KmsMasterKeyId": "k"})));
    constructs::common::suppress(stack.entry_mut(&h), RuleId::Sns3, "the topic only receives from inside the account");
    constructs::common::suppress(stack.entry_mut(&h), RuleId::Sqs2, "not a queue");
    let e = app.synth_with(&all()).unwrap_err();
    assert_eq!(
        e.messages(),
        [
            "error: Main/Topic: suppression of AwsSolutions-SQS2 is unused: the rule finds nothing here; remove the suppression"
        ]
    );
}
