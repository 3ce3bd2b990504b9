//! `RecursiveGenerator<T>`: a generator that can yield all the elements of
//! a nested generator with `co_yield!(elements_of(nested))`, at O(1) cost
//! per element whatever the nesting depth (cppcoro's `recursive_generator`,
//! C++23 `std::generator` with `std::ranges::elements_of`).
//!
//! # Design (cppcoro's)
//!
//! The generators that are active at one time form a chain: the root (the
//! one the consumer iterates), its nested generator, that one's nested
//! generator, and so on down to the *leaf*, the one currently producing
//! elements. Every promise knows the root and its parent; the root's promise
//! knows the current leaf.
//!
//! - `co_yield!(elements_of(nested))` moves `nested` into the yield awaiter
//!   (which lives in the parent's frame and owns the nested frame from then
//!   on), makes it the root's leaf, and transfers into it symmetrically.
//! - `co_yield!(value)` stores the value in the leaf's own promise and
//!   suspends: control returns to the consumer.
//! - The consumer always resumes the current leaf directly, and reads the
//!   value from it: one resumption per element, whatever the depth.
//! - When a nested generator finishes, its final awaiter makes the parent
//!   the leaf again and transfers back to it. A panic in it is stored and
//!   rethrown in the parent at its `co_yield!`, and so on up to the root,
//!   whose `unhandled_exception` rethrows it to the consumer's `next()`;
//!   at `co_yield!(elements_of(nested).catch_panic())` the parent gets it
//!   as `Err(payload)` instead (`CatchingNestedAwaiter`) and goes on.
//! - Dropping the root destroys the chain innermost first, in a loop (not by
//!   recursion, so that a chain of any depth is dropped in constant stack).

use core::fmt;
use core::marker::PhantomData;
use core::ptr;

use core::future::Future;

use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{
    AwaitTransformed, CoroutineTraits, FromReturnObject, Payload, Promise, ReturnVoid, ReturnsVoid, YieldValue,
};
use crate::language::suspend::SuspendAlways;

/// A generator whose body may `co_yield!(elements_of(nested))` to yield
/// every element of a nested `RecursiveGenerator`; an [`Iterator`].
///
/// The consumer always resumes the innermost active generator directly, so
/// producing an element costs O(1) resumptions whatever the nesting depth,
/// and the stack does not grow with it: a recursive walk of a tree 10,000
/// levels deep runs on a small thread stack. Entering and leaving a nested
/// generator costs one symmetric transfer each.
///
/// Nesting is spelt `co_yield!(elements_of(nested))`, as in C++23
/// (`co_yield std::ranges::elements_of(g)`); a bare `co_yield!(v)` yields
/// one element. A nested generator that was already partly consumed yields
/// its remaining elements; one that is finished yields none.
///
/// Like [`Generator`](crate::Generator): values are moved to the consumer,
/// never cloned; the body cannot `co_await!`; it may borrow its arguments
/// (name the borrowed type as the second parameter `B`); it is not `Send`.
/// A panic in any nested generator propagates through each enclosing
/// `co_yield!` to the consumer's `next()`, after which the generator is
/// finished, unless an enclosing generator catches it with
/// `co_yield!(elements_of(nested).catch_panic())` (see
/// [`ElementsOf::catch_panic`]). Dropping a half-consumed generator destroys the whole chain,
/// innermost first.
///
/// ```
/// use coro::{co_yield, elements_of, RecursiveGenerator};
///
/// enum Tree { Leaf(u32), Node(Vec<Tree>) }
///
/// #[coro::coroutine]
/// fn leaves<'a>(t: &'a Tree) -> RecursiveGenerator<u32, &'a Tree> {
///     match t {
///         Tree::Leaf(v) => co_yield!(*v),
///         Tree::Node(children) => {
///             for c in children {
///                 co_yield!(elements_of(leaves(c)));
///             }
///         }
///     }
/// }
///
/// let t = Tree::Node(vec![Tree::Leaf(1), Tree::Node(vec![Tree::Leaf(2), Tree::Leaf(3)]), Tree::Leaf(4)]);
/// assert_eq!(leaves(&t).collect::<Vec<_>>(), [1, 2, 3, 4]);
/// ```
pub struct RecursiveGenerator<T, B = ()> {
    owned: Owned<T>,
    /// The root has finished (or panicked): `next` returns `None` without
    /// touching the frame.
    finished: bool,
    _borrows: PhantomData<B>,
}

