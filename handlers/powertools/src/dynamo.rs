//! DynamoDB items as plain JSON: SDK items and stream images (DynamoDB JSON) to `serde_json::Value` and back.
//!
//! Numbers stay exact: DynamoDB numbers (38 digits) become JSON numbers only when they fit `i64`/`u64`/`f64`
//! losslessly, else strings.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use platform_types::table;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::tenant::{EntityKey, TenantId};

/// An SDK item.
pub type Item = HashMap<String, AttributeValue>;

/// Errors converting between representations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A DynamoDB JSON value that is not an object with exactly one type key.
    #[error("bad DynamoDB JSON value {0}: expected an object with one of S, N, BOOL, NULL, M, L, SS, NS")]
    BadAttribute(String),
    /// A required attribute is missing or has another type.
    #[error("attribute {name:?} missing or not of type {expected}")]
    Missing { name: String, expected: &'static str },
    /// A value to store as an item that does not serialize to a JSON object.
    #[error("{entity} does not serialize to a JSON object: {reason}")]
    NotAnObject { entity: &'static str, reason: String },
}

/// Plain JSON of an SDK attribute value (binary as base64 strings).
pub fn to_json(v: &AttributeValue) -> Value {
    use base64::Engine;
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => b64(b.as_ref()),
        AttributeValue::Ss(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(v) => Value::Array(v.iter().map(|n| number(n)).collect()),
        AttributeValue::Bs(v) => Value::Array(v.iter().map(|b| b64(b.as_ref())).collect()),
        AttributeValue::M(m) => item_to_json(m),
        AttributeValue::L(l) => Value::Array(l.iter().map(to_json).collect()),
        _ => Value::Null,
    }
}

fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::Number(i.into());
    }
    if let Ok(u) = n.parse::<u64>() {
        return Value::Number(u.into());
    }
    match n.parse::<f64>().ok().filter(|f| f.is_finite() && f.to_string() == n).and_then(Number::from_f64) {
        Some(f) => Value::Number(f),
        None => Value::String(n.to_string()),
    }
}

/// Plain JSON object of an SDK item.
pub fn item_to_json(item: &Item) -> Value {
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    Value::Object(keys.into_iter().map(|k| (k.clone(), to_json(&item[k]))).collect())
}

/// SDK attribute value of plain JSON (objects become maps, arrays lists).
pub fn from_json(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(from_json).collect()),
        Value::Object(o) => AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// Plain JSON of a DynamoDB JSON image (as in stream records: `{"pk": {"S": "..."}}`).
pub fn image_to_json(image: &Map<String, Value>) -> Result<Value, ConvertError> {
    let mut out = Map::new();
    let mut keys: Vec<&String> = image.keys().collect();
    keys.sort();
    for k in keys {
        out.insert(k.clone(), ddb_json_value(&image[k])?);
    }
    Ok(Value::Object(out))
}

fn ddb_json_value(v: &Value) -> Result<Value, ConvertError> {
    let bad = || ConvertError::BadAttribute(v.to_string());
    let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(bad)?;
    let (t, inner) = obj.iter().next().ok_or_else(bad)?;
    Ok(match (t.as_str(), inner) {
        ("S", Value::String(s)) | ("B", Value::String(s)) => Value::String(s.clone()),
        ("N", Value::String(n)) => number(n),
        ("BOOL", Value::Bool(b)) => Value::Bool(*b),
        ("NULL", _) => Value::Null,
        ("SS", Value::Array(a)) | ("BS", Value::Array(a)) => Value::Array(a.clone()),
        ("NS", Value::Array(a)) => {
            Value::Array(a.iter().map(|n| n.as_str().map(number).ok_or_else(bad)).collect::<Result<_, _>>()?)
        }
        ("M", Value::Object(m)) => image_to_json(m)?,
        ("L", Value::Array(a)) => Value::Array(a.iter().map(ddb_json_value).collect::<Result<_, _>>()?),
        _ => return Err(bad()),
    })
}

