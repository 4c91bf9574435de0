//! Report rendering: a well-formed [`Report`] built from the bytes renders to Markdown with one
//! table row per data row (each row as wide as its header), to JSON that parses, and to SVG,
//! without `NaN` or `inf` anywhere.

use crate::assert_no_bare_non_finite;
use crate::bytes::{Bytes, extreme};
use report::render::Detail;
use report::sections::classic::{BugCase, Classic, ClassicRuns, Diagnosis};
use report::sections::critical_depth::{
    CriticalDepth, DepthLayer, DepthRun, HaninDrift, HaninRow, Regime, Spread, TABLE_LAYERS,
};
use report::sections::criticality::{SigmoidCritical, SigmoidRow};
use report::sections::decay::survival::{Survival, SurvivalRow};
use report::sections::decay::{
    Basis, ChainSet, Collapse, Decay, DecayConfig, DecayCurve, DecayRow, Fit, LossScale, Prediction, SkipForm,
    Underflow, f16_range,
};
use report::sections::dense_init::{
    ChiCurve, Decades, DenseInit, Estimate, ForwardCollapse, InitConfig, Phase, SchemeName,
};
use report::sections::handwritten::{Bug, Param};
use report::sections::isometry::{Isometry, RESOLUTION, SpectrumRow, SpectrumSetting, Weights};
use report::sections::meanfield::FixedPoint;
use report::sections::worked::{WorkedChain, WorkedLayer};
use report::sections::{Config, Label, Report};

/// Names the sections really use (including Markdown-sensitive characters such as `[±1/√n]`).
const SCHEMES: [SchemeName; 5] =
    [SchemeName::Uniform, SchemeName::Xavier, SchemeName::He, SchemeName::Orthogonal, SchemeName::StandardNormal];
const NAMES: [&str; 8] = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "U[±1/√n]", "N(0, 1)", "He"];

fn finite(bytes: &mut Bytes<'_>) -> f64 {
    let v = extreme(bytes);
    if v.is_finite() { v } else { 0.5 }
}

/// A log10 value: finite (up to Ext's range, ±1.4e18) or −∞ (an exact zero).
fn log10_value(bytes: &mut Bytes<'_>) -> f64 {
    match bytes.byte() % 8 {
        0 => f64::NEG_INFINITY,
        1 => -1.38e18,
        _ => finite(bytes).clamp(-1.38e18, 1.38e18),
    }
}

fn share(bytes: &mut Bytes<'_>) -> f64 {
    f64::from(bytes.byte()) / 255.0
}

fn name(bytes: &mut Bytes<'_>) -> String {
    NAMES[usize::from(bytes.byte()) % NAMES.len()].to_string()
}

fn fit(bytes: &mut Bytes<'_>) -> Option<Fit> {
    bytes.bool().then(|| Fit { slope: finite(bytes), standard_error: finite(bytes).abs(), flat: bytes.bool() })
}

fn loss_scale(bytes: &mut Bytes<'_>) -> LossScale {
    match bytes.byte() % 4 {
        0 => LossScale::NotNeeded,
        1 => LossScale::Scale(bytes.int_in(1, 2000) as i64),
        2 => LossScale::BeyondRange(bytes.int_in(1, 1 << 40) as i64),
        _ => LossScale::ExactZero,
    }
}

fn classic_runs(bytes: &mut Bytes<'_>) -> ClassicRuns {
    ClassicRuns {
        task: if bytes.bool() { "AND" } else { "XOR" }.into(),
        hidden_layers: bytes.int_in(0, 3),
        bias: bytes.bool(),
        bug: Bug::None,
        constant_loss: finite(bytes),
        success_rate: share(bytes),
        median_epochs_to_target: bytes.bool().then(|| bytes.int_in(0, 5000)),
        median_final_loss: finite(bytes),
        plateau_share: share(bytes),
        stuck_share: share(bytes),
        median_hidden_spread: bytes.bool().then(|| finite(bytes)),
        largest_hidden_spread: None, // not rendered; drawing it would shift the seeds' bytes
        non_finite_runs: bytes.int_in(0, 3),
        loss_curve: (0..bytes.int_in(0, 8)).map(|k| (k * 20, finite(bytes).abs())).collect(),
    }
}

