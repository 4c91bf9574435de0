//! The report's last section: the papers it leans on, and each of their claims beside the number
//! of ours that tests it — read from the computed sections, never typed in — with whether the two
//! agree. The paper's number is the paper's (a citation); where it is a prediction for our own
//! setting (a rate from our χ₁, a decay factor from our η, λ and T, a log-length drift from our
//! width), it is computed here from the same data. Authors, titles and the claims in words are `render`'s.

use super::critical_depth::Regime;
use super::decay::Decay;
use super::dense_init::{self, DenseInit, SchemeName};
use super::exploding::Exploding;
use super::remedies::{Remedies, Remedy, variants};
use super::worked::WorkedChain;

/// A paper the report cites (its entry is `render`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// Hochreiter (1991), diploma thesis.
    Hochreiter1991,
    /// Bengio, Simard & Frasconi (1994).
    BengioSimardFrasconi1994,
    /// Glorot & Bengio (2010).
    GlorotBengio2010,
    /// Pascanu, Mikolov & Bengio (2013).
    PascanuMikolovBengio2013,
    /// Saxe, McClelland & Ganguli (2014).
    SaxeMcClellandGanguli2014,
    /// He, Zhang, Ren & Sun (2015), the rectifier initialisation.
    HeZhangRenSun2015,
    /// He, Zhang, Ren & Sun (2016), residual networks.
    HeZhangRenSun2016,
    /// Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016).
    Poole2016,
    /// Veit, Wilber & Belongie (2016).
    VeitWilberBelongie2016,
    /// Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017).
    Schoenholz2017,
    /// Pennington, Schoenholz & Ganguli (2017).
    PenningtonSchoenholzGanguli2017,
    /// Hanin (2018).
    Hanin2018,
    /// Hanin & Rolnick (2018).
    HaninRolnick2018,
    /// Loshchilov & Hutter (2019).
    LoshchilovHutter2019,
    /// Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz (2019), batch normalisation.
    Yang2019,
}

impl Paper {
    /// Every paper, in the order the section lists them (by year).
    pub const ALL: [Paper; 15] = [
        Paper::Hochreiter1991,
        Paper::BengioSimardFrasconi1994,
        Paper::GlorotBengio2010,
        Paper::PascanuMikolovBengio2013,
        Paper::SaxeMcClellandGanguli2014,
        Paper::HeZhangRenSun2015,
        Paper::HeZhangRenSun2016,
        Paper::Poole2016,
        Paper::VeitWilberBelongie2016,
        Paper::Schoenholz2017,
        Paper::PenningtonSchoenholzGanguli2017,
        Paper::Hanin2018,
        Paper::HaninRolnick2018,
        Paper::LoshchilovHutter2019,
        Paper::Yang2019,
    ];

    /// Its number in the list, 1-based.
    pub fn number(self) -> usize {
        Paper::ALL.iter().position(|&p| p == self).expect("every paper is listed") + 1
    }
}

