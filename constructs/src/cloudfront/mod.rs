//! Amazon CloudFront: the generated CloudFormation types and [`Distribution`] in front of an API: HTTPS only (HTTP
//! redirects), TLS 1.2+ to viewers with a certificate and to the origin, a cache policy for GETs keyed by the
//! tenant's credentials, an origin request policy, security response headers, Origin Shield, access logs, WAF, and
//! origin access control for S3 origins.

mod generated;
pub(crate) mod rules;

pub use generated::*;

use synth::{Handle, Scope, Val};

use crate::error::{ConstructError, check_range};
use crate::s3::Bucket;

/// Id of the AWS managed cache policy `CachingOptimized`, used for S3 origins (static objects).
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html>
pub const CACHING_OPTIMIZED_POLICY_ID: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";

/// What a behavior serves.
#[derive(Clone, Debug)]
pub enum Origin {
    /// An API Gateway stage: `domain` is the API's `execute-api` host, `path` the stage (`/prod`).
    Api { domain: Val<String>, path: String },
    /// An S3 bucket, read through origin access control (the bucket policy is extended).
    Bucket(Box<Bucket>),
    /// An origin group: `primary`, and `secondary` when the primary answers one of [`FAILOVER_STATUS_CODES`] or
    /// cannot be reached. Only for a behavior of [`DistributionProps::behaviors`] (GET, HEAD and OPTIONS): CloudFront
    /// refuses an origin group on a behavior that allows other methods, and fails over only those three
    /// (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html>).
    Failover { primary: Box<Origin>, secondary: Box<Origin> },
}

/// The origin's answers an origin group retries on its secondary: the server errors a failing region gives
/// (a 501 is a route that does not exist, the same in every region).
pub const FAILOVER_STATUS_CODES: [i64; 4] = [500, 502, 503, 504];

/// Access logs of a distribution.
#[derive(Clone, Debug)]
pub struct DistributionLogs {
    /// A bucket with ACLs enabled ([`crate::s3::ObjectOwnership::BucketOwnerPreferred`]) and SSE-S3.
    pub bucket: Bucket,
    pub prefix: String,
}

/// The viewer certificate (must be in us-east-1) and the names it covers.
#[derive(Clone, Debug)]
pub struct ViewerCertificate {
    pub certificate_arn: Val<String>,
    pub aliases: Vec<String>,
}

/// Optional settings of a [`Distribution`].
#[derive(Clone, Debug, Default)]
pub struct DistributionProps {
    /// ARN of a CLOUDFRONT web ACL (in us-east-1). Default: none (cdk-nag `AwsSolutions-CFR2` finds it).
    pub web_acl_arn: Option<Val<String>>,
    /// Default: none: the `*.cloudfront.net` certificate, whose security policy CloudFront fixes at TLSv1; pass a
    /// certificate for TLS 1.2+ (`TLSv1.2_2021`).
    pub certificate: Option<ViewerCertificate>,
    /// Default: none (cdk-nag `AwsSolutions-CFR3` finds it).
    pub logs: Option<DistributionLogs>,
    /// Origin Shield region. Default (`None`): the stack's region (the origin's): one regional cache in front of
    /// the origin, so a cache miss at many edges is one origin request (request collapsing).
    pub origin_shield_region: Option<String>,
    /// Seconds a GET stays cached when the origin sends no `Cache-Control`. Default: 5 (short: tenant data changes).
    pub default_ttl_seconds: Option<u32>,
    /// Upper bound of the cache time, whatever the origin says. Default: 60.
    pub max_ttl_seconds: Option<u32>,
    /// Headers in the cache key (and forwarded). Default: `Authorization`: two tenants never share an entry.
    pub cache_key_headers: Vec<String>,
    /// Headers forwarded to the API but not in the cache key. Default: `Idempotency-Key`, `Content-Type`, `Accept`.
    pub forwarded_headers: Vec<String>,
    /// More behaviors: path pattern → origin (e.g. `/static/*` → a bucket). Default: none.
    pub behaviors: Vec<(String, Origin)>,
    /// Default: none.
    pub comment: Option<String>,
}

