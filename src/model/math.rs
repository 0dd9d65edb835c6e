//! The element functions of the LSTM cell one value at a time (the reference the SIMD kernels in
//! `simd` follow, and test against), softmax, and the bridge to candle's matrix product for the big products.

use candle_core::{Device, Storage, Tensor};

use super::ModelError;

pub(crate) const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two so `n · ln 2` is subtracted without rounding error (Cody and Waite).
pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2^23: adding it rounds to the nearest integer and leaves that integer in the low bits.
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;

#[cfg(test)]
/// e^x to within 2 ulp on [-87, 88]; inputs outside are clamped there (the results stay finite).
/// The Cephes single-precision polynomial; every step maps to a plain SIMD instruction.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2_E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let poly = p * r * r + r + 1.0;
    // The integer n sits in the low mantissa bits of `shifted`; move it into the exponent field.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits());
    poly * f32::from_bits(n_bits.wrapping_add(127).wrapping_shl(23))
}

#[cfg(test)]
/// The logistic function 1 / (1 + e^-x).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
/// tanh(x) = 1 - 2 / (e^2x + 1): absolute error about 1e-7, which is what the cell needs.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// Softmax of three logits, in f64 so a row's probabilities sum to one to the last bit of f32.
pub(crate) fn softmax3(logits: [f32; 3]) -> [f32; 3] {
    let top = logits[0].max(logits[1]).max(logits[2]);
    let e = logits.map(|z| f64::from(z - top).exp());
    let sum = e[0] + e[1] + e[2];
    e.map(|v| (v / sum) as f32)
}

/// A row-major f32 matrix as a candle tensor on the CPU (copies `data`).
pub(crate) fn tensor(data: &[f32], rows: usize, cols: usize) -> Result<Tensor, ModelError> {
    Ok(Tensor::from_slice(data, (rows, cols), &Device::Cpu)?)
}

/// `lhs · rhs` by candle's matrix product (gemm, with AVX2/FMA picked at run time), handing the
/// product's row-major values to `read` without copying them out of the tensor.
pub(crate) fn product<R>(
    lhs: &Tensor,
    rhs: &Tensor,
    read: impl FnOnce(&[f32]) -> R,
) -> Result<R, ModelError> {
    let out = lhs.matmul(rhs)?;
    let len = out.elem_count();
    let (storage, layout) = out.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => {
            let values = cpu.as_slice::<f32>()?;
            let start = layout.start_offset();
            values
                .get(start..start + len)
                .map(read)
                .ok_or(ModelError::Internal("matrix product of unexpected size"))
        }
        _ => Err(ModelError::Internal("matrix product left the CPU")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        let mut worst = 0.0_f64;
        for i in -8700..8799 {
            let x = i as f32 * 0.01 + 0.003;
            let ours = f64::from(exp(x));
            let exact = f64::from(x).exp();
            worst = worst.max(((ours - exact) / exact).abs());
        }
        assert!(
            worst < 3.0 * f64::from(f32::EPSILON),
            "worst relative error {worst:e}"
        );
    }

    #[test]
    fn sigmoid_and_tanh_are_accurate_and_saturate() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.01;
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!((f64::from(sigmoid(x)) - s).abs() < 2e-7, "sigmoid({x})");
            assert!(
                (f64::from(tanh(x)) - f64::from(x).tanh()).abs() < 3e-7,
                "tanh({x})"
            );
        }
        assert_eq!(sigmoid(1e4), 1.0);
        assert!(sigmoid(-1e4) >= 0.0 && sigmoid(-1e4) < 1e-37);
        assert_eq!(tanh(1e4), 1.0);
        assert_eq!(tanh(-1e4), -1.0);
    }

    #[test]
    fn softmax_sums_to_one() {
        let p = softmax3([1.0, -2.0, 300.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[2] > 0.999_999);
    }

    #[test]
    fn product_is_the_matrix_product() {
        let a = tensor(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap();
        let b = tensor(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2).unwrap();
        let c = product(&a, &b, <[f32]>::to_vec).unwrap();
        assert_eq!(c, vec![4.0, 5.0, 10.0, 11.0]);
        let at = product(&a.t().unwrap(), &a, <[f32]>::to_vec).unwrap();
        assert_eq!(at[0], 17.0);
        assert_eq!(at.len(), 9);
    }
}