/// C++23 `std::ranges::elements_of`: `co_yield!(elements_of(g))` in a
/// [`RecursiveGenerator`] yields every element of the nested generator `g`.
///
/// ```
/// use coro::{co_yield, elements_of, RecursiveGenerator};
///
/// #[coro::coroutine]
/// fn countdown(n: u32) -> RecursiveGenerator<u32> {
///     if n > 0 {
///         co_yield!(n);
///         co_yield!(elements_of(countdown(n - 1)));
///     }
/// }
/// assert_eq!(countdown(3).collect::<Vec<_>>(), [3, 2, 1]);
/// ```
#[derive(Debug)]
pub struct ElementsOf<G>(pub G);

/// Wraps a nested generator for `co_yield!`; see [`ElementsOf`].
///
/// A nested generator that was partly consumed yields the rest:
/// ```
/// use coro::{co_yield, elements_of, RecursiveGenerator};
///
/// #[coro::coroutine]
/// fn digits() -> RecursiveGenerator<u32> { for d in 0..4 { co_yield!(d); } }
///
/// #[coro::coroutine]
/// fn rest_of(g: RecursiveGenerator<u32>) -> RecursiveGenerator<u32> {
///     co_yield!(elements_of(g));
/// }
///
/// let mut g = digits();
/// g.next();
/// assert_eq!(rest_of(g).collect::<Vec<_>>(), [1, 2, 3]);
/// ```
pub fn elements_of<G>(generator: G) -> ElementsOf<G> {
    ElementsOf(generator)
}

impl<G> ElementsOf<G> {
    /// `co_yield!(elements_of(g).catch_panic())` yields every element of `g`
    /// as `co_yield!(elements_of(g))` does, and evaluates to `Ok(())`, or to
    /// `Err(payload)` if `g` (or a generator nested in it) panicked: the
    /// parent catches the panic and goes on.
    ///
    /// It is the `try { co_yield elements_of(g); } catch (...) { }` of
    /// C++23 `std::generator`, where the nested generator's exception
    /// propagates out of the parent's `co_yield`: in Rust,
    /// `std::panic::catch_unwind` cannot wrap a `co_yield!`. The nested
    /// generator's locals are dropped as its panic unwinds, before the
    /// parent resumes; the elements it yielded before the panic have
    /// reached the consumer.
    ///
    /// ```
    /// use coro::{co_yield, elements_of, RecursiveGenerator};
    ///
    /// #[coro::coroutine]
    /// fn fragile(n: u32) -> RecursiveGenerator<u32> {
    ///     co_yield!(n);
    ///     if n == 2 { panic!("child {n} broke"); }
    ///     co_yield!(n * 10);
    /// }
    ///
    /// #[coro::coroutine]
    /// fn resilient() -> RecursiveGenerator<u32> {
    ///     for n in 1..=3 {
    ///         if let Err(payload) = co_yield!(elements_of(fragile(n)).catch_panic()) {
    ///             assert_eq!(payload.downcast_ref::<String>().unwrap(), "child 2 broke");
    ///             co_yield!(0); // the parent goes on
    ///         }
    ///     }
    /// }
    ///
    /// # std::panic::set_hook(Box::new(|_| {}));
    /// assert_eq!(resilient().collect::<Vec<_>>(), [1, 10, 2, 0, 3, 30]);
    /// ```
    pub fn catch_panic(self) -> CatchPanic<G> {
        CatchPanic(self.0)
    }
}

