//! OIDC tokens end to end: RS256 and ES256 keys generated here (P-256 with ring, RSA 2048 with the `openssl`
//! command, whose PKCS#1 key ring then signs with), served as a JWKS by a local HTTP server; the authorizer's cache,
//! its refresh on an unknown `kid` and its bounds, and the refusals (`alg: none`, algorithm confusion, `kid`/`alg`
//! mismatches, wrong issuer or audience).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use authorizer::oidc::Oidc;
use authorizer::{AuthError, handle, sign_jwt};
use base64::Engine;
use powertools::clock::{Clock, ManualClock};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use testkit::http::{Received, Receiver};

use super::{SECRET, allowed, answer, denied, env, token_event};

const ISSUER: &str = "https://login.example.com/";
const AUDIENCE: &str = "platform-api";

fn enc(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// An RSA 2048 key pair, generated now by `openssl` (ring verifies RSA but does not generate it).
fn rsa_key() -> RsaKeyPair {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-outform", "DER"])
        .output()
        .expect("the openssl command generates the test's RSA key");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    // `-outform DER` writes the PKCS#1 RSAPrivateKey.
    RsaKeyPair::from_der(&out.stdout).unwrap()
}

fn ec_key() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

fn rsa_jwk(key: &RsaKeyPair, kid: &str) -> Value {
    let c: ring::rsa::PublicKeyComponents<Vec<u8>> = key.public().into();
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": enc(&c.n), "e": enc(&c.e)})
}

fn ec_jwk(key: &EcdsaKeyPair, kid: &str) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": enc(&point[1..33]), "y": enc(&point[33..65])})
}

/// `header.claims` signed by `sign`.
fn token(header: Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", enc(header.to_string().as_bytes()), enc(claims.to_string().as_bytes()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", enc(&sig))
}

fn rs256(key: &RsaKeyPair, kid: &str, claims: &Value) -> String {
    token(json!({"alg": "RS256", "typ": "JWT", "kid": kid}), claims, |m| {
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), m, &mut sig).unwrap();
        sig
    })
}

fn es256(key: &EcdsaKeyPair, kid: &str, claims: &Value) -> String {
    token(json!({"alg": "ES256", "kid": kid}), claims, |m| key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec())
}

/// A JWKS server whose key set the test can change; counts its fetches.
struct Jwks {
    server: Receiver,
    keys: Arc<Mutex<Value>>,
}

impl Jwks {
    async fn start(keys: Value) -> Jwks {
        let keys = Arc::new(Mutex::new(keys));
        let served = keys.clone();
        let server = Receiver::start(Arc::new(move |r: &Received, _| match r.path.as_str() {
            "/jwks" => (200, json!({"keys": served.lock().unwrap().clone()}).to_string()),
            _ => (404, "{}".into()),
        }))
        .await;
        Jwks { server, keys }
    }

    fn fetches(&self) -> usize {
        self.server.received().len()
    }
}

const NOW: u64 = 1_800_000_000;

fn claims(tenant: &str) -> Value {
    json!({"sub": "user-1", "tenant_id": tenant, "tier": "pro", "iss": ISSUER, "aud": [AUDIENCE, "other"], "exp": NOW + 300})
}

fn oidc_allowed() -> Value {
    allowed("user-1", json!({"tenantId": "acme", "tier": "pro", "authType": "oidc"}))
}

