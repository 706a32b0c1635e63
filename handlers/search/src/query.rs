//! The search request as pure functions: query parameters to [`Params`] (every check, 400 on anything else),
//! [`Params`] to the OpenSearch query body ([`build`]), the answer to a page ([`page`]), and the opaque cursor.
//!
//! **Invariant:** the tenant term is the first clause of the bool query's `filter`, built from the caller's
//! authorizer context, never from a query parameter. `q` is only ever the *text* of a `simple_query_string` in
//! `must` (it cannot name a field the query does not list, and its syntax errors are ignored, not raised);
//! `type` must be one of the platform's event types exactly; `from`/`to` are parsed to epoch milliseconds and
//! sent as numbers. Bool semantics make every `filter` clause mandatory whatever `must` holds, so no `q` (an `OR`,
//! a `)`, a `tenant_id:*`) can remove or widen the tenant filter.
//! <https://docs.opensearch.org/latest/query-dsl/compound/bool/>

use std::collections::HashMap;

use base64::Engine;
use platform_types::events::detail_type;
use powertools::problem::Problem;
use powertools::tenant::TenantId;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Longest `q` accepted, in characters: a search box, not a document.
pub const MAX_Q_CHARS: usize = 200;
/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page (as the API's list routes).
pub const MAX_LIMIT: u32 = 100;
/// The query parameters the route takes; any other is a 400 (a typo must not silently widen a search).
pub const PARAMETERS: &[&str] = &["q", "type", "from", "to", "limit", "cursor"];

/// What `simple_query_string` may interpret in `q`: boolean operators, phrases, grouping and escapes. No `PREFIX`
/// (`*`), `FUZZY`, `NEAR` or `SLOP`: term expansion is where a short query gets expensive.
/// <https://docs.opensearch.org/latest/query-dsl/full-text/simple-query-string/>
pub const Q_FLAGS: &str = "AND|OR|NOT|PHRASE|PRECEDENCE|ESCAPE|WHITESPACE";

/// The fields `q` searches: the event's payload only (the tenant and type are filters, not text).
pub const Q_FIELDS: &[&str] = &["detail.*"];

/// Field names in the index. The indexer lets OpenSearch map documents dynamically: strings are `text` with a
/// `keyword` sub-field, so exact terms go to `<field>.keyword` (a `term` on the analyzed `tenant_id` would match
/// the tokens of `acme-corp`, `acme` and `corp`); ISO 8601 strings are detected as `date`.
/// <https://docs.opensearch.org/latest/field-types/#dynamic-mapping>
pub mod field {
    pub const TENANT: &str = "tenant_id.keyword";
    pub const TYPE: &str = "event_type.keyword";
    pub const EVENT_ID: &str = "event_id.keyword";
    pub const OCCURRED_AT: &str = "occurred_at";
}

/// A validated search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub q: Option<String>,
    pub event_type: Option<&'static str>,
    /// Inclusive bounds, epoch milliseconds.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: u32,
    /// Where the previous page ended: `[occurred_at millis, event_id]`.
    pub search_after: Option<(i64, String)>,
}

fn bad(detail: String) -> Problem {
    Problem::new(400).with_detail(detail)
}

/// Checks the query parameters of a search by `tenant`. Every message names the parameter, the bad value and
/// what is allowed.
pub fn parse(query: &HashMap<String, String>, tenant: &TenantId) -> Result<Params, Problem> {
    let mut unknown: Vec<&String> = query.keys().filter(|k| !PARAMETERS.contains(&k.as_str())).collect();
    unknown.sort();
    if let Some(k) = unknown.first() {
        return Err(bad(format!("unknown query parameter {k:?}: allowed are {}", PARAMETERS.join(", "))));
    }
    let q = match query.get("q").map(|q| q.trim()) {
        None | Some("") => None,
        Some(q) if q.chars().count() > MAX_Q_CHARS => {
            return Err(bad(format!("query parameter q has {} characters: at most {MAX_Q_CHARS}", q.chars().count())));
        }
        Some(q) if q.chars().any(char::is_control) => {
            return Err(bad(format!("query parameter q {q:?} contains control characters")));
        }
        Some(q) => Some(q.to_string()),
    };
    let event_type = match query.get("type") {
        None => None,
        Some(t) => Some(detail_type::ALL.iter().copied().find(|known| *known == t).ok_or_else(|| {
            bad(format!("query parameter type {t:?} is not an event type: one of {}", detail_type::ALL.join(", ")))
        })?),
    };
    let time = |name: &str| -> Result<Option<i64>, Problem> {
        query
            .get(name)
            .map(|v| {
                timestamp_millis(v).ok_or_else(|| {
                    bad(format!(
                        "query parameter {name} {v:?} is not a UTC timestamp: YYYY-MM-DDTHH:MM:SS[.fff]Z, years 1970 to 9999"
                    ))
                })
            })
            .transpose()
    };
    let (from, to) = (time("from")?, time("to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(bad(format!(
            "query parameter from {:?} is after to {:?}",
            query.get("from").map_or("", String::as_str),
            query.get("to").map_or("", String::as_str)
        )));
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad(format!("query parameter limit {l:?} is not a number from 1 to {MAX_LIMIT}")))?,
    };
    let mut params = Params { q, event_type, from, to, limit, search_after: None };
    if let Some(c) = query.get("cursor") {
        params.search_after = Some(decode_cursor(c, tenant, &params)?);
    }
    Ok(params)
}