/// `co_yield!(elements_of(g).catch_panic())` in a [`RecursiveGenerator`]:
/// yields every element of `g`, and evaluates to `Err(payload)` instead of
/// panicking if `g` panicked. Made by [`ElementsOf::catch_panic`].
///
/// ```
/// use coro::generator::CatchPanic;
/// use coro::{co_yield, elements_of, RecursiveGenerator};
///
/// #[coro::coroutine]
/// fn one() -> RecursiveGenerator<u8> { co_yield!(1); }
///
/// #[coro::coroutine]
/// fn outer() -> RecursiveGenerator<u8> {
///     let nested: CatchPanic<_> = elements_of(one()).catch_panic();
///     assert!(co_yield!(nested).is_ok());
/// }
/// assert_eq!(outer().collect::<Vec<_>>(), [1]);
/// ```
#[derive(Debug)]
pub struct CatchPanic<G>(pub G);

type Handle<T> = CoroutineHandle<RecursiveGeneratorPromise<T>>;

/// The promise of [`RecursiveGenerator`].
pub struct RecursiveGeneratorPromise<T> {
    /// The element the body yielded last, until the consumer takes it.
    value: Option<T>,
    /// The root of the chain this generator is part of (itself when it is
    /// the root). Set by `get_return_object`, changed when it is nested.
    root: Option<Handle<T>>,
    /// On the root only: the generator currently producing elements.
    leaf: Option<Handle<T>>,
    /// The generator this one is nested in.
    parent: Option<Handle<T>>,
    /// While nested: the awaiter slot in the parent's frame that owns this
    /// frame (so that the root can destroy the chain innermost first).
    owner: *mut Option<Owned<T>>,
    /// A panic of a nested generator, for its parent to rethrow.
    panic: Option<Payload>,
    /// On the root: resumptions made so far (consumer resumes + transfers).
    resumes: u64,
}

impl<T> Default for RecursiveGeneratorPromise<T> {
    fn default() -> Self {
        RecursiveGeneratorPromise {
            value: None,
            root: None,
            leaf: None,
            parent: None,
            owner: ptr::null_mut(),
            panic: None,
            resumes: 0,
        }
    }
}

impl<T> fmt::Debug for RecursiveGeneratorPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecursiveGeneratorPromise")
            .field("has_value", &self.value.is_some())
            .field("nested", &self.parent.is_some())
            .finish()
    }
}

impl<T> Promise for RecursiveGeneratorPromise<T> {
    type ReturnObject = UniqueCoroutineHandle<RecursiveGeneratorPromise<T>>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = RecursiveFinalAwaiter<T>;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;

    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        let me = CoroutineHandle::from_promise(self);
        self.root = Some(me);
        self.leaf = Some(me);
        // SAFETY: the generator becomes the frame's only owner (later the
        // awaiter of the generator it is nested in). Its body can only
        // suspend at `co_yield!`, so it is resumed only by its consumer
        // (through the root) or by the symmetric transfers of this module.
        unsafe { UniqueCoroutineHandle::from_raw(me) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> RecursiveFinalAwaiter<T> {
        RecursiveFinalAwaiter { parent: self.parent, root: self.root }
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        if self.parent.is_some() {
            // Rethrown by the parent at its `co_yield!(elements_of(..))`.
            self.panic = Some(payload);
        } else {
            std::panic::resume_unwind(payload)
        }
    }
    fn continuation(&self) -> Option<CoroutineHandle> {
        self.parent.map(CoroutineHandle::erase)
    }
}

impl<T> ReturnVoid for RecursiveGeneratorPromise<T> {
    fn return_void(&mut self) {}
}

impl<T> YieldValue<T> for RecursiveGeneratorPromise<T> {
    type Awaitable = SuspendAlways;
    #[inline(always)]
    fn yield_value(&mut self, value: T) -> SuspendAlways {
        self.value = Some(value);
        SuspendAlways
    }
}

impl<T, B2> YieldValue<ElementsOf<RecursiveGenerator<T, B2>>> for RecursiveGeneratorPromise<T> {
    type Awaitable = NestedAwaiter<T, B2>;
    fn yield_value(&mut self, nested: ElementsOf<RecursiveGenerator<T, B2>>) -> NestedAwaiter<T, B2> {
        let parent = CoroutineHandle::from_promise(self);
        NestedAwaiter {
            nested: Some(nested.0.owned),
            parent,
            root: self.root.expect("root set by get_return_object"),
            _borrows: PhantomData,
        }
    }
}

impl<T, B2> YieldValue<CatchPanic<RecursiveGenerator<T, B2>>> for RecursiveGeneratorPromise<T> {
    type Awaitable = CatchingNestedAwaiter<T, B2>;
    fn yield_value(&mut self, nested: CatchPanic<RecursiveGenerator<T, B2>>) -> CatchingNestedAwaiter<T, B2> {
        CatchingNestedAwaiter { inner: self.yield_value(ElementsOf(nested.0)) }
    }
}

/// The awaiter of `co_yield!(elements_of(nested))`: owns the nested
/// generator's frame, transfers into it, and is resumed when it finishes.
/// Serves [`elements_of`] in a [`RecursiveGenerator`]; not used directly.
pub struct NestedAwaiter<T, B> {
    nested: Option<Owned<T>>,
    parent: Handle<T>,
    root: Handle<T>,
    _borrows: PhantomData<B>,
}

impl<T, B> fmt::Debug for NestedAwaiter<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NestedAwaiter").field("parent", &self.parent).finish_non_exhaustive()
    }
}

