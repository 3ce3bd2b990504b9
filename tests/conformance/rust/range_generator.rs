//! A range generator consumed to the end.
use super::gen::*;
use super::trace::*;

pub fn run() {
    let g = range(3);
    let mut sum = 0;
    while let Some(v) = next(&g) {
        sum += v;
    }
    ev(format!("caller: sum {sum}"));
    g.destroy();
}
