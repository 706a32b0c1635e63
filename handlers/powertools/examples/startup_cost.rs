//! Prints where a handler's start-up time goes: SDK config, first and second client of one service, a client of
//! another service. Run with `--release`.

use std::time::Instant;

fn main() {
    let t = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    println!("tokio runtime: {:?}", t.elapsed());
    let t = Instant::now();
    let config = powertools::aws::config_from(&powertools::config::Env::from_pairs(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
    ]));
    println!("sdk config: {:?}", t.elapsed());
    let Ok(config) = config else { return };
    let t = Instant::now();
    let a = powertools::aws::dynamodb_client(&config, None);
    println!("first dynamodb client: {:?}", t.elapsed());
    let t = Instant::now();
    let b = powertools::aws::dynamodb_client(&config, None);
    println!("second dynamodb client: {:?}", t.elapsed());
    let t = Instant::now();
    let r = api_router_like();
    println!("route table with schemas: {:?}", t.elapsed());
    drop((a, b, r, rt));
}

fn api_router_like() -> usize {
    platform_types::routes::routes().len()
}