#[tokio::test]
async fn rs256_and_es256_tokens_of_the_issuer_are_allowed_and_confusion_is_refused() {
    let (rsa, ec) = (rsa_key(), ec_key());
    let jwks = Jwks::start(json!([rsa_jwk(&rsa, "rsa-1"), ec_jwk(&ec, "ec-1")])).await;
    let clock = ManualClock::new(NOW * 1000);
    let mut env = env().await;
    env.deps.oidc = Some(Oidc::new(ISSUER, AUDIENCE, &jwks.server.url("/jwks"), clock.clone()));
    env.deps.clock = clock.clone();
    let bearer = |t: &str| format!("Bearer {t}");

    assert_eq!(answer(&env.deps, &bearer(&rs256(&rsa, "rsa-1", &claims("acme")))).await, oidc_allowed());
    assert_eq!(answer(&env.deps, &bearer(&es256(&ec, "ec-1", &claims("acme")))).await, oidc_allowed());
    assert_eq!(jwks.fetches(), 1, "the keys are fetched once and cached");

    let deny = |t: String| {
        let deps = &env.deps;
        async move { assert_eq!(answer(deps, &format!("Bearer {t}")).await, denied(), "{t}") }
    };
    let c = claims("acme");
    // alg none, with and without a kid.
    let none = format!("{}.{}.", enc(br#"{"alg":"none","kid":"rsa-1"}"#), enc(c.to_string().as_bytes()));
    deny(none).await;
    // HS256 MACed with the RSA public key (the classic confusion): it goes to the shared-secret path only.
    let public_jwk = rsa_jwk(&rsa, "rsa-1").to_string();
    let mut confused = sign_jwt(public_jwk.as_bytes(), &c);
    deny(confused.clone()).await;
    let n = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(rsa.public()).n;
    confused = sign_jwt(&n, &c);
    deny(confused).await;
    // The RSA key's kid on an ES256 token, the EC key's kid on an RS256 token (signed with the right key).
    deny(token(json!({"alg": "ES256", "kid": "rsa-1"}), &c, |m| {
        ec.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()
    }))
    .await;
    deny(rs256(&rsa, "ec-1", &c)).await;
    // Another key under a known kid, a tampered payload, no kid, a critical extension.
    deny(rs256(&rsa_key(), "rsa-1", &c)).await;
    let good = es256(&ec, "ec-1", &c);
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = enc(claims("victim").to_string().as_bytes());
    deny(parts.join(".")).await;
    deny(token(json!({"alg": "ES256"}), &c, |m| ec.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec())).await;
    deny(token(json!({"alg": "ES256", "kid": "ec-1", "crit": ["exp"]}), &c, |m| {
        ec.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()
    }))
    .await;
    // Claims: issuer, audience, expiry, not before.
    for bad in [
        json!({"iss": "https://evil.example.com/"}),
        json!({"iss": null}),
        json!({"aud": "other"}),
        json!({"aud": null}),
        json!({"exp": NOW}),
        json!({"nbf": NOW + 10}),
    ] {
        let mut c = claims("acme");
        for (k, v) in bad.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        deny(es256(&ec, "ec-1", &c)).await;
    }
    // The reasons, exactly (each case above is refused for its own reason, not a shared one).
    let oidc = env.deps.oidc.as_ref().unwrap();
    let reason = |t: String| async move {
        match oidc.verify_signature(&t).await.unwrap() {
            Err(authorizer::Denied::Jwt(m)) => m,
            Ok(_) => "verified".into(),
            Err(other) => other.to_string(),
        }
    };
    let mismatch = token(json!({"alg": "ES256", "kid": "rsa-1"}), &c, |m| {
        ec.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()
    });
    assert_eq!(reason(mismatch).await, "kid \"rsa-1\" is a RS256 key, the token says ES256");
    assert_eq!(reason(rs256(&rsa, "ec-1", &c)).await, "kid \"ec-1\" is a ES256 key, the token says RS256");
    assert_eq!(reason(rs256(&rsa_key(), "rsa-1", &c)).await, "bad signature");
    assert_eq!(
        reason(sign_jwt(public_jwk.as_bytes(), &c)).await,
        "alg \"HS256\" not allowed for the oidc issuer, only RS256 and ES256"
    );
    assert_eq!(
        authorizer::verify_jwt(SECRET.as_bytes(), &sign_jwt(public_jwk.as_bytes(), &c), NOW, None, None),
        Err(authorizer::Denied::Jwt("bad signature".into())),
        "an HS256 token is checked with the shared secret only"
    );
    assert_eq!(reason(es256(&ec, "nope", &c)).await, "unknown kid \"nope\"");
    assert_eq!(reason(es256(&ec, "ec-1", &c)).await, "verified");
    // The shared-secret tokens still work beside the issuer's.
    let hs = sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "exp": NOW + 60}));
    assert_eq!(
        answer(&env.deps, &bearer(&hs)).await,
        allowed("u1", json!({"tenantId": "acme", "tier": "free", "authType": "jwt"}))
    );
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_keys_at_most_once_per_interval() {
    let (old, new) = (ec_key(), ec_key());
    let jwks = Jwks::start(json!([ec_jwk(&old, "k1")])).await;
    let clock = ManualClock::new(NOW * 1000);
    let mut env = env().await;
    let oidc = Oidc::new(ISSUER, AUDIENCE, &jwks.server.url("/jwks"), clock.clone());
    let limits = oidc.limits;
    env.deps.oidc = Some(oidc);
    env.deps.clock = clock.clone();
    let bearer = |t: String| format!("Bearer {t}");

    assert_eq!(answer(&env.deps, &bearer(es256(&old, "k1", &claims("acme")))).await, oidc_allowed());
    assert_eq!(jwks.fetches(), 1);
    // The issuer rotates: k2 appears. Within the refresh interval of the first fetch an unknown kid is denied
    // without a fetch (a flood of random kids costs the issuer nothing).
    *jwks.keys.lock().unwrap() = json!([ec_jwk(&old, "k1"), ec_jwk(&new, "k2")]);
    let rotated = bearer(es256(&new, "k2", &claims("acme")));
    assert_eq!(answer(&env.deps, &rotated).await, denied());
    assert_eq!(jwks.fetches(), 1);
    // After it, the unknown kid refetches once and is allowed; garbage kids then fetch at most once per interval.
    clock.advance(limits.min_refresh);
    assert_eq!(answer(&env.deps, &rotated).await, oidc_allowed());
    assert_eq!(jwks.fetches(), 2);
    for i in 0..20 {
        assert_eq!(answer(&env.deps, &bearer(es256(&new, &format!("random-{i}"), &claims("acme")))).await, denied());
    }
    assert_eq!(jwks.fetches(), 2);
    // The cache ages out: a known kid after max_age fetches again (and k1, dropped by the issuer, is gone).
    *jwks.keys.lock().unwrap() = json!([ec_jwk(&new, "k2")]);
    clock.advance(limits.max_age);
    let mut fresh = claims("acme");
    fresh["exp"] = json!(clock.now_millis() / 1000 + 60);
    assert_eq!(answer(&env.deps, &bearer(es256(&new, "k2", &fresh))).await, oidc_allowed());
    assert_eq!(answer(&env.deps, &bearer(es256(&old, "k1", &fresh))).await, denied());
    assert_eq!(jwks.fetches(), 3);
}

