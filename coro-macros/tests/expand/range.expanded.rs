#[allow(
    unused_mut,
    clippy::needless_return,
    clippy::let_unit_value,
    clippy::unused_unit,
    clippy::result_large_err
)]
fn range(mut n: u32) -> Generator<u32> {
    static __CORO_INFO: ::coro::__private::CoroutineInfo = ::coro::__private::CoroutineInfo::new(
        "range",
        ::core::file!(),
        (::core::line!(), ::core::column!()),
        2u32,
        (::core::line!(), ::core::column!()),
        &__CORO_INFO,
    );
    #[allow(non_camel_case_types)]
    struct coroutine_range {}
    impl ::coro::__private::Info for coroutine_range {
        const INFO: &'static ::coro::__private::CoroutineInfo = &__CORO_INFO;
    }
    let __coro_make = ::coro::__private::body::<
        <Generator<u32> as ::coro::CoroutineTraits>::Promise,
        _,
        _,
        _,
    >(move |
        __coro_ramp: &mut ::coro::__private::RampCtx<
            <Generator<u32> as ::coro::CoroutineTraits>::Promise,
        >|
    {
        #[allow(unused_imports)]
        use ::coro::__private::{
            AllocateViaDefault as _, AllocateViaParams as _, ConstructViaDefault as _,
            ConstructViaParams as _,
        };
        if !(&::coro::__private::ParamProbe::of(__coro_ramp, (&n,)))
            .allocate(__coro_ramp)
        {
            return ::core::result::Result::Err((n,));
        }
        (&::coro::__private::ParamProbe::of(
            ::coro::__private::at(&*__coro_ramp),
            (&mut n,),
        ))
            .construct(::coro::__private::at(&mut *__coro_ramp));
        let promise = __coro_ramp.co();
        ::core::result::Result::Ok(async move {
            ::coro::__private::started().await;
            let _ = &n;
            #[allow(unreachable_code)]
            let __coro_end: ::coro::__private::FallOff<
                <Generator<u32> as ::coro::CoroutineTraits>::Promise,
            > = {
                #[allow(clippy::diverging_sub_expression)]
                let __coro_tail: ::coro::__private::FallOff<
                    <Generator<u32> as ::coro::CoroutineTraits>::Promise,
                > = for i in 0..n {
                    {
                        struct __CoroPoint1;
                        impl ::coro::__private::Record for __CoroPoint1 {
                            const POINT: &'static ::coro::__private::SuspendPoint = &::coro::__private::SuspendPoint::new(
                                ::coro::__private::SuspendKind::Yield,
                                1u32,
                                ::core::file!(),
                                ::core::line!(),
                                ::core::column!(),
                                &__CORO_INFO,
                            );
                        }
                        co_yield!(@ __coro_lowered);
                        ::coro::__private::yield_point(
                                i,
                                ::coro::__private::at(promise),
                                __CoroPoint1,
                            )
                            .await
                    };
                };
                #[allow(unreachable_code)] promise.fall_off_end();
                __coro_tail
            };
        })
    });
    ::coro::__private::assert_frame_outlives::<
        'static,
        <Generator<u32> as ::coro::CoroutineTraits>::Promise,
        _,
        _,
        _,
    >(::coro::__private::at(&__coro_make as *const _));
    ::coro::__private::assert_no_drop_glue::<u32>();
    ::coro::__private::ramp::<
        <Generator<u32> as ::coro::CoroutineTraits>::Promise,
        _,
        _,
        _,
        _,
        _,
    >(::coro::__private::at(coroutine_range {}), ::coro::__private::at(__coro_make))
}
