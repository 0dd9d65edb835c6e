//! PyTorch's AdamW (decoupled weight decay), step for step as `torch.optim.AdamW` computes it.

use super::ModelError;
use super::member::Member;
use super::weights::{Gradients, Weights};

/// AdamW's settings and its moment estimates (created by the first step).
#[derive(Clone, Debug)]
pub struct AdamW {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    steps: u32,
    moments: Option<(Weights, Weights)>,
}

impl Default for AdamW {
    /// PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
    fn default() -> Self {
        Self::new(1e-3, 0.9, 0.999, 1e-8, 0.01)
    }
}

impl AdamW {
    pub fn new(lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32) -> Self {
        Self {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            steps: 0,
            moments: None,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// One step on `member` with `grads` (from this member: same shapes).
    pub fn step(&mut self, member: &mut Member, grads: &Gradients) -> Result<(), ModelError> {
        let spec = *member.spec();
        let shapes = spec.parameter_shapes();
        for ((name, shape), (g, w)) in shapes
            .iter()
            .zip(grads.tensors().into_iter().zip(member.weights().tensors()))
        {
            if g.len() != w.len() || grads.layers.len() != spec.layers {
                return Err(ModelError::WrongShape {
                    name: format!("gradient of {name}"),
                    found: vec![g.len()],
                    expected: shape.clone(),
                    why: "gradients must come from a member of the same spec".to_string(),
                });
            }
        }
        let (m, v) = self
            .moments
            .get_or_insert_with(|| (Weights::zeros(&spec), Weights::zeros(&spec)));
        self.steps += 1;
        let t = self.steps as i32;
        let (lr, b1, b2) = (
            f64::from(self.lr),
            f64::from(self.beta1),
            f64::from(self.beta2),
        );
        let decay = (1.0 - lr * f64::from(self.weight_decay)) as f32;
        let step_size = (lr / (1.0 - b1.powi(t))) as f32;
        let correction2_sqrt = (1.0 - b2.powi(t)).sqrt() as f32;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        member.update_weights(|weights| {
            let tensors = weights
                .tensors_mut()
                .into_iter()
                .zip(grads.tensors())
                .zip(m.tensors_mut().into_iter().zip(v.tensors_mut()));
            for ((p, g), (m, v)) in tensors {
                for j in 0..p.len() {
                    p[j] *= decay;
                    m[j] += (1.0 - b1) * (g[j] - m[j]);
                    v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
                    let denom = v[j].sqrt() / correction2_sqrt + eps;
                    p[j] -= step_size * m[j] / denom;
                }
            }
        });
        Ok(())
    }
}
