#[allow(unused_variables, unused_mut, unreachable_code)]
fn poll_once(&self, (a, b): (u8, u8)) -> MyHandle {
    co_await!(@ __coro_lowered);
    co_return!(@ __coro_lowered);
    ::core::compile_error!(
        "name the lifetime of the borrowed parameter `self`: the coroutine keeps it in its frame, so the return type must carry that lifetime (C++: a coroutine taking a reference parameter dangles once the caller's argument dies)\nhelp: declare the lifetime and use it in the return type, e.g. `fn chars<'a>(s: &'a str) -> Generator<char, &'a str>`, or take the parameter by value"
    )
}
