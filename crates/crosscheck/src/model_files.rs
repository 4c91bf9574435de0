//! Model and gradient files: any bytes, read as a model file and a gradients file, give a result
//! or a one-line error located in its file; a model's reference gradients pass `check` against
//! themselves and survive the JSON round trip bit for bit — in the form of shortcut the file names,
//! and in the form the bytes draw.

use crate::{assert_no_bare_non_finite, assert_one_line};
use report::model::{ClaimedGradients, Model};
use report::reference::{Tolerance, check_gradients_against, model_gradients};
use scalar::Skip;

/// The memory budget of [`check_model_files`] for the reference gradients and a check's scales
/// (the binary's default is 4 GiB; a fuzzer's input cannot describe a model anywhere near this,
/// but a bug in the estimate could, and the fuzzer must not be killed by the OS for it).
pub const FUZZ_REFERENCE_BUDGET_BYTES: u128 = 64 << 20;

/// Model and gradient files: the bytes before the first 0 byte are the model file, the rest the
/// gradients file (both read as UTF-8, lossily, as `report` reads files). A model with a
/// shortcut is checked as written and again with the [`Skip`] the last byte's low bit draws
/// (where its loss admits that form).
///
/// # Panics
/// When a property fails: a panic inside parsing or the reference, an error message that is not
/// one line or does not start with its file, reference gradients that do not pass `check`
/// against themselves or that change in the JSON round trip, or a check report whose verdict
/// disagrees with its layers.
pub fn check_model_files(data: &[u8]) {
    let (model_bytes, grads_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let model_text = String::from_utf8_lossy(model_bytes);
    let grads_text = String::from_utf8_lossy(grads_bytes);
    let theirs = ClaimedGradients::from_json(&grads_text, "grads.json");
    if let Err(e) = &theirs {
        let message = e.to_string();
        assert_one_line(&message);
        assert!(message.starts_with("grads.json: "), "an unlocated message: {message}");
    }
    let model = match Model::from_json(&model_text, "model.json") {
        Ok(model) => model,
        Err(e) => {
            let message = e.to_string();
            assert_one_line(&message);
            assert!(message.starts_with("model.json: "), "an unlocated message: {message}");
            return;
        }
    };
    if model.check_bytes_estimate() > FUZZ_REFERENCE_BUDGET_BYTES {
        return; // `report check` refuses it with the estimate (tested in tests/it/robustness.rs)
    }
    let drawn = if data.last().is_some_and(|b| b & 1 == 1) { Skip::Identity } else { Skip::PreActivation };
    let other = (model.net().shortcut().is_some() && drawn != model.net().skip())
        .then(|| {
            let net = model.net().clone().with_skip(drawn);
            Model::new(net, model.input().to_vec(), model.target().to_vec(), model.loss()).ok()
        })
        .flatten();
    check_reference(&model, theirs.as_ref().ok());
    if let Some(other) = other {
        check_reference(&other, theirs.as_ref().ok());
    }
}

/// The reference gradients of `model` pass against themselves and survive the JSON round trip;
/// `theirs`, if given, gives a report or a located shape error, with a coherent verdict.
fn check_reference(model: &Model, theirs: Option<&ClaimedGradients>) {
    let reference = match model_gradients(model) {
        Ok(reference) => reference,
        Err(e) => return assert_one_line(&e.to_string()),
    };
    assert_eq!(reference.layers.len(), model.net().layers().len());
    // The reference passes against itself, at zero tolerance.
    let own = ClaimedGradients::from(&reference);
    let exact = Tolerance::new(0.0, 0.0).expect("zero is a valid tolerance");
    let report = check_gradients_against(model, &reference, &own, exact).expect("the reference has the model's shape");
    assert!(report.pass && report.first_wrong_layer.is_none(), "the reference fails against itself: {report}");
    // What `report grad` prints parses back as a gradients file with the same bits.
    let printed = reference.to_json();
    let parsed = ClaimedGradients::from_json(&printed, "printed").expect("printed gradients parse");
    assert_eq!(bits_of(&parsed), bits_of(&own), "the JSON round trip changed a gradient:\n{printed}");
    // Their gradients, if they parse: a report or a located shape error, and a coherent verdict.
    if let Some(theirs) = theirs {
        match check_gradients_against(model, &reference, theirs, Tolerance::default()) {
            Err(e) => assert_one_line(&e.to_string()),
            Ok(report) => {
                let failing = report.layers.iter().filter(|l| !l.pass).map(|l| l.layer).max();
                assert_eq!(
                    report.first_wrong_layer, failing,
                    "first_wrong_layer is the failing layer nearest the output"
                );
                let loss_ok = report.loss.as_ref().is_none_or(|l| l.pass);
                assert_eq!(report.pass, failing.is_none() && loss_ok);
                assert_no_bare_non_finite(&report.to_string());
                serde_json::from_str::<serde_json::Value>(&report.to_json()).expect("the check report is JSON");
            }
        }
    }
}

/// Every number of a gradients file as bits, in order (so −0 and +0 differ, and NaN is caught).
fn bits_of(g: &ClaimedGradients) -> Vec<u64> {
    let mut out: Vec<u64> = g.loss.iter().map(|v| v.to_bits()).collect();
    for l in &g.layers {
        out.extend(l.weight_grad.iter().flatten().map(|v| v.to_bits()));
        out.extend(l.bias_grad.iter().flatten().map(|v| v.to_bits()));
    }
    out
}
