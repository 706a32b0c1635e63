//! 1,000 generated malformed bodies: 0 panics, 0 writes, all 4xx with a problem+json body.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Harness, ORDER, event};

/// Deterministic generator of bad request bodies (seeded: a failure reproduces).
struct Gen(fastrand::Rng);

impl Gen {
    fn valid(&mut self) -> Value {
        serde_json::from_str(ORDER).unwrap()
    }

    fn junk_value(&mut self) -> Value {
        match self.0.u8(0..10) {
            0 => Value::Null,
            1 => json!(self.0.bool()),
            2 => json!(self.0.i64(..)),
            3 => json!(-(self.0.u32(..) as i64) - 1),
            4 => json!(self.0.f64() * 1e6),
            5 => json!("x".repeat(self.0.usize(0..200))),
            6 => json!([]),
            7 => json!({}),
            8 => json!(u64::MAX),
            _ => json!("\u{0000}\u{fffd}\u{1F600}"),
        }
    }

    /// One malformed body (and its content type and base64 flag).
    fn body(&mut self, i: usize) -> (Option<Vec<u8>>, &'static str, bool) {
        let json_ct = "application/json";
        let kind = i % 20;
        let mut v = self.valid();
        let bytes = |v: &Value| Some(v.to_string().into_bytes());
        match kind {
            0 => (None, json_ct, false),
            1 => (Some(Vec::new()), json_ct, false),
            2 => {
                // Truncated JSON.
                let s = ORDER.as_bytes();
                let cut = self.0.usize(1..s.len() - 1);
                (Some(s[..cut].to_vec()), json_ct, false)
            }
            3 => {
                // Random bytes, often not UTF-8.
                let n = self.0.usize(1..64);
                (Some((0..n).map(|_| self.0.u8(..)).collect()), json_ct, false)
            }
            4 => {
                v["items"][0]["quantity"] = self.junk_value();
                if v["items"][0]["quantity"].as_u64().is_some_and(|q| (1..=1000).contains(&q)) {
                    v["items"][0]["quantity"] = json!(0);
                }
                (bytes(&v), json_ct, false)
            }
            5 => {
                v["currency"] = [json!("usd"), json!(""), json!("EURO"), json!("eur"), json!(1), Value::Null]
                    [self.0.usize(0..6)]
                .clone();
                (bytes(&v), json_ct, false)
            }
            6 => {
                let field = ["items", "currency"][self.0.usize(0..2)];
                v.as_object_mut().unwrap().remove(field);
                (bytes(&v), json_ct, false)
            }
            7 => {
                let extra = ["tenant_id", "pk", "sk", "order_id", "admin", "__proto__"][self.0.usize(0..6)];
                v[extra] = self.junk_value();
                (bytes(&v), json_ct, false)
            }
            8 => {
                v["items"] = json!([]);
                (bytes(&v), json_ct, false)
            }
            9 => {
                let line = v["items"][0].clone();
                v["items"] = Value::Array(vec![line; 101 + self.0.usize(0..50)]);
                (bytes(&v), json_ct, false)
            }
            10 => {
                v["items"][0]["sku"] = json!([String::new(), "s".repeat(65)][self.0.usize(0..2)]);
                (bytes(&v), json_ct, false)
            }
            11 => {
                v["items"][0]["unit_price_cents"] = json!([100_000_001u64, u64::MAX][self.0.usize(0..2)]);
                (bytes(&v), json_ct, false)
            }
            12 => {
                // Deep nesting, past serde_json's recursion limit or past the schema.
                let depth = self.0.usize(100..5000);
                let s = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                (Some(s.into_bytes()), json_ct, false)
            }
            13 => (Some(b"1e400".to_vec()), json_ct, false),
            14 => (bytes(&self.junk_value()), json_ct, false),
            15 => (
                Some(ORDER.as_bytes().to_vec()),
                ["text/plain", "application/xml", "", "multipart/form-data"][self.0.usize(0..4)],
                false,
            ),
            16 => (Some(b"%%% not base64 %%%".to_vec()), json_ct, true),
            17 => {
                // Valid base64 of garbage.
                use base64::Engine;
                let junk: Vec<u8> = (0..self.0.usize(1..40)).map(|_| self.0.u8(..)).collect();
                (Some(base64::engine::general_purpose::STANDARD.encode(junk).into_bytes()), json_ct, true)
            }
            18 => {
                v["customer_ref"] = json!([String::new(), "r".repeat(65)][self.0.usize(0..2)]);
                (bytes(&v), json_ct, false)
            }
            _ => {
                // Oversized body.
                v["customer_ref"] = json!("z".repeat(70 * 1024));
                (bytes(&v), json_ct, false)
            }
        }
    }
}

#[tokio::test]
async fn thousand_malformed_bodies_all_4xx_no_panic_no_write() {
    let h = Arc::new(Harness::new().await);
    let mut g = Gen(fastrand::Rng::with_seed(0x5eed));
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let (body, content_type, b64) = g.body(i);
        let mut e = event(
            "POST",
            "/tenants/fuzz/orders",
            Some(("fuzz", "pro")),
            None,
            &[("Content-Type", content_type), ("Idempotency-Key", &format!("f{i}"))],
        );
        e.body = body.map(|b| String::from_utf8_lossy(&b).into_owned());
        e.is_base64_encoded = b64;
        let h = h.clone();
        tasks.push(tokio::spawn(async move { (i, h.call(e).await) }));
    }
    let mut panics = 0;
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        match t.await {
            Err(e) if e.is_panic() => panics += 1,
            Err(e) => panic!("task failed: {e}"),
            Ok((i, r)) => {
                // The wrong media type is a 415 and the oversized body a 413, before any parsing; every other
                // malformed body is a 400.
                let expected = match i % 20 {
                    15 => 415,
                    19 => 413,
                    _ => 400,
                };
                assert_eq!(r.status, expected, "body #{i}: {:?}", r.body);
                assert_eq!(r.headers["content-type"], "application/problem+json", "body #{i}");
                assert_eq!(r.body["status"], r.status, "body #{i}");
                *statuses.entry(r.status).or_insert(0) += 1;
            }
        }
    }
    assert_eq!(panics, 0);
    assert_eq!(h.calls(), Vec::<(String, u32)>::new(), "no DynamoDB call at all");
    assert_eq!(h.items().await, (0, 0), "no order, no idempotency record, no rate counter");
    assert_eq!(statuses, std::collections::BTreeMap::from([(400, 900), (413, 50), (415, 50)]));
}