/// A well-formed [`Report`] from fuzz bytes. Sections 1, 2, 3 and 6 are generated, in the shapes
/// the sections produce (depth ≥ 1, one
/// underflow depth per float format, per-layer vectors of the section's depth or shorter,
/// configurations grouped by activation) with arbitrary finite numbers, −∞ where a log10 may
/// stand for an exact zero and ∞ where q* may grow without bound; the others are a real quick
/// run's.
pub fn arbitrary_report(data: &[u8]) -> Report {
    let mut bytes = Bytes::new(data);
    let b = &mut bytes;
    let (seed, samples) = (b.u64(), b.int_in(1, 100_000));
    let config = Config {
        seed,
        samples,
        // Not drawn (the seed corpus's bytes keep their meaning): `samples`, as in a run without
        // `--decay-samples`.
        decay_samples: samples,
        max_depth: b.int_in(1, 1_000_000),
        epochs: b.int_in(1, 5000),
        quick: b.bool(),
    };
    let mut worked_layers = (0..b.int_in(0, 12))
        .map(|d| WorkedLayer {
            layer: d + 1,
            pre_activation: finite(b),
            input: finite(b),
            derivative: finite(b),
            grad: finite(b),
            bound: finite(b),
            ratio_to_last: finite(b),
            step: None,
        })
        .collect::<Vec<_>>();
    // The step draws no byte of its own (the seed corpus keeps its meaning): every row but the
    // last has one, taken from values already drawn.
    let rows = worked_layers.len();
    for (d, l) in worked_layers.iter_mut().enumerate().take(rows.saturating_sub(1)) {
        l.step = Some(if d % 2 == 0 { l.ratio_to_last } else { l.grad });
    }
    let worked = WorkedChain {
        depth: worked_layers.len(),
        weight: finite(b),
        input: finite(b),
        target: finite(b),
        output: finite(b),
        loss: finite(b),
        layers: worked_layers,
    };
    let max_depth = config.max_depth;
    let mut decay_configs: Vec<DecayConfig> = (0..b.int_in(0, 6))
        .map(|_| {
            let shortcut = if b.bool() { Some(b.int_in(1, 4)) } else { None };
            // The form from the span's parity, reading no byte of its own: the seed corpus's
            // older inputs decode to the reports they always did.
            let skip = shortcut.map(|s| if s % 2 == 1 { SkipForm::Identity } else { SkipForm::PreActivation });
            let layer_spread = b.bool().then(|| finite(b).abs());
            DecayConfig {
                activation: name(b),
                shortcut,
                skip,
                chain_depth: max_depth,
                chains: if b.bool() { ChainSet::All } else { ChainSet::Live },
                rows: (0..b.int_in(0, 8))
                    .map(|_| DecayRow {
                        depth: b.int_in(1, max_depth),
                        p10: log10_value(b),
                        median: log10_value(b),
                        p90: log10_value(b),
                        backward_median: log10_value(b),
                        forward_median: log10_value(b),
                        bound_median: b.bool().then(|| log10_value(b)),
                        zero_share: share(b),
                        f16_loss_scale: loss_scale(b),
                    })
                    .collect(),
                curve: DecayCurve::default(),
                all_exact_zero: b.bool(),
                weight_fit: fit(b),
                backward_fit: fit(b),
                forward_fit: fit(b),
                prediction: b.bool().then(|| Prediction {
                    basis: match (b.byte() % 3, shortcut.filter(|_| skip == Some(SkipForm::Identity))) {
                        (1, _) => Basis::LeakyHalf { slope: finite(b) },
                        (_, Some(span)) => Basis::IdentitySkip { span },
                        (0, None) => Basis::CollapsedTanh,
                        (_, None) => Basis::LiveRelu,
                    },
                    slope: finite(b),
                    agrees: b.bool(),
                }),
                backward_slope_bound: b.bool().then(|| finite(b)),
                weight_bound_slope: b.bool().then(|| finite(b)),
                collapse: if b.bool() {
                    Collapse::FromLayer { layer: b.int_in(1, max_depth), through_depth: b.int_in(1, max_depth) }
                } else {
                    Collapse::NotCollapsed
                },
                homogeneity_deviation: b.bool().then(|| finite(b).abs()),
                underflow: scalar::FloatFormat::ALL
                    .iter()
                    .map(|_| match b.byte() % 3 {
                        0 => Underflow::At(b.int_in(1, max_depth)),
                        1 => Underflow::BeyondDepth,
                        _ => Underflow::AllExactZero,
                    })
                    .collect(),
                loss_scale_cap: b.int_in(0, 1 << 20) as i64 - (1 << 19),
                layer_spread,
                spread_fits_f16: layer_spread.map(|_| b.bool()),
                non_finite_chains: if b.byte().is_multiple_of(8) { b.int_in(1, 10) } else { 0 },
            }
        })
        .collect();
    decay_configs.sort_by_key(|c| NAMES.iter().position(|n| *n == c.activation));
    // The curve from the rows, reading no byte of its own (the seed corpus decodes as before).
    for c in &mut decay_configs {
        let mut rows: Vec<&DecayRow> = c.rows.iter().collect();
        rows.sort_by_key(|r| r.depth);
        c.curve = DecayCurve {
            depth: rows.iter().map(|r| r.depth).collect(),
            p10: rows.iter().map(|r| r.p10).collect(),
            median: rows.iter().map(|r| r.median).collect(),
            p90: rows.iter().map(|r| r.p90).collect(),
            backward_median: rows.iter().map(|r| r.backward_median).collect(),
        };
    }
    let depths = (0..b.int_in(1, 8)).map(|_| b.int_in(1, max_depth)).collect();
    let survival = Survival {
        chains: b.int_in(1, 1 << 20),
        rows: (0..b.int_in(0, 12))
            .map(|depth| SurvivalRow {
                depth: depth + 1,
                live_everywhere: b.int_in(0, 1 << 20),
                live_somewhere: b.int_in(0, 1 << 20),
                share: share(b),
                expected_share: share(b),
                standard_error: share(b),
                deviation: finite(b),
            })
            .collect(),
    };
    let decay = Decay {
        max_depth,
        samples: config.decay_samples,
        bootstrap_resamples: b.int_in(1, 1000),
        depths,
        collapse_level_log10: finite(b),
        f16: f16_range(),
        configs: decay_configs,
        survival,
    };
    let dense_depth = b.int_in(1, 12);
    let mut init_configs: Vec<InitConfig> = (0..b.int_in(0, 8))
        .map(|_| {
            let per_layer = |b: &mut Bytes<'_>| -> Vec<f64> {
                let n = if b.byte().is_multiple_of(8) { b.int_in(0, dense_depth) } else { dense_depth };
                (0..n).map(|_| log10_value(b)).collect()
            };
            let estimates = |b: &mut Bytes<'_>| -> Vec<Estimate> {
                per_layer(b).into_iter().map(|log10_mean| Estimate { log10_mean, se: finite(b).abs() }).collect()
            };
            let decades = |b: &mut Bytes<'_>| Decades {
                measured: log10_value(b),
                se: finite(b).abs(),
                spread: finite(b).abs(),
                mean_field: log10_value(b),
                corrected: b.bool().then(|| log10_value(b)),
                agrees: b.bool(),
                agrees_with_mean_field: b.bool(),
            };
            InitConfig {
                activation: name(b),
                init: Label(SCHEMES[b.int_in(0, SCHEMES.len() - 1)]),
                sigma_w2: finite(b).abs(),
                q_star: match b.byte() % 4 {
                    0 => FixedPoint::Zero,
                    1 => FixedPoint::Every,
                    2 => FixedPoint::Unbounded,
                    _ => FixedPoint::At(finite(b).abs()),
                },
                chi_1: finite(b).abs(),
                phase: Label([Phase::Vanishing, Phase::Critical, Phase::Exploding][b.int_in(0, 2)]),
                networks: b.int_in(0, 100),
                activation_grad: estimates(b),
                weight_grad: estimates(b),
                probe_grad: estimates(b),
                predicted: per_layer(b),
                corrected: b.bool().then(|| per_layer(b)),
                measured_slope: b.bool().then(|| finite(b)),
                predicted_slope: b.bool().then(|| finite(b)),
                decades: decades(b),
                probe_decades: decades(b),
                forward_decades: log10_value(b),
                weight_decades: log10_value(b),
                output_share: log10_value(b),
                non_finite: None,
            }
        })
        .collect();
    init_configs.sort_by_key(|c| NAMES.iter().position(|n| *n == c.activation));
    let dense_init = DenseInit {
        width: b.int_in(1, 1024),
        depth: dense_depth,
        batch: b.int_in(1, 1024),
        nets: b.int_in(1, 100),
        resamples: b.int_in(1, 1000),
        collapse: b.bool().then(|| ForwardCollapse {
            rows: init_configs.iter().map(|c| (c.activation.clone(), c.init)).collect(),
            backward: (log10_value(b), log10_value(b)),
            forward: (log10_value(b), log10_value(b)),
            weight_max_abs: finite(b).abs(),
            output_share_max: log10_value(b),
        }),
        configs: init_configs,
        chi_curves: NAMES[..b.int_in(0, NAMES.len())]
            .iter()
            .map(|name| {
                let curve = |b: &mut Bytes<'_>| (0..b.int_in(0, 6)).map(|_| (finite(b), finite(b))).collect();
                ChiCurve { activation: name.to_string(), chi_1: curve(b), at_depth: curve(b) }
            })
            .collect(),
        sigmoid_critical: SigmoidCritical {
            width: b.int_in(1, 1024),
            depth: dense_depth.max(3),
            batch: b.int_in(1, 1024),
            nets: b.int_in(1, 100),
            sigma_w2: b.bool().then(|| finite(b).abs()),
            q_star: b.bool().then(|| finite(b).abs()),
            asymptotic: finite(b).abs(),
            rows: (0..b.int_in(0, 5))
                .map(|_| SigmoidRow {
                    sigma_w2: finite(b).abs(),
                    multiple: finite(b).abs(),
                    chi_1: finite(b).abs(),
                    predicted: finite(b).abs(),
                    measured: finite(b).abs(),
                    log10_measured: log10_value(b),
                    se: finite(b).abs(),
                    networks: b.int_in(0, 100),
                })
                .collect(),
            measured_critical: b.bool().then(|| finite(b).abs()),
        },
        critical_depth: critical_depth(b),
    };
    let runs = (0..b.int_in(0, 8)).map(|_| classic_runs(b)).collect();
    let bugs = (0..b.int_in(0, 4))
        .map(|i| {
            let bug = Bug::ALL[i];
            BugCase {
                bug,
                description: Label(bug),
                task: "XOR".into(),
                hidden_width: b.int_in(1, 8),
                gradient_check_passed: b.bool(),
                gradient_check_on_seen_data_passed: b.bool(),
                worst: b.bool().then(|| (Label(Param::Weight { layer: 1, row: 0, col: 1 }), finite(b), finite(b))),
                training: classic_runs(b),
                median_reported_final_loss: finite(b),
                diagnosis: if b.bool() {
                    Diagnosis::GradientsWrong
                } else {
                    Diagnosis::WrongData {
                        median_reported_final_loss: finite(b),
                        constant_loss: finite(b),
                        settles_at_constant: b.bool(),
                    }
                },
            }
        })
        .collect();
    let classic = Classic { epochs: config.epochs, seeds: b.int_in(1, 1000), runs, bugs };
    // The sections not generated here come from one real quick run, computed once.
    let isometry = isometry(b);
    Report { config, worked, decay, dense_init, classic, isometry, ..computed_sections().clone() }
}

