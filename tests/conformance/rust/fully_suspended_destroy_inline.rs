//! await_suspend runs only once the coroutine is fully suspended: it may
//! destroy the coroutine inline.
use super::trace::*;
use coro::{co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle};

pub struct DestroyInline {
    tag: &'static str,
}

impl Awaiter for DestroyInline {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> false", self.tag));
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        let t = self.tag;
        ev(format!("await_suspend {t}: destroy inline"));
        // SAFETY: the coroutine is fully suspended and owned by nobody else
        // (the caller's handle is not used again). `self` lives in the frame
        // and is not used after this.
        unsafe { h.destroy() };
        ev(format!("await_suspend {t} -> void (after inline destroy)"));
    }
    fn await_resume(self) {
        ev(format!("await_resume {}", self.tag));
    }
}

#[coro::coroutine]
fn destroyed(p: Param) -> Co<ValuePromise> {
    let _a = Local::new("a");
    co_await!(DestroyInline { tag: "x" });
    let _never = Local::new("never");
    co_return!(p.value)
}

pub fn run() {
    let co = destroyed(Param::new("p", 1));
    co.resume();
    ev("caller: end");
}
