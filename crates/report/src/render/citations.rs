//! The references section: each paper's bibliographic entry, each claim in words beside the
//! paper's number and ours, as Markdown and as the JSON's structured entries (the same words).
//!
//! Entries state only what is certain: authors, title, venue, year, and the arXiv identifier
//! where the paper has one; pages and volumes only where known for sure. A claim cites where in
//! the paper it is made in words, not by a figure or equation number.

use crate::numfmt::sig;
use crate::sections::references::{Claim, ClaimKind, Paper, References, Relation};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::fmt::Write;

/// A paper's bibliographic entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The authors, in the paper's order.
    pub authors: &'static [&'static str],
    /// The title.
    pub title: &'static str,
    /// Where it appeared.
    pub venue: &'static str,
    /// The year.
    pub year: u16,
    /// The arXiv identifier, where there is one.
    pub arxiv: Option<&'static str>,
    /// What the report cites it for.
    pub cited_for: &'static str,
}

const HE_ZHANG_REN_SUN: &[&str] = &["Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"];
const NIPS_29: &str = "Advances in Neural Information Processing Systems 29 (NIPS 2016)";

/// The entry of `paper`.
pub fn entry(paper: Paper) -> Entry {
    let e = |authors, title, venue, year, arxiv, cited_for| Entry { authors, title, venue, year, arxiv, cited_for };
    match paper {
        Paper::Hochreiter1991 => e(
            &["Sepp Hochreiter"],
            "Untersuchungen zu dynamischen neuronalen Netzen",
            "Diploma thesis, Institut für Informatik, Technische Universität München",
            1991,
            None,
            "an early analysis of vanishing error signals",
        ),
        Paper::BengioSimardFrasconi1994 => e(
            &["Yoshua Bengio", "Patrice Simard", "Paolo Frasconi"],
            "Learning long-term dependencies with gradient descent is difficult",
            "IEEE Transactions on Neural Networks 5(2), 157–166",
            1994,
            None,
            "why gradient descent struggles with long-range dependencies: vanishing gradients",
        ),
        Paper::GlorotBengio2010 => e(
            &["Xavier Glorot", "Yoshua Bengio"],
            "Understanding the difficulty of training deep feedforward neural networks",
            "Proceedings of the 13th International Conference on Artificial Intelligence and Statistics (AISTATS), PMLR 9, 249–256",
            2010,
            None,
            "the normalised (Xavier) initialisation and saturating sigmoid networks",
        ),
        Paper::PascanuMikolovBengio2013 => e(
            &["Razvan Pascanu", "Tomas Mikolov", "Yoshua Bengio"],
            "On the difficulty of training recurrent neural networks",
            "Proceedings of the 30th International Conference on Machine Learning (ICML), PMLR 28",
            2013,
            Some("1211.5063"),
            "the bound on the activation's derivative behind vanishing, and gradient-norm clipping",
        ),
        Paper::SaxeMcClellandGanguli2014 => e(
            &["Andrew M. Saxe", "James L. McClelland", "Surya Ganguli"],
            "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks",
            "International Conference on Learning Representations (ICLR)",
            2014,
            Some("1312.6120"),
            "deep linear networks and orthogonal initialisation (§3's orthogonal rows)",
        ),
        Paper::HeZhangRenSun2015 => e(
            HE_ZHANG_REN_SUN,
            "Delving deep into rectifiers: surpassing human-level performance on ImageNet classification",
            "IEEE International Conference on Computer Vision (ICCV)",
            2015,
            Some("1502.01852"),
            "the initialisation for rectifiers (He) and the ReLU critical point",
        ),
        Paper::HeZhangRenSun2016 => e(
            HE_ZHANG_REN_SUN,
            "Deep residual learning for image recognition",
            "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
            2016,
            Some("1512.03385"),
            "residual networks: shortcuts (§2's and §5's shortcut rows)",
        ),
        Paper::Poole2016 => e(
            &["Ben Poole", "Subhaneil Lahiri", "Maithra Raghu", "Jascha Sohl-Dickstein", "Surya Ganguli"],
            "Exponential expressivity in deep neural networks through transient chaos",
            NIPS_29,
            2016,
            Some("1606.05340"),
            "mean-field signal propagation: the order-to-chaos transition and χ₁",
        ),
        Paper::VeitWilberBelongie2016 => e(
            &["Andreas Veit", "Michael Wilber", "Serge Belongie"],
            "Residual networks behave like ensembles of relatively shallow networks",
            NIPS_29,
            2016,
            Some("1605.06431"),
            "residual networks as ensembles of paths of many lengths",
        ),
        Paper::Schoenholz2017 => e(
            &["Samuel S. Schoenholz", "Justin Gilmer", "Surya Ganguli", "Jascha Sohl-Dickstein"],
            "Deep information propagation",
            "International Conference on Learning Representations (ICLR)",
            2017,
            Some("1611.01232"),
            "the depth scales of signals and gradients at and near criticality",
        ),
        Paper::PenningtonSchoenholzGanguli2017 => e(
            &["Jeffrey Pennington", "Samuel S. Schoenholz", "Surya Ganguli"],
            "Resurrecting the sigmoid in deep learning through dynamical isometry: theory and practice",
            "Advances in Neural Information Processing Systems 30 (NIPS 2017)",
            2017,
            Some("1711.04735"),
            "dynamical isometry: the spread of the input–output Jacobian's singular values",
        ),
        Paper::Hanin2018 => e(
            &["Boris Hanin"],
            "Which neural net architectures give rise to exploding and vanishing gradients?",
            "Advances in Neural Information Processing Systems 31 (NeurIPS 2018)",
            2018,
            Some("1801.03744"),
            "finite-width fluctuations of gradients in ReLU networks",
        ),
        Paper::HaninRolnick2018 => e(
            &["Boris Hanin", "David Rolnick"],
            "How to start training: the effect of initialization and architecture",
            "Advances in Neural Information Processing Systems 31 (NeurIPS 2018)",
            2018,
            Some("1803.01719"),
            "the mean and the variance of activation lengths in deep ReLU networks: 2/fan-in keeps the mean, Σ 1/n_l sets the variance",
        ),
        Paper::LoshchilovHutter2019 => e(
            &["Ilya Loshchilov", "Frank Hutter"],
            "Decoupled weight decay regularization",
            "International Conference on Learning Representations (ICLR)",
            2019,
            Some("1711.05101"),
            "decoupled weight decay (AdamW) against L2 under Adam",
        ),
        Paper::Yang2019 => e(
            &["Greg Yang", "Jeffrey Pennington", "Vinay Rao", "Jascha Sohl-Dickstein", "Samuel S. Schoenholz"],
            "A mean field theory of batch normalization",
            "International Conference on Learning Representations (ICLR)",
            2019,
            Some("1902.08129"),
            "gradient explosion at initialisation in deep networks with batch normalisation (cited, not measured: §3's scope note)",
        ),
    }
}