/// A CloudFront distribution.
#[derive(Clone, Debug)]
pub struct Distribution {
    handle: Handle<CfnDistribution>,
}

impl Distribution {
    /// A distribution whose default behavior serves `origin`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        origin: Origin,
        props: DistributionProps,
    ) -> Result<Distribution, ConstructError> {
        let stack_name = scope.stack().name().to_owned();
        let region = scope.stack().region().to_owned();
        let mut scope = scope.child(id);
        let settings = validate(scope.path(), &origin, &props)?;
        let name = |what: &str| Val::from(format!("{stack_name}-{id}-{what}").as_str());
        let policies = Policies::add(&mut scope, &settings, name("api"), name("security"));
        let mut origins = Origins {
            shield_region: props.origin_shield_region.clone().unwrap_or(region),
            access_control_name: name("oac"),
            list: Vec::new(),
            access_control: None,
            buckets: Vec::new(),
            groups: Vec::new(),
            group_members: Vec::new(),
        };
        origins.add(&mut scope, &origin, "Default");
        let mut behaviors = Vec::new();
        for (i, (pattern, o)) in props.behaviors.iter().enumerate() {
            let origin_id = origins.add(&mut scope, o, &format!("Behavior{i}"));
            let (cache, request) = policies.of(o);
            behaviors.push(cfn_distribution::CacheBehavior {
                allowed_methods: Some(Val::list(["GET", "HEAD", "OPTIONS"])),
                cached_methods: Some(Val::list(["GET", "HEAD"])),
                compress: Some(true.into()),
                cache_policy_id: Some(cache),
                origin_request_policy_id: request,
                response_headers_policy_id: Some(policies.headers.attr_id()),
                ..cfn_distribution::CacheBehavior::new(pattern.as_str(), origin_id, "redirect-to-https")
            });
        }
        let (cache, request) = policies.of(&origin);
        let default = cfn_distribution::DefaultCacheBehavior {
            // Writes pass through untouched (CloudFront never caches them); only GET and HEAD are cached.
            allowed_methods: Some(Val::list(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"])),
            cached_methods: Some(Val::list(["GET", "HEAD"])),
            compress: Some(true.into()),
            cache_policy_id: Some(cache),
            origin_request_policy_id: request,
            response_headers_policy_id: Some(policies.headers.attr_id()),
            ..cfn_distribution::DefaultCacheBehavior::new(
                "Default",
                cfn_distribution::ViewerProtocolPolicy::RedirectToHttps,
            )
        };
        let config = distribution_config(&props, origins.list, origins.groups, behaviors, default);
        let handle = scope.add("Resource", CfnDistribution::new(config));
        let distribution = Distribution { handle };
        for b in origins.buckets {
            b.allow_cloudfront_read(&mut scope, distribution.arn());
        }
        Ok(distribution)
    }

    /// `Fn::GetAtt DomainName` (`d111111abcdef8.cloudfront.net`).
    pub fn domain_name(&self) -> Val<String> {
        self.handle.attr_domain_name()
    }
    /// `Ref`: the distribution id.
    pub fn id(&self) -> Val<String> {
        self.handle.ref_()
    }
    /// `arn:<partition>:cloudfront::<account>:distribution/<id>`.
    pub fn arn(&self) -> Val<String> {
        Val::sub_with("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Id}", [("Id", self.id())])
    }
    pub fn handle(&self) -> &Handle<CfnDistribution> {
        &self.handle
    }
}

/// What [`Distribution::new`] derives from its props once they are checked.
struct Settings {
    default_ttl: u32,
    max_ttl: u32,
    cache_key_headers: Vec<String>,
    forwarded_headers: Vec<String>,
}

/// Checks the origins, the TTLs and the aliases, and fills in the defaults.
fn validate(path: &str, default: &Origin, props: &DistributionProps) -> Result<Settings, ConstructError> {
    if matches!(default, Origin::Failover { .. }) {
        return Err(ConstructError::Invalid {
            path: path.to_owned(),
            what: "default behavior's origin",
            value: "an origin group".into(),
            allowed: "an API or a bucket (the default behavior allows writes, which origin groups do not serve)".into(),
        });
    }
    for (pattern, o) in &props.behaviors {
        if let Origin::Failover { primary, secondary } = o
            && [primary, secondary].iter().any(|m| matches!(***m, Origin::Failover { .. }))
        {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "origin group member",
                value: format!("an origin group (behavior {pattern})"),
                allowed: "an API or a bucket".into(),
            });
        }
    }
    let default_ttl = props.default_ttl_seconds.unwrap_or(5);
    let max_ttl = props.max_ttl_seconds.unwrap_or(60);
    // One year is CloudFront's default maximum TTL.
    check_range(path, "maximum TTL (s)", max_ttl.into(), 0, 31_536_000)?;
    check_range(path, "default TTL (s)", default_ttl.into(), 0, max_ttl.into())?;
    if let Some(c) = &props.certificate {
        for a in &c.aliases {
            crate::certificatemanager::check_domain(path, a)?;
        }
    }
    let cache_key_headers = if props.cache_key_headers.is_empty() {
        vec!["Authorization".to_owned()]
    } else {
        props.cache_key_headers.clone()
    };
    let forwarded_headers = if props.forwarded_headers.is_empty() {
        vec!["Idempotency-Key".to_owned(), "Content-Type".to_owned(), "Accept".to_owned()]
    } else {
        props.forwarded_headers.clone()
    };
    Ok(Settings { default_ttl, max_ttl, cache_key_headers, forwarded_headers })
}

