"""How often a float32 PyTorch MLP puts a relu's z on the other side of 0 from float64, and what
``check(dtype="float32")`` says of its autograd gradients then (docs/model-format.md, "Kinks").

    python f32_kinks.py [seeds] [batch]

For each seed: a 784-512-512-10 relu MLP with PyTorch's default initialisation, inputs uniform in
[0, 1), one-hot targets and cross-entropy; it counts the (sample, unit) pairs whose z has another
sign in float32 than in float64, and for each seed with one, checks float32 autograd's gradients
against the reference and prints the verdict and the branches the check took.
"""

import sys

import torch

import gradlab_oracle as go


def main(seeds: int, batch: int) -> None:
    torch.set_num_threads(1)
    flips_total = 0
    for seed in range(seeds):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
        )
        x = torch.rand(batch, 784)
        labels = torch.randint(0, 10, (batch,))
        h32, h64, flips = x, x.double(), 0
        for m in net:
            if isinstance(m, torch.nn.Linear):
                h32, h64 = m(h32), torch.nn.functional.linear(h64, m.weight.double(), m.bias.double())
                flips += int(((h32 > 0) != (h64 > 0)).sum()) if m is not net[-1] else 0
            else:
                h32, h64 = torch.relu(h32), torch.relu(h64)
        flips_total += flips
        if flips == 0:
            continue
        loss_fn = torch.nn.CrossEntropyLoss()
        description = go.from_torch(net, x, torch.nn.functional.one_hot(labels, 10).double(), loss_fn)
        net.zero_grad()
        loss = loss_fn(net(x), labels)
        loss.backward()
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        grads = {
            "loss": float(loss.detach()),
            "layers": [{"weight_grad": m.weight.grad.double(), "bias_grad": m.bias.grad.double()} for m in linears],
        }
        r = go.check(description, grads, dtype="float32")
        taken = [(b["sample"], b["layer"], b["unit"], b["z"], b["band"]) for b in r.other_branches]
        print(f"seed {seed}: {flips} unit(s) on the other side of 0; check passed={r.passed}, branches taken {taken}")
    print(f"{flips_total} such (sample, unit) pairs in {seeds} checks of {batch} samples and 1024 hidden units")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 64)
