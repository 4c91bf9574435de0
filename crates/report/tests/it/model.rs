//! The model and gradient file formats: numbers round-trip exactly, messages name the place.

use proptest::prelude::*;
use report::model::{ClaimedGradients, Model};
use report::reference::{LayerGradients, ModelGradients};

/// Every kind of finite f64: any bit pattern, subnormals, and the extremes.
fn finite_f64_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits).prop_filter("finite", |v| v.is_finite()),
        (1u64..(1 << 52)).prop_map(f64::from_bits),
        (1u64..(1 << 52)).prop_map(|b| -f64::from_bits(b)),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::EPSILON,
            0.1,
            1.0 / 3.0,
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printed_numbers_parse_back_to_the_same_f64(
        values in proptest::collection::vec(finite_f64_strategy(), 1..8),
        loss in finite_f64_strategy(),
    ) {
        let grads = ModelGradients {
            loss,
            layers: vec![LayerGradients {
                weight_grad: vec![values.clone()],
                bias_grad: values.clone(),
                norm_weight_grad: None,
                norm_bias_grad: None,
            }],
        };
        let text = grads.to_json();
        let back = ClaimedGradients::from_json(&text, "grads.json").unwrap();
        prop_assert_eq!(back.loss.map(f64::to_bits), Some(loss.to_bits()));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&back.layers[0].weight_grad[0]), bits(&values));
        prop_assert_eq!(bits(back.layers[0].bias_grad.as_ref().unwrap()), bits(&values));
    }
}

#[test]
fn messages_name_the_file_the_layer_the_row_and_the_column() {
    let text = r#"{"layers": [
        {"weight": [[1], [2], [3], [4]], "activation": "tanh"},
        {"weight": [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4, 5]], "activation": "tanh"}],
        "input": [[1]], "target": [[0, 0, 0, 0]]}"#;
    let err = Model::from_json(text, "model.json").unwrap_err();
    assert_eq!(err.to_string(), "model.json: layer 2 weight row 3: expected 4 columns, got 5");
}

#[test]
fn numbers_beyond_f64_are_refused_with_line_and_column() {
    let text =
        "{\"layers\": [{\"weight\": [[1e400]], \"activation\": \"tanh\"}],\n\"input\": [[1]], \"target\": [[0]]}";
    let err = Model::from_json(text, "model.json").unwrap_err().to_string();
    assert!(err.starts_with("model.json: number out of range at line 1 column"), "{err}");
    let err =
        ClaimedGradients::from_json(r#"{"layers": [{"weight_grad": [[-1e309]]}]}"#, "g.json").unwrap_err().to_string();
    assert!(err.starts_with("g.json: number out of range at line 1"), "{err}");
}

#[test]
fn optional_fields_take_their_documented_defaults() {
    let text = r#"{"layers": [{"weight": [[-2]], "activation": "leaky_relu"}], "input": [[1]], "target": [[0]]}"#;
    let model = Model::from_json(text, "m.json").unwrap();
    assert_eq!(model.loss(), scalar::dense::Loss::SquaredError);
    assert_eq!(model.net().shortcut(), None);
    assert_eq!(model.net().skip(), scalar::Skip::PreActivation);
    assert_eq!(model.net().layers()[0].bias, None);
    assert_eq!(
        model.net().layers()[0].activation,
        scalar::Activation::LeakyRelu { slope: scalar::activation::DEFAULT_LEAKY_SLOPE }
    );
}

/// The reference gradients' memory grows with the parameters and the outputs, not with
/// parameters × samples as the tape's did.
#[test]
fn the_reference_estimate_counts_parameters_units_and_outputs() {
    let model = |batch: usize| {
        let rows = vec![vec![1.0; 3]; batch];
        let text = serde_json::json!({
            "layers": [{"weight": [[1, 1, 1], [1, 1, 1]], "activation": "tanh"}],
            "input": rows, "target": vec![vec![0.0; 2]; batch]
        });
        Model::from_json(&text.to_string(), "m.json").unwrap()
    };
    let (one, two) = (model(1), model(2));
    assert_eq!(one.n_parameters(), 2 * (3 + 1));
    use report::model::{BYTES_PER_OUTPUT, BYTES_PER_PARAMETER, BYTES_PER_UNIT};
    // 8 parameters, 3 + 2 units, 2 outputs per sample.
    assert_eq!(one.reference_bytes_estimate(), 8 * BYTES_PER_PARAMETER + 5 * BYTES_PER_UNIT + 2 * BYTES_PER_OUTPUT);
    assert_eq!(two.reference_bytes_estimate() - one.reference_bytes_estimate(), 2 * BYTES_PER_OUTPUT);
    // `check` adds the error estimates' accumulators, per parameter and per unit.
    use report::model::{ERROR_SCALE_BYTES_PER_PARAMETER, ERROR_SCALE_BYTES_PER_UNIT, KINK_BYTES_PER_PARAMETER};
    let scales = 8 * (ERROR_SCALE_BYTES_PER_PARAMETER + KINK_BYTES_PER_PARAMETER) + 5 * ERROR_SCALE_BYTES_PER_UNIT;
    assert_eq!(one.check_bytes_estimate(), one.reference_bytes_estimate() + scales);
    // A layer normalisation adds its γ and β (reported whether or not the file has them): one
    // per input at the input (3), one per unit at the pre-activation (2).
    let normed = |at: &str| {
        let text = serde_json::json!({
            "layers": [{"weight": [[1, 1, 1], [1, 1, 1]], "activation": "tanh", "norm": {"at": at}}],
            "input": [[1.0, 2.0, 3.0]], "target": [[0.0, 0.0]]
        });
        Model::from_json(&text.to_string(), "m.json").unwrap().n_parameters()
    };
    assert_eq!((normed("input"), normed("pre_activation")), (8 + 2 * 3, 8 + 2 * 2));
}

/// `"skip"` picks where the shortcut joins; a file without it means the pre-activation form (what
/// every model file meant before the field existed), and the two forms give other gradients.
#[test]
fn skip_names_the_form_and_defaults_to_pre_activation() {
    let text = |skip: Option<&str>| {
        let mut v = serde_json::json!({
            "layers": [{"weight": [[1, 0.5], [0.25, -1]], "activation": "tanh"},
                       {"weight": [[0.5, 1], [-1, 0.75]], "activation": "sigmoid"}],
            "shortcut": 1, "input": [[1, -0.5]], "target": [[0, 1]]
        });
        if let Some(name) = skip {
            v["skip"] = serde_json::json!(name);
        }
        v.to_string()
    };
    let parse = |skip| Model::from_json(&text(skip), "m.json").unwrap();
    let (absent, pre, identity) = (parse(None), parse(Some("pre_activation")), parse(Some("identity")));
    assert_eq!(absent, pre);
    assert_eq!(identity.net().skip(), scalar::Skip::Identity);
    assert_eq!(
        report::model::SKIP_NAMES.map(|n| parse(Some(n)).net().skip()),
        [scalar::Skip::PreActivation, scalar::Skip::Identity]
    );
    for skip in [scalar::Skip::PreActivation, scalar::Skip::Identity] {
        assert_eq!(parse(Some(report::model::skip_name(skip))).net().skip(), skip);
    }
    let grads = |m: &Model| report::reference::model_gradients(m).unwrap().layers;
    assert_ne!(grads(&pre), grads(&identity));
}
