//! What `#[coro::coroutine]` accepts and how it lowers: every kind of
//! function and method, generics, keywords in every expression position,
//! `?`, borrows across suspension points, borrowing generators, parameter
//! patterns, and the promise customisation points the ramp and the body
//! consult (FromParams, AllocateFrameWith, allocation failure,
//! await_transform, operator co_await).

mod common;

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ptr::NonNull;

use common::{pause, Counted, Job, Log, Pause, Ready, SuspendFalse};
use coro::promise::{
    AllocateFrameWith, AwaitDirect, AwaitTransform, AwaitTransformed, FromParams, Payload, ReturnVoid, ReturnsVoid,
    YieldValue,
};
use coro::{
    co_await, co_return, co_yield, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, Generator, IntoAwaiter, Promise,
    SuspendAlways, SuspendNever, Task, UniqueCoroutineHandle,
};

// ===========================================================================
// Kinds of functions
// ===========================================================================

#[coro::coroutine]
fn free_fn(a: u32, b: u32) -> Task<u32> {
    co_return!(a + b)
}

#[test]
fn free_function_coroutine_returns_its_value() {
    assert_eq!(sync_wait(free_fn(2, 3)), 5);
}

struct Counter {
    start: u32,
    tag: Counted,
}

impl Counter {
    #[coro::coroutine]
    fn by_value(self, n: u32) -> Generator<u32> {
        for i in 0..n {
            co_yield!(self.start + i);
        }
    }

    #[coro::coroutine]
    fn by_ref<'a>(&'a self, n: u32) -> Generator<u32, &'a Self> {
        for i in 0..n {
            co_yield!(self.start * 10 + i);
        }
    }

    #[coro::coroutine]
    fn by_mut<'a>(&'a mut self, n: u32) -> Generator<u32, &'a mut Self> {
        for _ in 0..n {
            self.start += 1;
            co_yield!(self.start);
        }
    }

    #[coro::coroutine]
    fn boxed(self: Box<Self>) -> Task<u32> {
        co_return!(self.start)
    }

    /// An associated function (no receiver) building `Self`.
    #[coro::coroutine]
    fn make(start: u32, tag: Counted) -> Task<Counter> {
        let s = co_await!(Ready(start));
        co_return!(Counter { start: s, tag })
    }
}

#[test]
fn method_taking_self_by_value_moves_self_into_the_frame_and_drops_it_once() {
    let log = Log::new();
    let c = Counter { start: 5, tag: log.counted("self") };
    let g = c.by_value(3);
    assert_eq!(g.collect::<Vec<_>>(), [5, 6, 7]);
    log.assert_each_dropped_once();

    // Dropped unstarted, and dropped midway.
    let c = Counter { start: 0, tag: log.counted("self2") };
    drop(c.by_value(3));
    let c = Counter { start: 0, tag: log.counted("self3") };
    let mut g = c.by_value(3);
    assert_eq!(g.next(), Some(0));
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn method_taking_shared_self_borrows_it_for_the_generator_lifetime() {
    let log = Log::new();
    let c = Counter { start: 4, tag: log.counted("c") };
    let a: Vec<u32> = c.by_ref(2).collect();
    let b: Vec<u32> = c.by_ref(3).zip(c.by_ref(3)).map(|(x, y)| x + y).collect();
    assert_eq!(a, [40, 41]);
    assert_eq!(b, [80, 82, 84]);
    assert_eq!(c.tag.name(), "c");
}

#[test]
fn method_taking_mut_self_mutates_through_the_frame() {
    let log = Log::new();
    let mut c = Counter { start: 0, tag: log.counted("c") };
    let v: Vec<u32> = c.by_mut(3).collect();
    assert_eq!(v, [1, 2, 3]);
    assert_eq!(c.start, 3);
}

#[test]
fn method_taking_boxed_self_and_associated_function_work() {
    let log = Log::new();
    let c = Box::new(Counter { start: 9, tag: log.counted("boxed") });
    assert_eq!(sync_wait(c.boxed()), 9);
    let made = sync_wait(Counter::make(3, log.counted("made")));
    assert_eq!(made.start, 3);
    drop(made);
    log.assert_each_dropped_once();
}

trait Source {
    fn values(&self) -> Generator<u32, &Self>;
    fn total(self) -> Task<u32>;
}

struct Pair(u32, u32);

impl Source for Pair {
    #[coro::coroutine]
    fn values<'a>(&'a self) -> Generator<u32, &'a Self> {
        co_yield!(self.0);
        co_yield!(self.1);
    }

    #[coro::coroutine]
    fn total(self) -> Task<u32> {
        let a = co_await!(Ready(self.0));
        co_return!(a + self.1)
    }
}

#[test]
fn coroutine_methods_in_a_trait_impl_work_through_the_trait() {
    fn via_trait<S: Source>(s: &S) -> Vec<u32> {
        s.values().collect()
    }
    let p = Pair(1, 2);
    assert_eq!(via_trait(&p), [1, 2]);
    assert_eq!(sync_wait(p.total()), 3);
}

