#[allow(
    unused_mut,
    clippy::needless_return,
    clippy::let_unit_value,
    clippy::unused_unit,
    clippy::result_large_err
)]
fn poll_once<'a>(mut self: &'a Self, mut __coro_arg1: (u8, u8)) -> MyHandle<'a> {
    static __CORO_INFO: ::coro::__private::CoroutineInfo = ::coro::__private::CoroutineInfo::new(
        "poll_once",
        ::core::file!(),
        (::core::line!(), ::core::column!()),
        2u32,
        (::core::line!(), ::core::column!()),
        &__CORO_INFO,
    );
    #[allow(non_camel_case_types)]
    struct coroutine_poll_once {}
    impl ::coro::__private::Info for coroutine_poll_once {
        const INFO: &'static ::coro::__private::CoroutineInfo = &__CORO_INFO;
    }
    let __coro_make = ::coro::__private::body::<
        MyPromise,
        _,
        _,
        _,
    >(move |__coro_ramp: &mut ::coro::__private::RampCtx<MyPromise>| {
        #[allow(unused_imports)]
        use ::coro::__private::{
            AllocateViaDefault as _, AllocateViaParams as _, ConstructViaDefault as _,
            ConstructViaParams as _,
        };
        if !(&::coro::__private::ParamProbe::of(__coro_ramp, (&self, &__coro_arg1)))
            .allocate(__coro_ramp)
        {
            return ::core::result::Result::Err((self, __coro_arg1));
        }
        (&::coro::__private::ParamProbe::of(
            ::coro::__private::at(&*__coro_ramp),
            (&mut self, &mut __coro_arg1),
        ))
            .construct(::coro::__private::at(&mut *__coro_ramp));
        let promise = __coro_ramp.co();
        ::core::result::Result::Ok(async move {
            ::coro::__private::started().await;
            let _ = &self;
            let __coro_arg1 = __coro_arg1;
            let (a, b) = __coro_arg1;
            #[allow(unreachable_code)]
            let __coro_end: ::coro::__private::FallOff<MyPromise> = {
                {
                    struct __CoroPoint1;
                    impl ::coro::__private::Record for __CoroPoint1 {
                        const POINT: &'static ::coro::__private::SuspendPoint = &::coro::__private::SuspendPoint::new(
                            ::coro::__private::SuspendKind::Await,
                            1u32,
                            ::core::file!(),
                            ::core::line!(),
                            ::core::column!(),
                            &__CORO_INFO,
                        );
                    }
                    co_await!(@ __coro_lowered);
                    ::coro::__private::Resumed('__coro_await1: {
                            let __coro_parked = match ::coro::__private::await_point(
                                match ::coro::__private::operand(SuspendAlways) {
                                    __coro_operand => {
                                        #[allow(unused_imports)]
                                        use ::coro::__private::{
                                            ViaAwaiter as _, ViaFuture as _, ViaOther as _,
                                        };
                                        (&&::coro::__private::AwaitProbe::of(&__coro_operand))
                                            .__coro_await_kind()
                                            .wrap(__coro_operand)
                                    }
                                },
                                ::coro::__private::at(promise),
                                __CoroPoint1,
                            ) {
                                ::coro::__private::Awaited::Ready(__coro_value) => {
                                    break '__coro_await1 __coro_value;
                                }
                                ::coro::__private::Awaited::Suspend(__coro_parked) => {
                                    __coro_parked
                                }
                            };
                            __coro_parked.await
                        })
                        .value()
                };
                #[allow(clippy::diverging_sub_expression)]
                let __coro_tail: ::coro::__private::FallOff<MyPromise> = {
                    co_return!(@ __coro_lowered);
                    ::coro::__private::return_void(::coro::__private::at(promise));
                    return;
                };
                #[allow(unreachable_code)] promise.fall_off_end();
                __coro_tail
            };
        })
    });
    ::coro::__private::assert_frame_outlives::<
        'a,
        MyPromise,
        _,
        _,
        _,
    >(::coro::__private::at(&__coro_make as *const _));
    ::coro::__private::ramp::<
        MyPromise,
        _,
        _,
        _,
        _,
        _,
    >(::coro::__private::at(coroutine_poll_once {}), ::coro::__private::at(__coro_make))
}
