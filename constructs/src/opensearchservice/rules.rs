//! The rule pack's OpenSearch rules: cdk-nag `AwsSolutions-OS*` and HTTPS with TLS 1.2.

use crate::rules::{declare_rules, is_true, items, open_statement, prop, require, str_of};

const DOMAIN: &str = "AWS::OpenSearchService::Domain";

declare_rules! {
    Os1 {
        id: "AwsSolutions-OS1",
        description: "OpenSearch domains are in a VPC",
        applies_to: [DOMAIN],
        check: |_, r| require(
            prop(r, "VPCOptions.SubnetIds").is_some(),
            "the domain has a public endpoint (VPCOptions)",
        ),
    }
    Os2 {
        id: "AwsSolutions-OS2",
        description: "OpenSearch domains encrypt traffic between nodes",
        applies_to: [DOMAIN],
        check: |_, r| require(
            is_true(prop(r, "NodeToNodeEncryptionOptions.Enabled")),
            "node-to-node encryption is off",
        ),
    }
    Os3 {
        id: "AwsSolutions-OS3",
        description: "OpenSearch domains are reachable only from known networks",
        applies_to: [DOMAIN],
        check: |_, r| {
            let ip = prop(r, "AccessPolicies").is_some_and(|p| p.to_json().to_string().contains("aws:SourceIp"));
            require(
                prop(r, "VPCOptions.SubnetIds").is_some() || ip,
                "the domain is neither in a VPC nor limited to source IPs",
            )
        },
    }
    Os4 {
        id: "AwsSolutions-OS4",
        description: "OpenSearch domains have dedicated master nodes",
        applies_to: [DOMAIN],
        check: |_, r| require(
            is_true(prop(r, "ClusterConfig.DedicatedMasterEnabled")),
            "no dedicated master nodes (ClusterConfig.DedicatedMasterEnabled)",
        ),
    }
    Os5 {
        id: "AwsSolutions-OS5",
        description: "OpenSearch domains allow no anonymous access",
        applies_to: [DOMAIN],
        check: |_, r| {
            let open = items(prop(r, "AccessPolicies.Statement")).into_iter().any(open_statement);
            require(!open, "the access policy allows anyone without a condition")
        },
    }
    Os7 {
        id: "AwsSolutions-OS7",
        description: "OpenSearch domains spread over zones",
        applies_to: [DOMAIN],
        check: |_, r| require(
            is_true(prop(r, "ClusterConfig.ZoneAwarenessEnabled")),
            "zone awareness is off (ClusterConfig.ZoneAwarenessEnabled)",
        ),
    }
    Os8 {
        id: "AwsSolutions-OS8",
        description: "OpenSearch domains encrypt data at rest",
        applies_to: [DOMAIN],
        check: |_, r| require(is_true(prop(r, "EncryptionAtRestOptions.Enabled")), "encryption at rest is off"),
    }
    Os9 {
        id: "AwsSolutions-OS9",
        description: "OpenSearch domains publish slow logs",
        applies_to: [DOMAIN],
        check: |_, r| {
            let on = |k: &str| {
                is_true(prop(r, "LogPublishingOptions").and_then(|l| l.get(k)).and_then(|o| o.get("Enabled")))
            };
            require(on("SEARCH_SLOW_LOGS") && on("INDEX_SLOW_LOGS"), "search and index slow logs are not published")
        },
    }
    OpenSearchTls {
        id: "Rcdk-OS-TLS",
        description: "OpenSearch domains require HTTPS with TLS 1.2",
        applies_to: [DOMAIN],
        check: |_, r| {
            let https = is_true(prop(r, "DomainEndpointOptions.EnforceHTTPS"));
            let tls = str_of(prop(r, "DomainEndpointOptions.TLSSecurityPolicy")).is_some_and(|p| p.contains("TLS-1-2"));
            require(https && tls, "the domain accepts HTTP or TLS below 1.2 (DomainEndpointOptions)")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::DOMAIN;
    use crate::rules::testing::rule_tests;

    /// A domain open to anyone, with nothing the rules ask for.
    fn open() -> Value {
        json!({"AccessPolicies": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*"}]}})
    }

    /// A domain with everything the rules ask for.
    fn closed() -> Value {
        let logs = json!({"CloudWatchLogsLogGroupArn": "arn:logs", "Enabled": true});
        json!({
            "AccessPolicies": {"Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:role"}, "Action": "es:ESHttpGet"}
            ]},
            "VPCOptions": {"SubnetIds": ["a", "b"], "SecurityGroupIds": ["sg"]},
            "NodeToNodeEncryptionOptions": {"Enabled": true},
            "EncryptionAtRestOptions": {"Enabled": true},
            "ClusterConfig": {"DedicatedMasterEnabled": true, "ZoneAwarenessEnabled": true},
            "LogPublishingOptions": {"SEARCH_SLOW_LOGS": logs, "INDEX_SLOW_LOGS": logs},
            "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
        })
    }

    rule_tests! {
        os1_domains_are_in_a_vpc: Os1 {
            flags [("Bad", DOMAIN, open())] => "the domain has a public endpoint (VPCOptions)";
            passes [("Good", DOMAIN, closed())];
        }
        os2_nodes_encrypt_traffic: Os2 {
            flags [("Bad", DOMAIN, open())] => "node-to-node encryption is off";
            passes [("Good", DOMAIN, closed())];
        }
        os3_domains_are_reachable_from_known_networks_only: Os3 {
            flags [("Bad", DOMAIN, open())] => "the domain is neither in a VPC nor limited to source IPs";
            passes [("Good", DOMAIN, closed())];
            passes [("Good", DOMAIN, json!({"AccessPolicies": {"Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttpGet",
                "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}
            }]}}))];
        }
        os4_domains_have_dedicated_masters: Os4 {
            flags [("Bad", DOMAIN, open())] => "no dedicated master nodes (ClusterConfig.DedicatedMasterEnabled)";
            passes [("Good", DOMAIN, closed())];
        }
        os5_no_anonymous_access: Os5 {
            flags [("Bad", DOMAIN, open())] => "the access policy allows anyone without a condition";
            passes [("Good", DOMAIN, closed())];
        }
        os7_domains_spread_over_zones: Os7 {
            flags [("Bad", DOMAIN, open())] => "zone awareness is off (ClusterConfig.ZoneAwarenessEnabled)";
            passes [("Good", DOMAIN, closed())];
        }
        os8_data_is_encrypted_at_rest: Os8 {
            flags [("Bad", DOMAIN, open())] => "encryption at rest is off";
            passes [("Good", DOMAIN, closed())];
        }
        os9_slow_logs_are_published: Os9 {
            flags [("Bad", DOMAIN, open())] => "search and index slow logs are not published";
            passes [("Good", DOMAIN, closed())];
        }
        domains_require_tls_1_2: OpenSearchTls {
            flags [("Bad", DOMAIN, open())] => "the domain accepts HTTP or TLS below 1.2 (DomainEndpointOptions)";
            passes [("Good", DOMAIN, closed())];
        }
    }
}
