//! The SIMD level every kernel runs at, and the one dispatch to it.
//!
//! A key design decision: **one mechanism, `pulp`, for every kernel** (the matrix product's
//! explicit tiles and the auto-vectorised chain, elementwise and statistics loops alike), and one
//! level per call, carried by the caller's workspace ([`crate::Workspace::set_simd`],
//! [`crate::ChainWorkspace::set_simd`]). A kernel is an argument struct implementing
//! [`pulp::NullaryFnOnce`] with an `#[inline(always)]` `call`; `Simd::run` calls it inside the
//! function that enables AVX-512 (`x86-v4`) or AVX2 + FMA (`x86-v3`), or as it is (portable: the
//! baseline target). Inlined there, the loops are compiled and vectorised for that level. (A
//! closure would go through `FnOnce::call_once`, which LLVM inlines only while it looks cheap;
//! when it stays a call, its loops are compiled for the baseline.)
//!
//! One cost of inlining: the kernel's slices are no longer parameters of a function of their
//! own, so LLVM no longer knows that they do not overlap and checks at run time before it runs a
//! loop on vectors. Where a kernel's outer loop moves through rows of one buffer, LLVM may
//! hoist that check out of the outer loop, over every row at once, where rows written and rows
//! read do overlap, and then runs the inner loops scalar: `chain/forward.rs` keeps its row
//! offset opaque for that reason.
//!
//! Every level performs the same IEEE operations (FMA is written explicitly, never contracted by
//! the compiler; reductions run in a fixed order of lanes), so every level gives the same bits.
//! [`SIMD_ENV`] caps the level for a whole process, so that one machine can run (and CI check)
//! every level it has.

/// The environment variable that caps the SIMD level of every kernel (to measure or check a
/// lower level on a machine that has a higher one): `avx512`, `avx2` or `portable`, any case.
/// It is read once per process; a value that names no level is reported once on standard error
/// and ignored. Every level gives the same bits.
pub const SIMD_ENV: &str = "GRADLAB_SIMD";

/// The levels from best to worst, as [`SIMD_ENV`] names them.
const LEVEL_NAMES: [&str; 3] = ["avx512", "avx2", "portable"];

/// A SIMD level this CPU has (holding one is the proof: it is made only after detection).
#[derive(Clone, Copy, Debug)]
pub enum Simd {
    /// AVX-512 (F, VL, DQ, BW, CD) with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    V4(pulp::x86::V4),
    /// AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    V3(pulp::x86::V3),
    /// The baseline target (SSE2 on x86-64; any other CPU).
    Portable,
}

impl Default for Simd {
    /// [`Simd::detect`].
    fn default() -> Self {
        Simd::detect()
    }
}

/// The highest level allowed by a [`SIMD_ENV`] value: an index into [`LEVEL_NAMES`] (0 when
/// unset), or the value itself when it names no level.
fn level_cap(value: Option<&str>) -> Result<usize, String> {
    match value {
        None => Ok(0),
        Some(v) => LEVEL_NAMES.iter().position(|name| name.eq_ignore_ascii_case(v.trim())).ok_or_else(|| v.to_string()),
    }
}

impl Simd {
    /// Every level this CPU has, best first, ending with the portable one (whatever
    /// [`SIMD_ENV`] says: for tests and measurements that run each).
    pub fn available() -> Vec<Simd> {
        let mut levels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            levels.extend(pulp::x86::V4::try_new().map(Simd::V4));
            levels.extend(pulp::x86::V3::try_new().map(Simd::V3));
        }
        levels.push(Simd::Portable);
        levels
    }

    /// The level's name for people.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::V4(_) => "AVX-512",
            #[cfg(target_arch = "x86_64")]
            Simd::V3(_) => "AVX2",
            Simd::Portable => "portable",
        }
    }

    /// The best level this CPU has, at most the one [`SIMD_ENV`] names: detected once per
    /// process (a value that names no level is reported once on standard error and ignored).
    /// Every new workspace starts at this level.
    pub fn detect() -> Self {
        static DETECTED: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            let value = std::env::var(SIMD_ENV).ok();
            let cap = level_cap(value.as_deref()).unwrap_or_else(|bad| {
                eprintln!("gradlab: {SIMD_ENV}={bad:?} is not one of {}; ignored", LEVEL_NAMES.join(", "));
                0
            });
            Simd::best_up_to(cap)
        })
    }

    /// The best level this CPU has at or below `cap` (an index into [`LEVEL_NAMES`]).
    fn best_up_to(cap: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if cap == 0
                && let Some(v4) = pulp::x86::V4::try_new()
            {
                return Simd::V4(v4);
            }
            if cap <= 1
                && let Some(v3) = pulp::x86::V3::try_new()
            {
                return Simd::V3(v3);
            }
        }
        let _ = cap;
        Simd::Portable
    }

    /// Runs `kernel` at this level: its `call` (which must be `#[inline(always)]`, or its loops
    /// stay compiled for the baseline) inlined into a function compiled for the level.
    #[inline(always)]
    pub(crate) fn run<K: pulp::NullaryFnOnce>(self, kernel: K) -> K::Output {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::V4(v4) => v4.vectorize(kernel),
            #[cfg(target_arch = "x86_64")]
            Simd::V3(v3) => v3.vectorize(kernel),
            Simd::Portable => kernel.call(),
        }
    }
}

/// Defines `fn $name(simd: Simd, args…)` that runs `$body` at the level `simd`: its arguments
/// become the fields of an argument struct whose `#[inline(always)]` `call` holds the body (see
/// the module docs). Lifetimes must be named (`g: &'a mut [T]`), since they become the struct's;
/// `T` is bound by [`crate::real::Real`].
macro_rules! kernel {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident<$($lt:lifetime,)* T>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$attr])*
        $vis fn $name<$($lt,)* T: $crate::real::Real>(simd: $crate::simd::Simd, $($arg: $ty),*) $(-> $ret)? {
            struct Args<$($lt,)* T> {
                $($arg: $ty,)*
            }
            impl<$($lt,)* T: $crate::real::Real> pulp::NullaryFnOnce for Args<$($lt,)* T> {
                type Output = kernel!(@out $($ret)?);
                #[inline(always)]
                fn call(self) -> Self::Output {
                    let Args { $($arg),* } = self;
                    $body
                }
            }
            simd.run(Args { $($arg),* })
        }
    };
    (@out) => { () };
    (@out $ret:ty) => { $ret };
}
pub(crate) use kernel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simd_variable_caps_the_level_and_names_a_bad_value() {
        assert_eq!(level_cap(None), Ok(0));
        assert_eq!(level_cap(Some("avx512")), Ok(0));
        assert_eq!(level_cap(Some(" AVX2 ")), Ok(1));
        assert_eq!(level_cap(Some("portable")), Ok(2));
        assert_eq!(level_cap(Some("sse9")), Err("sse9".to_string()));
        assert_eq!(level_cap(Some("")), Err(String::new()));
    }

    #[test]
    fn a_cap_gives_the_best_level_at_or_below_it() {
        let names = |cap| Simd::best_up_to(cap).name();
        let have: Vec<&str> = Simd::available().into_iter().map(Simd::name).collect();
        assert_eq!(names(2), "portable");
        assert_eq!(names(1), if have.contains(&"AVX2") { "AVX2" } else { "portable" });
        assert_eq!(names(0), have[0]);
    }
}
