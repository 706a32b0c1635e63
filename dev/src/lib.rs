//! The platform on localhost (`cargo xtask dev`): emulators of the AWS services it uses, driven by the
//! synthesized templates.

pub mod events;
pub mod stepfunctions;
