//! `certificatemanager::Certificate`.

use constructs::certificatemanager::Certificate;
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn certificate_is_dns_validated() {
    let t = template(|s| {
        Certificate::new(s, "Cert", "api.example.com", "Z0123456789ABC").unwrap();
    });
    let p = props(&t, "Cert");
    assert_eq!(p["ValidationMethod"], "DNS");
    assert_eq!(
        p["DomainValidationOptions"],
        json!([{"DomainName": "api.example.com", "HostedZoneId": "Z0123456789ABC"}])
    );
    assert_eq!(p["CertificateTransparencyLoggingPreference"], "ENABLED");
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let e = Certificate::new(&mut stack.root(), "Wild", "*.example.com", "Z1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Wild: invalid domain name \"*.example.com\": a host name of lowercase labels (a-z 0-9 -), no wildcard"
    );
}