// --- generics -------------------------------------------------------------

#[coro::coroutine]
fn repeat<T: Clone + 'static>(x: T, n: usize) -> Generator<T> {
    for _ in 0..n {
        co_yield!(x.clone());
    }
}

#[coro::coroutine]
fn sum_all<I>(items: I) -> Task<u64>
where
    I: IntoIterator + 'static,
    I::Item: Into<u64>,
{
    let mut s = 0;
    for x in items {
        s += co_await!(Ready(x.into()));
    }
    co_return!(s)
}

#[coro::coroutine]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> Task<&'a str> {
    let pick = co_await!(Ready(a.len() >= b.len()));
    co_return!(if pick { a } else { b })
}

#[coro::coroutine]
fn const_generic<const N: usize>() -> Generator<usize> {
    for i in 0..N {
        co_yield!(i * N);
    }
}

#[coro::coroutine]
fn impl_trait_arg(it: impl Iterator<Item = u8> + 'static) -> Generator<u8> {
    for x in it {
        co_yield!(x.wrapping_mul(2));
    }
}

struct Wrapper<T>(Vec<T>);

impl<T: Clone + std::fmt::Debug + 'static> Wrapper<T> {
    #[coro::coroutine]
    fn items(self) -> Generator<T> {
        for x in self.0.iter().rev() {
            co_yield!(x.clone());
        }
    }
}

#[test]
fn generic_coroutines_with_type_lifetime_and_const_parameters_and_where_clauses() {
    assert_eq!(repeat("x".to_owned(), 2).collect::<Vec<_>>(), ["x", "x"]);
    assert_eq!(sync_wait(sum_all(vec![1u8, 2, 3])), 6);
    assert_eq!(sync_wait(sum_all([7u32; 3])), 21);
    let owned = String::from("four");
    assert_eq!(sync_wait(longest(&owned, "abc")), "four");
    assert_eq!(const_generic::<3>().collect::<Vec<_>>(), [0, 3, 6]);
    assert_eq!(impl_trait_arg(1..4).collect::<Vec<_>>(), [2, 4, 6]);
    assert_eq!(Wrapper(vec![1, 2, 3]).items().collect::<Vec<_>>(), [3, 2, 1]);
}

/// Attributes, doc comments and visibility are kept.
#[must_use = "a generator does nothing unless iterated"]
#[coro::coroutine]
pub(crate) fn documented() -> Generator<u8> {
    co_yield!(1);
}

#[coro::coroutine(crate = ::coro)]
fn with_crate_path() -> Task<u8> {
    co_return!(2)
}

#[test]
fn attributes_visibility_and_the_crate_argument_are_accepted() {
    assert_eq!(documented().collect::<Vec<_>>(), [1]);
    assert_eq!(sync_wait(with_crate_path()), 2);
}

#[coro::coroutine]
unsafe fn unsafe_coroutine(p: *const u32) -> Task<u32> {
    let v = co_await!(Ready(1));
    // SAFETY: the caller passes a valid pointer that outlives the task.
    co_return!(v + unsafe { *p })
}

#[test]
fn unsafe_fn_coroutine_runs() {
    static X: u32 = 41;
    // SAFETY: `X` is a static.
    assert_eq!(sync_wait(unsafe { unsafe_coroutine(&X) }), 42);
}

// ===========================================================================
// Keywords in every expression position
// ===========================================================================

/// Pauses and then gives `v` back; the job must be resumed by hand.
fn p<T>(v: T) -> Pause<T> {
    Pause(v)
}

fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[derive(Debug, PartialEq)]
struct Point {
    x: u32,
    y: u32,
}

