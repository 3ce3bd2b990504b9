//! Allocation failure with a by-value parameter: the parameter is dropped
//! after the call has produced its result (get_return_object_on_allocation_failure).
pub fn run() {
    super::allocation_failure::run_with_params()
}
