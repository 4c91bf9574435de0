//! `gradlab_oracle._core`: the Rust half of the Python package. Each function calls the library
//! function the command line calls (`report::reference`, `report::model`, `report::budget`,
//! `report::diagnosis` with `report::render::diagnose`, `scalar::gradcheck`), so Python gets the CLI's results, JSON bytes and messages; the Python
//! half (`python/gradlab_oracle/`) wraps them in objects with attributes and adapters for PyTorch
//! and numpy.
//!
//! Errors: bad input ([`report::Error::Input`], a model over the memory budget) is a `ValueError`
//! with the CLI's one-line message, a file that cannot be read an `OSError`. Every entry point
//! runs under [`guard`], so a Rust panic (a broken invariant) becomes a `RuntimeError` naming it,
//! never a `PanicException`.

mod arrays;

use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArrayDyn};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use report::budget;
use report::model::ClaimedGradients;
use report::reference::{self, Tolerance};
use report::render::diagnose as render_diagnose;
use scalar::gradcheck as fd;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// A report error as the Python exception a user expects, with the CLI's message.
fn to_py(e: report::Error) -> PyErr {
    match e {
        report::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        report::Error::Input(_) => PyValueError::new_err(e.to_string()),
        // The CLI's message names its flag; here the budget is an argument.
        report::Error::TooLarge { what, estimate_bytes, budget_bytes } => PyValueError::new_err(format!(
            "{what} would need about {} MiB, over the memory budget of {} MiB (raise it with the \
             memory_budget_mib argument)",
            estimate_bytes.div_ceil(1 << 20),
            budget_bytes >> 20
        )),
    }
}

/// Runs `body`, turning a panic into a `RuntimeError` (with the panic's message) instead of
/// letting it unwind into Python.
fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(PyRuntimeError::new_err(format!("gradlab internal error (please report it): {what}")))
        }
    }
}

/// A validated model description: a dense network, a batch, and the loss (the model file of
/// `docs/model-format.md`). Build it with `Model.from_json` or `Model.from_path`.
#[pyclass(frozen, module = "gradlab_oracle._core")]
struct Model {
    inner: report::model::Model,
    /// What the CLI names the model in messages: the path, or the text's `source`.
    source: String,
    /// The budget `grad` and `check` hold its reference gradients to (`diagnose` computes none).
    memory_budget_mib: u64,
}

impl Model {
    /// Refuses the model, as `report grad` and `report check` do, when the `work` on it would
    /// exceed the budget.
    fn check_budget(&self, work: budget::ModelWork) -> PyResult<()> {
        budget::check_model(&self.inner, Path::new(&self.source), work, self.memory_budget_mib).map_err(to_py)
    }
}

#[pymethods]
impl Model {
    /// Parses and validates a model file's text (with `arrays` written in place of their marks:
    /// [`arrays::expand`]); `source` starts every error message. `grad` and `check` refuse it, as
    /// `report grad` does, when its reference gradients would exceed `memory_budget_mib`;
    /// `diagnose`, which computes none, does not.
    #[staticmethod]
    #[pyo3(signature = (text, source = "model", memory_budget_mib = budget::DEFAULT_MEMORY_BUDGET_MIB, arrays = Vec::new()))]
    fn from_json(
        text: &str,
        source: &str,
        memory_budget_mib: u64,
        arrays: Vec<PyReadonlyArrayDyn<'_, f64>>,
    ) -> PyResult<Model> {
        guard(|| {
            let text = arrays::expand(text, &arrays)?;
            let inner = report::model::Model::from_json(&text, source).map_err(to_py)?;
            Ok(Model { inner, source: source.to_string(), memory_budget_mib })
        })
    }

    /// Reads and validates a model file, refused over the budget by its size before it is read
    /// (and by its reference gradients in `grad` and `check`, as `from_json`'s).
    #[staticmethod]
    #[pyo3(signature = (path, memory_budget_mib = budget::DEFAULT_MEMORY_BUDGET_MIB))]
    fn from_path(path: PathBuf, memory_budget_mib: u64) -> PyResult<Model> {
        guard(|| {
            let text = budget::read_file(&path, memory_budget_mib).map_err(to_py)?;
            let inner = report::model::Model::from_json(&text, &path.display().to_string()).map_err(to_py)?;
            Ok(Model { inner, source: path.display().to_string(), memory_budget_mib })
        })
    }

    /// The layer widths, input first.
    #[getter]
    fn widths(&self) -> Vec<usize> {
        self.inner.net().widths()
    }