#[allow(clippy::never_loop, clippy::deref_addrof)] // on purpose: positions
#[coro::coroutine]
fn positions(log: Log) -> Job<Vec<u32>> {
    let mut out = Vec::new();
    // let initialiser
    let a = co_await!(p(1));
    out.push(a);
    // if condition, both branches
    if co_await!(p(true)) {
        out.push(2);
    } else {
        out.push(0);
    }
    if let Some(x) = co_await!(p(Some(3))) {
        out.push(x);
    }
    // while condition
    let mut n = 0;
    while co_await!(p(n < 2)) {
        n += 1;
    }
    out.push(n + 2); // 4
                     // while let
    let mut stack = vec![6, 5];
    while let Some(x) = co_await!(p(stack.pop())) {
        out.push(x);
    }
    // loop body and break value
    let seven = loop {
        break co_await!(p(7));
    };
    out.push(seven);
    // match scrutinee, guard and arms
    let eight = match co_await!(p(8u32)) {
        x if co_await!(p(x > 100)) => 0,
        x => co_await!(p(x)),
    };
    out.push(eight);
    // nested block and block tail
    let nine = {
        let t = co_await!(p(4));
        {
            t + co_await!(p(5))
        }
    };
    out.push(nine);
    // call arguments, evaluated left to right
    out.push(add(co_await!(p(4)), co_await!(p(6)))); // 10
                                                     // operands of binary and unary operators
    out.push(co_await!(p(2)) + co_await!(p(3)) * co_await!(p(3))); // 11
    out.push(-co_await!(p(-12i64)) as u32);
    out.push(if !co_await!(p(false)) { 13 } else { 0 });
    // method receiver and field access
    out.push(co_await!(p(vec![0; 14])).len() as u32);
    out.push(co_await!(p(Point { x: 15, y: 0 })).x);
    // struct literal fields
    let pt = Point { x: co_await!(p(16)), y: co_await!(p(0)) };
    out.push(pt.x + pt.y);
    // index, cast, reference, tuple, array, range
    let arr = [0u32, 17];
    out.push(arr[co_await!(p(1usize))]);
    out.push(co_await!(p(18u8)) as u32);
    out.push(*&co_await!(p(19)));
    out.push((co_await!(p(20)), 0).0);
    out.push([co_await!(p(21)), 0][0]);
    out.push((co_await!(p(0))..co_await!(p(22))).len() as u32);
    // let-else
    let Some(x) = co_await!(p(Some(23))) else { co_return!(vec![]) };
    out.push(x);
    // inside other macros
    let s = format!("{}-{}", co_await!(p(24)), co_await!(p("x")));
    log.push(s);
    println!("positions: {}", co_await!(p(25)));
    assert_eq!(co_await!(p(26)), 26, "message {}", co_await!(p(0)));
    out.extend(vec![co_await!(p(24)), co_await!(p(25)), co_await!(p(26))]);
    // nested co_await
    let inner = co_await!(Pause(co_await!(p(27))));
    out.push(inner);
    // compound assignment
    let mut acc = 0;
    acc += co_await!(p(28));
    out.push(acc);
    // closure called after awaiting its input (closures themselves may not await)
    let f = |v: u32| v + 1;
    out.push(f(co_await!(p(28))));
    co_return!(out)
}

#[test]
fn co_await_works_in_every_expression_position() {
    let log = Log::new();
    let (out, resumes) = positions(log.clone()).run_counting();
    assert_eq!(out, (1..=29).collect::<Vec<u32>>());
    assert!(resumes > 40, "every co_await really suspended: {resumes}");
    assert_eq!(log.events(), ["24-x"]);
}

#[test]
fn brace_delimited_keywords_work_as_statements() {
    #[coro::coroutine]
    fn braces() -> Job<u32> {
        co_await! {pause()}
        let v = co_await! {Pause(2)};
        co_return! {v + 1}
    }
    assert_eq!(braces().run_counting(), (3, 3));
}

#[test]
fn brace_delimited_co_await_as_a_block_tail_keeps_its_value() {
    #[coro::coroutine]
    fn braces() -> Task<String> {
        let t = {
            co_await! {Ready(3)}
        };
        co_return!(format!("{t:?}"))
    }
    assert_eq!(sync_wait(braces()), "3");
}

#[test]
fn operands_around_co_await_are_evaluated_left_to_right() {
    #[coro::coroutine]
    fn order(log: Log) -> Job<u32> {
        let note = |s: &str, v: u32| {
            log.push(s);
            v
        };
        let v = note("a", 1) + co_await!(p(note("b", 2))) + note("c", 3);
        let w = add(note("d", 4), co_await!(p(note("e", 5))));
        co_return!(v + w)
    }
    let log = Log::new();
    assert_eq!(order(log.clone()).run(), 15);
    assert_eq!(log.events(), ["a", "b", "c", "d", "e"]);
}

#[test]
fn co_yield_works_in_expression_positions_and_as_a_statement() {
    #[coro::coroutine]
    fn yields(n: u32) -> Generator<u32> {
        co_yield!(0);
        if n > 0 {
            co_yield!(1)
        }
        for i in 2..n {
            match i % 2 {
                0 => co_yield!(i),
                _ => {
                    co_yield!(i);
                }
            }
        }
        let () = co_yield!(n);
        let _unit: () = { co_yield!(n + 1) };
    }
    assert_eq!(yields(4).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn co_return_works_from_nested_blocks_loops_and_match_arms() {
    #[allow(clippy::never_loop)] // on purpose: co_return from a loop
    #[coro::coroutine]
    fn early(k: u32) -> Task<&'static str> {
        for i in 0.. {
            if i == k {
                match i {
                    0 => co_return!("zero"),
                    1 => {
                        co_return!("one");
                    }
                    _ => loop {
                        co_return!("many")
                    },
                }
            }
            co_await!(SuspendFalse(()));
        }
        unreachable!()
    }
    assert_eq!(sync_wait(early(0)), "zero");
    assert_eq!(sync_wait(early(1)), "one");
    assert_eq!(sync_wait(early(5)), "many");
}

#[test]
fn closures_inside_a_body_keep_their_own_return_and_question_mark() {
    #[coro::coroutine]
    fn with_closures() -> Task<Option<u32>> {
        let parse = |s: &str| -> Result<u32, std::num::ParseIntError> {
            let v: u32 = s.parse()?;
            if v == 0 {
                return Ok(100);
            }
            Ok(v)
        };
        let a = parse("0").ok();
        let b = parse("x").ok();
        let c = co_await!(Ready(parse("5")));
        co_return!(Some(a.unwrap() + b.unwrap_or(1) + c.unwrap()))
    }
    assert_eq!(sync_wait(with_closures()), Some(106));
}

// ===========================================================================
// The `?` operator
// ===========================================================================

#[derive(Debug, PartialEq)]
enum AppError {
    Parse(String),
    Io(&'static str),
}

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError::Parse(e.to_string())
    }
}