/// The cache, origin request and response headers policies of the distribution's behaviors.
struct Policies {
    cache: Handle<CfnCachePolicy>,
    request: Handle<CfnOriginRequestPolicy>,
    headers: Handle<CfnResponseHeadersPolicy>,
}

impl Policies {
    /// Adds the three policies: the API ones named `api_name`, the headers one `headers_name`.
    fn add(scope: &mut Scope, settings: &Settings, api_name: Val<String>, headers_name: Val<String>) -> Policies {
        let cache = scope.add("CachePolicy", cache_policy(settings, api_name.clone()));
        let request = scope.add("OriginRequestPolicy", origin_request_policy(settings, api_name));
        let headers = scope.add("ResponseHeadersPolicy", security_headers_policy(headers_name));
        Policies { cache, request, headers }
    }

    /// The cache policy and origin request policy of a behavior serving `origin`: ours for the API, the AWS
    /// managed `CachingOptimized` and none for a bucket.
    fn of(&self, origin: &Origin) -> (Val<String>, Option<Val<String>>) {
        match origin {
            Origin::Api { .. } => (self.cache.attr_id(), Some(self.request.attr_id())),
            Origin::Bucket(_) => (Val::from(CACHING_OPTIMIZED_POLICY_ID), None),
            // The group's requests are its primary's.
            Origin::Failover { primary, .. } => self.of(primary),
        }
    }
}

fn cache_policy(settings: &Settings, name: Val<String>) -> CfnCachePolicy {
    use cfn_cache_policy as c;
    CfnCachePolicy::new(c::CachePolicyConfig {
        comment: Some("GETs cached briefly, keyed by the tenant's credentials".into()),
        ..c::CachePolicyConfig::new(
            i64::from(settings.default_ttl),
            i64::from(settings.max_ttl),
            0,
            name,
            c::ParametersInCacheKeyAndForwardedToOrigin {
                enable_accept_encoding_brotli: Some(true.into()),
                ..c::ParametersInCacheKeyAndForwardedToOrigin::new(
                    c::CookiesConfig::new("none"),
                    true,
                    c::HeadersConfig {
                        headers: Some(Val::list(settings.cache_key_headers.iter().map(String::as_str))),
                        ..c::HeadersConfig::new("whitelist")
                    },
                    c::QueryStringsConfig::new("all"),
                )
            },
        )
    })
}

