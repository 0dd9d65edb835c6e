//! The LSTM member against PyTorch (../shared/reference/lstm, made by gen_lstm.py there): for both
//! reference sizes, the logits and probabilities of `check.x`, the mean cross-entropy against
//! `check.y`, every gradient, and one AdamW step. Then every way a weights file or an input can
//! be wrong, each refused with an error that names the tensor and the problem.
//!
//! **Tolerances.** Probabilities and logits: absolute 1e-5 (they are O(0.1–1)). AdamW: absolute
//! 1e-5 (every weight moves by about lr = 1e-3, so that is 1% of the step), for our optimiser on
//! PyTorch's gradients everywhere and end to end wherever the step is not decided by gradient
//! noise (see [`TINY_GRADIENT`]). Loss: relative 1e-4.
//! Gradients: relative 1e-4 elementwise, measured as
//! `|ours − ref| ≤ 1e-4 · max(|ref|, 1e-2 · max_j |ref_j|)`: every entry at least 1% of the
//! tensor's largest is held to a true 1e-4 relative error, the smaller ones to 1e-6 of the
//! largest. Why the floor: the reference is float64 rounded to f32, we compute in f32, and many
//! gradient entries are near-cancelling sums over batch and time (the references go down to
//! 3e-10 beside entries of 4e-3); there the f32 rounding of the large terms, about 1e-7 of the
//! tensor's scale (our normwise error is 2e-7 to 6e-7), is the error floor of any f32
//! implementation, PyTorch's own included, and a pure elementwise ratio would measure only that.
//! A wrong gate order, a missing bias, a dropped
//! recurrence term or a transposed weight moves entries by 10% or more and fails.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Tensor};
use trademon::model::weights_file::{input_values, load_tensors, write_tensors};
use trademon::model::{AdamW, Class, Member, ModelError, Scratch};

use support::shared_file;

const FILES: [&str; 2] = ["member_F17_H32_L1_T20", "member_F26_H64_L2_T20"];

/// The reference file's bytes; `None` (with a reason) when the shared data is absent, except in CI.
fn reference(name: &str) -> Option<Vec<u8>> {
    let path = shared_file("reference/lstm", &format!("{name}.safetensors"))?;
    Some(std::fs::read(path).unwrap())
}

struct Reference {
    bytes: Vec<u8>,
    tensors: HashMap<String, Tensor>,
}

impl Reference {
    fn load(name: &str) -> Option<Self> {
        let bytes = reference(name)?;
        let tensors = load_tensors(&bytes).unwrap();
        Some(Self { bytes, tensors })
    }

    fn values(&self, name: &str) -> Vec<f32> {
        self.tensors[name]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }

    fn labels(&self) -> Vec<u8> {
        let y = &self.tensors["check.y"];
        assert_eq!(y.dtype(), DType::I64);
        y.to_vec1::<i64>()
            .unwrap()
            .into_iter()
            .map(|c| c as u8)
            .collect()
    }

    /// The weight tensors (not check.*) as (name, shape, values), optionally changed by `edit`.
    fn weights_file(
        &self,
        edit: impl FnOnce(&mut BTreeMap<String, (Vec<usize>, Vec<f32>)>),
    ) -> Vec<u8> {
        let mut tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)> = self
            .tensors
            .iter()
            .filter(|(name, _)| !name.starts_with("check."))
            .map(|(name, t)| (name.clone(), (t.dims().to_vec(), self.values(name))))
            .collect();
        edit(&mut tensors);
        let list: Vec<(String, Vec<usize>, &[f32])> = tensors
            .iter()
            .map(|(name, (shape, values))| (name.clone(), shape.clone(), values.as_slice()))
            .collect();
        write_tensors(&list, &BTreeMap::new()).unwrap()
    }
}

