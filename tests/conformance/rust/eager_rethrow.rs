//! An eager coroutine whose unhandled_exception rethrows: the panic leaves the
//! coroutine call itself; the coroutine is at its final suspend point and its
//! (owning) return object frees it while the panic unwinds.
use super::trace::*;

#[coro::coroutine]
fn eager(_p: Param) -> TracedRo {
    let _a = Local::new("a");
    throw_boom("body");
}

pub fn run() {
    set_cfg(|c| {
        c.initial_ready = true;
        c.rethrow = true;
    });
    catching(|| {
        ev("caller: call");
        let _ro = eager(Param::new("p", 1));
        ev("caller: got return object");
    });
}
