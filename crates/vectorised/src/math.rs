//! The elementary functions of the fast engine, written once: a vectorisable `exp` and the
//! sigmoid built on it ([`exp`]), tanh with its derivative from one `expm1` (`tanh`), the
//! Cody–Waite constants both reductions share, and the robust norms (`norm`).
//!
//! Both reduce x = k·ln 2 + r with |r| ≤ ln2/2 the same way (the shifter trick, ln 2 split in
//! two); they differ in the polynomial for eʳ. Two exist on purpose: `exp`'s near-minimax q gives
//! eˣ, while tanh needs eˣ − 1 without cancellation near 0 (m = 2ⁿ·em1(r) + (2ⁿ − 1)) and a
//! Taylor q whose `f32` truncation rounds once; replacing either with the other would change the
//! bits of every sigmoid chain or tanh network, and so the report.

pub mod erf;
pub mod exp;
pub(crate) mod norm;
pub(crate) mod tanh;

/// 1.5·2⁵²: adding it to |y| < 2⁵¹ rounds y to an integer held in the low mantissa bits.
const SHIFTER_F64: f64 = 6_755_399_441_055_744.0;
/// ln 2 with its low 32 bits cleared (fdlibm's `ln2HI`): k·LN2_HI_F64 is exact for |k| < 2²⁰.
const LN2_HI_F64: f64 = 0.693_147_180_369_123_8;
/// ln 2 − LN2_HI_F64 (fdlibm's `ln2LO`).
const LN2_LO_F64: f64 = 1.908_214_929_270_587_7e-10;

#[cfg(test)]
mod tests {
    /// The constants as fdlibm writes them, bit for bit (tanh used these spellings before the
    /// constants were shared; the values must not move).
    #[test]
    fn the_shared_constants_are_fdlibms_bits() {
        assert_eq!(super::LN2_HI_F64.to_bits(), 0x3FE6_2E42_FEE0_0000);
        assert_eq!(super::LN2_LO_F64.to_bits(), 0x3DEA_39EF_3579_3C76);
        assert_eq!(super::SHIFTER_F64, 1.5 * 2f64.powi(52));
    }
}
