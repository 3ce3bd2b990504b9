//! A range generator abandoned after two values.
use super::gen::*;

pub fn run() {
    let g = range(5);
    next(&g);
    next(&g);
    g.destroy();
}