    /// The layers (1-based) that receive a shortcut: every layer its span divides, or those the
    /// description names in `"shortcut_layers"`; empty without a shortcut.
    #[getter]
    fn shortcut_layers(&self) -> Vec<usize> {
        self.inner.net().shortcut_layers()
    }

    /// Per layer, where its layer normalisation sits (`"input"` or `"pre_activation"`, the
    /// model file's `"at"`), or `None` without one.
    #[getter]
    fn norms(&self) -> Vec<Option<&'static str>> {
        let norms = self.inner.net().norms().iter();
        norms.map(|n| n.as_ref().map(|n| report::model::norm_at_name(n.at))).collect()
    }

    /// B, the number of samples.
    #[getter]
    fn batch(&self) -> usize {
        self.inner.batch()
    }

    /// What the CLI's `grad`, `check` and `diagnose` warn of on standard error for this model
    /// (`FILE: what`, one per warning): a model the format expresses but rarely the one meant.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        report::render::reference::model_warnings(&self.inner)
            .into_iter()
            .map(|w| format!("{}: {w}", self.source))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("Model(widths={:?}, batch={})", self.inner.net().widths(), self.inner.batch())
    }
}

/// One layer's reference gradients: ∂L/∂W, ∂L/∂b, and a normalisation's ∂L/∂γ and ∂L/∂β.
type LayerArrays<'py> = (
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Option<Bound<'py, PyArray1<f64>>>,
    Option<Bound<'py, PyArray1<f64>>>,
);

/// The reference loss and gradients (`report grad`): `(json, loss, [(weight_grad, bias_grad,
/// norm_weight_grad, norm_bias_grad)])`, the last two `None` for a layer without a norm, `json`
/// being the bytes `report grad` prints (without the final newline).
#[pyfunction]
fn grad<'py>(py: Python<'py>, model: &Model) -> PyResult<(String, f64, Vec<LayerArrays<'py>>)> {
    guard(|| {
        model.check_budget(budget::ModelWork::Gradients)?;
        let g = reference::model_gradients(&model.inner).map_err(to_py)?;
        let mut layers = Vec::with_capacity(g.layers.len());
        for l in &g.layers {
            let w = PyArray2::from_vec2(py, &l.weight_grad)
                .map_err(|e| PyRuntimeError::new_err(format!("gradlab internal error: {e}")))?;
            let vector = |v: &Option<Vec<f64>>| v.as_ref().map(|v| PyArray1::from_slice(py, v));
            layers.push((
                w,
                PyArray1::from_slice(py, &l.bias_grad),
                vector(&l.norm_weight_grad),
                vector(&l.norm_bias_grad),
            ));
        }
        Ok((g.to_json(), g.loss, layers))
    })
}

/// Compares gradients with the reference (`report check`): their gradients as a gradients
/// file's text (`grads_json`, with `arrays` written in place of their marks; `source` naming it
/// in messages) or path (`grads_path`); `dtype` the precision they were computed in (`float64`
/// or `float32`: `report check --dtype`), whose preset gives the tolerances left as `None`.
/// Returns `(json, markdown, passed)`: the bytes `report check --format json` and `report check`
/// print.
#[pyfunction]
#[pyo3(signature = (model, grads_json = None, grads_path = None, source = "grads", atol = None, rtol = None, memory_budget_mib = budget::DEFAULT_MEMORY_BUDGET_MIB, arrays = Vec::new(), dtype = "float64"))]
#[allow(clippy::too_many_arguments)] // the Python signature: keywords with defaults
fn check(
    model: &Model,
    grads_json: Option<&str>,
    grads_path: Option<PathBuf>,
    source: &str,
    atol: Option<f64>,
    rtol: Option<f64>,
    memory_budget_mib: u64,
    arrays: Vec<PyReadonlyArrayDyn<'_, f64>>,
    dtype: &str,
) -> PyResult<(String, String, bool)> {
    guard(|| {
        let preset = match dtype {
            "float64" | "f64" => Tolerance::default(),
            "float32" | "f32" => Tolerance::f32(),
            other => {
                return Err(PyValueError::new_err(format!(
                    "dtype {other:?}: expected \"float64\" or \"float32\" (the precision the gradients were computed in)"
                )));
            }
        };
        let tolerance = Tolerance::new(atol.unwrap_or(preset.atol), rtol.unwrap_or(preset.rtol))
            .map_err(to_py)?
            .in_precision_of(preset);
        let theirs = match (grads_json, &grads_path) {
            (Some(text), None) => ClaimedGradients::from_json(&arrays::expand(text, &arrays)?, source),
            (None, Some(path)) => budget::read_file(path, memory_budget_mib)
                .and_then(|text| ClaimedGradients::from_json(&text, &path.display().to_string())),
            _ => return Err(PyValueError::new_err("give the gradients as text or as a path, not both")),
        }
        .map_err(to_py)?;
        // As `report check` does: the shape errors name the gradients' source.
        let source = grads_path.as_ref().map_or_else(|| source.to_string(), |p| p.display().to_string());
        model.check_budget(budget::ModelWork::Check)?;
        let reference = reference::model_gradients(&model.inner).map_err(to_py)?;
        let report = reference::check_gradients_against(&model.inner, &reference, &theirs, tolerance)
            .map_err(|e| PyValueError::new_err(format!("{source}: {e}")))?;
        Ok((report.to_json(), report.to_string(), report.pass))
    })
}

