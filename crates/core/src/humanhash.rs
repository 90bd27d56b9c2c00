//! Human hashes and content-addressed names: how fleetroll names stored file contents.
//!
//! Override and vault contents are stored under the first hex characters of their SHA-256 and shown as a
//! two-word "human hash" (`freddie-arkansas`) so that people can tell contents apart at a glance and type
//! them back (`show-override freddie-arkansas`). The human hash is the one of zacharyvoase/humanhash, which
//! the MVP vendors: the same digest must give the same words here, so the wordlist and the compression are
//! kept exactly. Everything here is pure; the caller reads files and answers questions about the store.

use sha2::{Digest, Sha256};

/// The 256 words of zacharyvoase/humanhash's `DEFAULT_WORDLIST`, in order; one word per byte value.
///
/// The type fixes the length at 256, so every `u8` indexes a word.
pub const DEFAULT_WORDLIST: [&str; 256] = [
    "ack",
    "alabama",
    "alanine",
    "alaska",
    "alpha",
    "angel",
    "apart",
    "april",
    "arizona",
    "arkansas",
    "artist",
    "asparagus",
    "aspen",
    "august",
    "autumn",
    "avocado",
    "bacon",
    "bakerloo",
    "batman",
    "beer",
    "berlin",
    "beryllium",
    "black",
    "blossom",
    "blue",
    "bluebird",
    "bravo",
    "bulldog",
    "burger",
    "butter",
    "california",
    "carbon",
    "cardinal",
    "carolina",
    "carpet",
    "cat",
    "ceiling",
    "charlie",
    "chicken",
    "coffee",
    "cola",
    "cold",
    "colorado",
    "comet",
    "connecticut",
    "crazy",
    "cup",
    "dakota",
    "december",
    "delaware",
    "delta",
    "diet",
    "don",
    "double",
    "early",
    "earth",
    "east",
    "echo",
    "edward",
    "eight",
    "eighteen",
    "eleven",
    "emma",
    "enemy",
    "equal",
    "failed",
    "fanta",
    "fifteen",
    "fillet",
    "finch",
    "fish",
    "five",
    "fix",
    "floor",
    "florida",
    "football",
    "four",
    "fourteen",
    "foxtrot",
    "freddie",
    "friend",
    "fruit",
    "gee",
    "georgia",
    "glucose",
    "golf",
    "green",
    "grey",
    "hamper",
    "happy",
    "harry",
    "hawaii",
    "helium",
    "high",
    "hot",
    "hotel",
    "hydrogen",
    "idaho",
    "illinois",
    "india",
    "indigo",
    "ink",
    "iowa",
    "island",
    "item",
    "jersey",
    "jig",
    "johnny",
    "juliet",
    "july",
    "jupiter",
    "kansas",
    "kentucky",
    "kilo",
    "king",
    "kitten",
    "lactose",
    "lake",
    "lamp",
    "lemon",
    "leopard",
    "lima",
    "lion",
    "lithium",
    "london",
    "louisiana",
    "low",
    "magazine",
    "magnesium",
    "maine",
    "mango",
    "march",
    "mars",
    "maryland",
    "massachusetts",
    "may",
    "mexico",
    "michigan",
    "mike",
    "minnesota",
    "mirror",
    "mississippi",
    "missouri",
    "mobile",
    "mockingbird",
    "monkey",
    "montana",
    "moon",
    "mountain",
    "muppet",
    "music",
    "nebraska",
    "neptune",
    "network",
    "nevada",
    "nine",
    "nineteen",
    "nitrogen",
    "north",
    "november",
    "nuts",
    "october",
    "ohio",
    "oklahoma",
    "one",
    "orange",
    "oranges",
    "oregon",
    "oscar",
    "oven",
    "oxygen",
    "papa",
    "paris",
    "pasta",
    "pennsylvania",
    "pip",
    "pizza",
    "pluto",
    "potato",
    "princess",
    "purple",
    "quebec",
    "queen",
    "quiet",
    "red",
    "river",
    "robert",
    "robin",
    "romeo",
    "rugby",
    "sad",
    "salami",
    "saturn",
    "september",
    "seven",
    "seventeen",
    "shade",
    "sierra",
    "single",
    "sink",
    "six",
    "sixteen",
    "skylark",
    "snake",
    "social",
    "sodium",
    "solar",
    "south",
    "spaghetti",
    "speaker",
    "spring",
    "stairway",
    "steak",
    "stream",
    "summer",
    "sweet",
    "table",
    "tango",
    "ten",
    "tennessee",
    "tennis",
    "texas",
    "thirteen",
    "three",
    "timing",
    "triple",
    "twelve",
    "twenty",
    "two",
    "uncle",
    "undress",
    "uniform",
    "uranus",
    "utah",
    "vegan",
    "venus",
    "vermont",
    "victor",
    "video",
    "violet",
    "virginia",
    "washington",
    "west",
    "whiskey",
    "white",
    "william",
    "winner",
    "winter",
    "wisconsin",
    "wolfram",
    "wyoming",
    "xray",
    "yankee",
    "yellow",
    "zebra",
    "zulu",
];