/// A claim in words: where in the paper, what the paper says, which number of ours tests it.
pub struct ClaimText {
    /// Where in the paper (in words).
    pub place: &'static str,
    /// The paper's statement.
    pub statement: &'static str,
    /// Our quantity, and where in this report it is.
    pub ours: &'static str,
}

/// The words of a claim.
pub fn claim_text(kind: ClaimKind) -> ClaimText {
    let t = |place, statement, ours| ClaimText { place, statement, ours };
    match kind {
        ClaimKind::ExponentialDecay => t(
            "their analyses of the back-propagated error",
            "the error signal back-propagated across many layers (or time steps) shrinks exponentially with their number",
            "§2: slope of log10 of the median ∂L/∂w against depth, sigmoid chains without a shortcut (decades per layer; negative: vanishing)",
        ),
        ClaimKind::SigmoidDerivativeBound => t(
            "its analysis of vanishing and exploding gradients (γ bounds the activation's derivative)",
            "σ′ ≤ γ = 1/4 for the sigmoid",
            "§1: the largest σ′(z_d) along the worked chain",
        ),
        ClaimKind::GlorotVariance => t(
            "its normalised initialisation",
            "Var(W) = 2/(n_in + n_out); for square layers of width n, σ_w² = n·Var(W) = 1",
            "§3: σ_w² of the Xavier rows",
        ),
        ClaimKind::HeVariance => t(
            "its initialisation for rectifiers",
            "Var(W) = 2/n, i.e. ½·n·Var(W) = 1: σ_w² = 2",
            "§3: σ_w² of the He rows",
        ),
        ClaimKind::ReluCritical => t(
            "the same condition, derived for the backward pass as for the forward pass",
            "with ½·n·Var(W) = 1 a ReLU layer keeps the gradient's variance: χ₁ = σ_w²·E[relu′(z)²] = σ_w²/2 = 1",
            "§3: χ₁ of ReLU under He",
        ),
        ClaimKind::TanhCritical => t(
            "its order-to-chaos phase diagram",
            "the transition is at χ₁ = 1; for tanh with σ_b = 0 it lies at σ_w² = 1",
            "§3: χ₁ of tanh under Xavier (σ_w² = 1; q* = 0, where χ₁ = σ_w²·tanh′(0)² = 1)",
        ),
        ClaimKind::GradientRateIsChi => t(
            "its analysis of back-propagated gradients (depth scale ξ_∇ = −1/ln χ₁)",
            "‖∂L/∂a_l‖² is multiplied by χ₁ per layer: log10 χ₁ decades per layer towards the input, here for §3's tanh under U[±1/√n]",
            "§3: measured slope of log10 ‖∂L/∂a_l‖², tanh under U[±1/√n] (negative: shrinks towards the input)",
        ),
        ClaimKind::CriticalLineRises => t(
            "their order-to-chaos phase diagrams in (σ_w², σ_b²)",
            "the critical line χ₁ = 1 starts at σ_w² = 1 for σ_b = 0 and moves to larger σ_w² as σ_b grows",
            "§3: the critical σ_w² at σ_b² = 0.05, solved on the line (χ(q*) = 1 with q* its fixed point)",
        ),
        ClaimKind::CorrelationDepthScale => t(
            "its asymptotic analysis of the correlation map (depth scale ξ_c = −1/ln χ_c, χ_c = χ₁ in the ordered phase)",
            "1 − c_l falls as e^(−l/ξ_c); here log10 ξ_c for §3's ordered tanh row nearest the line",
            "§3: log10 of ξ_c fitted to the networks' mean 1 − c_l, that row",
        ),
        ClaimKind::TypicalBelowMean => t(
            "Hanin: the fluctuations of gradients, exponential in β = Σ 1/n_l (abstract); Hanin & Rolnick: the failure modes FM1 (mean length) and FM2 (its variance)",
            "with 2/fan-in the mean squared length is kept, but its spread grows with β = Σ 1/n_l, so a typical deep, narrow network is far from the mean: \
             ln(‖a_l‖²/‖x‖²) has mean l·E[ln R] ≈ −(5/2)β, here evaluated exactly at §3's width for its deepest hidden layer",
            "§3: mean over networks of ln(‖a_l‖²/‖x‖²) at the deepest hidden layer of ReLU under He ± its standard error over the networks (negative: the typical network is below the kept mean)",
        ),
        ClaimKind::ClippingKeepsDirection => t(
            "its gradient-norm clipping",
            "if ‖g‖ exceeds the threshold c, g ← (c/‖g‖)·g: the direction is kept, cos(clipped, raw) = 1",
            "§4: cos between the gradient clipped by norm and the raw one",
        ),
        ClaimKind::L2IsNotDecayUnderAdam => t(
            "its comparison of L2 regularisation and weight decay",
            "L2 regularisation is weight decay for SGD but not for adaptive methods such as Adam; weight decay alone would keep ‖W‖ above (1 − ηλ)^T of its start, here for §5's L2 row",
            "§5: median ‖W‖ end ÷ start of the L2 row (coupled L2 under Adam; section 7's caveat)",
        ),
    }
}

