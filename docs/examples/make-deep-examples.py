# Writes the worked example of docs/diagnose.md: a deep sigmoid network that does not train and
# its fix (relu + He), same widths, same batch. Run from the repository root:
#   python3 docs/examples/make-deep-examples.py
import json, math, random

DEPTH, WIDTH, BATCH = 12, 16, 16

def network(seed, activation, sigma_w2, last):
    rng = random.Random(seed)
    layers = []
    for l in range(DEPTH):
        bound = math.sqrt(3.0 * sigma_w2 / WIDTH)  # uniform(±b) has variance b²/3 = σ²_w / fan-in
        weight = [[round(rng.uniform(-bound, bound), 6) for _ in range(WIDTH)] for _ in range(WIDTH)]
        act = last if l == DEPTH - 1 else activation
        layers.append({"weight": weight, "bias": [0.0] * WIDTH, "activation": act})
    return layers

rng = random.Random(20)
inputs = [[round(rng.uniform(-1, 1), 6) for _ in range(WIDTH)] for _ in range(BATCH)]
targets = [[round(rng.uniform(0, 1), 6) for _ in range(WIDTH)] for _ in range(BATCH)]
for name, act, sigma_w2, last in [("deep-sigmoid", "sigmoid", 1.0, "sigmoid"), ("deep-relu-he", "relu", 2.0, "identity")]:
    model = {"layers": network(7, act, sigma_w2, last), "loss": "squared_error", "input": inputs, "target": targets}
    with open(f"docs/examples/{name}.json", "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")