/// How many words fleetroll shows for a content hash (`freddie-arkansas`).
pub const DISPLAY_WORDS: usize = 2;

/// Hex characters in a stored file's name when nothing else claims that name (the MVP's `CONTENT_PREFIX_LEN`).
pub const CONTENT_PREFIX_LEN: usize = 12;

/// How many hex characters a stored file's name grows by on a collision (the MVP's `CONTENT_PREFIX_STEP`).
pub const CONTENT_PREFIX_STEP: usize = 4;

/// Hex characters in a full SHA-256: the longest a stored file's name can get.
const SHA256_HEX_LEN: usize = 64;

/// Why a digest could not be turned into words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HumanhashError {
    /// The digest is not an even-length run of hex digits.
    #[error("digest {digest:?} is not hex: {reason}")]
    NotHex { digest: String, reason: String },
    /// Zero words were asked for.
    #[error("a human hash needs at least one word, got 0")]
    ZeroWords,
    /// Each word needs at least one byte of the digest.
    #[error("digest {digest:?} has {bytes} byte(s), fewer than the {words} words asked for")]
    TooManyWords { digest: String, bytes: usize, words: usize },
}

/// Why no name could be found for content in the store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContentNameError {
    /// Names are prefixes of the SHA-256, so it must be one.
    #[error("sha256 {0:?} is not 64 lowercase hex characters")]
    NotSha256(String),
    /// Every prefix, up to the whole hash, names a file with different contents.
    #[error("sha256 {0} collides with stored files of different contents at every prefix length up to 64")]
    TooManyCollisions(String),
}

/// The words of `hex_digest`, joined with `-`, as zacharyvoase/humanhash's `humanize(hexdigest, words)`.
///
/// The digest's bytes are split into `words` segments of `len / words` bytes (the last segment also takes
/// the remainder); each segment is XORed down to one byte, which picks a word from [`DEFAULT_WORDLIST`].
/// Upper- and lowercase hex give the same words. Unlike the Python original, which silently drops a
/// trailing odd hex digit, an odd-length digest is an error.
pub fn humanize(hex_digest: &str, words: usize) -> Result<String, HumanhashError> {
    let bytes = hex::decode(hex_digest).map_err(|err| {
        let reason = match err {
            hex::FromHexError::InvalidHexCharacter { c, index } => {
                format!("invalid character {c:?} at position {index}")
            }
            hex::FromHexError::OddLength | hex::FromHexError::InvalidStringLength => "odd number of digits".to_owned(),
        };
        HumanhashError::NotHex { digest: hex_digest.to_owned(), reason }
    })?;
    let compressed = compress(&bytes, words).map_err(|err| match err {
        CompressError::ZeroWords => HumanhashError::ZeroWords,
        CompressError::TooFewBytes => {
            HumanhashError::TooManyWords { digest: hex_digest.to_owned(), bytes: bytes.len(), words }
        }
    })?;
    let names: Vec<&str> = compressed.iter().map(|&byte| DEFAULT_WORDLIST[usize::from(byte)]).collect();
    Ok(names.join("-"))
}