/// A claim of the literature that the report measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// The error signal shrinks exponentially with the layers it crosses; ours: §2's slope of
    /// log10 |∂L/∂w| for sigmoid chains without a shortcut (decades per layer).
    ExponentialDecay,
    /// |σ′| ≤ γ = 1/4; ours: the largest σ′(z_d) of §1's chain.
    SigmoidDerivativeBound,
    /// Var(W) = 2/(n_in + n_out), σ_w² = 1 for square layers; ours: §3's σ_w² under Xavier.
    GlorotVariance,
    /// Var(W) = 2/n, σ_w² = 2; ours: §3's σ_w² under He.
    HeVariance,
    /// ReLU at σ_w² = 2 keeps the gradient's scale, χ₁ = σ_w²/2 = 1; ours: §3's χ₁ of ReLU under He.
    ReluCritical,
    /// tanh at σ_b = 0 is critical on σ_w² = 1, χ₁ = 1; ours: §3's χ₁ of tanh under Xavier.
    TanhCritical,
    /// ‖∂L/∂a‖² changes by χ₁ per layer: log10 χ₁ decades per layer towards the input (the
    /// paper's rate, for §3's tanh under U[±1/√n]; negative: vanishing); ours: §3's measured
    /// slope of that row.
    GradientRateIsChi,
    /// With σ_b > 0 the critical line moves to σ_w² > 1 (the paper's number: 1, σ_b = 0); ours:
    /// the critical σ_w² of §3's depth study at σ_b² = 0.05.
    CriticalLineRises,
    /// In the ordered phase 1 − c_l falls as e^(−l/ξ_c), ξ_c = −1/ln χ₁ (the paper's formula,
    /// evaluated for §3's ordered tanh row nearest the line that has a fit), as log10 ξ_c; ours: log10 of the
    /// ξ_c fitted to the networks' mean 1 − c_l.
    CorrelationDepthScale,
    /// He keeps the mean ‖a_l‖² while ln‖a_l‖² spreads with β = Σ 1/n_l, so the typical network
    /// falls below the mean, by l·E[ln R] ≈ −(5/2)β at layer l (the paper's law, evaluated exactly
    /// at §3's width); ours: §3's mean over networks of ln(‖a_l‖²/‖x‖²) at the deepest hidden
    /// layer of ReLU under He, with its standard error over the networks.
    TypicalBelowMean,
    /// Clipping by norm keeps the gradient's direction, cos = 1; ours: §4's cosine.
    ClippingKeepsDirection,
    /// L2 is weight decay for SGD — ‖W‖ shrinks by at most (1 − ηλ)^T with no data gradient,
    /// evaluated for §5's L2 row — but not under Adam; ours: that row's median ‖W‖ end ÷ start.
    L2IsNotDecayUnderAdam,
}

impl ClaimKind {
    /// Every claim, in the order the section shows them.
    pub const ALL: [ClaimKind; 12] = [
        ClaimKind::ExponentialDecay,
        ClaimKind::SigmoidDerivativeBound,
        ClaimKind::GlorotVariance,
        ClaimKind::HeVariance,
        ClaimKind::ReluCritical,
        ClaimKind::TanhCritical,
        ClaimKind::GradientRateIsChi,
        ClaimKind::CriticalLineRises,
        ClaimKind::CorrelationDepthScale,
        ClaimKind::TypicalBelowMean,
        ClaimKind::ClippingKeepsDirection,
        ClaimKind::L2IsNotDecayUnderAdam,
    ];

    /// The papers that make it.
    pub fn papers(self) -> &'static [Paper] {
        match self {
            ClaimKind::ExponentialDecay => &[Paper::Hochreiter1991, Paper::BengioSimardFrasconi1994],
            ClaimKind::SigmoidDerivativeBound | ClaimKind::ClippingKeepsDirection => &[Paper::PascanuMikolovBengio2013],
            ClaimKind::GlorotVariance => &[Paper::GlorotBengio2010],
            ClaimKind::HeVariance | ClaimKind::ReluCritical => &[Paper::HeZhangRenSun2015],
            ClaimKind::TanhCritical => &[Paper::Poole2016],
            ClaimKind::GradientRateIsChi | ClaimKind::CorrelationDepthScale => &[Paper::Schoenholz2017],
            ClaimKind::CriticalLineRises => &[Paper::Poole2016, Paper::Schoenholz2017],
            ClaimKind::TypicalBelowMean => &[Paper::Hanin2018, Paper::HaninRolnick2018],
            ClaimKind::L2IsNotDecayUnderAdam => &[Paper::LoshchilovHutter2019],
        }
    }

    /// How our number must stand to the paper's for the two to agree.
    pub fn relation(self) -> Relation {
        match self {
            ClaimKind::ExponentialDecay => Relation::Negative,
            ClaimKind::SigmoidDerivativeBound => Relation::AtMost,
            ClaimKind::GlorotVariance | ClaimKind::HeVariance => Relation::Equal { tolerance: EXACT },
            ClaimKind::ReluCritical | ClaimKind::TanhCritical => {
                Relation::Equal { tolerance: dense_init::CRITICAL_BAND }
            }
            ClaimKind::GradientRateIsChi => Relation::Equal { tolerance: RATE_TOLERANCE },
            ClaimKind::CriticalLineRises => Relation::Above,
            ClaimKind::CorrelationDepthScale => Relation::Equal { tolerance: XI_TOLERANCE },
            ClaimKind::TypicalBelowMean => Relation::WithinStandardErrors { count: DRIFT_STANDARD_ERRORS },
            ClaimKind::ClippingKeepsDirection => Relation::Equal { tolerance: EXACT },
            ClaimKind::L2IsNotDecayUnderAdam => Relation::Below,
        }
    }
}

