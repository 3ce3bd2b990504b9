//! Mirrors C++'s `promise_type(Args&...)` constructor (seed 002): the
//! promise constructor receives the coroutine's parameters.
//!
//! C++ ([dcl.fct.def.coroutine]/5) copies the parameters into the coroutine
//! state, then constructs the promise; if `promise_type` has a constructor
//! taking the parameters (as lvalues), that one is used. The seed's
//!
//! ```cpp
//! struct promise_type {
//!     promise_type(int& i) { i = 1; }
//!     auto initial_suspend() noexcept -> std::suspend_never { return {}; }
//!     auto final_suspend() noexcept -> std::suspend_never { return {}; }
//!     ...
//! };
//! auto foo(int i = 0) -> task_t { std::println("{}", i); co_return; }  // prints 1
//! ```
//!
//! changes the frame's *copy* of `i` before the body runs, so the body prints 1
//! while the caller's variable is untouched. In coro the constructor is
//! `FromParams<(&mut i32,)>`: it gets `&mut` to the frame's copies. The start
//! is eager (`initial_suspend` = `SuspendNever`), and with a non-suspending
//! `final_suspend` the frame destroys itself when the body ends, exactly as in
//! the seed.
//!
//! A second coroutine takes its parameter by reference, as C++ `foo(int& i)`
//! would: the frame then holds the reference, and the constructor's write
//! reaches the caller's variable.

use std::cell::Cell;
use std::marker::PhantomData;

use coro::promise::{AwaitDirect, FromParams, Payload, ReturnVoid, ReturnsVoid};
use coro::{co_return, CoroutineHandle, CoroutineTraits, Promise, SuspendNever};

thread_local! {
    /// The value the body saw.
    static SEEN: Cell<Option<i32>> = const { Cell::new(None) };
    /// How many promises have been destroyed.
    static DESTROYED: Cell<u32> = const { Cell::new(0) };
}

/// The seed's `promise_type`.
struct FooPromise;

/// C++ `promise_type(int& i) { i = 1; }`.
impl FromParams<(&mut i32,)> for FooPromise {
    fn from_params((i,): (&mut i32,)) -> Self {
        println!("  promise_type(int& i): the frame's copy is {i}; setting it to 1");
        *i = 1;
        FooPromise
    }
}

/// The same constructor for a coroutine whose parameter is a reference: the
/// frame holds the reference, so the write goes through to the caller.
impl FromParams<(&mut &mut i32,)> for FooPromise {
    fn from_params((i,): (&mut &mut i32,)) -> Self {
        println!("  promise_type(int& i): the referenced int is {i}; setting it to 1");
        **i = 1;
        FooPromise
    }
}

impl Promise for FooPromise {
    type ReturnObject = TaskT<'static>;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> TaskT<'static> {
        TaskT(CoroutineHandle::from_promise(self), PhantomData)
    }
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}
impl ReturnVoid for FooPromise {
    fn return_void(&mut self) {}
}
impl Drop for FooPromise {
    fn drop(&mut self) {
        DESTROYED.set(DESTROYED.get() + 1);
    }
}

/// The seed's `task_t`: a bare, non-owning handle (its lifetime only ties it
/// to borrowed parameters). With `final_suspend` = `suspend_never` the frame
/// is already gone when the call returns, so the handle must not be used:
/// every use of a `CoroutineHandle` is `unsafe` for exactly this reason.
#[allow(dead_code)]
struct TaskT<'a>(CoroutineHandle<FooPromise>, PhantomData<&'a mut i32>);

/// C++ `using promise_type = ::promise_type;` inside `task_t`.
impl CoroutineTraits for TaskT<'_> {
    type Promise = FooPromise;
}

#[coro::coroutine]
fn foo(i: i32) -> TaskT<'static> {
    println!("  body: i = {i}");
    SEEN.set(Some(i));
    co_return!();
}

#[coro::coroutine]
fn foo_ref<'a>(i: &'a mut i32) -> TaskT<'a> {
    println!("  body: *i = {i}");
    SEEN.set(Some(*i));
    *i += 1;
}

fn main() {
    println!("by value: let i = 0; foo(i);");
    let i = 0;
    let _t = foo(i);
    println!("  caller: foo returned; caller's i = {i}");
    assert_eq!(SEEN.take(), Some(1), "the body sees the constructor's change");
    assert_eq!(i, 0, "the caller's variable is untouched");
    assert_eq!(DESTROYED.get(), 1, "final_suspend = suspend_never: the frame freed itself");

    println!("by reference: let mut j = 0; foo_ref(&mut j);");
    let mut j = 0;
    let _t = foo_ref(&mut j);
    println!("  caller: foo_ref returned; caller's j = {j}");
    assert_eq!(SEEN.take(), Some(1));
    assert_eq!(j, 2, "constructor set it to 1, the body incremented it");
    assert_eq!(DESTROYED.get(), 2);
}