#[coro::coroutine]
fn parse_one(s: &'static str) -> Task<Result<u32, AppError>> {
    let v: u32 = s.parse()?; // From<ParseIntError> for AppError
    co_return!(Ok(v))
}

#[coro::coroutine]
fn parse_sum(a: &'static str, b: &'static str, log: Log) -> Task<Result<u32, AppError>> {
    let _guard = log.counted("guard");
    let x = co_await!(parse_one(a))?;
    let y = co_await!(parse_one(b))?;
    if x + y > 100 {
        Err(AppError::Io("too big"))?;
    }
    co_return!(Ok(x + y))
}

#[test]
fn question_mark_on_result_co_returns_the_error_converted_with_from() {
    let log = Log::new();
    assert_eq!(sync_wait(parse_sum("1", "2", log.clone())), Ok(3));
    assert_eq!(
        sync_wait(parse_sum("1", "x", log.clone())),
        Err(AppError::Parse("invalid digit found in string".into()))
    );
    assert_eq!(sync_wait(parse_sum("99", "2", log.clone())), Err(AppError::Io("too big")));
    log.assert_each_dropped_once();
    assert_eq!(log.created(), 3);
}

#[test]
fn question_mark_on_option_co_returns_none() {
    #[coro::coroutine]
    fn first_even_doubled(v: Vec<u32>, log: Log) -> Task<Option<u32>> {
        let _g = log.counted("g");
        let x = co_await!(Ready(v.iter().find(|x| *x % 2 == 0).copied()))?;
        let y = v.get(x as usize)?;
        co_return!(Some(x * 2 + y))
    }
    let log = Log::new();
    assert_eq!(sync_wait(first_even_doubled(vec![1, 2, 3], log.clone())), Some(7));
    assert_eq!(sync_wait(first_even_doubled(vec![1, 3], log.clone())), None);
    assert_eq!(sync_wait(first_even_doubled(vec![8], log.clone())), None);
    log.assert_each_dropped_once();
}

#[test]
fn question_mark_inside_a_co_await_operand_short_circuits_before_awaiting() {
    #[coro::coroutine]
    fn q(s: &'static str) -> Job<Result<u32, AppError>> {
        let v = co_await!(Pause(s.parse::<u32>()?));
        co_return!(Ok(v))
    }
    let (r, resumes) = q("x").run_counting();
    assert!(matches!(r, Err(AppError::Parse(_))));
    assert_eq!(resumes, 1, "no suspension at the co_await");
    assert_eq!(q("4").run(), Ok(4));
}

// ===========================================================================
// Borrows across suspension points
// ===========================================================================

#[test]
fn locals_borrowing_each_other_survive_suspension() {
    #[coro::coroutine]
    fn borrows() -> Job<u32> {
        let v: Vec<u32> = (1..=10).collect();
        let slice = &v[2..5];
        let first = &slice[0];
        co_await!(pause());
        let mut s = String::from("ab");
        let r = &mut s;
        co_await!(pause());
        r.push('c');
        co_await!(pause());
        co_return!(slice.iter().sum::<u32>() + *first + s.len() as u32)
    }
    assert_eq!(borrows().run(), 3 + 4 + 5 + 3 + 3);
}

thread_local! {
    static ADDRS: RefCell<Vec<(&'static str, usize)>> = const { RefCell::new(Vec::new()) };
}

/// Seed 000's ReadAwaiter: holds `&mut buffer` of the coroutine's local.
struct ReadAwaiter<'b> {
    buffer: &'b mut Vec<u8>,
    fill: u8,
}

impl Awaiter for ReadAwaiter<'_> {
    type Output = usize;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ADDRS.with(|a| a.borrow_mut().push(("suspend", self as *mut Self as usize)));
    }
    fn await_resume(self) -> usize {
        ADDRS.with(|a| a.borrow_mut().push(("resume", &self as *const Self as usize)));
        for b in self.buffer.iter_mut() {
            *b = self.fill;
        }
        self.buffer.len()
    }
}

