//! What a member is ([`MemberSpec`]) and its parameters ([`Weights`]) under PyTorch's names,
//! with PyTorch's default initialisation drawn from a seed.

use super::ModelError;
use super::rng::Rng;

/// Outputs of the head: down, flat, up.
pub const CLASSES: usize = 3;

/// The shape of one member: F inputs per step, H hidden units, L stacked layers, T steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberSpec {
    pub features: usize,
    pub hidden: usize,
    pub layers: usize,
    pub window: usize,
}

impl MemberSpec {
    pub const DEFAULT_HIDDEN: usize = 64;
    pub const DEFAULT_LAYERS: usize = 2;
    pub const DEFAULT_WINDOW: usize = 20;
    /// Far above anything this project trains; keeps a hostile file from asking for gigabytes.
    pub const MAX_SIZE: usize = 4096;

    /// The default member (T 20, L 2, H 64) over `features` inputs.
    pub fn with_features(features: usize) -> Self {
        Self {
            features,
            hidden: Self::DEFAULT_HIDDEN,
            layers: Self::DEFAULT_LAYERS,
            window: Self::DEFAULT_WINDOW,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let sizes = [
            ("features", self.features),
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("window", self.window),
        ];
        for (name, size) in sizes {
            if size == 0 || size > Self::MAX_SIZE {
                return Err(ModelError::InvalidSpec(format!(
                    "{name} is {size}; it must be between 1 and {}",
                    Self::MAX_SIZE
                )));
            }
        }
        Ok(())
    }

    /// Inputs of layer `layer`: F for the first, H above it.
    pub fn layer_inputs(&self, layer: usize) -> usize {
        if layer == 0 {
            self.features
        } else {
            self.hidden
        }
    }

    /// Values in one window: T × F.
    pub fn window_len(&self) -> usize {
        self.window * self.features
    }

    /// Every parameter as (PyTorch name, shape), in `named_parameters()` order.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let gates = 4 * self.hidden;
        let mut shapes = Vec::with_capacity(4 * self.layers + 2);
        for layer in 0..self.layers {
            let inputs = self.layer_inputs(layer);
            shapes.push((format!("lstm.weight_ih_l{layer}"), vec![gates, inputs]));
            shapes.push((format!("lstm.weight_hh_l{layer}"), vec![gates, self.hidden]));
            shapes.push((format!("lstm.bias_ih_l{layer}"), vec![gates]));
            shapes.push((format!("lstm.bias_hh_l{layer}"), vec![gates]));
        }
        shapes.push(("head.weight".to_string(), vec![CLASSES, self.hidden]));
        shapes.push(("head.bias".to_string(), vec![CLASSES]));
        shapes
    }
}

/// One LSTM layer's parameters, row-major as PyTorch stores them; gate rows are i, f, g, o.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights {
    /// `[4H, inputs]`
    pub weight_ih: Vec<f32>,
    /// `[4H, H]`
    pub weight_hh: Vec<f32>,
    /// `[4H]`
    pub bias_ih: Vec<f32>,
    /// `[4H]`
    pub bias_hh: Vec<f32>,
}

/// All parameters of a member. Gradients and optimiser moments have the same shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub layers: Vec<LayerWeights>,
    /// `[3, H]`
    pub head_weight: Vec<f32>,
    /// `[3]`
    pub head_bias: Vec<f32>,
}

/// The gradient of a loss for every parameter, under the same names and shapes as [`Weights`].
pub type Gradients = Weights;

impl Weights {
    /// All zeros, shaped for `spec`.
    pub fn zeros(spec: &MemberSpec) -> Self {
        let gates = 4 * spec.hidden;
        Self {
            layers: (0..spec.layers)
                .map(|layer| LayerWeights {
                    weight_ih: vec![0.0; gates * spec.layer_inputs(layer)],
                    weight_hh: vec![0.0; gates * spec.hidden],
                    bias_ih: vec![0.0; gates],
                    bias_hh: vec![0.0; gates],
                })
                .collect(),
            head_weight: vec![0.0; CLASSES * spec.hidden],
            head_bias: vec![0.0; CLASSES],
        }
    }

