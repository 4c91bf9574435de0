"""Reference values for tests/it/erf.rs, to 40 significant digits (mpmath, 60-digit working precision).

Run from the workspace root:  python3 crates/scalar/tests/it/erf_reference.py > /tmp/table.rs
(mpmath 1.3.0 produced the table in erf.rs). Each row: x (an exact f64, written as Python's repr
of the float), erf x, erfc x, erfcx x = e^{x²}·erfc x, ln erfc x; then the GELU and SiLU constants
(the points where f′ is largest and where it is 0, and the suprema).
"""
import mpmath as mp

mp.mp.dps = 60

XS = [0.0, 1e-300, 2.0**-30, 1e-8, 0.001, 0.1, 0.25, 0.5, 0.8, 0.84375, 0.9, 1.0, 1.2, 1.25, 1.5, 2.0,
      2.5, 2.857142857142857, 3.0, 4.0, 5.0, 5.9, 6.0, 8.0, 10.0, 15.0, 20.0, 26.0, 26.5, 27.0, 30.0,
      100.0, 1e3, 1e5, 1e10, 1e100]
XS = XS + [-x for x in XS if 0 < x <= 26.0]


def g(v):
    return mp.nstr(v, 40, min_fixed=0, max_fixed=0) if v != 0 else "0.0"


print("// (x, erf, erfc, erfcx, ln erfc)")
for x in XS:
    X = mp.mpf(x)
    erf = mp.erf(X)
    erfc = mp.erfc(X)
    # erfc below f64's smallest subnormal is written 0.0 (a Rust literal cannot hold it).
    tiny = erfc < mp.mpf("1e-330")
    print(f"    ({x!r}, {g(erf)}, {'0.0' if tiny else g(erfc)}, {g(erfc * mp.exp(X * X))}, {g(mp.log(erfc))}),")

phi = lambda x: mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
Phi = lambda x: mp.erfc(-x / mp.sqrt(2)) / 2
gelu_d = lambda x: Phi(x) + x * phi(x)
sig = lambda x: 1 / (1 + mp.exp(-x))
silu_d = lambda x: sig(x) * (1 + x * sig(-x))
# GELU: f'' = φ(x)(2 − x²), so f′ is largest at √2 and smallest at −√2.
print("gelu sup at sqrt 2:", g(gelu_d(mp.sqrt(2))), " f'(-sqrt 2):", g(gelu_d(-mp.sqrt(2))))
print("gelu zero of f':", g(mp.findroot(gelu_d, -0.75)))
# SiLU: f'' = σ′(x)(2 − x·tanh(x/2)), largest at the root of x·tanh(x/2) = 2.
x0 = mp.findroot(lambda x: x * mp.tanh(x / 2) - 2, 2.4)
print("silu argmax:", g(x0), " sup:", g(silu_d(x0)), " f'(-x0):", g(silu_d(-x0)))
print("silu zero of f':", g(mp.findroot(silu_d, -1.28)))
print("1/sqrt(2) - f64:", g(1 / mp.sqrt(2) - mp.mpf(0.7071067811865476)))

# GELU and SiLU at points from the deep left tail (where f and f′ underflow f64) to the right.
print("// (x, gelu, ln |gelu|, gelu′, ln |gelu′|, silu, ln |silu|, silu′, ln |silu′|)")
gelu = lambda x: x * Phi(x)
silu = lambda x: x * sig(x)
ZS = [-1e4, -1000.0, -800.0, -100.0, -40.0, -38.0, -10.0, -3.0, -1.5, -1.0, -0.75, -0.5, -1e-5, 0.5, 1.0,
      1.4142135623730951, 3.0, 10.0, 40.0]


def f64(v):
    # A value below f64's smallest subnormal is written 0.0, signed.
    if abs(v) < mp.mpf("1e-330"):
        return "-0.0" if v < 0 else "0.0"
    return g(v)


for z in ZS:
    Z = mp.mpf(z)
    row = [gelu(Z), mp.log(abs(gelu(Z))), gelu_d(Z), mp.log(abs(gelu_d(Z))),
           silu(Z), mp.log(abs(silu(Z))), silu_d(Z), mp.log(abs(silu_d(Z)))]
    print(f"    ({z!r}, " + ", ".join(f64(v) if i % 2 == 0 else g(v) for i, v in enumerate(row)) + "),")
