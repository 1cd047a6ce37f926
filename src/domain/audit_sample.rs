//! Choosing credits for a sample audit: a share of the candidates, at random, reproducibly.
//!
//! The same candidates, percentage and seed always choose the same credits, on every machine
//! and in every version: the generator is SplitMix64, written out here, not a library's
//! generator whose output may change between releases. Candidates are sorted first, so the
//! order they were read in does not matter.

use uuid::Uuid;

/// How many of `candidates` a `percent` sample takes: rounded up, so a sample of a small
/// population is never empty, and never more than there are.
pub fn sample_size(candidates: usize, percent: u8) -> usize {
    let wanted = (candidates * usize::from(percent)).div_ceil(100);
    wanted.min(candidates)
}

/// The credits a `percent` sample seeded with `seed` takes from `candidates`, in the order
/// they were drawn.
pub fn choose(candidates: &[Uuid], percent: u8, seed: u64) -> Vec<Uuid> {
    let mut pool: Vec<Uuid> = candidates.to_vec();
    pool.sort_unstable();
    pool.dedup();
    let take = sample_size(pool.len(), percent);
    let mut state = seed;
    // A partial Fisher–Yates shuffle: the first `take` places are the draw.
    for i in 0..take {
        let remaining = (pool.len() - i) as u64;
        let j = i + (next(&mut state) % remaining) as usize;
        pool.swap(i, j);
    }
    pool.truncate(take);
    pool
}

/// SplitMix64 (Steele, Lea and Flood, 2014).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn a_sample_rounds_up_and_never_takes_more_than_there_are() {
        assert_eq!(sample_size(0, 10), 0);
        assert_eq!(sample_size(1, 1), 1);
        assert_eq!(sample_size(10, 10), 1);
        assert_eq!(sample_size(11, 10), 2);
        assert_eq!(sample_size(7, 100), 7);
    }

    #[test]
    fn the_same_seed_draws_the_same_credits_whatever_order_they_were_read_in() {
        let mut shuffled = ids(50);
        shuffled.reverse();
        assert_eq!(choose(&ids(50), 20, 42), choose(&shuffled, 20, 42));
        assert_eq!(choose(&ids(50), 20, 42).len(), 10);
    }

    #[test]
    fn another_seed_draws_other_credits() {
        assert_ne!(choose(&ids(50), 20, 42), choose(&ids(50), 20, 43));
    }

    #[test]
    fn a_draw_names_each_candidate_at_most_once() {
        let mut drawn = choose(&ids(30), 100, 7);
        drawn.sort_unstable();
        assert_eq!(drawn, ids(30));
    }

    #[test]
    fn the_draw_for_a_known_seed_stays_what_it_was() {
        // SplitMix64 from seed 0 starts 0xe220a8397b1dcdaf: 3 candidates, draw one.
        assert_eq!(next(&mut 0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(
            choose(&ids(3), 33, 0),
            vec![Uuid::from_u128(1 + 0xe220_a839_7b1d_cdaf % 3)]
        );
    }
}