/// Equal up to rounding.
pub const EXACT: f64 = 1e-9;
/// A measured rate agrees with −log10 χ₁ within this many decades per layer (the prediction
/// holds at the fixed point; the first layers, where q_l has not yet reached q*, and the finite
/// width move the fitted slope by a few hundredths).
pub const RATE_TOLERANCE: f64 = 0.05;

/// A measured log10 ξ_c agrees with mean field's within this many decades (a factor 1.26): at
/// width 32 each layer's factor on 1 − c fluctuates by O(1/√n), which moves the rate of the mean
/// over networks by O(1/n) ≈ 0.03 nats a layer against 1/ξ_c ≈ 0.09 here.
pub const XI_TOLERANCE: f64 = 0.1;

/// A measured mean log-length agrees with Hanin's law when it is within this many of its standard
/// errors (over networks) of the law's mean: a normal deviate beyond 3 has probability 0.003.
pub const DRIFT_STANDARD_ERRORS: u32 = 3;

/// How ours must relate to the paper's number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relation {
    /// Ours < 0 (no paper number: the claim is a direction).
    Negative,
    /// Ours ≤ the paper's (a bound).
    AtMost,
    /// |ours − paper's| ≤ tolerance.
    Equal {
        /// The tolerance.
        tolerance: f64,
    },
    /// Ours < the paper's (the paper says they differ, and which way).
    Below,
    /// Ours > the paper's.
    Above,
    /// |ours − paper's| ≤ count × ours' standard error.
    WithinStandardErrors {
        /// How many standard errors.
        count: u32,
    },
}

/// One claim with its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Which claim.
    pub kind: ClaimKind,
    /// The paper's number, in our units (`None` where the claim is a direction).
    pub paper_number: Option<f64>,
    /// Ours, from the computed sections (`None` if the section has no such row).
    pub ours: Option<f64>,
    /// The standard error of ours, where the relation counts in them.
    pub standard_error: Option<f64>,
    /// Whether ours stands to the paper's as [`ClaimKind::relation`] says.
    pub agrees: Option<bool>,
}

/// The section: the papers, and the claims measured.
#[derive(Debug, Clone, PartialEq)]
pub struct References {
    /// The papers, in order.
    pub papers: Vec<Paper>,
    /// The claims, in [`ClaimKind::ALL`]'s order.
    pub claims: Vec<Claim>,
}