/// What "agrees" means for a relation.
pub fn relation(r: Relation) -> String {
    match r {
        Relation::Negative => "ours < 0".into(),
        Relation::AtMost => "ours ≤ the paper's".into(),
        Relation::Equal { tolerance } => format!("within {} of the paper's", sig(tolerance, 2)),
        Relation::Below => "ours < the paper's".into(),
        Relation::Above => "ours > the paper's".into(),
        Relation::WithinStandardErrors { count } => format!("within {count} standard errors of the paper's"),
    }
}

/// "[2, 3]": the claim's papers by their numbers in the list.
fn numbers(kind: ClaimKind) -> String {
    let n: Vec<String> = kind.papers().iter().map(|p| p.number().to_string()).collect();
    format!("[{}]", n.join(", "))
}

fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| sig(v, 4))
}

/// Ours, with its standard error where the claim has one.
fn ours(c: &Claim) -> String {
    match c.standard_error {
        Some(se) => format!("{} ± {}", value(c.ours), sig(se, 2)),
        None => value(c.ours),
    }
}

fn verdict(agrees: Option<bool>) -> &'static str {
    match agrees {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "— (no number to compare)",
    }
}

/// The section in Markdown.
pub fn markdown(out: &mut String, r: &References, number: usize) {
    let _ = writeln!(out, "## {number}. References\n");
    let _ = writeln!(
        out,
        "The papers the report leans on. For each claim of theirs that the report measures, the paper's number (in our units; \
         where it is a prediction for our own setting, evaluated for it) beside ours, read from the sections above, and whether \
         they agree by the stated relation.\n"
    );
    let _ = writeln!(
        out,
        "| claim | paper | where in the paper | paper's number | ours | our quantity | agrees? (relation) |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---|---|");
    for c in &r.claims {
        let text = claim_text(c.kind);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} ({}) |",
            text.statement,
            numbers(c.kind),
            text.place,
            value(c.paper_number),
            ours(c),
            text.ours,
            verdict(c.agrees),
            relation(c.kind.relation())
        );
    }
    out.push('\n');
    for &p in &r.papers {
        let e = entry(p);
        let arxiv = e.arxiv.map_or_else(String::new, |id| format!(" arXiv:{id}."));
        let stop = if e.title.ends_with('?') { "" } else { "." };
        let _ = writeln!(
            out,
            "{}. {} ({}). *{}*{stop} {}.{arxiv} Cited for {}.",
            p.number(),
            e.authors.join(", "),
            e.year,
            e.title,
            e.venue,
            e.cited_for
        );
    }
    out.push('\n');
}