#[test]
fn awaiter_holding_mut_borrow_of_a_local_buffer_like_seed_000() {
    #[coro::coroutine]
    fn process() -> Job<(usize, usize, u32)> {
        let mut my_buffer = vec![0u8; 1024];
        let first = co_await!(ReadAwaiter { buffer: &mut my_buffer, fill: 1 });
        my_buffer.resize(2048, 0);
        let second = co_await!(ReadAwaiter { buffer: &mut my_buffer, fill: 2 });
        co_return!((first, second, my_buffer.iter().map(|&b| b as u32).sum()))
    }
    ADDRS.with(|a| a.borrow_mut().clear());
    let j = process();
    j.resume();
    j.resume();
    let frame = j.handle().address() as usize;
    j.resume();
    assert_eq!(j.into_result(), (1024, 2048, 4096));
    let addrs = ADDRS.with(|a| a.borrow().clone());
    assert_eq!(addrs.len(), 4);
    // The awaiter lives in the frame while suspended (not on a stack).
    for (what, a) in [&addrs[0], &addrs[2]] {
        assert!(*a >= frame && *a < frame + 4096, "{what}: awaiter {a:#x} is not in the frame at {frame:#x}");
    }
    eprintln!("seed 000: awaiter slots at frame+{} and frame+{}", addrs[0].1 - frame, addrs[2].1 - frame);
}

#[test]
fn generator_borrowing_its_str_argument_yields_chars_and_str_slices() {
    #[coro::coroutine]
    fn chars<'a>(s: &'a str) -> Generator<char, &'a str> {
        for c in s.chars() {
            co_yield!(c);
        }
    }
    #[coro::coroutine]
    fn words<'a>(s: &'a str) -> Generator<&'a str> {
        for w in s.split_whitespace() {
            co_yield!(w);
        }
    }
    let text = String::from("hello  coroutine world");
    assert_eq!(chars(&text).filter(|c| *c == 'o').count(), 4);
    let w: Vec<&str> = words(&text).collect();
    assert_eq!(w, ["hello", "coroutine", "world"]);
}

// ===========================================================================
// Parameter patterns
// ===========================================================================

