//! AWS Certificate Manager: the generated CloudFormation types and [`Certificate`], a public certificate validated
//! through DNS records that CloudFormation creates in the hosted zone.

mod generated;

pub use generated::*;

use synth::{Handle, Scope, Val};

use crate::error::ConstructError;

/// A DNS-validated public certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    handle: Handle<CfnCertificate>,
}

/// Checks that `domain` is a host name (lowercase labels of letters, digits and `-`, no wildcard: one
/// certificate per host, checkov `CKV2_AWS_71`).
pub(crate) fn check_domain(path: &str, domain: &str) -> Result<(), ConstructError> {
    let ok = domain.len() <= 253
        && domain.split('.').count() >= 2
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(ConstructError::Invalid {
            path: path.to_owned(),
            what: "domain name",
            value: domain.to_owned(),
            allowed: "a host name of lowercase labels (a-z 0-9 -), no wildcard".into(),
        })
    }
}

impl Certificate {
    /// A certificate for `domain`, validated with a DNS record in hosted zone `hosted_zone_id`. Certificate
    /// transparency logging stays on (browsers reject certificates that are not logged).
    pub fn new(scope: &mut Scope, id: &str, domain: &str, hosted_zone_id: &str) -> Result<Certificate, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        check_domain(&path, domain)?;
        if hosted_zone_id.is_empty() || !hosted_zone_id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(ConstructError::Invalid {
                path,
                what: "hosted zone id",
                value: hosted_zone_id.to_owned(),
                allowed: "the id of a Route 53 hosted zone (A-Z 0-9), such as Z0123456789ABCDEFGHIJ".into(),
            });
        }
        let handle = scope.add(
            "Resource",
            CfnCertificate {
                validation_method: Some("DNS".into()),
                domain_validation_options: Some(Val::list([cfn_certificate::DomainValidationOption {
                    domain_name: Some(domain.into()),
                    hosted_zone_id: Some(hosted_zone_id.into()),
                    ..Default::default()
                }])),
                certificate_transparency_logging_preference: Some(
                    cfn_certificate::CertificateTransparencyLoggingPreference::Enabled.into(),
                ),
                key_algorithm: Some("RSA_2048".into()),
                ..CfnCertificate::new(domain)
            },
        );
        Ok(Certificate { handle })
    }

    /// `Ref`: the certificate ARN.
    pub fn arn(&self) -> Val<String> {
        self.handle.ref_()
    }
}