fn origin_request_policy(settings: &Settings, name: Val<String>) -> CfnOriginRequestPolicy {
    use cfn_origin_request_policy as r;
    CfnOriginRequestPolicy::new(r::OriginRequestPolicyConfig {
        comment: Some("What the API reads besides the credentials; never Host (API Gateway routes on it)".into()),
        ..r::OriginRequestPolicyConfig::new(
            r::CookiesConfig::new("none"),
            r::HeadersConfig {
                headers: Some(Val::list(settings.forwarded_headers.iter().map(String::as_str))),
                ..r::HeadersConfig::new("whitelist")
            },
            name,
            r::QueryStringsConfig::new("all"),
        )
    })
}

fn security_headers_policy(name: Val<String>) -> CfnResponseHeadersPolicy {
    use cfn_response_headers_policy as h;
    CfnResponseHeadersPolicy::new(h::ResponseHeadersPolicyConfig {
        comment: Some("Security headers on every response".into()),
        security_headers_config: Some(
            h::SecurityHeadersConfig {
                // Two years, subdomains, preload: the HSTS preload list's requirements.
                strict_transport_security: Some(
                    h::StrictTransportSecurity {
                        include_subdomains: Some(true.into()),
                        preload: Some(true.into()),
                        ..h::StrictTransportSecurity::new(63_072_000, true)
                    }
                    .into(),
                ),
                content_type_options: Some(h::ContentTypeOptions::new(true).into()),
                frame_options: Some(h::FrameOptions::new("DENY", true).into()),
                referrer_policy: Some(h::ReferrerPolicy::new(true, "no-referrer").into()),
                xss_protection: Some(
                    h::XSSProtection { mode_block: Some(true.into()), ..h::XSSProtection::new(true, true) }.into(),
                ),
                content_security_policy: Some(
                    h::ContentSecurityPolicy::new("default-src 'none'; frame-ancestors 'none'", true).into(),
                ),
            }
            .into(),
        ),
        ..h::ResponseHeadersPolicyConfig::new(name)
    })
}

/// The origins of a distribution, in the order they are added, with the origin access control that every S3
/// origin shares (added with the first) and the buckets whose policies must let the distribution read.
struct Origins {
    shield_region: String,
    access_control_name: Val<String>,
    list: Vec<cfn_distribution::Origin>,
    access_control: Option<Val<String>>,
    buckets: Vec<Bucket>,
    groups: Vec<cfn_distribution::OriginGroup>,
    /// The members of each group added, with its id: behaviors with the same members share the group.
    group_members: Vec<(String, String, String)>,
}