/// A real report (`--quick`, seed 1), computed once per process, for the sections
/// [`arbitrary_report`] does not generate.
fn computed_sections() -> &'static Report {
    static REPORT: std::sync::OnceLock<Report> = std::sync::OnceLock::new();
    REPORT.get_or_init(|| report::sections::compute(&Config::new(1, true)))
}

/// Tables of a Markdown text: for each maximal block of lines starting with `|`, the number of
/// cells of its header and of each body row (after the `|---|` line). Escaped pipes (`\|`) are
/// part of a cell.
pub fn markdown_tables(text: &str) -> Vec<(usize, Vec<usize>)> {
    let cells = |line: &str| line.replace("\\|", "").matches('|').count().saturating_sub(1);
    let mut tables = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.starts_with('|') {
            block.push(line);
        } else if !block.is_empty() {
            let header = cells(block[0]);
            tables.push((header, block.iter().skip(2).map(|l| cells(l)).collect()));
            block.clear();
        }
    }
    tables
}

/// The Markdown split at its `## ` headings: (heading, text up to the next heading).
pub fn markdown_sections(text: &str) -> Vec<(&str, &str)> {
    let mut starts: Vec<usize> = text.match_indices("\n## ").map(|(i, _)| i + 1).collect();
    if text.starts_with("## ") {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let end = starts.get(k + 1).copied().unwrap_or(text.len());
            let body = &text[start..end];
            (body.lines().next().unwrap_or(""), body)
        })
        .collect()
}

