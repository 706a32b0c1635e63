//! Identifiers: time-ordered random ids (ULID layout, Crockford base32) and secrets from the OS RNG.

use crate::clock::Clock;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A 26-character ULID: 48 bits of milliseconds then 80 random bits. Sorts by creation time, so a `Query` on a
/// sort key `ORDER#<id>` lists newest last without a separate timestamp index.
///
/// ```
/// let id = powertools::ids::ulid(&powertools::clock::SystemClock);
/// assert_eq!(id.len(), 26);
/// assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
/// ```
pub fn ulid(clock: &dyn Clock) -> String {
    let mut rnd = [0u8; 10];
    fill_random(&mut rnd);
    let mut n: u128 = u128::from(clock.now_millis() & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in rnd.iter().enumerate() {
        n |= u128::from(*b) << (8 * (9 - i));
    }
    (0..26).rev().map(|i| CROCKFORD[((n >> (5 * i)) & 31) as usize] as char).collect()
}

/// Fills `buf` from the OS RNG; falls back to `fastrand` (not cryptographic) only if the OS refuses, which on
/// Linux means `getrandom(2)` is missing: never on Lambda.
pub fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        for b in buf.iter_mut() {
            *b = fastrand::u8(..);
        }
    }
}

/// `n` random bytes as lowercase hex (secrets, lock tokens).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    fill_random(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn ulids_sort_by_time_and_differ() {
        let c = ManualClock::new(1_000);
        let a = ulid(&*c);
        c.advance(std::time::Duration::from_millis(1));
        let b = ulid(&*c);
        assert!(a < b, "{a} !< {b}");
        assert_ne!(ulid(&*c), ulid(&*c));
    }
}
