//! The peer protocol: arguments `KIND DTYPE key=value…`, the timing loop and the `check` line.
//!
//! The harness appends `KIND DTYPE key=value … reps=R warmup=W target=T`; a peer prints one
//! `time_s SECONDS` line per timed repetition (seconds per gradient), then
//! `check n=.. gsum=.. gabs=.. nzero=.. nsub=.. mlog=.. lmin=..` over every gradient entry, and
//! optionally `info key=value` lines; `skip REASON` declines a combination.

use std::collections::HashMap;
use std::time::Instant;

/// `KIND DTYPE key=value …`.
pub struct Args {
    /// `chain` or `mlp`.
    pub kind: String,
    /// `f64` or `f32`.
    pub dtype: String,
    values: HashMap<String, String>,
}

impl Args {
    /// Parses the process arguments; `Err` with a usage message when they are malformed.
    pub fn from_env() -> Result<Args, String> {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        if argv.len() < 2 {
            return Err("usage: gradlab-peer chain|mlp f64|f32 [key=value ...]".into());
        }
        let values =
            argv[2..].iter().filter_map(|s| s.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Ok(Args { kind: argv[0].clone(), dtype: argv[1].clone(), values })
    }

    /// The value of `key` parsed as `V`, or `default` when absent.
    pub fn get<V: std::str::FromStr>(&self, key: &str, default: V) -> Result<V, String> {
        match self.values.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("bad value for {key}: {v:?}")),
        }
    }
}

/// Writes one protocol line to standard output. A reader that has gone (a closed pipe: `| head`)
/// ends the run quietly, as the harness has all it wanted; any other write error ends it with a
/// message.
pub fn say(line: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("gradlab-peer: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// Prints `skip REASON` and exits 0.
pub fn skip(reason: &str) -> ! {
    say(format_args!("skip {reason}"));
    std::process::exit(0);
}

/// Warm up (up to `warmup` calls, fewer once they total ≥ 1 s), pick an inner count so one
/// repetition lasts about `target` seconds, then print `reps` lines `time_s SECONDS_PER_CALL`.
pub fn bench(args: &Args, mut f: impl FnMut()) -> Result<(), String> {
    let reps: usize = args.get("reps", 7)?;
    let warmup: usize = args.get("warmup", 2)?;
    let target: f64 = args.get("target", 0.05)?;
    let t0 = Instant::now();
    for i in 0..warmup {
        if i > 0 && t0.elapsed().as_secs_f64() >= 1.0 {
            break;
        }
        f();
    }
    let t0 = Instant::now();
    f();
    let single = t0.elapsed().as_secs_f64();
    let inner = ((target / single).round() as usize).max(1);
    say(format_args!("info inner={inner}"));
    for _ in 0..reps {
        let t0 = Instant::now();
        for _ in 0..inner {
            f();
        }
        say(format_args!("time_s {:e}", t0.elapsed().as_secs_f64() / inner as f64));
    }
    Ok(())
}

/// The `check` line's statistics over gradient entries.
#[derive(Default)]
pub struct Check {
    n: u64,
    gsum: f64,
    gabs: f64,
    nzero: u64,
    nsub: u64,
    logsum: f64,
    min: Option<f64>,
}

impl Check {
    /// Adds entries; `subnormal` says whether an entry is subnormal in the peer's own dtype.
    pub fn add(&mut self, values: impl IntoIterator<Item = (f64, bool)>) {
        for (x, subnormal) in values {
            self.n += 1;
            self.gsum += x;
            self.gabs += x.abs();
            if x == 0.0 {
                self.nzero += 1;
            } else {
                self.logsum += x.abs().log10();
                self.min = Some(self.min.map_or(x.abs(), |m: f64| m.min(x.abs())));
            }
            if subnormal {
                self.nsub += 1;
            }
        }
    }

    /// Prints the `check` line.
    pub fn print(&self) {
        let nonzero = (self.n - self.nzero).max(1) as f64;
        say(format_args!(
            "check n={} gsum={:e} gabs={:e} nzero={} nsub={} mlog={:.6} lmin={:.4}",
            self.n,
            self.gsum,
            self.gabs,
            self.nzero,
            self.nsub,
            self.logsum / nonzero,
            self.min.map_or(f64::NAN, f64::log10)
        ));
    }
}
