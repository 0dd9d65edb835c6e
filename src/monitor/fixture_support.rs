//! What the monitor's fixture tests share: reading the reference values the Python scripts in
//! `tests/reference/` wrote, and comparing floats to a relative tolerance.

use serde_json::Value;

pub fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

pub fn uint(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an unsigned integer"))
}

pub fn nums(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    let items = v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"));
    assert!(!items.is_empty(), "{key} is empty");
    items
}

/// Agreement to `rel` relative, with an absolute floor of 1e-15 for values at zero.
pub fn assert_close(actual: f64, expected: f64, rel: f64, what: &str) {
    let ok = actual == expected
        || (actual - expected).abs() <= rel * actual.abs().max(expected.abs()) + 1e-15;
    assert!(ok, "{what}: got {actual:e}, expected {expected:e}");
}
