//! Which resource a request path reaches: literal parts before `{param}` before greedy `{proxy+}`, as API Gateway
//! chooses the most specific match.

use std::collections::BTreeMap;

use super::model::RestApi;

/// The resource (index in [`RestApi::resources`]) of `path` and its path parameters, decoded.
pub fn route(api: &RestApi, path: &str) -> Option<(usize, BTreeMap<String, String>)> {
    let trimmed = path.trim_start_matches('/');
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let segments: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
    let mut params = BTreeMap::new();
    walk(api, 0, &segments, &mut params).map(|i| (i, params))
}

fn walk(api: &RestApi, node: usize, rest: &[&str], params: &mut BTreeMap<String, String>) -> Option<usize> {
    let Some((segment, tail)) = rest.split_first() else { return Some(node) };
    if segment.is_empty() {
        return None;
    }
    let children = &api.resources[node].children;
    let part = |i: &usize| api.resources[*i].path_part.as_str();
    if let Some(&child) = children.iter().find(|i| part(i) == *segment)
        && let Some(found) = walk(api, child, tail, params)
    {
        return Some(found);
    }
    for &child in children {
        let Some(name) = part(&child).strip_prefix('{').and_then(|p| p.strip_suffix('}')) else { continue };
        if name.ends_with('+') {
            continue;
        }
        params.insert(name.to_owned(), percent_decode(segment));
        if let Some(found) = walk(api, child, tail, params) {
            return Some(found);
        }
        params.remove(name);
    }
    for &child in children {
        let Some(name) = part(&child).strip_prefix('{').and_then(|p| p.strip_suffix("+}")) else { continue };
        params.insert(name.to_owned(), percent_decode(&rest.join("/")));
        return Some(child);
    }
    None
}

/// `%XX` sequences decoded (invalid ones kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string's pairs, decoded, in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}