fn max_abs_error(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Largest `|ours − ref| / max(|ref|, 1e-2 · max|ref|)` (see the module doc).
fn max_relative_error(ours: &[f32], reference: &[f32]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference
        .iter()
        .fold(0.0_f64, |m, r| m.max(f64::from(r.abs())));
    ours.iter()
        .zip(reference)
        .map(|(&a, &r)| {
            let floor = (1e-2 * scale).max(f64::from(r.abs()));
            f64::from(a - r).abs() / floor
        })
        .fold(0.0, f64::max)
}

fn parameter_names(member: &Member) -> Vec<String> {
    member
        .spec()
        .parameter_shapes()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn logits_and_probabilities_match_pytorch() {
    for name in FILES {
        let Some(r) = Reference::load(name) else {
            return;
        };
        let member = Member::from_safetensors(&r.bytes).unwrap();
        let x = r.values("check.x");
        let batch = r.labels().len();
        let logits: Vec<f32> = member.logits(&x, batch).unwrap().concat();
        let probs: Vec<f32> = member.probabilities(&x, batch).unwrap().concat();
        let e_logits = max_abs_error(&logits, &r.values("check.logits"));
        let e_probs = max_abs_error(&probs, &r.values("check.probs"));
        println!("{name}: logits max abs error {e_logits:e}, probs {e_probs:e}");
        assert!(e_logits <= 1e-5, "{name}: logits off by {e_logits:e}");
        assert!(e_probs <= 1e-5, "{name}: probabilities off by {e_probs:e}");
        // The batch-1 path gives the same probabilities, window by window.
        let mut scratch = Scratch::default();
        let window = member.spec().window_len();
        let one: Vec<f32> = x
            .chunks_exact(window)
            .flat_map(|w| member.predict_one(w, &mut scratch).unwrap())
            .collect();
        let e_one = max_abs_error(&one, &r.values("check.probs"));
        assert!(e_one <= 1e-5, "{name}: predict_one off by {e_one:e}");
        assert!(
            max_abs_error(&one, &probs) <= 1e-6,
            "{name}: the two paths disagree"
        );
    }
}

#[test]
fn loss_and_gradients_match_pytorch() {
    for name in FILES {
        let Some(r) = Reference::load(name) else {
            return;
        };
        let member = Member::from_safetensors(&r.bytes).unwrap();
        let (loss, grads) = member
            .loss_and_gradients(&r.values("check.x"), &r.labels())
            .unwrap();
        let expected = r.values("check.loss")[0];
        let e_loss = f64::from((loss - expected).abs() / expected.abs());
        assert!(e_loss <= 1e-4, "{name}: loss {loss} vs {expected}");
        for (param, ours) in parameter_names(&member).iter().zip(grads.tensors()) {
            let e = max_relative_error(ours, &r.values(&format!("check.grad.{param}")));
            println!("{name}: grad {param} max relative error {e:.2e}");
            assert!(
                e <= 1e-4,
                "{name}: gradient of {param} off by {e:e} (relative)"
            );
        }
    }
}

/// AdamW's first step moves a weight by lr·g/(|g| + eps) (bias-corrected): ±lr where |g| ≫ eps,
/// but for |g| below eps = 1e-8 the move follows g itself, with slope up to lr/eps = 1e5. Gradient
/// entries that small are f32 rounding noise of their tensor (about 1e-7 of its largest entry, see
/// the module doc; 34 of the 63,654 in the two files), so no f32 implementation can place
/// their weights to 1e-5 after the step; they are held to the step size instead.
const TINY_GRADIENT: f32 = 1e-8;

#[test]
fn one_adamw_step_matches_pytorch() {
    for name in FILES {
        let Some(r) = Reference::load(name) else {
            return;
        };
        let x = r.values("check.x");
        // The optimiser alone, on PyTorch's own gradients: every weight to 1e-5.
        let mut member = Member::from_safetensors(&r.bytes).unwrap();
        let names = parameter_names(&member);
        let mut reference_grads = member.weights().clone();
        for (param, g) in names.iter().zip(reference_grads.tensors_mut()) {
            g.copy_from_slice(&r.values(&format!("check.grad.{param}")));
        }
        let mut adamw = AdamW::new(1e-3, 0.9, 0.999, 1e-8, 0.01);
        adamw.step(&mut member, &reference_grads).unwrap();
        for (param, ours) in names.iter().zip(member.weights().tensors()) {
            let e = max_abs_error(ours, &r.values(&format!("check.after_adamw.{param}")));
            assert!(
                e <= 1e-5,
                "{name}: {param} after AdamW on PyTorch's gradients off by {e:e}"
            );
        }
        // End to end, our gradients and our step: to 1e-5 wherever |ref grad| ≥ TINY_GRADIENT,
        // and never by more than the step size lr elsewhere.
        let mut member = Member::from_safetensors(&r.bytes).unwrap();
        let mut adamw = AdamW::new(1e-3, 0.9, 0.999, 1e-8, 0.01);
        let loss = member.train_step(&mut adamw, &x, &r.labels()).unwrap();
        assert!((loss - r.values("check.loss")[0]).abs() < 1e-4);
        assert_eq!(adamw.steps(), 1);
        for (param, ours) in names.iter().zip(member.weights().tensors()) {
            let after = r.values(&format!("check.after_adamw.{param}"));
            let grad = r.values(&format!("check.grad.{param}"));
            let (mut worst, mut tiny) = (0.0_f32, 0);
            for ((a, b), g) in ours.iter().zip(&after).zip(&grad) {
                let e = (a - b).abs();
                if g.abs() >= TINY_GRADIENT {
                    worst = worst.max(e);
                } else {
                    tiny += 1;
                    assert!(
                        e <= 1e-3,
                        "{name}: {param} moved {e:e} off at a gradient of {g:e}"
                    );
                }
            }
            println!(
                "{name}: after AdamW {param} max abs error {worst:e} ({tiny} entries with |grad| < {TINY_GRADIENT:e})"
            );
            assert!(
                worst <= 1e-5,
                "{name}: {param} after one AdamW step off by {worst:e}"
            );
        }
        // The step moved the weights.
        let before = Member::from_safetensors(&r.bytes).unwrap();
        assert!(max_abs_error(&member.weights().head_bias, &before.weights().head_bias) > 5e-4);
    }
}

#[test]
fn safetensors_round_trip_keeps_every_weight_and_the_window() {
    let Some(r) = Reference::load(FILES[1]) else {
        return;
    };
    let member = Member::from_safetensors(&r.bytes).unwrap();
    let bytes = member.to_safetensors().unwrap();
    let back = Member::from_safetensors(&bytes).unwrap();
    assert_eq!(back, member);
    assert_eq!(back.spec().window, 20);
    // candle's own reader takes our file, under PyTorch's names.
    let tensors = load_tensors(&bytes).unwrap();
    assert_eq!(tensors.len(), 10);
    assert_eq!(tensors["lstm.weight_hh_l1"].dims(), &[256, 64]);
    assert_eq!(
        tensors["head.weight"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        r.values("head.weight")
    );
}

#[test]
fn input_gradient_matches_finite_differences() {
    let Some(r) = Reference::load(FILES[0]) else {
        return;
    };
    let member = Member::from_safetensors(&r.bytes).unwrap();
    let window = &r.values("check.x")[..member.spec().window_len()];
    let grad = member.input_gradient(window, Class::Up).unwrap();
    assert_eq!(grad.len(), window.len());
    let log_p_up = |w: &[f32]| f64::from(member.probabilities(w, 1).unwrap()[0][2]).ln();
    let step = 1e-2_f32;
    let scale = grad.iter().fold(0.0_f32, |m, g| m.max(g.abs()));
    // The last step's features, the first step's, and one in between.
    for index in [window.len() - 1, window.len() - 5, 0, 3, window.len() / 2] {
        let (mut up, mut down) = (window.to_vec(), window.to_vec());
        up[index] += step;
        down[index] -= step;
        let numeric = (log_p_up(&up) - log_p_up(&down)) / f64::from(2.0 * step);
        let e = (numeric - f64::from(grad[index])).abs();
        assert!(
            e < 2e-2 * f64::from(scale),
            "d log p(up)/dx[{index}]: {} vs {numeric}",
            grad[index]
        );
    }
    assert!(grad[window.len() - 1] != 0.0);
}

#[test]
fn class_weights_follow_pytorch_weighted_cross_entropy() {
    let Some(r) = Reference::load(FILES[0]) else {
        return;
    };
    let member = Member::from_safetensors(&r.bytes).unwrap();
    let (x, y) = (r.values("check.x"), r.labels());
    let (plain, g_plain) = member.loss_and_gradients(&x, &y).unwrap();
    let (same, g_same) = member
        .loss_and_gradients_weighted(&x, &y, [2.0; 3])
        .unwrap();
    assert!((plain - same).abs() < 1e-6);
    assert!(max_abs_error(&g_plain.head_bias, &g_same.head_bias) < 1e-7);
    let w = [0.5_f32, 2.0, 1.0];
    let (weighted, _) = member.loss_and_gradients_weighted(&x, &y, w).unwrap();
    let probs = member.probabilities(&x, y.len()).unwrap();
    let (num, den) = y.iter().zip(&probs).fold((0.0, 0.0), |(n, d), (&c, p)| {
        let wc = f64::from(w[usize::from(c)]);
        (n - wc * f64::from(p[usize::from(c)]).ln(), d + wc)
    });
    assert!(
        (f64::from(weighted) - num / den).abs() < 1e-5,
        "{weighted} vs {}",
        num / den
    );
}

#[test]
fn training_steps_lower_the_loss_and_init_is_seeded() {
    use trademon::model::MemberSpec;
    let spec = MemberSpec {
        features: 4,
        hidden: 8,
        layers: 2,
        window: 5,
    };
    let mut member = Member::init(spec, 42).unwrap();
    assert_eq!(member, Member::init(spec, 42).unwrap());
    assert_ne!(member, Member::init(spec, 43).unwrap());
    // Labels that the last step's first feature decides.
    let batch = 32;
    let x: Vec<f32> = (0..batch * spec.window_len())
        .map(|i| ((i * 7919) % 13) as f32 / 6.0 - 1.0)
        .collect();
    let y: Vec<u8> = (0..batch)
        .map(|b| {
            let v = x[b * spec.window_len() + (spec.window - 1) * spec.features];
            if v < -0.3 {
                0
            } else if v < 0.3 {
                1
            } else {
                2
            }
        })
        .collect();
    let mut adamw = AdamW::new(1e-2, 0.9, 0.999, 1e-8, 0.01);
    let first = member.train_step(&mut adamw, &x, &y).unwrap();
    let mut last = first;
    for _ in 0..60 {
        last = member.train_step(&mut adamw, &x, &y).unwrap();
    }
    assert!(last < 0.5 * first, "loss {first} → {last}");
    // The batch-1 path sees the trained weights.
    let mut scratch = Scratch::new(&spec);
    let one = member
        .predict_one(&x[..spec.window_len()], &mut scratch)
        .unwrap();
    let batched = member.probabilities(&x[..spec.window_len()], 1).unwrap()[0];
    assert!(max_abs_error(&one, &batched) < 1e-6);
}

fn refused(bytes: &[u8]) -> (ModelError, String) {
    let err = Member::from_safetensors(bytes).unwrap_err();
    let text = err.to_string();
    (err, text)
}

#[test]
fn garbage_files_are_refused_with_a_clear_error() {
    for bytes in [
        &b""[..],
        b"hello",
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all",
        &[0xff; 64],
    ] {
        let (err, text) = refused(bytes);
        assert!(matches!(err, ModelError::NotSafetensors { .. }), "{text}");
        assert!(text.starts_with("not a safetensors file"), "{text}");
    }
    // Cut short: the header promises more data than there is.
    let Some(r) = Reference::load(FILES[1]) else {
        return;
    };
    let (err, text) = refused(&r.bytes[..r.bytes.len() / 2]);
    assert!(matches!(err, ModelError::NotSafetensors { .. }), "{text}");
}

#[test]
fn a_missing_tensor_is_named() {
    let Some(r) = Reference::load(FILES[1]) else {
        return;
    };
    for name in [
        "head.bias",
        "lstm.bias_ih_l1",
        "lstm.weight_hh_l0",
        "lstm.weight_ih_l0",
    ] {
        let bytes = r.weights_file(|t| {
            t.remove(name);
        });
        let (err, text) = refused(&bytes);
        assert!(
            matches!(err, ModelError::MissingTensor { .. }),
            "{name}: {text}"
        );
        assert_eq!(text, format!("tensor {name} is missing from the file"));
    }
}

#[test]
fn wrong_shapes_and_inconsistent_hidden_sizes_are_named() {
    let Some(r) = Reference::load(FILES[1]) else {
        return;
    };
    let cases: [(&str, Vec<usize>, &str); 4] = [
        ("head.weight", vec![3, 65], "expected [3, 64]"),
        ("lstm.bias_hh_l0", vec![255], "expected [256]"),
        ("lstm.weight_hh_l0", vec![256, 60], "expected [240, 60]"),
        // Layer 1 built for H = 32 under a layer 0 of H = 64.
        (
            "lstm.weight_hh_l1",
            vec![128, 32],
            "expected [256, 64] (4H = 256 with H = 64 from lstm.weight_hh_l0)",
        ),
    ];
    for (name, shape, expected) in cases {
        let bytes = r.weights_file(|t| {
            let n = shape.iter().product();
            t.insert(name.to_string(), (shape.clone(), vec![0.01; n]));
        });
        let (err, text) = refused(&bytes);
        assert!(
            matches!(err, ModelError::WrongShape { .. }),
            "{name}: {text}"
        );
        assert!(
            text.starts_with(&format!("tensor {name} has shape {shape:?}")),
            "{text}"
        );
        assert!(text.contains(expected), "{text}");
    }
}

#[test]
fn non_finite_weights_and_unexpected_tensors_are_named() {
    let Some(r) = Reference::load(FILES[0]) else {
        return;
    };
    for (name, index, value) in [
        ("lstm.weight_ih_l0", 5, f32::NAN),
        ("head.bias", 2, f32::INFINITY),
    ] {
        let bytes = r.weights_file(|t| t.get_mut(name).unwrap().1[index] = value);
        let (err, text) = refused(&bytes);
        assert!(matches!(err, ModelError::NonFinite { .. }), "{text}");
        assert!(
            text.contains(name) && text.contains(&format!("flat index {index}")),
            "{text}"
        );
    }
    for extra in [
        "lstm.weight_ih_l0_reverse",
        "lstm.weight_ih_l2",
        "encoder.weight",
    ] {
        let bytes = r.weights_file(|t| {
            t.insert(extra.to_string(), (vec![2], vec![0.0; 2]));
        });
        let (err, text) = refused(&bytes);
        assert!(matches!(err, ModelError::UnexpectedTensor { .. }), "{text}");
        assert!(
            text.starts_with(&format!("tensor {extra} is not part of an LSTM member")),
            "{text}"
        );
    }
}

#[test]
fn integer_weights_are_refused_by_dtype() {
    let Some(r) = Reference::load(FILES[0]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("int.safetensors");
    let mut tensors: HashMap<String, Tensor> = r
        .tensors
        .iter()
        .filter(|(n, _)| !n.starts_with("check."))
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    tensors.insert(
        "head.bias".to_string(),
        Tensor::new(&[1_i64, 2, 3], &candle_core::Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let (err, text) = refused(&std::fs::read(&path).unwrap());
    assert!(matches!(err, ModelError::WrongDtype { .. }), "{text}");
    assert_eq!(text, "tensor head.bias has dtype I64, expected F32");
}

#[test]
fn wrong_inputs_are_refused_with_their_shape() {
    let (Some(small), Some(large)) = (Reference::load(FILES[0]), Reference::load(FILES[1])) else {
        return;
    };
    let member = Member::from_safetensors(&large.bytes).unwrap();
    // check.x of the F = 17 file given to the F = 26 member.
    let err = input_values("x", &small.tensors["check.x"], member.spec()).unwrap_err();
    assert!(matches!(err, ModelError::InputShape { .. }));
    assert_eq!(
        err.to_string(),
        "input x has shape [8, 20, 17], expected [8, 20, 26] \
         ([B, T, F] for a member with window T = 20 and F = 26 features)"
    );
    let (x, batch) = input_values("x", &large.tensors["check.x"], member.spec()).unwrap();
    assert_eq!(batch, 16);
    let wrong_f = small.values("check.x");
    let err = member.logits(&wrong_f, 8).unwrap_err().to_string();
    assert!(
        err.starts_with("input x has shape [2720], expected [8, 20, 26]"),
        "{err}"
    );
    let err = member
        .predict_one(&x[..100], &mut Scratch::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("520 values per window"), "{err}");
    let mut nan = x.clone();
    nan[77] = f32::NAN;
    let err = member.probabilities(&nan, batch).unwrap_err().to_string();
    assert_eq!(
        err,
        "input x holds a non-finite value (NaN) at flat index 77"
    );
    let err = member
        .loss_and_gradients(&x, &[3; 16])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "label 3 at index 0 is not a class (0 down, 1 flat, 2 up)"
    );
    let err = member
        .loss_and_gradients(&x, &[0; 15])
        .unwrap_err()
        .to_string();
    assert!(err.contains("for a batch of 15"), "{err}");
}

#[test]
fn a_batch_split_over_threads_gives_the_reference_results() {
    // 64 windows (PyTorch's 16, four times over) are split into chunks run on separate threads;
    // the loss is the same mean and every gradient the same as PyTorch's.
    let Some(r) = Reference::load(FILES[1]) else {
        return;
    };
    let member = Member::from_safetensors(&r.bytes).unwrap();
    let (x, y) = (r.values("check.x").repeat(4), r.labels().repeat(4));
    let probs: Vec<f32> = member.probabilities(&x, y.len()).unwrap().concat();
    assert!(max_abs_error(&probs, &r.values("check.probs").repeat(4)) <= 1e-5);
    let (loss, grads) = member.loss_and_gradients(&x, &y).unwrap();
    assert!((loss - r.values("check.loss")[0]).abs() <= 1e-4 * loss);
    for (param, ours) in parameter_names(&member).iter().zip(grads.tensors()) {
        let e = max_relative_error(ours, &r.values(&format!("check.grad.{param}")));
        assert!(
            e <= 1e-4,
            "gradient of {param} off by {e:e} (relative) on a split batch"
        );
    }
}

#[test]
fn members_move_between_threads_and_weights_are_checked() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Member>();
    send_sync::<Scratch>();
    send_sync::<AdamW>();
    use trademon::model::{MemberSpec, Weights};
    let spec = MemberSpec {
        features: 3,
        hidden: 4,
        layers: 1,
        window: 2,
    };
    let mut weights = Weights::init(&spec, 9);
    assert!(Member::from_weights(spec, weights.clone()).is_ok());
    weights.layers[0].bias_hh[2] = f32::NAN;
    let err = Member::from_weights(spec, weights.clone())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "tensor lstm.bias_hh_l0 holds a non-finite value (NaN) at flat index 2"
    );
    weights.layers[0].bias_hh.pop();
    let err = Member::from_weights(spec, weights).unwrap_err().to_string();
    assert!(
        err.starts_with("tensor lstm.bias_hh_l0 has shape [15], expected [16]"),
        "{err}"
    );
}
