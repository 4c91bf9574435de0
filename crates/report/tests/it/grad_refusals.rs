//! `report grad`: bad model files refused with the file and the place, one case per way a file
//! can be wrong (the table below).

use crate::cli_run::{assert_bad_input, report, temp_file};
use crate::grad::unique;

/// Each bad model file and the fragments its one-line message must contain (`FILE` stands for the
/// file's path as given).
const BAD_MODELS: &[(&str, &str, &[&str])] = &[
    ("malformed", r#"{"layers": [ "#, &["FILE: ", "line 1 column"]),
    (
        "ragged",
        r#"{"layers": [{"weight": [[1, 2], [3]], "activation": "tanh"}], "input": [[1, 2]], "target": [[0, 0]]}"#,
        &["FILE: layer 1 weight row 1: expected 2 columns, got 1"],
    ),
    (
        "ragged-layer-2",
        r#"{"layers": [{"weight": [[1], [2], [3], [4]], "activation": "tanh"},
        {"weight": [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4, 5]], "activation": "tanh"}],
        "input": [[1]], "target": [[0, 0, 0, 0]]}"#,
        &["FILE: layer 2 weight row 3: expected 4 columns, got 5"],
    ),
    (
        "unknown-activation",
        r#"{"layers": [{"weight": [[1]], "activation": "sigmod"}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layer 1 activation: unknown name \"sigmod\"", "sigmoid, tanh"],
    ),
    (
        "input-width",
        r#"{"layers": [{"weight": [[1, 2]], "activation": "tanh"}], "input": [[1, 2], [3]], "target": [[0], [0]]}"#,
        &["FILE: input row 1: expected 2 columns, got 1"],
    ),
    (
        "target-rows",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "input": [[1], [2]], "target": [[0]]}"#,
        &["FILE: target: expected 2 rows", "got 1"],
    ),
    (
        "target-width",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "input": [[1]], "target": [[0, 1]]}"#,
        &["FILE: target row 0: expected 1 column, got 2"],
    ),
    (
        "bias-length",
        r#"{"layers": [{"weight": [[1], [2]], "bias": [0], "activation": "tanh"}], "input": [[1]], "target": [[0, 0]]}"#,
        &["FILE: layer 1 bias: expected 2 values, got 1"],
    ),
    (
        "empty-layers",
        r#"{"layers": [], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layers: the network has no layers"],
    ),
    (
        "no-rows",
        r#"{"layers": [{"weight": [], "activation": "tanh"}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layer 1 weight: it has no rows"],
    ),
    (
        "no-columns",
        r#"{"layers": [{"weight": [[]], "activation": "tanh"}], "input": [[]], "target": [[0]]}"#,
        &["FILE: layer 1 weight row 0: it has no columns"],
    ),
    (
        "empty-batch",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "input": [], "target": []}"#,
        &["FILE: input: the batch is empty"],
    ),
    (
        "unknown-field",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh", "bais": [0]}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: unknown field `bais`", "line 1 column"],
    ),
    (
        "nan-weight",
        "{\"layers\": [{\"weight\": [[1]], \"activation\": \"tanh\"}],\n \"input\": [[1e400]], \"target\": [[0]]}",
        &["FILE: number out of range at line 2 column"],
    ),
    (
        "shortcut-0",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "shortcut": 0, "input": [[1]], "target": [[0]]}"#,
        &["FILE: shortcut: span 0 must be between 1 and the number of layers 1"],
    ),
    (
        "shortcut-layers-without-shortcut",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "shortcut_layers": [1], "input": [[1]], "target": [[0]]}"#,
        &["FILE: shortcut_layers: they name the layers that receive a shortcut, so they need a \"shortcut\" span"],
    ),
    (
        "shortcut-layer-below-span",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}, {"weight": [[1]], "activation": "tanh"}], "shortcut": 2, "shortcut_layers": [1], "input": [[1]], "target": [[0]]}"#,
        &[
            "FILE: shortcut_layers[0]: layer 1 cannot receive a shortcut of span 2: it must be between 2 and the number of layers 2",
        ],
    ),
    (
        "shortcut-layers-out-of-order",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}, {"weight": [[1]], "activation": "tanh"}], "shortcut": 1, "shortcut_layers": [2, 1], "input": [[1]], "target": [[0]]}"#,
        &["FILE: shortcut_layers[1]: layer 1 follows layer 2; list the layers in increasing order, each once"],
    ),
    (
        "shortcut-layer-of-another-width",
        r#"{"layers": [{"weight": [[1], [1]], "activation": "tanh"}, {"weight": [[1, 1], [1, 1]], "activation": "tanh"}, {"weight": [[1, 1]], "activation": "tanh"}], "shortcut": 1, "shortcut_layers": [2, 3], "input": [[1]], "target": [[0]]}"#,
        &[
            "FILE: shortcut_layers[1]: the shortcut adds layer 2's output (width 2) to layer 3 (width 1); a shortcut joins layers of the same width",
        ],
    ),
    (
        "shortcut-layer-from-the-input",
        r#"{"layers": [{"weight": [[1], [1]], "activation": "tanh"}], "shortcut": 1, "shortcut_layers": [1], "input": [[1]], "target": [[0, 0]]}"#,
        &["FILE: shortcut_layers[0]: the shortcut adds the input (width 1) to layer 1 (width 2)"],
    ),
    (
        "bce-identity-skip-into-a-named-layer",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}, {"weight": [[1]], "activation": "sigmoid"}], "shortcut": 1, "shortcut_layers": [2], "skip": "identity", "loss": "bce", "input": [[1]], "target": [[0]]}"#,
        &["FILE: skip: bce needs layer 2's sigmoid output, but an identity shortcut adds a_1 to it"],
    ),
    (
        "unknown-loss",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "loss": "mse", "input": [[1]], "target": [[0]]}"#,
        &["FILE: loss: unknown name \"mse\" (expected squared_error or bce, or an object"],
    ),
    (
        "unknown-skip",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "shortcut": 1, "skip": "post", "input": [[1]], "target": [[0]]}"#,
        &["FILE: skip: unknown name \"post\" (expected pre_activation or identity)"],
    ),
    (
        "skip-without-shortcut",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "skip": "identity", "input": [[1]], "target": [[0]]}"#,
        &["FILE: skip: \"identity\" needs a \"shortcut\" span"],
    ),
    (
        "bce-identity-skip",
        r#"{"layers": [{"weight": [[1]], "activation": "sigmoid"}], "shortcut": 1, "skip": "identity", "loss": "bce", "input": [[1]], "target": [[0]]}"#,
        &["FILE: skip: bce needs layer 1's sigmoid output, but an identity shortcut adds a_0 to it"],
    ),
    (
        "bce-tanh",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "loss": "bce", "input": [[1]], "target": [[0]]}"#,
        &["FILE: loss: bce needs a sigmoid output layer, but layer 1 is tanh"],
    ),
    (
        "string-weight",
        r#"{"layers": [{"weight": [["1"]], "activation": "tanh"}], "input": [[1]], "target": [[0]]}"#,
        &[
            "FILE: invalid value: string \"1\", expected a number (NaN, Infinity and -Infinity included) at line 1 column",
        ],
    ),
    // Bare NaN and Infinity, as Python's json.dump writes a model whose training diverged: refused
    // by their place, not by a position in the text.
    (
        "nan-weight",
        r#"{"layers": [{"weight": [[1, NaN]], "activation": "tanh"}], "input": [[1, 2]], "target": [[0]]}"#,
        &["FILE: layer 1 weight row 0 column 1: NaN is not a finite number"],
    ),
    (
        "infinite-bias",
        r#"{"layers": [{"weight": [[1]], "bias": [-Infinity], "activation": "tanh"}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layer 1 bias 0: -inf is not a finite number"],
    ),
    (
        "nan-input-and-target",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "input": [[1], [NaN]], "target": [[0], [0]]}"#,
        &["FILE: input row 1 column 0: NaN is not a finite number"],
    ),
    (
        "nan-target",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}], "input": [[1]], "target": [[NaN]]}"#,
        &["FILE: target row 0 column 0: NaN is not a finite number"],
    ),
    (
        "nan-slope",
        r#"{"layers": [{"weight": [[1]], "activation": "leaky_relu"}], "leaky_slope": NaN, "input": [[1]], "target": [[0]]}"#,
        &["FILE: leaky_slope: NaN is not a finite number"],
    ),
    (
        "norm-width",
        r#"{"layers": [{"weight": [[1, 2]], "activation": "tanh", "norm": {"weight": [1]}}], "input": [[1, 2]], "target": [[0]]}"#,
        &["FILE: layer 1 norm weight (one per input of the layer): expected 2 values, got 1"],
    ),
    (
        "norm-nan-bias",
        r#"{"layers": [{"weight": [[1, 2]], "activation": "tanh", "norm": {"bias": [0, NaN]}}], "input": [[1, 2]], "target": [[0]]}"#,
        &["FILE: layer 1 norm bias 1: NaN is not a finite number"],
    ),
    (
        "norm-eps-zero",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh"}, {"weight": [[1]], "activation": "tanh", "norm": {"eps": 0}}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layer 2 norm eps: 0 must be a finite number > 0"],
    ),
    (
        "norm-at-width",
        r#"{"layers": [{"weight": [[1, 2]], "activation": "tanh", "norm": {"at": "pre_activation", "bias": [0, 0]}}], "input": [[1, 2]], "target": [[0]]}"#,
        &["FILE: layer 1 norm bias (one per unit of the layer): expected 1 value, got 2"],
    ),
    (
        "norm-at-unknown",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh", "norm": {"at": "output"}}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layer 1 norm at: unknown name \"output\" (expected input or pre_activation)"],
    ),
    (
        "norm-unknown-field",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh", "norm": {"gamma": [1]}}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: unknown field `gamma`, expected one of `weight`, `bias`, `eps`, `at`, `kind`"],
    ),
    (
        "norm-kind-unknown",
        r#"{"layers": [{"weight": [[1]], "activation": "tanh", "norm": {"kind": "batch"}}], "input": [[1]], "target": [[0]]}"#,
        &["FILE: layer 1 norm kind: unknown name \"batch\" (expected layer or rms)"],
    ),
    (
        "top-level-array",
        "[]",
        &["FILE: invalid length 0, expected a model: an object {\"layers\": […], \"input\": […], \"target\": […]}"],
    ),
    (
        "misspelt-nan",
        r#"{"layers": [{"weight": [[1, Nan]], "activation": "tanh"}], "input": [[1, 2]], "target": [[0]]}"#,
        &["FILE: expected value at line 1 column 29"],
    ),
];

#[test]
fn bad_model_files_are_refused_naming_the_file_and_the_place() {
    for (stem, text, expected) in BAD_MODELS {
        let path = temp_file(&unique(stem), text);
        let shown = path.display().to_string();
        let expected: Vec<String> = expected.iter().map(|e| e.replace("FILE", &shown)).collect();
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_bad_input(&report(&["grad", "--model", &shown]), &expected);
    }
}