impl<T, B> Awaiter for NestedAwaiter<T, B> {
    type Output = ();

    fn await_ready(&mut self) -> bool {
        // A finished nested generator (or one that panicked) has no elements left.
        self.nested.as_ref().is_none_or(|n| n.0.done())
    }

    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        let owner: *mut Option<Owned<T>> = &mut self.nested;
        let nested = self.nested.as_ref().expect("nested generator present until await_resume").0.handle();
        // SAFETY: (for the whole block) every frame of both chains is alive (owned
        // by the root or the awaiters of the chain) and suspended: the
        // parent is suspended at this point, the nested generator at its
        // initial point or at a `co_yield!`, and nothing else runs. Each
        // promise reference is used only within its statement.
        unsafe {
            // If the nested generator was partly consumed on its own, it is
            // the root of a chain: that chain's members now belong to ours.
            let nested_leaf = nested.promise().leaf.expect("root's leaf");
            let mut p = nested_leaf;
            loop {
                p.promise().root = Some(self.root);
                if p == nested {
                    break;
                }
                p = p.promise().parent.expect("a nested generator has a parent");
            }
            let n = nested.promise();
            n.leaf = None;
            n.parent = Some(self.parent);
            n.owner = owner;
            let root = self.root.promise();
            root.leaf = Some(nested_leaf);
            root.resumes += 1;
            nested_leaf
        }
    }

    fn await_resume(self) {
        if let Err(payload) = self.finish() {
            std::panic::resume_unwind(payload);
        }
    }
}

impl<T, B> NestedAwaiter<T, B> {
    /// Drops the finished nested generator; its panic, if it panicked.
    fn finish(mut self) -> Result<(), Payload> {
        if let Some(nested) = self.nested.take() {
            // SAFETY: the nested generator is finished (the awaiter was
            // resumed by its final awaiter, or it was done already) and
            // owned here.
            let panic = unsafe { nested.0.handle().promise().panic.take() };
            drop(nested);
            if let Some(payload) = panic {
                return Err(payload);
            }
        }
        Ok(())
    }
}

/// The awaiter of `co_yield!(elements_of(nested).catch_panic())`: a
/// [`NestedAwaiter`] whose result is the nested generator's panic, if it
/// panicked, instead of rethrowing it. Serves [`CatchPanic`]; not used
/// directly.
pub struct CatchingNestedAwaiter<T, B> {
    inner: NestedAwaiter<T, B>,
}

