//! `bootstrap`: the assets bucket the templates name (`rcdk-assets-${AWS::AccountId}-${AWS::Region}`) as a
//! CloudFormation stack of its own, `rcdk-bootstrap`, in every region a stage uses; built with the project's
//! constructs (`s3::Bucket`: encrypted, versioned, TLS-only, public access blocked) and synthesized with the rule
//! pack like every app. Deploying it twice is a no-op (the engine's "no changes").

use constructs::common::suppress;
use constructs::rules::RuleId;
use constructs::s3::{Bucket, BucketProps, LifecycleRule};
use synth::{App, Output, Stack, StackProps, Val};

/// The CloudFormation stack name of the bootstrap stack.
pub const STACK_NAME: &str = "rcdk-bootstrap";

/// The bootstrap app: one stack per region.
pub fn app(regions: &[String]) -> Result<App, constructs::ConstructError> {
    let mut app = App::new("rcdk-bootstrap");
    for region in regions {
        let id = format!("Bootstrap{}", region.replace('-', ""));
        let mut props = StackProps::new(&id, STACK_NAME, region.as_str(), "bootstrap");
        props.description = Some("rcdk: the assets bucket (handler zips, large templates)".to_owned());
        let mut stack = Stack::new(props);
        let bucket = {
            let mut root = stack.root();
            Bucket::new(
                &mut root,
                "Assets",
                BucketProps {
                    name: Some(Val::sub("rcdk-assets-${AWS::AccountId}-${AWS::Region}")),
                    lifecycle_rules: vec![
                        // Uploaded templates are read once, by the deploy that uploaded them.
                        LifecycleRule {
                            id: "ExpireTemplates".into(),
                            prefix: Some("templates/".into()),
                            expiration_days: Some(30),
                            noncurrent_expiration_days: None,
                            infrequent_access_after_days: None,
                        },
                        // Zips are content-addressed and never overwritten; Lambda copies the code when a function
                        // is deployed, so an old zip is only needed by a rollback to it, and a deploy uploads any
                        // zip that is missing again.
                        LifecycleRule {
                            id: "ExpireOldAssets".into(),
                            prefix: Some("assets/".into()),
                            expiration_days: Some(180),
                            noncurrent_expiration_days: None,
                            infrequent_access_after_days: None,
                        },
                    ],
                    ..BucketProps::default()
                },
            )?
        };
        // Access logs need a second bucket per region for what is build output, rebuilt from the repository at
        // will; the CDK's own bootstrap bucket does not log either. CloudTrail data events remain the audit path.
        suppress(
            stack.entry_mut(bucket.handle()),
            RuleId::S1,
            "the assets bucket holds build output (handler zips, templates) rebuilt from the repository",
        );
        stack.add_output("AssetsBucket", Output::new(bucket.name()));
        app.add_stack(stack);
    }
    Ok(app)
}