/// The diagnosis of a model's network and batch (`report diagnose`): `(json, markdown,
/// linked_markdown, svg)`, the bytes `report diagnose --format json` and `report diagnose` print,
/// the same Markdown linking the figure by its file name (as the HTML page, which inlines it), and
/// the figure of per-layer norms (`None` when it has no finite point).
#[pyfunction]
fn diagnose(model: &Model) -> PyResult<(String, String, String, Option<String>)> {
    guard(|| {
        // As `report diagnose` does: an error of the engine's names the model's source.
        let report = report::diagnosis::diagnose(&model.inner)
            .map_err(|e| PyValueError::new_err(format!("{}: {e}", model.source)))?;
        let svg = render_diagnose::figure(&report).svg();
        Ok((
            render_diagnose::json(&report),
            render_diagnose::markdown(&report, None),
            render_diagnose::markdown(&report, Some(render_diagnose::FIGURE_FILE)),
            svg,
        ))
    })
}

/// The reference gradients of a single-neuron chain (`report chain`): `(json, markdown)`, the
/// bytes `report chain --format json` and `report chain` print.
#[pyfunction]
#[pyo3(signature = (activation, weights, x, target, biases = None, shortcut = None, skip = None, slope = scalar::activation::DEFAULT_LEAKY_SLOPE, memory_budget_mib = budget::DEFAULT_MEMORY_BUDGET_MIB))]
#[allow(clippy::too_many_arguments)]
fn chain(
    activation: &str,
    weights: PyReadonlyArray1<'_, f64>,
    x: f64,
    target: f64,
    biases: Option<PyReadonlyArray1<'_, f64>>,
    shortcut: Option<usize>,
    skip: Option<&str>,
    slope: f64,
    memory_budget_mib: u64,
) -> PyResult<(String, String)> {
    let weights: Vec<f64> = weights.as_array().iter().copied().collect();
    let biases: Option<Vec<f64>> = biases.map(|b| b.as_array().iter().copied().collect());
    guard(|| {
        budget::check_chain_depth(weights.len() as u128, memory_budget_mib).map_err(to_py)?;
        for (name, v) in [("--input", x), ("--target", target)] {
            if !v.is_finite() {
                return Err(PyValueError::new_err(format!("{name}: {v} is not a finite number")));
            }
        }
        let chain = reference::chain_from_parts(activation, slope, weights, biases, shortcut, skip).map_err(to_py)?;
        let report = reference::chain_gradients(&chain, x, target).map_err(to_py)?;
        Ok((report.to_json(), report.to_markdown()))
    })
}

