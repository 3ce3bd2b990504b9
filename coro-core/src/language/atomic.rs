//! The atomics, locks and thread-locals of every lock-free protocol in
//! coro-core, from one place, so that the protocols can be model-checked:
//! built with `RUSTFLAGS="--cfg loom"`, these are [loom](https://docs.rs/loom)'s
//! instrumented types, and the `loom` unit tests explore every
//! interleaving of the protocol they drive (see `.ci/loom` and the "Model
//! checking" section of docs/soundness.md). In every other build they are
//! `core`'s and `std`'s own, at no cost: type aliases and re-exports.
//!
//! Three things need more than a re-export under loom:
//! - loom's atomics cannot be made in a `const fn`, and some protocol words
//!   are (a `WaitNode`, a `coro::sync` primitive's spin lock, both made by
//!   `const fn new`). [`ConstAtomicBool`] and [`ConstAtomicU8`] are core's
//!   atomics normally; under loom they make their loom atomic on first use
//!   (inside the model, by construction) and dereference to it. A model
//!   must therefore use one on the thread that made it before another
//!   modelled thread can reach it (as `new` would have), or loom sees the
//!   first use as a write racing the other thread's access;
//! - loom runs all its threads on one OS thread, so `std::thread_local!`
//!   would be one value shared by every modelled thread. [`thread_local!`]
//!   is loom's under loom: one value per modelled thread, destroyed when
//!   that thread ends (which is how a model sees a home thread exit);
//! - a spin loop must tell loom it spins ([`spin_loop`], [`yield_now`]),
//!   or loom explores it forever;
//! - code that tells threads apart (a cancellation registration's drop
//!   does not wait for its own callback) asks [`current_thread`] for a
//!   [`ThreadId`]: under loom every modelled thread runs on one OS thread,
//!   so `std`'s would call them all the same.
//!
//! Only the unit tests whose path contains `loom` may run under loom: the
//! types here panic outside `loom::model`.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::thread::{current as current_thread, ThreadId};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::{hint::spin_loop, thread::yield_now};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::thread::{current as current_thread, ThreadId};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::{hint::spin_loop, thread::yield_now, thread_local};

/// An [`AtomicBool`] that a `const fn` can make (see the module docs).
#[cfg(not(loom))]
pub(crate) type ConstAtomicBool = AtomicBool;
/// An [`AtomicU8`] that a `const fn` can make (see the module docs).
#[cfg(not(loom))]
pub(crate) type ConstAtomicU8 = AtomicU8;

#[cfg(loom)]
pub(crate) use lazy::{ConstAtomicBool, ConstAtomicU8};

/// `std::thread_local!` under loom: loom's, one value per modelled thread.
/// Loom's macro takes no `const { ... }` initialiser (its `expr` is the
/// 2021 edition's), so this one unwraps it.
#[cfg(loom)]
macro_rules! loom_thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr } $(; $($rest:tt)*)?) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $($crate::language::atomic::thread_local!($($rest)*);)?
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr $(; $($rest:tt)*)?) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $($crate::language::atomic::thread_local!($($rest)*);)?
    };
}
#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;

#[cfg(loom)]
mod lazy {
    use std::sync::OnceLock;

    macro_rules! lazy_atomic {
        ($name:ident, $atomic:ident, $value:ty) => {
            /// A loom atomic made on first use, holding the value given to
            /// `new` until then (see the module docs).
            #[derive(Debug)]
            pub(crate) struct $name {
                init: $value,
                atomic: OnceLock<loom::sync::atomic::$atomic>,
            }

            impl $name {
                pub(crate) const fn new(init: $value) -> Self {
                    $name { init, atomic: OnceLock::new() }
                }
            }

            impl core::ops::Deref for $name {
                type Target = loom::sync::atomic::$atomic;
                fn deref(&self) -> &Self::Target {
                    // Making a loom atomic is no scheduling point, so no
                    // other modelled thread runs inside this initialiser.
                    self.atomic.get_or_init(|| loom::sync::atomic::$atomic::new(self.init))
                }
            }
        };
    }

    lazy_atomic!(ConstAtomicBool, AtomicBool, bool);
    lazy_atomic!(ConstAtomicU8, AtomicU8, u8);
}

#[cfg(all(test, loom))]
pub(crate) mod probe;
