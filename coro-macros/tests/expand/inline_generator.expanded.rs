#[allow(
    unused_mut,
    clippy::needless_return,
    clippy::let_unit_value,
    clippy::unused_unit,
    clippy::result_large_err
)]
fn words<'a>(
    mut text: &'a str,
    mut skip: usize,
) -> InlineGenerator<
    &'a str,
    impl ::coro::generator::GeneratorBody<&'a str> + ::coro::generator::Borrows<&'a str>,
> {
    static __CORO_INFO: ::coro::__private::CoroutineInfo = ::coro::__private::CoroutineInfo::new(
        "words",
        ::core::file!(),
        (::core::line!(), ::core::column!()),
        2u32,
        (::core::line!(), ::core::column!()),
        &__CORO_INFO,
    );
    ::coro::__private::assert_no_drop_glue::<usize>();
    ::coro::__private::inline_ramp::<
        &'a str,
        _,
        _,
    >(move |
        promise: ::coro::__private::Co<
            <::coro::__private::InlineFrame<&'a str> as ::coro::CoroutineTraits>::Promise,
        >|
    async move {
        ::coro::__private::started().await;
        let _ = &text;
        let _ = &skip;
        #[allow(unreachable_code)]
        let __coro_end: ::coro::__private::FallOff<
            <::coro::__private::InlineFrame<&'a str> as ::coro::CoroutineTraits>::Promise,
        > = {
            #[allow(clippy::diverging_sub_expression)]
            let __coro_tail: ::coro::__private::FallOff<
                <::coro::__private::InlineFrame<
                    &'a str,
                > as ::coro::CoroutineTraits>::Promise,
            > = for w in text.split(' ').skip(skip) {
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
                    ::coro::__private::inline_yield_point(
                            ::coro::__private::at(promise),
                            w,
                            __CoroPoint1,
                        )
                        .await
                };
            };
            #[allow(unreachable_code)] promise.fall_off_end();
            __coro_tail
        };
    })
}