/// Checks a claimed gradient of a Python callable `f(x: ndarray) -> float` by finite
/// differences (`scalar::fd::check_gradient`: central or Richardson, kinks found by
/// one-sided differences). `f` receives a fresh float64 array each call. An exception raised by
/// `f` stops nothing inside (that evaluation counts as NaN) but is re-raised afterwards.
///
/// Returns `(table, passed, coordinates)`, the table being the Rust report's `Display` and each
/// coordinate a tuple `(index, claimed, numeric, abs_err, rel_err, step, forward, backward,
/// kink, tolerance, excess, verdict)`.
#[pyfunction]
#[pyo3(signature = (f, x, claimed, richardson = true, atol = None, rtol = None, rel_step = None))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)] // the Python signature: keyword arguments with defaults
fn gradcheck<'py>(
    py: Python<'py>,
    f: Bound<'py, PyAny>,
    x: PyReadonlyArray1<'py, f64>,
    claimed: PyReadonlyArray1<'py, f64>,
    richardson: bool,
    atol: Option<f64>,
    rtol: Option<f64>,
    rel_step: Option<f64>,
) -> PyResult<(String, bool, Vec<(usize, f64, f64, f64, f64, f64, f64, f64, bool, f64, f64, &'static str)>)> {
    let x: Vec<f64> = x.as_array().iter().copied().collect();
    let claimed: Vec<f64> = claimed.as_array().iter().copied().collect();
    let mut options = if richardson { fd::Options::richardson() } else { fd::Options::central() };
    options.atol = atol.unwrap_or(options.atol);
    options.rtol = rtol.unwrap_or(options.rtol);
    options.rel_step = rel_step.unwrap_or(options.rel_step);
    guard(|| {
        let raised: RefCell<Option<PyErr>> = RefCell::new(None);
        let call = |xs: &[f64]| -> f64 {
            if raised.borrow().is_some() {
                return f64::NAN;
            }
            match f.call1((PyArray1::from_slice(py, xs),)).and_then(|v| v.extract::<f64>()) {
                Ok(v) => v,
                Err(e) => {
                    *raised.borrow_mut() = Some(e);
                    f64::NAN
                }
            }
        };
        let result = fd::check_gradient(call, &x, &claimed, &options);
        if let Some(e) = raised.into_inner() {
            return Err(e);
        }
        let report = result.map_err(|e| PyValueError::new_err(e.to_string()))?;
        let coordinates = report
            .coordinates
            .iter()
            .map(|c| {
                let verdict = match c.verdict {
                    fd::Verdict::Pass => "pass",
                    fd::Verdict::Subgradient => "subgradient",
                    fd::Verdict::Fail => "fail",
                };
                (
                    c.index,
                    c.claimed,
                    c.numeric,
                    c.abs_err,
                    c.rel_err,
                    c.step,
                    c.forward,
                    c.backward,
                    c.kink,
                    c.tolerance,
                    c.excess,
                    verdict,
                )
            })
            .collect();
        Ok((report.to_string(), report.passed(), coordinates))
    })
}

/// Seconds per call of the Rust work behind `check` — parse the gradients file's text, compute
/// the reference, compare — timed inside Rust over `reps` calls (for `python/bench_roundtrip.py`,
/// which sets the Python round trip beside it).
#[pyfunction]
fn _time_check_in_rust(model: &Model, grads_json: &str, reps: u32) -> PyResult<f64> {
    guard(|| {
        let start = std::time::Instant::now();
        for _ in 0..reps.max(1) {
            let theirs = ClaimedGradients::from_json(grads_json, "grads").map_err(to_py)?;
            let report = reference::check_gradients(&model.inner, &theirs, Tolerance::default()).map_err(to_py)?;
            std::hint::black_box(report.to_json());
        }
        Ok(start.elapsed().as_secs_f64() / f64::from(reps.max(1)))
    })
}

/// Markdown (CommonMark with tables) as an HTML fragment, for `_repr_html_` in notebooks. An
/// image whose URL is one of `figures`' names (name → SVG) becomes that SVG inline, as on the
/// CLI's HTML page (a notebook cannot fetch the file the Markdown links).
#[pyfunction]
#[pyo3(signature = (markdown, figures = None))]
fn markdown_to_html(markdown: &str, figures: Option<std::collections::HashMap<String, String>>) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};
    let figures = figures.unwrap_or_default();
    let mut inside_figure = false;
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).filter_map(|event| {
        if inside_figure {
            // The image's alt text: the SVG replaces it.
            inside_figure = !matches!(event, Event::End(TagEnd::Image));
            return None;
        }
        if let Event::Start(Tag::Image { dest_url, .. }) = &event {
            if let Some(svg) = figures.get(dest_url.as_ref()) {
                inside_figure = true;
                return Some(Event::InlineHtml(CowStr::from(svg.clone())));
            }
        }
        Some(event)
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(grad, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose, m)?)?;
    m.add_function(wrap_pyfunction!(chain, m)?)?;
    m.add_function(wrap_pyfunction!(gradcheck, m)?)?;
    m.add_function(wrap_pyfunction!(markdown_to_html, m)?)?;
    m.add_function(wrap_pyfunction!(_time_check_in_rust, m)?)?;
    m.add("DEFAULT_ATOL", reference::DEFAULT_ATOL)?;
    m.add("DEFAULT_RTOL", reference::DEFAULT_RTOL)?;
    m.add("DEFAULT_MEMORY_BUDGET_MIB", budget::DEFAULT_MEMORY_BUDGET_MIB)?;
    m.add("DIAGNOSE_FIGURE_FILE", render_diagnose::FIGURE_FILE)?;
    Ok(())
}
