//! SDK clients per region, from `aws-config`'s standard chain (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! SSO, ...) with the workspace's one TLS stack (rustls with ring through `aws-smithy-http-client`), or pointed at
//! the local cloud with dummy credentials.

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    /// The account the credentials belong to (names the assets bucket).
    pub account: String,
}

impl Clients {
    /// Clients of `region` from a base configuration.
    pub fn from_config(base: &SdkConfig, region: &str, account: &str) -> Clients {
        let conf = base.to_builder().region(Region::new(region.to_owned())).build();
        // Path-style S3: the local cloud has no virtual-host DNS; AWS serves both.
        let s3 = aws_sdk_s3::config::Builder::from(&conf).force_path_style(conf.endpoint_url().is_some()).build();
        Clients {
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
            account: account.to_owned(),
        }
    }

    /// `rcdk-assets-<account>-<region>`: the bucket the templates name for assets (and large templates).
    pub fn assets_bucket(&self, region: &str) -> String {
        format!("rcdk-assets-{}-{region}", self.account)
    }

    /// The URL CloudFormation reads an uploaded template from: the virtual-hosted S3 form, also on the local
    /// cloud (moto reads the bucket and key from it in its own S3; an `http://127.0.0.1:...` URL it cannot parse).
    pub fn object_url(&self, bucket: &str, key: &str, region: &str) -> String {
        format!("https://{bucket}.s3.{region}.amazonaws.com/{key}")
    }
}

/// The base configuration: the standard chain, or the local cloud's endpoint with dummy credentials.
pub async fn base_config(local_endpoint: Option<&str>) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(endpoint) = local_endpoint {
        loader = loader.endpoint_url(endpoint).region(Region::new("us-east-1")).credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "rcdk-local",
        ));
    }
    loader.load().await
}

/// The account of the configured credentials (STS `GetCallerIdentity`).
pub async fn account(base: &SdkConfig) -> anyhow::Result<String> {
    let sts = aws_sdk_sts::Client::new(base);
    let who = sts.get_caller_identity().send().await.map_err(|e| {
        anyhow::anyhow!(
            "could not read the account of the credentials (sts GetCallerIdentity): {}",
            aws_sdk_sts::error::DisplayErrorContext(&e)
        )
    })?;
    who.account().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("sts GetCallerIdentity returned no account"))
}

/// Clients for every region.
pub fn clients(
    base: &SdkConfig,
    regions: impl IntoIterator<Item = String>,
    account: &str,
) -> BTreeMap<String, Clients> {
    regions.into_iter().map(|r| (r.clone(), Clients::from_config(base, &r, account))).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every region of a stage gets clients of its own: a stack in us-west-2 is deployed by us-west-2's.
    #[test]
    fn each_region_gets_its_own_clients() {
        let base =
            SdkConfig::builder().region(Region::new("us-east-1")).behavior_version(BehaviorVersion::latest()).build();
        let regions = ["eu-west-1", "us-east-1", "us-west-2"].map(str::to_owned);
        let clients = clients(&base, regions.clone(), "123456789012");
        assert_eq!(clients.keys().cloned().collect::<Vec<_>>(), regions);
        for (region, c) in &clients {
            assert_eq!(c.cfn.config().region().map(|r| r.as_ref()), Some(region.as_str()));
            assert_eq!(c.lambda.config().region().map(|r| r.as_ref()), Some(region.as_str()));
        }
    }
}
