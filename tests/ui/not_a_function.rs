#[coro::coroutine]
struct Numbers {
    next: u32,
}

fn main() {
    let n = Numbers { next: 1 };
    println!("{}", n.next);
}