/// Per section of [`report::render::markdown`] (by the start of its heading), the number of body
/// rows its tables must have, in order, and whether that list is the whole section (`true`) or
/// only its first tables (`false`, for sections whose further tables are not one row per datum).
/// One row per: worked layer; decay configuration (slopes), survival depth, decay configuration
/// (formats), then decay row (for each configuration with rows); init configuration (the
/// summary, the sigmoid's critical line where it was found, critical-depth run, critical-depth
/// layer, Hanin's rows where present, then what vanishes), then layer (two tables per
/// activation), then isometry setting and isometry row; classic run, then bug;
/// claim of the references. With [`Detail::Summary`] sections 2 and 3 keep their summary tables
/// only (no per-depth or per-layer tables).
/// The other sections are checked for rows as wide as their headers only.
pub fn expected_table_rows(report: &Report, detail: Detail) -> Vec<(&'static str, Vec<usize>, bool)> {
    let configs = report.decay.configs.len();
    let mut decay = vec![configs, report.decay.survival.rows.len(), configs];
    if detail == Detail::Full {
        decay.extend(report.decay.configs.iter().map(|c| c.rows.len()).filter(|&n| n > 0));
    }
    let sigmoid = &report.dense_init.sigmoid_critical;
    let mut dense = vec![report.dense_init.configs.len()];
    dense.extend(sigmoid.sigma_w2.map(|_| sigmoid.rows.len()));
    let depth = &report.dense_init.critical_depth;
    dense.push(depth.runs.len());
    dense.push(depth.runs.iter().map(|r| r.layers.iter().filter(|l| TABLE_LAYERS.contains(&l.layer)).count()).sum());
    if let Some(h) = &depth.hanin {
        dense.push(h.rows.iter().filter(|r| TABLE_LAYERS.contains(&r.layer) || r.layer == h.rows.len()).count());
    }
    dense.push(report.dense_init.configs.len());
    let mut activations: Vec<&str> = report.dense_init.configs.iter().map(|c| c.activation.as_str()).collect();
    activations.dedup();
    for _ in activations.iter().filter(|_| detail == Detail::Full) {
        dense.extend([report.dense_init.depth, report.dense_init.depth]);
    }
    // Dynamical isometry: one row per setting, then per setting and depth (the summary keeps
    // L = 2, 8, 32, … and the deepest).
    let iso = &report.isometry;
    let deepest = iso.depths.last().copied().unwrap_or(0);
    let summary_depth =
        |d: usize| d == deepest || std::iter::successors(Some(2usize), |k| k.checked_mul(4)).any(|k| k == d);
    dense.push(iso.settings.len());
    dense.push(
        iso.settings.iter().flat_map(|s| &s.rows).filter(|r| detail == Detail::Full || summary_depth(r.depth)).count(),
    );
    vec![
        ("## 1.", vec![report.worked.layers.len()], true),
        ("## 2.", decay, true),
        ("## 3.", dense, true),
        ("## 6.", vec![report.classic.runs.len(), report.classic.bugs.len()], true),
        ("## 8.", vec![report.references.claims.len()], true),
    ]
}