#[test]
fn tuple_struct_and_wildcard_parameter_patterns_are_bound_and_dropped_once() {
    struct Named {
        a: u32,
        c: Counted,
    }
    #[coro::coroutine]
    fn patterns((a, b): (u32, u32), _: Counted, Named { a: na, c }: Named, mut m: u32, [x, y]: [u32; 2]) -> Job<u32> {
        co_await!(pause());
        m += 1;
        let _keep = &c;
        co_return!(a + b + na + m + x + y)
    }
    let log = Log::new();
    let named = Named { a: 100, c: log.counted("named") };
    let j = patterns((1, 2), log.counted("wild"), named, 10, [1000, 2000]);
    assert!(log.live().len() == 2);
    assert_eq!(j.run(), 1 + 2 + 100 + 11 + 3000);
    log.assert_each_dropped_once();

    // Destroyed before starting and mid-way.
    let named = Named { a: 0, c: log.counted("named2") };
    drop(patterns((0, 0), log.counted("wild2"), named, 0, [0, 0]));
    let named = Named { a: 0, c: log.counted("named3") };
    let j = patterns((0, 0), log.counted("wild3"), named, 0, [0, 0]);
    j.resume();
    drop(j);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Promise construction from the parameters (seed 002)
// ===========================================================================

thread_local! {
    static SEEN: Cell<i32> = const { Cell::new(-1) };
}

/// Seed 002's promise: `promise_type(int& i) { i = 1; }`, eager, final never.
struct Seed002;

impl FromParams<(&mut i32,)> for Seed002 {
    fn from_params((i,): (&mut i32,)) -> Self {
        *i = 1;
        Seed002
    }
}

struct TaskT(#[allow(dead_code)] CoroutineHandle<Seed002>);

impl coro::CoroutineTraits for TaskT {
    type Promise = Seed002;
}

impl Promise for Seed002 {
    type ReturnObject = TaskT;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> TaskT {
        TaskT(CoroutineHandle::from_promise(self))
    }
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn unhandled_exception(&mut self, _: Payload) {}
}

impl ReturnVoid for Seed002 {
    fn return_void(&mut self) {}
}

#[coro::coroutine]
fn foo(i: i32) -> TaskT {
    SEEN.set(i); // seed 002 prints 1
    co_return!();
}

#[test]
fn promise_from_params_sees_and_changes_the_parameter_before_the_body_like_seed_002() {
    SEEN.set(-1);
    let _ = foo(0);
    assert_eq!(SEEN.get(), 1);
}

/// A promise built from a method's receiver and arguments (`self` first).
struct Recorder {
    seen: String,
}

impl FromParams<(&mut Pair, &mut String)> for Recorder {
    fn from_params((this, s): (&mut Pair, &mut String)) -> Self {
        let seen = format!("{} {} {}", this.0, this.1, s);
        this.0 += 10;
        s.push_str(" (changed)");
        Recorder { seen }
    }
}

impl Promise for Recorder {
    type ReturnObject = UniqueCoroutineHandle<Recorder>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = coro::promise::ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: sole owner.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
}

impl coro::promise::ReturnValue<String> for Recorder {
    fn return_value(&mut self, v: String) {
        self.seen.push_str(" / ");
        self.seen.push_str(&v);
    }
}

impl Pair {
    #[coro::coroutine(promise = Recorder)]
    fn record(self, s: String) -> UniqueCoroutineHandle<Recorder> {
        co_return!(format!("{s} {}", self.0))
    }
}

#[test]
fn promise_from_params_of_a_method_receives_self_first_and_may_change_arguments() {
    let pair = Pair(3, 4);
    let mut h = pair.record("hi".to_owned());
    // SAFETY: owned, idle.
    unsafe { h.resume() };
    // SAFETY: done, owned.
    assert_eq!(unsafe { h.promise_mut() }.seen, "3 4 hi / hi (changed) 13");
}

// ===========================================================================
// Allocation customisation
// ===========================================================================

thread_local! {
    static ALLOC_LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static FAIL_ALLOC: Cell<bool> = const { Cell::new(false) };
    static LIVE: RefCell<HashMap<usize, Layout>> = RefCell::new(HashMap::new());
}

fn alog(s: String) {
    ALLOC_LOG.with(|l| l.borrow_mut().push(s));
}

fn take_alog() -> Vec<String> {
    ALLOC_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn raw_alloc(layout: Layout) -> Option<NonNull<u8>> {
    // SAFETY: frames are never zero-sized.
    let p = NonNull::new(unsafe { std::alloc::alloc(layout) })?;
    LIVE.with(|l| l.borrow_mut().insert(p.as_ptr() as usize, layout));
    Some(p)
}

/// A promise with an allocator that sees the parameters (C++
/// `operator new(size_t, Args&...)`), and a fallback return object for
/// allocation failure.
#[derive(Default)]
struct Arena;

enum ArenaRo {
    Frame(UniqueCoroutineHandle<Arena>),
    AllocationFailed,
}

impl coro::CoroutineTraits for ArenaRo {
    type Promise = Arena;
}

impl Promise for Arena {
    type ReturnObject = ArenaRo;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> ArenaRo {
        alog("get_return_object".into());
        // SAFETY: sole owner.
        ArenaRo::Frame(unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) })
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
    fn allocate_frame(layout: Layout) -> Option<::coro::promise::FrameMemory> {
        alog(format!("allocate_frame({})", layout.size() > 0));
        if FAIL_ALLOC.get() {
            return None;
        }
        // SAFETY: the helper hands out a fresh block of this layout, exclusively
        // ours until `deallocate_frame` returns it.
        raw_alloc(layout).map(|p| unsafe { ::coro::promise::FrameMemory::from_raw(p) })
    }
    unsafe fn deallocate_frame(ptr: NonNull<u8>, layout: Layout) {
        let known = LIVE.with(|l| l.borrow_mut().remove(&(ptr.as_ptr() as usize)));
        assert_eq!(known, Some(layout), "freed with the layout it was allocated with");
        alog("deallocate_frame".into());
        // SAFETY: allocated by `raw_alloc` with this layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
    fn get_return_object_on_allocation_failure() -> Option<ArenaRo> {
        alog("get_return_object_on_allocation_failure".into());
        Some(ArenaRo::AllocationFailed)
    }
}

impl ReturnVoid for Arena {
    fn return_void(&mut self) {}
}

impl<'x> AllocateFrameWith<(&'x u32, &'x Counted)> for Arena {
    fn allocate_frame_with(layout: Layout, (n, c): (&'x u32, &'x Counted)) -> Option<::coro::promise::FrameMemory> {
        alog(format!("allocate_frame_with({n}, {})", c.name()));
        if FAIL_ALLOC.get() {
            return None;
        }
        // SAFETY: the helper hands out a fresh block of this layout, exclusively
        // ours until `deallocate_frame` returns it.
        raw_alloc(layout).map(|p| unsafe { ::coro::promise::FrameMemory::from_raw(p) })
    }
}

#[coro::coroutine]
fn arena_with(n: u32, c: Counted) -> ArenaRo {
    co_await!(pause());
    drop((n, c));
}

#[coro::coroutine]
fn arena_default(c: Counted) -> ArenaRo {
    co_await!(pause());
    drop(c);
}

#[test]
fn allocate_frame_with_receives_the_parameters_and_frees_with_deallocate_frame() {
    FAIL_ALLOC.set(false);
    take_alog();
    let log = Log::new();
    let ro = arena_with(7, log.counted("c"));
    assert_eq!(take_alog(), ["allocate_frame_with(7, c)", "get_return_object"]);
    let ArenaRo::Frame(h) = ro else { panic!("allocation failed") };
    // SAFETY: owned, idle.
    unsafe { h.resume() };
    drop(h);
    assert_eq!(take_alog(), ["deallocate_frame"]);
    log.assert_each_dropped_once();

    // Other parameter lists fall back to allocate_frame.
    let ro = arena_default(log.counted("d"));
    assert_eq!(take_alog(), ["allocate_frame(true)", "get_return_object"]);
    drop(ro);
    assert_eq!(take_alog(), ["deallocate_frame"]);
    log.assert_each_dropped_once();
}

#[test]
fn allocation_failure_returns_get_return_object_on_allocation_failure_and_drops_parameters_once() {
    FAIL_ALLOC.set(true);
    take_alog();
    let log = Log::new();
    let ro = arena_with(1, log.counted("c"));
    assert!(matches!(ro, ArenaRo::AllocationFailed));
    assert_eq!(take_alog(), ["allocate_frame_with(1, c)", "get_return_object_on_allocation_failure"]);
    log.assert_each_dropped_once();
    let ro = arena_default(log.counted("d"));
    assert!(matches!(ro, ArenaRo::AllocationFailed));
    assert_eq!(take_alog(), ["allocate_frame(true)", "get_return_object_on_allocation_failure"]);
    log.assert_each_dropped_once();
    FAIL_ALLOC.set(false);
    assert!(LIVE.with(|l| l.borrow().is_empty()));
}

// ===========================================================================
// await_transform and operator co_await
// ===========================================================================

/// Not an awaiter: awaitable only through the promise's await_transform.
struct Ticket(u32);

/// Not an awaiter: has an `operator co_await`.
struct Later(u32, Log);

impl IntoAwaiter for Later {
    type Awaiter = Pause<u32>;
    fn into_awaiter(self) -> Pause<u32> {
        self.1.push(format!("operator co_await {}", self.0));
        Pause(self.0 * 2)
    }
}

struct Transforming {
    log: Log,
    yielded: Vec<u32>,
}

impl FromParams<(&mut Log,)> for Transforming {
    fn from_params((log,): (&mut Log,)) -> Self {
        Transforming { log: log.clone(), yielded: Vec::new() }
    }
}

impl Promise for Transforming {
    type ReturnObject = UniqueCoroutineHandle<Transforming>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: sole owner.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
}

impl ReturnVoid for Transforming {
    fn return_void(&mut self) {}
}

impl AwaitTransform<Ticket> for Transforming {
    type Awaitable = Ready<u32>;
    fn await_transform(&mut self, t: Ticket) -> Ready<u32> {
        self.log.push(format!("await_transform ticket {}", t.0));
        Ready(t.0 + 1000)
    }
}

impl AwaitTransform<Later> for Transforming {
    /// The transformed awaitable still goes through `operator co_await`.
    type Awaitable = Later;
    fn await_transform(&mut self, l: Later) -> Later {
        self.log.push(format!("await_transform later {}", l.0));
        Later(l.0 + 1, l.1)
    }
}

impl YieldValue<u32> for Transforming {
    /// If co_yield went through await_transform, this would need
    /// `AwaitTransform<SuspendAlways>`, which does not exist.
    type Awaitable = SuspendAlways;
    fn yield_value(&mut self, v: u32) -> SuspendAlways {
        self.log.push(format!("yield_value {v}"));
        self.yielded.push(v);
        SuspendAlways
    }
}

#[coro::coroutine(promise = Transforming)]
fn transformed(log: Log) -> UniqueCoroutineHandle<Transforming> {
    let a = co_await!(Ticket(1));
    log.push(format!("got {a}"));
    co_yield!(a);
    let b = co_await!(Later(10, log.clone()));
    log.push(format!("got {b}"));
    co_yield!(b);
}

#[test]
fn await_transform_applies_to_every_co_await_and_not_to_co_yield() {
    let log = Log::new();
    let mut h = transformed(log.clone());
    while !h.done() {
        // SAFETY: owned, idle.
        unsafe { h.resume() };
    }
    assert_eq!(
        log.events(),
        [
            "await_transform ticket 1",
            "got 1001",
            "yield_value 1001",
            "await_transform later 10",
            "operator co_await 11",
            "got 22",
            "yield_value 22",
        ]
    );
    // SAFETY: done, owned.
    assert_eq!(unsafe { h.promise_mut() }.yielded, [1001, 22]);
}

#[test]
fn operator_co_await_converts_a_non_awaiter_before_await_ready() {
    #[coro::coroutine]
    fn uses_later(log: Log) -> Job<u32> {
        let a = co_await!(Later(5, log.clone()));
        log.push("after");
        co_return!(a)
    }
    let log = Log::new();
    let (v, resumes) = uses_later(log.clone()).run_counting();
    assert_eq!((v, resumes), (10, 2));
    assert_eq!(log.events(), ["operator co_await 5", "after"]);
}

// ===========================================================================
// Declared return type differs from the promise's return object (Into)
// ===========================================================================

struct Wrapped(UniqueCoroutineHandle<Arena>);

impl From<ArenaRo> for Wrapped {
    fn from(ro: ArenaRo) -> Self {
        match ro {
            ArenaRo::Frame(h) => Wrapped(h),
            ArenaRo::AllocationFailed => panic!("allocation failed"),
        }
    }
}

#[test]
fn the_return_object_is_converted_into_the_declared_return_type() {
    #[coro::coroutine(promise = Arena)]
    fn wrapped(log: Log) -> Wrapped {
        log.push("ran");
    }
    FAIL_ALLOC.set(false);
    let log = Log::new();
    let w = wrapped(log.clone());
    // SAFETY: owned, idle.
    unsafe { w.0.resume() };
    assert!(w.0.done());
    assert_eq!(log.events(), ["ran"]);
    drop(w);
    take_alog();
}

// ===========================================================================
// Task specifics reached through the lowering
// ===========================================================================

#[test]
fn nested_tasks_propagate_values_and_panics_to_the_awaiting_coroutine() {
    common::quiet_planned_panics();
    #[coro::coroutine]
    fn leaf(fail: bool) -> Task<u32> {
        if fail {
            panic!("{} leaf failed", common::PLANNED);
        }
        co_return!(1)
    }
    #[coro::coroutine]
    fn mid(fail: bool, log: Log) -> Task<u32> {
        let _g = log.counted("mid local");
        let v = co_await!(leaf(fail));
        co_return!(v + 1)
    }
    let log = Log::new();
    assert_eq!(sync_wait(mid(false, log.clone())), 2);
    let msg = common::expect_panic(|| sync_wait(mid(true, log.clone())));
    assert_eq!(msg, "[planned] leaf failed");
    log.assert_each_dropped_once();
}

#[test]
fn a_task_that_is_dropped_without_being_awaited_drops_its_parameters_once() {
    #[coro::coroutine]
    fn never_run(c: Counted) -> Task<u32> {
        co_return!(c.name().len() as u32)
    }
    let log = Log::new();
    drop(never_run(log.counted("c")));
    log.assert_each_dropped_once();
    assert_eq!(log.created(), 1);
}

#[test]
fn co_await_in_short_circuiting_operands_is_evaluated_only_when_reached() {
    #[coro::coroutine]
    fn short(a: bool) -> Job<(bool, bool)> {
        let x = a && co_await!(p(true));
        let y = a || co_await!(p(false));
        co_return!((x, y))
    }
    assert_eq!(short(false).run_counting(), ((false, false), 2));
    assert_eq!(short(true).run_counting(), ((true, true), 2));
}

#[test]
fn keywords_written_with_a_full_path_are_lowered_too() {
    #[coro::coroutine]
    fn full_paths(v: u32) -> Generator<u32> {
        ::coro::co_yield!(v);
        coro::co_yield!(v + 1);
        coro::co_return!();
    }
    #[coro::coroutine]
    fn full_path_await() -> Job<u32> {
        let v = coro::co_await!(p(1));
        ::coro::co_return!(v + 1)
    }
    assert_eq!(full_paths(1).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(full_path_await().run_counting(), (2, 2));
}

enum Tree {
    Leaf(u32),
    Node(Box<Tree>, Box<Tree>),
}

#[coro::coroutine]
fn in_order<'t>(t: &'t Tree) -> Generator<u32, &'t Tree> {
    match t {
        Tree::Leaf(v) => co_yield!(*v),
        Tree::Node(l, r) => {
            for v in in_order(l) {
                co_yield!(v);
            }
            for v in in_order(r) {
                co_yield!(v);
            }
        }
    }
}

#[test]
fn a_recursive_generator_borrowing_a_tree_yields_in_order() {
    fn build(lo: u32, hi: u32) -> Tree {
        if lo == hi {
            Tree::Leaf(lo)
        } else {
            let mid = (lo + hi) / 2;
            Tree::Node(Box::new(build(lo, mid)), Box::new(build(mid + 1, hi)))
        }
    }
    let t = build(1, 100);
    assert_eq!(in_order(&t).collect::<Vec<_>>(), (1..=100).collect::<Vec<_>>());
    let mut g = in_order(&t);
    assert_eq!(g.nth(49), Some(50));
    drop(g);
}

struct Parser<'s> {
    text: &'s str,
}

impl<'s> Parser<'s> {
    /// `self` by value, yielding borrows of the data `Self` borrows.
    #[coro::coroutine]
    fn tokens(self) -> Generator<&'s str> {
        for t in self.text.split(',') {
            let t = t.trim();
            if !t.is_empty() {
                co_yield!(t);
            }
        }
    }
}

#[test]
fn a_method_of_a_type_with_a_lifetime_yields_borrows_of_its_data() {
    let text = String::from("a, b,,c ");
    let v: Vec<&str> = Parser { text: &text }.tokens().collect();
    assert_eq!(v, ["a", "b", "c"]);
}
