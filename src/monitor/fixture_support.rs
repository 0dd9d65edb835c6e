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

/// Numbers within 1e-12 relative, everything else equal; `versions` (of the Python packages)
/// is not compared.
pub fn assert_same_json(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys_x: Vec<&String> = x.keys().filter(|k| *k != "versions").collect();
            let keys_y: Vec<&String> = y.keys().filter(|k| *k != "versions").collect();
            assert_eq!(keys_x, keys_y, "{path}: keys");
            for k in keys_x {
                assert_same_json(&x[k], &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: length");
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                assert_same_json(u, v, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (u, v) = (x.as_f64().expect("f64"), y.as_f64().expect("f64"));
            assert_close(u, v, 1e-12, path);
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// Runs `tests/reference/<script>` with the Python `TRADEMON_PYREF` names and checks that what it
/// writes is the checked-in `fixture`; says it skipped when the variable is not set.
pub fn regenerates_from_python(script: &str, fixture: &Value) {
    let Some(python) = std::env::var_os("TRADEMON_PYREF") else {
        println!("skipped: TRADEMON_PYREF not set");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("fresh.json");
    let status = std::process::Command::new(python)
        .arg(root.join("tests/reference").join(script))
        .arg(&out)
        .status()
        .expect("run the reference script");
    assert!(status.success(), "reference script failed: {status}");
    let fresh: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read output")).expect("JSON");
    assert_same_json(&fresh, fixture, "$");
}