#[derive(Debug)]
enum CompressError {
    ZeroWords,
    TooFewBytes,
}

/// humanhash's `compress`: XOR `bytes` down to `target` bytes, segment by segment.
fn compress(bytes: &[u8], target: usize) -> Result<Vec<u8>, CompressError> {
    if target == 0 {
        return Err(CompressError::ZeroWords);
    }
    if target > bytes.len() {
        return Err(CompressError::TooFewBytes);
    }
    let seg_size = bytes.len() / target;
    let xor = |segment: &[u8]| segment.iter().fold(0u8, |acc, &b| acc ^ b);
    let mut out: Vec<u8> = (0..target - 1).map(|i| xor(&bytes[i * seg_size..(i + 1) * seg_size])).collect();
    out.push(xor(&bytes[(target - 1) * seg_size..]));
    Ok(out)
}

/// The lowercase hex SHA-256 of `contents`: the identity of stored override and vault contents.
pub fn sha256_hex(contents: &[u8]) -> String {
    hex::encode(Sha256::digest(contents))
}

/// The two-word human hash fleetroll displays for `contents` (of the full 64-hex SHA-256).
pub fn human_name(contents: &[u8]) -> String {
    humanize(&sha256_hex(contents), DISPLAY_WORDS).expect("a sha256 digest has 32 bytes, enough for two words")
}