/// `{"number", "authors", "title", "venue", "year", "arxiv", "cited_for"}`.
struct PaperEntry(Paper);

impl Serialize for PaperEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = entry(self.0);
        let mut s = serializer.serialize_struct("Paper", 7)?;
        s.serialize_field("number", &self.0.number())?;
        s.serialize_field("authors", e.authors)?;
        s.serialize_field("title", e.title)?;
        s.serialize_field("venue", e.venue)?;
        s.serialize_field("year", &e.year)?;
        s.serialize_field("arxiv", &e.arxiv)?;
        s.serialize_field("cited_for", e.cited_for)?;
        s.end()
    }
}

/// `{"claim", "papers", "where", "paper_number", "ours", "standard_error", "our_quantity", "relation",
/// "agrees"}`.
impl Serialize for Claim {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = claim_text(self.kind);
        let papers: Vec<usize> = self.kind.papers().iter().map(|p| p.number()).collect();
        let mut s = serializer.serialize_struct("Claim", 9)?;
        s.serialize_field("claim", text.statement)?;
        s.serialize_field("papers", &papers)?;
        s.serialize_field("where", text.place)?;
        s.serialize_field("paper_number", &self.paper_number)?;
        s.serialize_field("ours", &self.ours)?;
        s.serialize_field("standard_error", &self.standard_error)?;
        s.serialize_field("our_quantity", text.ours)?;
        s.serialize_field("relation", &relation(self.kind.relation()))?;
        s.serialize_field("agrees", &self.agrees)?;
        s.end()
    }
}

/// `{"papers": [entries], "claims": [claims]}`.
impl Serialize for References {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let papers: Vec<PaperEntry> = self.papers.iter().map(|&p| PaperEntry(p)).collect();
        let mut s = serializer.serialize_struct("References", 2)?;
        s.serialize_field("papers", &papers)?;
        s.serialize_field("claims", &self.claims)?;
        s.end()
    }
}