    /// PyTorch's defaults, drawn from `seed`: U(-1/√H, 1/√H) for every LSTM tensor; Linear's
    /// Kaiming-uniform(a = √5) weight and its bias, both U(-1/√fan_in, 1/√fan_in) = U(-1/√H, 1/√H).
    pub fn init(spec: &MemberSpec, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let bound = 1.0 / (spec.hidden as f64).sqrt();
        let mut weights = Self::zeros(spec);
        for tensor in weights.tensors_mut() {
            for value in tensor.iter_mut() {
                *value = rng.symmetric(bound) as f32;
            }
        }
        weights
    }

    /// Every tensor in `named_parameters()` order (the order of [`MemberSpec::parameter_shapes`]).
    pub fn tensors(&self) -> Vec<&[f32]> {
        let mut out = Vec::with_capacity(4 * self.layers.len() + 2);
        for layer in &self.layers {
            out.push(layer.weight_ih.as_slice());
            out.push(layer.weight_hh.as_slice());
            out.push(layer.bias_ih.as_slice());
            out.push(layer.bias_hh.as_slice());
        }
        out.push(self.head_weight.as_slice());
        out.push(self.head_bias.as_slice());
        out
    }

    /// Every tensor, mutable, in the same order as [`Weights::tensors`].
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        let mut out = Vec::with_capacity(4 * self.layers.len() + 2);
        for layer in &mut self.layers {
            out.push(layer.weight_ih.as_mut_slice());
            out.push(layer.weight_hh.as_mut_slice());
            out.push(layer.bias_ih.as_mut_slice());
            out.push(layer.bias_hh.as_mut_slice());
        }
        out.push(self.head_weight.as_mut_slice());
        out.push(self.head_bias.as_mut_slice());
        out
    }

    /// The first non-finite value as (tensor index in [`Weights::tensors`] order, flat index, value).
    pub fn first_non_finite(&self) -> Option<(usize, usize, f32)> {
        self.tensors().iter().enumerate().find_map(|(t, values)| {
            values
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| (t, i, values[i]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_pytorch_names_and_order() {
        let spec = MemberSpec::with_features(26);
        let shapes = spec.parameter_shapes();
        assert_eq!(shapes.len(), 10);
        assert_eq!(shapes[0], ("lstm.weight_ih_l0".to_string(), vec![256, 26]));
        assert_eq!(shapes[4], ("lstm.weight_ih_l1".to_string(), vec![256, 64]));
        assert_eq!(shapes[9], ("head.bias".to_string(), vec![3]));
        let weights = Weights::zeros(&spec);
        for ((_, shape), values) in shapes.iter().zip(weights.tensors()) {
            assert_eq!(shape.iter().product::<usize>(), values.len());
        }
    }

    #[test]
    fn init_is_seeded_and_bounded_like_pytorch() {
        let spec = MemberSpec {
            features: 5,
            hidden: 16,
            layers: 2,
            window: 4,
        };
        let a = Weights::init(&spec, 1);
        assert_eq!(a, Weights::init(&spec, 1));
        assert_ne!(a, Weights::init(&spec, 2));
        let all: Vec<f32> = a.tensors().concat();
        assert!(all.iter().all(|v| v.abs() <= 0.25));
        let spread = all.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        assert!(
            spread > 0.24,
            "draws should fill U(-1/4, 1/4), max |w| {spread}"
        );
        assert!(a.first_non_finite().is_none());
    }

    #[test]
    fn spec_validation_names_the_bad_size() {
        let mut spec = MemberSpec::with_features(3);
        assert!(spec.validate().is_ok());
        spec.hidden = 0;
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("hidden is 0"), "{err}");
    }
}
