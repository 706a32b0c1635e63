//! The platform on localhost (`cargo xtask dev`): emulators of the AWS services it uses, driven by the
//! synthesized templates.

pub mod events;
pub mod stepfunctions;
// --- gateway + runtime (devgw): the assembly and its references, the REST API emulator, the invocation trait, the local Lambda runtime.
pub mod assembly;
pub mod gateway;
pub mod invoke;
pub mod runtime;
// --- end gateway + runtime
// --- event sources (sources): the templates' event source mappings polled against the local cloud.
pub mod sources;
// --- end event sources
// --- proxy + sink (devproxy): the AWS endpoint of the local functions, and the webhook receiver.
pub mod proxy;
pub mod sink;
// --- end proxy + sink
// --- the command (devcore): `cargo xtask dev` itself, the glue of the parts above.
pub mod app;
// --- end the command