/// The OpenSearch `_search` body: the tenant term first in `filter`, then the type and time filters, `q` as the
/// text of a `simple_query_string` in `must`, newest first with the event id as tie-breaker (a total order, which
/// `search_after` needs).
pub fn build(tenant: &TenantId, p: &Params) -> Value {
    let mut filter = vec![json!({ "term": { field::TENANT: tenant.as_str() } })];
    if let Some(t) = p.event_type {
        filter.push(json!({ "term": { field::TYPE: t } }));
    }
    if p.from.is_some() || p.to.is_some() {
        let mut range = json!({ "format": "epoch_millis" });
        if let Some(f) = p.from {
            range["gte"] = json!(f);
        }
        if let Some(t) = p.to {
            range["lte"] = json!(t);
        }
        filter.push(json!({ "range": { field::OCCURRED_AT: range } }));
    }
    let mut bool_query = json!({ "filter": filter });
    if let Some(q) = &p.q {
        bool_query["must"] = json!([{
            "simple_query_string": {
                "query": q,
                "fields": Q_FIELDS,
                "flags": Q_FLAGS,
                "default_operator": "and",
                // A text query against a numeric field of the payload is no match, not an error.
                "lenient": true,
            }
        }]);
    }
    let mut body = json!({
        "size": p.limit,
        "track_total_hits": false,
        "_source": ["event_id", "event_type", "tenant_id", "occurred_at", "detail"],
        "sort": [
            { field::OCCURRED_AT: { "order": "desc" } },
            { field::EVENT_ID: { "order": "desc" } },
        ],
        "query": { "bool": bool_query },
    });
    if let Some((at, id)) = &p.search_after {
        body["search_after"] = json!([at, id]);
    }
    body
}

/// One event of a page.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Event {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: Option<String>,
    pub detail: Value,
}

/// A page of events, newest first.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Page {
    pub items: Vec<Event>,
    /// Present when the page is full: pass it as `cursor` with the same `q`, `type`, `from` and `to`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Reads OpenSearch's answer. A hit of another tenant (impossible with the filter) is left out and logged, so a