impl<T, B> fmt::Debug for CatchingNestedAwaiter<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchingNestedAwaiter").field("inner", &self.inner).finish()
    }
}

impl<T, B> Awaiter for CatchingNestedAwaiter<T, B> {
    type Output = Result<(), Payload>;

    fn await_ready(&mut self) -> bool {
        self.inner.await_ready()
    }

    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded contract; `inner` stays in place inside `self`
        // (which the body keeps pinned while suspended), so the owner slot
        // it records stays valid.
        unsafe { self.inner.await_suspend(h) }
    }

    fn await_resume(self) -> Result<(), Payload> {
        self.inner.finish()
    }
}

/// The final awaiter of a [`RecursiveGenerator`]: a nested generator
/// makes its parent the leaf again and transfers back to it; the root
/// returns to the consumer.
pub struct RecursiveFinalAwaiter<T> {
    parent: Option<Handle<T>>,
    root: Option<Handle<T>>,
}

impl<T> fmt::Debug for RecursiveFinalAwaiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecursiveFinalAwaiter").field("parent", &self.parent).finish()
    }
}

impl<T> Awaiter for RecursiveFinalAwaiter<T> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        match (self.parent, self.root) {
            (Some(parent), Some(root)) => {
                // SAFETY: the root is alive (it owns the chain) and
                // suspended, and it is another frame than this finishing one
                // (a generator with a parent is not the root).
                let root = unsafe { root.promise() };
                root.leaf = Some(parent);
                root.resumes += 1;
                parent.erase()
            }
            _ => noop_coroutine(),
        }
    }
    fn await_resume(self) {}
}

/// Owns one frame of a chain. Dropping the root's destroys the chain's
/// nested frames first, innermost first, in a loop.
struct Owned<T>(UniqueCoroutineHandle<RecursiveGeneratorPromise<T>>);

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        let me = self.0.handle();
        // SAFETY: (for the whole block) every frame of the chain is alive and idle
        // (`&mut self` on the root, or on an awaiter of an idle frame). Each
        // promise reference is used only within its statement. The owner
        // slot of a nested member lives in its parent's frame, which is
        // destroyed only after it (we go from the leaf up).
        unsafe {
            if me.promise().root != Some(me) {
                // A nested member: its own nested members are gone already.
                return;
            }
            let mut cur = me.promise().leaf.unwrap_or(me);
            while cur != me {
                let p = cur.promise();
                let parent = p.parent.expect("a nested generator has a parent");
                let owner = p.owner;
                debug_assert!(!owner.is_null());
                // Destroys `cur`'s frame (not a root: no recursion).
                drop((*owner).take());
                cur = parent;
            }
            me.promise().leaf = Some(me);
        }
    }
}

impl<T, B> CoroutineTraits for RecursiveGenerator<T, B> {
    type Promise = RecursiveGeneratorPromise<T>;
}

impl<T, B, F: Future<Output = ()>> FromReturnObject<UniqueCoroutineHandle<RecursiveGeneratorPromise<T>>, F>
    for RecursiveGenerator<T, B>
{
    #[inline]
    fn from_return_object(handle: UniqueCoroutineHandle<RecursiveGeneratorPromise<T>>) -> Self {
        RecursiveGenerator { owned: Owned(handle), finished: false, _borrows: PhantomData }
    }
}

