//! Shared by the test binaries: a value that counts its drops.

use std::cell::Cell;
use std::rc::Rc;

/// Counts, in a shared cell, how many times a value was dropped.
pub struct Counted(pub Rc<Cell<u32>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