impl Origins {
    /// Adds `origin` as `origin_id` and returns the id a behavior targets: `origin_id`, or the id of an origin
    /// group with the same members added before.
    fn add(&mut self, scope: &mut Scope, origin: &Origin, origin_id: &str) -> String {
        let o = match origin {
            Origin::Failover { primary, secondary } => {
                let key = |o: &Origin| format!("{o:?}");
                let (p, s) = (key(primary), key(secondary));
                if let Some((_, _, id)) = self.group_members.iter().find(|(a, b, _)| *a == p && *b == s) {
                    return id.clone();
                }
                self.group_members.push((p, s, origin_id.to_owned()));
                let members = [format!("{origin_id}Primary"), format!("{origin_id}Secondary")];
                self.add(scope, primary, &members[0]);
                self.add(scope, secondary, &members[1]);
                use cfn_distribution as d;
                let codes = d::StatusCodes::new(Val::list(FAILOVER_STATUS_CODES), FAILOVER_STATUS_CODES.len() as i64);
                let items = members.iter().map(|m| d::OriginGroupMember::new(m.as_str()));
                self.groups.push(d::OriginGroup::new(
                    d::OriginGroupFailoverCriteria::new(codes),
                    origin_id,
                    d::OriginGroupMembers::new(Val::list(items), 2),
                ));
                return origin_id.to_owned();
            }
            Origin::Api { domain, path } => cfn_distribution::Origin {
                origin_path: Some(path.as_str().into()),
                custom_origin_config: Some(
                    cfn_distribution::CustomOriginConfig {
                        https_port: Some(443.into()),
                        origin_ssl_protocols: Some(Val::list(["TLSv1.2"])),
                        // API Gateway's integration timeout is 29 s; wait a little longer before giving up.
                        origin_read_timeout: Some(30.into()),
                        ..cfn_distribution::CustomOriginConfig::new("https-only")
                    }
                    .into(),
                ),
                origin_shield: Some(
                    cfn_distribution::OriginShield {
                        enabled: Some(true.into()),
                        origin_shield_region: Some(self.shield_region.as_str().into()),
                    }
                    .into(),
                ),
                ..cfn_distribution::Origin::new(domain.clone(), origin_id)
            },
            Origin::Bucket(b) => {
                let b: &Bucket = b;
                let access_control = self.access_control(scope);
                self.buckets.push(b.clone());
                cfn_distribution::Origin {
                    origin_access_control_id: Some(access_control),
                    s3_origin_config: Some(
                        cfn_distribution::S3OriginConfig {
                            origin_access_identity: Some("".into()),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    ..cfn_distribution::Origin::new(b.regional_domain_name(), origin_id)
                }
            }
        };
        self.list.push(o);
        origin_id.to_owned()
    }

    /// The id of the origin access control, added at the first call.
    fn access_control(&mut self, scope: &mut Scope) -> Val<String> {
        let name = &self.access_control_name;
        self.access_control
            .get_or_insert_with(|| {
                use cfn_origin_access_control as oac;
                let config = oac::OriginAccessControlConfig {
                    description: Some("Signed requests from the distribution to its buckets".into()),
                    ..oac::OriginAccessControlConfig::new(name.clone(), "s3", "always", "sigv4")
                };
                scope.add("OriginAccessControl", CfnOriginAccessControl::new(config)).attr_id()
            })
            .clone()
    }
}

/// The distribution's configuration: the origins and behaviors, with the viewer certificate, the web ACL and the
/// logs of the props.
fn distribution_config(
    props: &DistributionProps,
    origins: Vec<cfn_distribution::Origin>,
    groups: Vec<cfn_distribution::OriginGroup>,
    behaviors: Vec<cfn_distribution::CacheBehavior>,
    default: cfn_distribution::DefaultCacheBehavior,
) -> cfn_distribution::DistributionConfig {
    let viewer = match &props.certificate {
        Some(c) => cfn_distribution::ViewerCertificate {
            acm_certificate_arn: Some(c.certificate_arn.clone()),
            ssl_support_method: Some(cfn_distribution::SslSupportMethod::SniOnly.into()),
            minimum_protocol_version: Some(cfn_distribution::MinimumProtocolVersion::TLSv1_2_2021.into()),
            ..Default::default()
        },
        None => cfn_distribution::ViewerCertificate {
            cloud_front_default_certificate: Some(true.into()),
            ..Default::default()
        },
    };
    cfn_distribution::DistributionConfig {
        comment: props.comment.as_deref().map(Val::from),
        aliases: props.certificate.as_ref().map(|c| Val::list(c.aliases.iter().map(String::as_str))),
        origins: Some(Val::list(origins)),
        origin_groups: (!groups.is_empty()).then(|| {
            let n = groups.len() as i64;
            cfn_distribution::OriginGroups { items: Some(Val::list(groups)), ..cfn_distribution::OriginGroups::new(n) }
                .into()
        }),
        cache_behaviors: (!behaviors.is_empty()).then(|| Val::list(behaviors)),
        http_version: Some(cfn_distribution::HttpVersion::Http2and3.into()),
        ipv6_enabled: Some(true.into()),
        // North America and Europe edges: the cheapest class; widen it when tenants are elsewhere.
        price_class: Some(cfn_distribution::PriceClass::PriceClass100.into()),
        viewer_certificate: Some(viewer.into()),
        web_acl_id: props.web_acl_arn.clone(),
        logging: props.logs.as_ref().map(|l| {
            cfn_distribution::Logging {
                bucket: Some(l.bucket.domain_name()),
                prefix: Some(l.prefix.as_str().into()),
                include_cookies: Some(false.into()),
            }
            .into()
        }),
        ..cfn_distribution::DistributionConfig::new(default, true)
    }
}
