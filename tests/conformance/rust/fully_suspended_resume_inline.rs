//! await_suspend runs only once the coroutine is fully suspended: it may
//! resume the coroutine inline before returning.
use super::trace::*;
use coro::{co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle};

pub struct ResumeInline {
    tag: &'static str,
}

impl Awaiter for ResumeInline {
    type Output = i32;
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> false", self.tag));
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        let t = self.tag;
        ev(format!("await_suspend {t}: resume inline"));
        // SAFETY: the coroutine is fully suspended (that is what this
        // scenario checks) and nobody else resumes it. `self` is not used
        // after this: the awaiter is consumed by the resumed body.
        unsafe { h.resume() };
        ev(format!("await_suspend {t} -> void (after inline resume)"));
    }
    fn await_resume(self) -> i32 {
        ev(format!("await_resume {} -> 1", self.tag));
        1
    }
}

#[coro::coroutine]
fn inline_resumed() -> Co<ValuePromise> {
    let _a = Local::new("a");
    let v = co_await!(ResumeInline { tag: "x" });
    ev(format!("body: after x, got {v}"));
    let w = co_await!(AwVoid::new("y", 2));
    ev(format!("body: after y, got {w}"));
    co_return!(v + w)
}

pub fn run() {
    let co = inline_resumed();
    co.resume();
    co.done();
    co.resume();
    co.done();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