/// The item of a domain value: its JSON as attributes, without nulls (optional fields that are not skipped
/// when `None`; DynamoDB would store them, but items stay lean), plus `pk` and `sk` from `key` (never from the
/// value) and `entity`, the kind's type name. The one layout of entity items: the API writes it and
/// `testkit::seed` writes it for the other handlers' tests.
pub fn entity_item<T: Serialize>(key: &EntityKey, value: &T) -> Result<Item, ConvertError> {
    let entity = key.kind().name();
    let json = serde_json::to_value(value).map_err(|e| ConvertError::NotAnObject { entity, reason: e.to_string() })?;
    let AttributeValue::M(mut item) = from_json(&json) else {
        return Err(ConvertError::NotAnObject { entity, reason: format!("got {json}") });
    };
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.insert(table::PARTITION_KEY.into(), s(key.pk()));
    item.insert(table::SORT_KEY.into(), s(key.sk()));
    item.insert(table::ENTITY_ATTRIBUTE.into(), s(entity));
    Ok(item)
}

/// The tenant's webhook configuration item (`pk = TENANT#<tenant>`, `sk = WEBHOOK#CONFIG`, the fields of
/// `platform_types::api::WebhookConfig` as attributes): the one layout the API writes, the webhook worker reads
/// and the tests seed. Not an entity (no `entity` attribute): the stream processor turns no event out of it.
pub fn webhook_item(tenant: &TenantId, config: &platform_types::api::WebhookConfig) -> Result<Item, ConvertError> {
    let json = serde_json::to_value(config)
        .map_err(|e| ConvertError::NotAnObject { entity: "webhook configuration", reason: e.to_string() })?;
    let AttributeValue::M(mut item) = from_json(&json) else {
        return Err(ConvertError::NotAnObject { entity: "webhook configuration", reason: format!("got {json}") });
    };
    item.insert(table::PARTITION_KEY.into(), s(tenant.partition_key()));
    item.insert(table::SORT_KEY.into(), s(table::WEBHOOK_CONFIG_SORT_KEY));
    Ok(item)
}

/// A string attribute of an SDK item.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, ConvertError> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(ConvertError::Missing { name: name.into(), expected: "S" }),
    }
}

/// A number attribute of an SDK item, parsed.
pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, ConvertError> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| ConvertError::Missing { name: name.into(), expected: "N" }),
        _ => Err(ConvertError::Missing { name: name.into(), expected: "N" }),
    }
}

/// `AttributeValue::S`.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// `AttributeValue::N`.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_image_to_plain_json() {
        let image = json!({
            "pk": {"S": "TENANT#a"}, "n": {"N": "42"}, "f": {"N": "1.5"}, "big": {"N": "123456789012345678901234567890"},
            "m": {"M": {"x": {"BOOL": true}, "l": {"L": [{"S": "a"}, {"NULL": true}]}}}, "ns": {"NS": ["1", "2"]}
        });
        let plain = image_to_json(image.as_object().unwrap()).unwrap();
        assert_eq!(
            plain,
            json!({"pk": "TENANT#a", "n": 42, "f": 1.5, "big": "123456789012345678901234567890",
                   "m": {"x": true, "l": ["a", null]}, "ns": [1, 2]})
        );
        assert!(image_to_json(json!({"x": {"S": 1}}).as_object().unwrap()).is_err());
        assert!(image_to_json(json!({"x": {"S": "a", "N": "1"}}).as_object().unwrap()).is_err());
    }

    #[test]
    fn entity_item_layout() {
        use crate::tenant::{EntityId, EntityKind, TenantId};
        let key = TenantId::parse("acme").unwrap().entity_key(EntityKind::Order, &EntityId::parse("01A").unwrap());
        let item = entity_item(&key, &json!({"order_id": "01A", "total_cents": 5, "customer_ref": null})).unwrap();
        assert_eq!(
            item_to_json(&item),
            json!({"pk": "TENANT#acme", "sk": "ORDER#01A", "entity": "Order", "order_id": "01A", "total_cents": 5})
        );
        assert_eq!(
            entity_item(&key, &json!([1])).unwrap_err().to_string(),
            "Order does not serialize to a JSON object: got [1]"
        );
    }

    #[test]
    fn json_round_trips_through_attribute_values() {
        let v = json!({"a": [1, "x", null, true], "b": {"c": -3}});
        assert_eq!(to_json(&from_json(&v)), v);
    }
}