/// Report rendering: see the [module docs](self).
///
/// # Panics
/// When a property fails.
pub fn check_report_rendering(data: &[u8]) {
    let report = arbitrary_report(data);
    for (plots, detail) in [(None, Detail::Summary), (Some("plots"), Detail::Summary), (Some("plots"), Detail::Full)] {
        let text = report::render::markdown_with(&report, plots, detail);
        // Every section: numfmt's loud fallback never shows, nor does Rust's `inf`. (Section 7's
        // prose names "NaN" as a symptom, so bare `NaN` is checked in the generated sections.)
        assert!(!text.contains("non-finite ("), "numfmt's non-finite fallback in:\n{text}");
        assert!(!text.split_whitespace().any(|w| w.trim_matches(|c: char| "|(),;:".contains(c)).ends_with("inf")));
        for (header, body) in markdown_tables(&text) {
            assert!(body.iter().all(|&n| n == header), "a row wider or narrower than its header:\n{text}");
        }
        let sections = markdown_sections(&text);
        for (prefix, want, whole) in expected_table_rows(&report, detail) {
            let (_, body) = sections
                .iter()
                .find(|(heading, _)| heading.starts_with(prefix))
                .unwrap_or_else(|| panic!("no section {prefix}:\n{text}"));
            assert_no_bare_non_finite(body);
            let rows: Vec<usize> = markdown_tables(body).iter().map(|(_, rows)| rows.len()).collect();
            let got = if whole { &rows[..] } else { &rows[..want.len().min(rows.len())] };
            assert_eq!(got, &want[..], "{prefix}: one table row per data row:\n{body}");
        }
    }
    let json = report::render::json(&report);
    let value: serde_json::Value = serde_json::from_str(&json).expect("the report is JSON");
    for section in ["worked", "decay", "dense_init", "classic"] {
        assert_no_bare_non_finite(&value[section].to_string());
    }
    assert_eq!(value["decay"]["configs"].as_array().map(Vec::len), Some(report.decay.configs.len()));
    // Section 7's figure names the symptom "loss NaN (or ±∞)" as its prose does: that name aside,
    // no figure shows a non-finite value.
    let symptom = report::render::prose::symptom_name(report::sections::symptoms::SymptomKind::LossNonFinite);
    for (name, svg) in report::render::svg::figures(&report) {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}");
        assert_no_bare_non_finite(&svg.replace(symptom, ""));
    }
}

