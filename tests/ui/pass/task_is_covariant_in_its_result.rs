// The owners of a task frame and the awaiters and futures of its result are covariant in the result type (values only flow out).
use coro::combinators::Child;
use coro::task::{FinalAwaiter, Local, TaskAwaiter, TaskFuture, TaskPromise, TaskReturn};
use coro::{SendTask, Task};

fn task<'a>(t: Task<&'static str>) -> Task<&'a str> {
    t
}
fn send_task<'a>(t: SendTask<&'static str>) -> SendTask<&'a str> {
    t
}
fn task_awaiter<'a>(a: TaskAwaiter<&'static str, Local>) -> TaskAwaiter<&'a str, Local> {
    a
}
fn task_future<'a>(f: TaskFuture<&'static str, Local>) -> TaskFuture<&'a str, Local> {
    f
}
fn task_return<'a>(r: TaskReturn<&'static str, Local>) -> TaskReturn<&'a str, Local> {
    r
}
fn final_awaiter<'a>(a: FinalAwaiter<&'static str, Local>) -> FinalAwaiter<&'a str, Local> {
    a
}
fn child<'a>(c: Child<&'static str, Local>) -> Child<&'a str, Local> {
    c
}
// A promise by value is plain data; every path to one inside a frame is invariant.
fn task_promise<'a>(p: TaskPromise<&'static str>) -> TaskPromise<&'a str> {
    p
}

#[coro::coroutine]
fn name() -> Task<&'static str> {
    coro::co_return!("a")
}

fn main() {
    let local = String::from("b");
    let t: Task<&str> = task(name());
    let got = coro::sync_wait(t);
    assert_eq!([got, local.as_str()], ["a", "b"]);
    let _ = (send_task, task_awaiter, task_future, task_return, final_awaiter, child, task_promise);
}
