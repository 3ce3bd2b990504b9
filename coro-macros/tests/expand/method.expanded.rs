#[allow(unused_variables, unused_mut, unreachable_code)]
fn poll_once(&self, (a, b): (u8, u8)) -> MyHandle {
    co_await!(@ __coro_lowered);
    co_return!(@ __coro_lowered);
    ::core::compile_error!(
        "the borrowed parameter `self` would dangle: the coroutine keeps it in its frame, but the return type `MyHandle` cannot carry a lifetime that has no name (C++: a coroutine's reference parameter dangles once the caller's argument dies)\nhelp: take the parameter by value (`String` rather than `&str`), or name the lifetime and carry it in a return type that can hold it, e.g. `fn chars<'a>(s: &'a str) -> Generator<char, &'a str>`"
    )
}