#[tokio::test]
async fn jwks_failures_are_errors_without_keys_and_bounded_in_size() {
    let ec = ec_key();
    let clock = ManualClock::new(NOW * 1000);
    let mut env = env().await;
    env.deps.clock = clock.clone();
    let t = format!("Bearer {}", es256(&ec, "k1", &claims("acme")));

    // No OIDC issuer configured: an RS256/ES256 token is a Deny.
    assert_eq!(answer(&env.deps, &t).await, denied());

    // The issuer is down and no key was ever fetched: an error (500, not cached), never an Allow.
    let down = Receiver::fixed(503).await;
    env.deps.oidc = Some(Oidc::new(ISSUER, AUDIENCE, &down.url("/jwks"), clock.clone()));
    assert_eq!(
        handle(&env.deps, token_event(&t)).await,
        Err(AuthError::Internal(format!("jwks {}: answered 503", down.url("/jwks"))))
    );

    // A JWKS larger than the bound is refused whole; so are more keys than max_keys (the first ones are kept).
    let many: Vec<Value> = (0..40).map(|i| ec_jwk(&ec, &format!("k{i}"))).collect();
    let big = Jwks::start(json!(many)).await;
    let mut oidc = Oidc::new(ISSUER, AUDIENCE, &big.server.url("/jwks"), clock.clone());
    oidc.limits.max_body = 1024;
    env.deps.oidc = Some(oidc);
    let err = handle(&env.deps, token_event(&t)).await.unwrap_err();
    assert!(matches!(&err, AuthError::Internal(m) if m.ends_with("more than 1024")), "{err:?}");
    env.deps.oidc = Some(Oidc::new(ISSUER, AUDIENCE, &big.server.url("/jwks"), clock.clone()));
    assert_eq!(answer(&env.deps, &format!("Bearer {}", es256(&ec, "k15", &claims("acme")))).await, oidc_allowed());
    clock.advance(Duration::from_secs(31));
    assert_eq!(answer(&env.deps, &format!("Bearer {}", es256(&ec, "k16", &claims("acme")))).await, denied());

    // An issuer outage after a successful fetch keeps the cached keys.
    let flaky = Jwks::start(json!([ec_jwk(&ec, "k1")])).await;
    env.deps.oidc = Some(Oidc::new(ISSUER, AUDIENCE, &flaky.server.url("/jwks"), clock.clone()));
    assert_eq!(answer(&env.deps, &t).await, oidc_allowed());
    drop(flaky);
    clock.advance(Duration::from_secs(3601));
    let mut later = claims("acme");
    later["exp"] = json!(clock.now_millis() / 1000 + 60);
    assert_eq!(answer(&env.deps, &format!("Bearer {}", es256(&ec, "k1", &later))).await, oidc_allowed());
}
