//! The Rust scenarios of the conformance suite, one module per C++ program
//! in `../cpp/`, each with `pub fn run()` that records its events through
//! [`trace::ev`].
#![allow(dead_code)]

#[macro_use]
pub mod trace;

pub mod allocation_failure;
pub mod allocation_failure_with_params;
pub mod await_ready_true;
pub mod await_suspend_bool_false;
pub mod await_suspend_bool_true;
pub mod await_suspend_handle;
pub mod await_suspend_own_handle;
pub mod await_suspend_void;
pub mod await_transform;
pub mod co_return_value;
pub mod co_return_void;
pub mod custom_allocation_with_params;
pub mod destroy_at_initial_suspend;
pub mod destroy_at_suspension_point;
pub mod eager_rethrow;
pub mod eager_start;
pub mod final_suspend_always;
pub mod final_suspend_never;
pub mod flow_off_end;
pub mod fully_suspended_destroy_inline;
pub mod fully_suspended_resume_inline;
pub mod gen;
pub mod generator_destroyed_early;
pub mod lazy_start;
pub mod noop_coroutine;
pub mod operator_co_await;
pub mod panic_in_allocation;
pub mod panic_in_await_suspend;
pub mod panic_in_body;
pub mod panic_in_get_return_object;
pub mod panic_in_initial_await_ready;
pub mod panic_in_initial_await_resume;
pub mod panic_in_initial_await_suspend;
pub mod panic_in_initial_suspend;
pub mod panic_in_promise_ctor;
pub mod params_by_reference;
pub mod params_by_value;
pub mod promise_from_params;
pub mod range_generator;
pub mod symmetric_transfer_deep;
pub mod symmetric_transfer_task;
pub mod unhandled_exception_rethrows;