/// A [`CriticalDepth`] from the bytes: any number of runs and layers, layer numbers among the
/// tables' and others, any values (finite), Hanin's rows or none.
fn critical_depth(b: &mut Bytes<'_>) -> CriticalDepth {
    let spread = |b: &mut Bytes<'_>| Spread { p10: finite(b), median: finite(b), p90: finite(b), mean: finite(b) };
    let layer_number =
        |b: &mut Bytes<'_>| if b.bool() { TABLE_LAYERS[b.int_in(0, TABLE_LAYERS.len() - 1)] } else { b.int_in(1, 300) };
    let runs = (0..b.int_in(0, 4))
        .map(|_| DepthRun {
            activation: NAMES[b.int_in(0, NAMES.len() - 1)].to_string(),
            regime: [Regime::CriticalPoint, Regime::CriticalLine, Regime::Ordered, Regime::He][b.int_in(0, 3)],
            sigma_w2: finite(b).abs(),
            sigma_b2: finite(b).abs(),
            chi_1: finite(b).abs(),
            q_star: b.bool().then(|| finite(b).abs()),
            xi_c: b.bool().then(|| finite(b).abs()),
            xi_measured: b.bool().then(|| finite(b).abs()),
            networks: b.int_in(0, 100),
            layers: (0..b.int_in(0, 8))
                .map(|_| DepthLayer {
                    layer: layer_number(b),
                    forward_theory: finite(b),
                    forward: spread(b),
                    backward_theory: finite(b),
                    backward: spread(b),
                    decorrelation_theory: finite(b),
                    decorrelation: spread(b),
                })
                .collect(),
        })
        .collect();
    let hanin = b.bool().then(|| {
        let rows = (0..b.int_in(0, 8))
            .map(|_| HaninRow {
                layer: layer_number(b),
                // β = l/n, a layer number over a width (−5β/2 and 5β are rendered beside it).
                beta: b.int_in(1, 1000) as f64 / b.int_in(1, 1024) as f64,
                mean: finite(b),
                var: finite(b).abs(),
                var_se: finite(b).abs(),
                exact_mean: finite(b),
                exact_var: finite(b).abs(),
            })
            .collect();
        HaninDrift { law_mean: finite(b), law_var: finite(b).abs(), rows }
    });
    CriticalDepth {
        width: b.int_in(1, 1024),
        depth: b.int_in(1, 1000),
        nets: b.int_in(1, 100),
        tanh_critical: b.bool().then(|| finite(b).abs()),
        runs,
        hanin,
        xi_curve: (0..b.int_in(0, 6)).map(|_| (finite(b).abs(), finite(b).abs())).collect(),
    }
}

