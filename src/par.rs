//! Maps over replicates or blocks: in parallel with the `parallel` feature (rayon), serially
//! without it. Results are collected in order and every replicate draws from its own random
//! stream, so both give identical results.

/// `f(0), …, f(n − 1)`, in order.
pub(crate) fn map<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        (0..n).map(f).collect()
    }
}

/// `f(i, chunk)` for the consecutive chunks of `data` of length `len` (the last may be shorter),
/// in parallel with the `parallel` feature. Each call sees only its own chunk, so the result
/// does not depend on the order.
pub(crate) fn for_each_chunk_mut<T, F>(data: &mut [T], len: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(not(feature = "parallel"))]
    {
        for (i, c) in data.chunks_mut(len).enumerate() {
            f(i, c);
        }
    }
}

/// `f` of every item, in order.
pub(crate) fn map_items<I, T, F>(items: &[I], f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    F: Fn(&I) -> T + Sync + Send,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        items.iter().map(f).collect()
    }
}

/// `f` of every item with a scratch workspace made by `init` (one per thread), in order.
pub(crate) fn map_items_with<I, W, T, N, F>(items: &[I], init: N, f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    N: Fn() -> W + Sync + Send,
    F: Fn(&mut W, &I) -> T + Sync + Send,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.par_iter().map_init(init, f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut w = init();
        items.iter().map(|i| f(&mut w, i)).collect()
    }
}