/// The file name under which contents with hash `sha256_hex` are stored, given which names are taken.
///
/// The name starts as the first [`CONTENT_PREFIX_LEN`] hex characters. While `is_taken_by_other(name)`
/// says a file of that name exists holding *different* contents, the name grows by
/// [`CONTENT_PREFIX_STEP`] characters, up to the full 64. A name whose file holds the same contents is
/// returned as is: storing is idempotent. The caller answers the callback by reading the store, so the
/// decision stays here and the I/O stays with the caller.
pub fn content_name(sha256_hex: &str, is_taken_by_other: impl Fn(&str) -> bool) -> Result<String, ContentNameError> {
    let is_sha256 = sha256_hex.len() == SHA256_HEX_LEN
        && sha256_hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !is_sha256 {
        return Err(ContentNameError::NotSha256(sha256_hex.to_owned()));
    }
    (CONTENT_PREFIX_LEN..=SHA256_HEX_LEN)
        .step_by(CONTENT_PREFIX_STEP)
        .map(|len| &sha256_hex[..len])
        .find(|name| !is_taken_by_other(name))
        .map(str::to_owned)
        .ok_or_else(|| ContentNameError::TooManyCollisions(sha256_hex.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};

    use super::*;

    #[test]
    fn wordlist_is_256_distinct_sorted_words() {
        let distinct: BTreeSet<&str> = DEFAULT_WORDLIST.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
        assert!(DEFAULT_WORDLIST.windows(2).all(|pair| pair[0] < pair[1]));
        let cases = [(0, "ack"), (1, "alabama"), (126, "low"), (127, "magazine"), (254, "zebra"), (255, "zulu")];
        for (index, word) in cases {
            assert_eq!(DEFAULT_WORDLIST[index], word, "index {index}");
        }
    }

    #[test]
    fn human_names_of_contents() {
        let cases: [(&[u8], &str, &str); 3] = [
            (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "mobile-leopard"),
            (b"hello\n", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "colorado-floor"),
            (b"test\n", "f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2", "harry-california"),
        ];
        for (contents, sha, name) in cases {
            assert_eq!(sha256_hex(contents), sha, "{contents:?}");
            assert_eq!(human_name(contents), name, "{contents:?}");
            assert_eq!(humanize(sha, 2).unwrap(), name, "{contents:?}");
        }
    }

    #[test]
    fn humanize_word_counts() {
        let empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let cases = [
            (empty_sha, 4, "river-early-aspen-lactose"),
            // humanhash's own doctest: 11 bytes into 4 words, the last segment takes 2 extra bytes.
            ("60ad8d0d871b6095808297", 4, "sodium-magnesium-nineteen-hydrogen"),
            ("60AD8D0D871B6095808297", 4, "sodium-magnesium-nineteen-hydrogen"),
            ("00", 1, "ack"),
            ("ff", 1, "zulu"),
            ("0102", 2, "alabama-alanine"),
            ("0101", 1, "ack"),
        ];
        for (digest, words, expected) in cases {
            assert_eq!(humanize(digest, words).unwrap(), expected, "{digest} in {words} words");
        }
    }

    #[test]
    fn compress_matches_humanhash_doctest() {
        let bytes = [96, 173, 141, 13, 135, 27, 96, 149, 128, 130, 151];
        assert_eq!(compress(&bytes, 4).unwrap(), vec![205, 128, 156, 96]);
    }

    #[test]
    fn humanize_rejects_bad_input() {
        let cases = [
            ("xyz0", 1, "digest \"xyz0\" is not hex: invalid character 'x' at position 0"),
            ("abc", 1, "digest \"abc\" is not hex: odd number of digits"),
            ("abcd", 0, "a human hash needs at least one word, got 0"),
            ("abcd", 3, "digest \"abcd\" has 2 byte(s), fewer than the 3 words asked for"),
            ("", 1, "digest \"\" has 0 byte(s), fewer than the 1 words asked for"),
        ];
        for (digest, words, message) in cases {
            assert_eq!(humanize(digest, words).unwrap_err().to_string(), message, "{digest} in {words} words");
        }
    }

    /// A store of name → contents, as the caller's directory would be.
    fn store(contents: &str, sha: &str, files: &RefCell<HashMap<String, String>>) -> Result<String, ContentNameError> {
        let name = content_name(sha, |name| files.borrow().get(name).is_some_and(|existing| existing != contents))?;
        files.borrow_mut().entry(name.clone()).or_insert_with(|| contents.to_owned());
        Ok(name)
    }

    #[test]
    fn colliding_prefix_grows_by_four() {
        // Acceptance item 8: two hashes sharing 12 leading characters.
        let files = RefCell::new(HashMap::new());
        let first = format!("{}{}", "a".repeat(12), "1".repeat(52));
        let second = format!("{}{}", "a".repeat(12), "2".repeat(52));
        assert_eq!(store("content1", &first, &files).unwrap(), "aaaaaaaaaaaa");
        let name = store("content2", &second, &files).unwrap();
        assert_eq!(name, "aaaaaaaaaaaa2222");
        assert_eq!(name.len(), 16);
        assert_eq!(files.borrow()["aaaaaaaaaaaa"], "content1");
        assert_eq!(files.borrow()["aaaaaaaaaaaa2222"], "content2");
        // Same contents again: the existing names come back.
        assert_eq!(store("content1", &first, &files).unwrap(), "aaaaaaaaaaaa");
        assert_eq!(store("content2", &second, &files).unwrap(), "aaaaaaaaaaaa2222");
    }

    #[test]
    fn probes_every_fourth_length_then_gives_up() {
        let sha = sha256_hex(b"x");
        let probed = RefCell::new(Vec::new());
        let err = content_name(&sha, |name| {
            probed.borrow_mut().push(name.len());
            true
        })
        .unwrap_err();
        assert_eq!(*probed.borrow(), vec![12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64]);
        assert_eq!(err, ContentNameError::TooManyCollisions(sha.clone()));
        // Free only at the full length: the whole hash is the name.
        assert_eq!(content_name(&sha, |name| name.len() < 64).unwrap(), sha);
    }

    #[test]
    fn content_name_rejects_non_sha256() {
        let upper = "A".repeat(64);
        let short = "a".repeat(63);
        let non_hex = format!("{}g", "a".repeat(63));
        for sha in [upper.as_str(), short.as_str(), non_hex.as_str(), ""] {
            assert_eq!(content_name(sha, |_| false), Err(ContentNameError::NotSha256(sha.to_owned())), "{sha:?}");
        }
    }
}