/// An [`Isometry`] from the bytes: any depths (in increasing order, powers of two among them or
/// not), settings in any order of weights, rows without converged networks, missing standard
/// errors, exact variances and percentiles. Singular values keep what an f64 product gives:
/// the largest in f64's range, quoted percentiles at most [`RESOLUTION`]'s 10 decades below it.
fn isometry(b: &mut Bytes<'_>) -> Isometry {
    let mut depths: Vec<usize> =
        (0..b.int_in(0, 6)).map(|_| if b.bool() { 1 << b.int_in(0, 9) } else { b.int_in(1, 600) }).collect();
    depths.sort_unstable();
    depths.dedup();
    let settings = (0..b.int_in(0, 6))
        .map(|_| SpectrumSetting {
            activation: NAMES[b.int_in(0, NAMES.len() - 1)].to_string(),
            weights: Label(Weights::ALL[b.int_in(0, 1)]),
            sigma_w2: finite(b).abs(),
            sigma_b2: if b.bool() { 0.0 } else { finite(b).abs() },
            q_star: finite(b).abs(),
            mu1: finite(b).abs(),
            mu2: finite(b).abs(),
            chi_1: finite(b).abs(),
            variance_per_layer: finite(b),
            rows: depths
                .iter()
                .map(|&depth| {
                    let log10_max = finite(b).clamp(-300.0, 300.0);
                    let below = |b: &mut Bytes<'_>| b.bool().then(|| log10_max - 10.0 * share(b));
                    SpectrumRow {
                        depth,
                        networks: b.int_in(0, 8),
                        mean_lambda: finite(b).abs(),
                        var_lambda: finite(b).abs(),
                        var_se: b.bool().then(|| finite(b).abs()),
                        predicted_var: finite(b),
                        exact_var: b.bool().then(|| finite(b).abs()),
                        log10_max,
                        log10_percentiles: [below(b), below(b), below(b)],
                        resolved: share(b),
                        forced_zero: share(b),
                    }
                })
                .collect(),
        })
        .collect();
    Isometry { width: b.int_in(1, 1024), nets: b.int_in(1, 100), depths, resolution: RESOLUTION, settings }
}