impl<T, B> RecursiveGenerator<T, B> {
    /// Where the root generator is suspended (`None` while running).
    ///
    /// ```
    /// use coro::handle::SuspendKind;
    /// use coro::{co_yield, elements_of, RecursiveGenerator};
    ///
    /// #[coro::coroutine]
    /// fn inner() -> RecursiveGenerator<u8> { co_yield!(1); }
    /// #[coro::coroutine]
    /// fn outer() -> RecursiveGenerator<u8> { co_yield!(elements_of(inner())); }
    ///
    /// let mut g = outer();
    /// g.next(); // `inner` yields; the root waits in `elements_of`
    /// assert_eq!(g.suspend_point().unwrap().kind(), SuspendKind::Yield);
    /// assert_eq!(g.suspend_point().unwrap().function(), "outer");
    /// ```
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.owned.0.suspend_point()
    }

    /// The erased handle of the root generator's coroutine.
    ///
    /// ```
    /// use coro::{co_yield, RecursiveGenerator};
    ///
    /// #[coro::coroutine]
    /// fn one() -> RecursiveGenerator<u8> { co_yield!(1); }
    ///
    /// assert!(!one().handle().address().is_null());
    /// ```
    pub fn handle(&self) -> CoroutineHandle {
        self.owned.0.handle().erase()
    }

    /// `true` once the root's body has finished.
    ///
    /// ```
    /// use coro::{co_yield, elements_of, RecursiveGenerator};
    ///
    /// #[coro::coroutine]
    /// fn inner() -> RecursiveGenerator<u8> { co_yield!(1); }
    /// #[coro::coroutine]
    /// fn outer() -> RecursiveGenerator<u8> { co_yield!(elements_of(inner())); }
    ///
    /// let mut g = outer();
    /// assert_eq!((g.next(), g.done()), (Some(1), false));
    /// assert_eq!((g.next(), g.done()), (None, true));
    /// ```
    pub fn done(&self) -> bool {
        self.owned.0.done()
    }

    /// How many coroutine resumptions this generator has made so far: one
    /// per `next()` plus one symmetric transfer into and one out of each
    /// nested generator. A measure of the work per element that does not
    /// depend on timing or on the nesting depth: where every nested
    /// generator yields at least one element, it is at most three per
    /// element, plus one.
    ///
    /// ```
    /// use coro::{co_yield, elements_of, RecursiveGenerator};
    ///
    /// #[coro::coroutine]
    /// fn deep(n: u32) -> RecursiveGenerator<u32> {
    ///     co_yield!(n);
    ///     if n > 0 { co_yield!(elements_of(deep(n - 1))); }
    /// }
    /// let mut g = deep(100);
    /// assert_eq!(g.by_ref().count(), 101);
    /// assert!(g.resumes() <= 3 * 101 + 1);
    /// ```
    pub fn resumes(&self) -> u64 {
        // SAFETY: the generator is idle (`&self`, and `next` takes `&mut`);
        // the reference is used for this read only.
        unsafe { self.owned.0.promise() }.resumes
    }
}

impl<T, B> Iterator for RecursiveGenerator<T, B> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.finished {
            return None;
        }
        /// A panic out of the root's body leaves it at its final point:
        /// never resume it again.
        struct FinishOnUnwind<'a>(&'a mut bool);
        impl Drop for FinishOnUnwind<'_> {
            fn drop(&mut self) {
                *self.0 = true;
            }
        }
        let root = self.owned.0.handle();
        // SAFETY: the root is owned here and idle; short-lived reference.
        let leaf = unsafe {
            let p = root.promise();
            p.resumes += 1;
            p.leaf.expect("root's leaf")
        };
        let guard = FinishOnUnwind(&mut self.finished);
        // SAFETY: the leaf is alive (owned by the chain), suspended at its
        // initial point or a `co_yield!` (the root is not finished, so
        // neither is its leaf), and only this consumer resumes it.
        unsafe { leaf.resume() };
        core::mem::forget(guard);
        if self.owned.0.done() {
            self.finished = true;
            return None;
        }
        // SAFETY: the chain is suspended again; short-lived references, the
        // root's dropped before the leaf's (they may be the same frame).
        let leaf = unsafe { root.promise().leaf.expect("root's leaf") };
        // SAFETY: as above.
        let value = unsafe { leaf.promise().value.take() };
        debug_assert!(value.is_some(), "a recursive generator suspended without yielding");
        self.finished = value.is_none();
        value
    }
}

impl<T, B> fmt::Debug for RecursiveGenerator<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecursiveGenerator").field("handle", &self.owned.0).finish()
    }
}