/// The numbers of each claim, read from the sections.
pub fn compute(
    worked: &WorkedChain,
    decay: &Decay,
    dense_init: &DenseInit,
    exploding: &Exploding,
    remedies: &Remedies,
) -> References {
    let init = |activation: &str, scheme: SchemeName| {
        dense_init.configs.iter().find(|c| c.activation == activation && c.init.0 == scheme)
    };
    let n = dense_init.width as f64;
    let depth = &dense_init.critical_depth;
    let he_networks = depth.runs.iter().find(|r| r.regime == Regime::He).map(|r| r.networks as f64);
    let deepest = depth.hanin.as_ref().and_then(|h| h.rows.last());
    let claims = ClaimKind::ALL
        .iter()
        .map(|&kind| {
            let mut standard_error = None;
            let (paper_number, ours) = match kind {
                ClaimKind::ExponentialDecay => (
                    None,
                    decay
                        .configs
                        .iter()
                        .find(|c| c.activation == "sigmoid" && c.shortcut.is_none())
                        .and_then(|c| c.weight_fit.map(|f| f.slope)),
                ),
                ClaimKind::SigmoidDerivativeBound => {
                    (Some(0.25), worked.layers.iter().map(|l| l.derivative).reduce(f64::max))
                }
                // σ_w² = n·Var(W) for §3's square layers, n_in = n_out = n.
                ClaimKind::GlorotVariance => {
                    (Some(n * 2.0 / (n + n)), init("tanh", SchemeName::Xavier).map(|c| c.sigma_w2))
                }
                ClaimKind::HeVariance => (Some(n * 2.0 / n), init("relu", SchemeName::He).map(|c| c.sigma_w2)),
                ClaimKind::ReluCritical => (Some(1.0), init("relu", SchemeName::He).map(|c| c.chi_1)),
                ClaimKind::TanhCritical => (Some(1.0), init("tanh", SchemeName::Xavier).map(|c| c.chi_1)),
                ClaimKind::GradientRateIsChi => {
                    let row = init("tanh", SchemeName::Uniform);
                    (row.map(|c| c.chi_1.log10()), row.and_then(|c| c.measured_slope))
                }
                ClaimKind::CriticalLineRises => (Some(1.0), depth.tanh_critical),
                ClaimKind::CorrelationDepthScale => {
                    // The ordered tanh row with the longest ξ_c: the one nearest the line.
                    let row = depth
                        .runs
                        .iter()
                        .filter(|r| r.xi_c.is_some() && r.xi_measured.is_some())
                        .max_by(|a, b| a.sigma_w2.total_cmp(&b.sigma_w2));
                    (row.and_then(|r| r.xi_c.map(f64::log10)), row.and_then(|r| r.xi_measured.map(f64::log10)))
                }
                ClaimKind::TypicalBelowMean => {
                    // The sample standard deviation over the networks ÷ √networks.
                    standard_error = deepest.zip(he_networks).map(|(r, n)| (r.var / n).sqrt());
                    (deepest.map(|r| r.exact_mean), deepest.map(|r| r.mean))
                }
                ClaimKind::ClippingKeepsDirection => (Some(1.0), Some(exploding.clipping.cos_norm)),
                ClaimKind::L2IsNotDecayUnderAdam => {
                    let variant = variants().into_iter().find(|v| v.name == Remedy::L2);
                    let decay_alone = variant.map(|v| {
                        (1.0 - v.training.learning_rate * v.training.weight_decay).powi(remedies.steps as i32)
                    });
                    let row = remedies.rows.iter().find(|r| r.name.0 == Remedy::L2);
                    let median = row.map(|r| {
                        let mut v: Vec<f64> = r.runs.iter().map(|run| run.weight_growth).collect();
                        v.sort_by(f64::total_cmp);
                        super::stats::percentile(&v, 50.0)
                    });
                    (decay_alone, median)
                }
            };
            let agrees = ours.and_then(|ours| match (kind.relation(), paper_number) {
                (Relation::Negative, _) => Some(ours < 0.0),
                (Relation::AtMost, Some(p)) => Some(ours <= p),
                (Relation::Equal { tolerance }, Some(p)) => Some((ours - p).abs() <= tolerance),
                (Relation::Below, Some(p)) => Some(ours < p),
                (Relation::Above, Some(p)) => Some(ours > p),
                (Relation::WithinStandardErrors { count }, Some(p)) => {
                    standard_error.map(|se| (ours - p).abs() <= f64::from(count) * se)
                }
                (_, None) => None,
            });
            Claim { kind, paper_number, ours, standard_error, agrees }
        })
        .collect();
    References { papers: Paper::ALL.to_vec(), claims }
}