/// broken index can never show one tenant's events to another.
pub fn page(answer: &Value, tenant: &TenantId, p: &Params) -> Result<Page, String> {
    let hits = answer["hits"]["hits"].as_array().ok_or("no hits.hits array")?;
    let mut items = Vec::with_capacity(hits.len());
    let mut last_sort = None;
    for hit in hits {
        let source = &hit["_source"];
        if source["tenant_id"].as_str() != Some(tenant.as_str()) {
            tracing::error!(id = %hit["_id"], "a hit of another tenant passed the tenant filter: left out");
            continue;
        }
        items.push(Event {
            event_id: source["event_id"].as_str().unwrap_or_default().to_string(),
            event_type: source["event_type"].as_str().unwrap_or_default().to_string(),
            occurred_at: source["occurred_at"].as_str().map(String::from),
            detail: source["detail"].clone(),
        });
        last_sort = Some(&hit["sort"]);
    }
    let next_cursor = match last_sort {
        Some(sort) if hits.len() as u64 >= u64::from(p.limit) => {
            let at = sort[0].as_i64().ok_or_else(|| format!("sort value {} is not epoch millis", sort[0]))?;
            let id = sort[1].as_str().ok_or_else(|| format!("sort value {} is not an event id", sort[1]))?;
            Some(encode_cursor(tenant, p, at, id))
        }
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// What a cursor is bound to besides the tenant: the filters, so a cursor cannot be replayed with other ones
/// (its position would mean nothing there).
fn fingerprint(p: &Params) -> String {
    let canonical = json!([p.q, p.event_type, p.from, p.to]).to_string();
    hex::encode(&Sha256::digest(canonical.as_bytes())[..16])
}

/// An opaque cursor: base64url of `{"t": tenant, "f": filters' fingerprint, "a": [millis, event_id]}`. Not
/// secret and not signed: the tenant inside is checked against the caller's, and even a forged cursor only moves
/// the start of a search that the tenant filter still bounds.
pub fn encode_cursor(tenant: &TenantId, p: &Params, at: i64, event_id: &str) -> String {
    let raw = json!({ "t": tenant.as_str(), "f": fingerprint(p), "a": [at, event_id] }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(c: &str, tenant: &TenantId, p: &Params) -> Result<(i64, String), Problem> {
    let invalid = |why: &str| bad(format!("query parameter cursor is invalid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| invalid("not base64url"))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| invalid("not a cursor of this route"))?;
    if v["t"].as_str() != Some(tenant.as_str()) {
        return Err(invalid("it belongs to another tenant"));
    }
    if v["f"].as_str() != Some(fingerprint(p).as_str()) {
        return Err(invalid("it was issued for other q, type, from or to values"));
    }
    match (v["a"][0].as_i64(), v["a"][1].as_str(), v["a"].as_array().map(Vec::len)) {
        (Some(at), Some(id), Some(2)) => Ok((at, id.to_string())),
        _ => Err(invalid("not a cursor of this route")),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (RFC 3339 in UTC, years 1970 to 9999) to epoch milliseconds; anything else
/// (offsets, a missing `Z`, day 31 of a 30-day month, a 20-digit year) is `None`.
pub fn timestamp_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &s[19..];
    let frac = match rest.strip_suffix('Z')? {
        "" => 0,
        f => {
            let digits = f.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Milliseconds: the first three digits, right-padded.
            format!("{digits:0<3}")[..3].parse::<i64>().ok()?
        }
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if y < 1970
        || !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    Some((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec) * 1000 + frac)
}

/// Howard Hinnant's `days_from_civil`: (year, month, day) to days since 1970-01-01, proleptic Gregorian.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tenant(t: &str) -> TenantId {
        TenantId::parse(t).unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parsed(pairs: &[(&str, &str)]) -> Result<Params, String> {
        parse(&query(pairs), &tenant("acme")).map_err(|p| p.detail.unwrap_or_default())
    }

    /// The bool query's filter clauses of a search by `acme`.
    fn filters(pairs: &[(&str, &str)]) -> Value {
        build(&tenant("acme"), &parsed(pairs).unwrap())["query"]["bool"]["filter"].clone()
    }

    const ACME: &str = r#"{"term":{"tenant_id.keyword":"acme"}}"#;

    #[test]
    fn the_whole_body_of_a_full_search() {
        let p = parsed(&[
            ("q", "paid"),
            ("type", "OrderCreated"),
            ("from", "2024-05-01T00:00:00Z"),
            ("to", "2024-05-02T00:00:00.5Z"),
            ("limit", "2"),
        ])
        .unwrap();
        assert_eq!(
            build(&tenant("acme"), &p),
            json!({
                "size": 2,
                "track_total_hits": false,
                "_source": ["event_id", "event_type", "tenant_id", "occurred_at", "detail"],
                "sort": [{"occurred_at": {"order": "desc"}}, {"event_id.keyword": {"order": "desc"}}],
                "query": {"bool": {
                    "filter": [
                        {"term": {"tenant_id.keyword": "acme"}},
                        {"term": {"event_type.keyword": "OrderCreated"}},
                        {"range": {"occurred_at": {"format": "epoch_millis", "gte": 1_714_521_600_000_i64, "lte": 1_714_608_000_500_i64}}},
                    ],
                    "must": [{"simple_query_string": {
                        "query": "paid", "fields": ["detail.*"], "flags": Q_FLAGS,
                        "default_operator": "and", "lenient": true,
                    }}],
                }},
            })
        );
        // No parameters: the tenant filter alone, no must, no search_after.
        let body = build(&tenant("acme"), &parsed(&[]).unwrap());
        assert_eq!(body["query"], json!({"bool": {"filter": [serde_json::from_str::<Value>(ACME).unwrap()]}}));
        assert_eq!((body["size"].as_u64(), body.get("search_after")), (Some(20), None));
    }

    #[test]
    fn hostile_q_stays_text_inside_must() {
        for q in [
            "tenant_id:*",
            "* OR tenant_id:other",
            ") OR (",
            r#"\" } }, {"match_all": {} } ] } } //"#,
            r#"{"bool":{"should":[{"match_all":{}}]}}"#,
            "\\\"escaped\\\" quotes\\",
            "acme OR NOT acme",
            "_all:* || tenant_id.keyword:globex",
        ] {
            let body = build(&tenant("acme"), &parsed(&[("q", q)]).unwrap());
            let b = &body["query"]["bool"];
            // The tenant filter is exactly the caller's, alone in filter; q is the text of one clause in must.
            assert_eq!(b["filter"].to_string(), format!("[{ACME}]"), "q = {q}");
            assert_eq!(b["must"][0]["simple_query_string"]["query"], json!(q.trim()), "q = {q}");
            assert_eq!(b["must"][0]["simple_query_string"]["fields"], json!(["detail.*"]), "q = {q}");
            assert_eq!(b.as_object().unwrap().len(), 2, "only filter and must: no should to widen, q = {q}");
            assert_eq!(body["query"].as_object().unwrap().len(), 1, "q = {q}");
        }
    }

    #[test]
    fn q_limits() {
        assert_eq!(parsed(&[("q", "   ")]).unwrap().q, None);
        assert_eq!(parsed(&[("q", &"x".repeat(200))]).unwrap().q.unwrap().len(), 200);
        assert_eq!(
            parsed(&[("q", &"é".repeat(201))]).unwrap_err(),
            "query parameter q has 201 characters: at most 200"
        );
        assert_eq!(parsed(&[("q", "a\u{0}b")]).unwrap_err(), r#"query parameter q "a\0b" contains control characters"#);
    }

    #[test]
    fn type_is_one_event_type_exactly() {
        assert_eq!(filters(&[("type", "ApiKeyRevoked")])[1], json!({"term": {"event_type.keyword": "ApiKeyRevoked"}}));
        for t in ["*", "Order*", "OrderCreated*", "ordercreated", "OrderCreated OR ApiKeyRevoked", "", "?rderCreated"] {
            assert_eq!(
                parsed(&[("type", t)]).unwrap_err(),
                format!(
                    "query parameter type {t:?} is not an event type: one of OrderCreated, SubscriptionUpgraded, ApiKeyRevoked, InvoiceGenerated, InvoiceReady"
                )
            );
        }
    }

    #[test]
    fn time_bounds() {
        assert_eq!(timestamp_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(timestamp_millis("2024-02-29T23:59:59.999Z"), Some(1_709_251_199_999));
        assert_eq!(timestamp_millis("2024-02-29T23:59:59.1Z"), Some(1_709_251_199_100));
        assert_eq!(timestamp_millis("9999-12-31T23:59:59.123456789Z"), Some(253_402_300_799_123));
        for bad_time in [
            "",
            "2024-05-01",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+02:00",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "99999999999999999999-01-01T00:00:00Z",
            "+2024-05-01T00:00:00Z",
            "2024-05-01T00:00:00.Z",
            "2024-05-01T00:00:00.1234567890Z",
            "2024-05-01T00:00:00ZZ",
            "-1",
            "1714521600000",
            "now-1d",
            "２０２４-05-01T00:00:00Z",
        ] {
            assert_eq!(timestamp_millis(bad_time), None, "{bad_time}");
        }
        assert_eq!(
            parsed(&[("from", "99999999999999999999")]).unwrap_err(),
            r#"query parameter from "99999999999999999999" is not a UTC timestamp: YYYY-MM-DDTHH:MM:SS[.fff]Z, years 1970 to 9999"#
        );
        assert_eq!(
            parsed(&[("from", "2024-05-02T00:00:00Z"), ("to", "2024-05-01T00:00:00Z")]).unwrap_err(),
            r#"query parameter from "2024-05-02T00:00:00Z" is after to "2024-05-01T00:00:00Z""#
        );
        assert_eq!(
            filters(&[("to", "1970-01-01T00:00:01Z")])[1],
            json!({"range": {"occurred_at": {"format": "epoch_millis", "lte": 1000}}})
        );
    }

    #[test]
    fn limit_and_unknown_parameters() {
        assert_eq!(parsed(&[("limit", "100")]).unwrap().limit, 100);
        for l in ["0", "101", "-1", "1e3", "", "18446744073709551616"] {
            assert_eq!(
                parsed(&[("limit", l)]).unwrap_err(),
                format!("query parameter limit {l:?} is not a number from 1 to 100")
            );
        }
        assert_eq!(
            parsed(&[("tenant_id", "globex"), ("q", "x")]).unwrap_err(),
            r#"unknown query parameter "tenant_id": allowed are q, type, from, to, limit, cursor"#
        );
    }

    #[test]
    fn cursors_are_bound_to_tenant_and_filters() {
        let p = parsed(&[("q", "paid"), ("type", "OrderCreated")]).unwrap();
        let c = encode_cursor(&tenant("acme"), &p, 1_714_521_600_000, "ev-9");
        let next = parsed(&[("q", "paid"), ("type", "OrderCreated"), ("cursor", &c)]).unwrap();
        assert_eq!(next.search_after, Some((1_714_521_600_000, "ev-9".into())));
        let body = build(&tenant("acme"), &next);
        assert_eq!(body["search_after"], json!([1_714_521_600_000_i64, "ev-9"]));
        assert_eq!(body["query"]["bool"]["filter"][0].to_string(), ACME, "a cursor moves the start, not the filter");

        // Another tenant's cursor, even with the same filters, is refused; so is one of other filters.
        let theirs = encode_cursor(&tenant("globex"), &p, 1, "ev-1");
        assert_eq!(
            parsed(&[("q", "paid"), ("type", "OrderCreated"), ("cursor", &theirs)]).unwrap_err(),
            "query parameter cursor is invalid: it belongs to another tenant"
        );
        assert_eq!(
            parsed(&[("q", "unpaid"), ("type", "OrderCreated"), ("cursor", &c)]).unwrap_err(),
            "query parameter cursor is invalid: it was issued for other q, type, from or to values"
        );
        // Forged by hand: the tenant named inside is checked against the caller's.
        let forge = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let f = fingerprint(&p);
        for (cursor, why) in [
            (forge(json!({"t": "globex", "f": f, "a": [1, "x"]})), "it belongs to another tenant"),
            (forge(json!({"t": ["acme"], "f": f, "a": [1, "x"]})), "it belongs to another tenant"),
            (forge(json!({"f": f, "a": [1, "x"]})), "it belongs to another tenant"),
            (forge(json!({"t": "acme", "f": f, "a": [1, "x", "y"]})), "not a cursor of this route"),
            (forge(json!({"t": "acme", "f": f, "a": [{"match_all": {}}, "x"]})), "not a cursor of this route"),
            (forge(json!({"t": "acme", "f": f, "a": "x"})), "not a cursor of this route"),
            (forge(json!({"t": "acme", "a": [1, "x"]})), "it was issued for other q, type, from or to values"),
            ("%%%".to_string(), "not base64url"),
            (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("acme\nORDER#1"), "not a cursor of this route"),
        ] {
            assert_eq!(
                parsed(&[("q", "paid"), ("type", "OrderCreated"), ("cursor", &cursor)]).unwrap_err(),
                format!("query parameter cursor is invalid: {why}"),
                "{cursor}"
            );
        }
    }

    #[test]
    fn pages_keep_the_callers_tenant_only() {
        let p = parsed(&[("limit", "2")]).unwrap();
        let hit = |t: &str, id: &str, at: i64| {
            json!({"_id": id, "_source": {"event_id": id, "event_type": "OrderCreated", "tenant_id": t,
                   "occurred_at": "2024-05-01T12:00:00Z", "detail": {"order_id": "o1"}}, "sort": [at, id]})
        };
        let answer = json!({"hits": {"hits": [hit("acme", "ev-2", 2), hit("globex", "ev-1", 1)]}});
        let page = page(&answer, &tenant("acme"), &p).unwrap();
        assert_eq!(
            serde_json::to_value(&page.items).unwrap(),
            json!([{"event_id": "ev-2", "type": "OrderCreated", "occurred_at": "2024-05-01T12:00:00Z", "detail": {"order_id": "o1"}}])
        );
        // A full page has a cursor at its last hit of the tenant; a short one has none.
        assert_eq!(page.next_cursor, Some(encode_cursor(&tenant("acme"), &p, 2, "ev-2")));
        let short = json!({"hits": {"hits": [hit("acme", "ev-2", 2)]}});
        assert_eq!(super::page(&short, &tenant("acme"), &p).unwrap().next_cursor, None);
        assert_eq!(super::page(&json!({}), &tenant("acme"), &p).unwrap_err(), "no hits.hits array");
    }
}
