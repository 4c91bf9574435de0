//! The subcommands that check other people's backprop: `chain`, `grad` and `check`.

pub mod chain;
pub mod check;
pub mod grad;
