//! Tokenisation shared by the indexer and the query side, so both agree on
//! what a word is: case- and accent-insensitive, split on anything that is
//! not a letter or digit, words of one character dropped.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Shortest query token that also matches as a prefix ("caf" finds "café").
pub const MIN_PREFIX: usize = 3;
/// Longest prefix that is indexed: a longer query token matches whole
/// words only. Bounds the number of postings a long word produces.
pub const MAX_PREFIX: usize = 10;
/// At most this many distinct words of a product are searchable (name
/// first, then description, in order of appearance)...
pub const MAX_WORDS: usize = 120;
/// ...and at most this many index terms (words and their prefixes), each
/// one a posting item: this bounds the write cost of one product change.
pub const MAX_TERMS: usize = 400;
/// Keywords of one query, at most.
pub const MAX_QUERY_TOKENS: usize = 10;

/// Lower case without accents: NFD splits "é" into "e" and a combining
/// acute accent, which is dropped.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The distinct words of `text`, folded, in order of first appearance.
pub fn words(text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut out: Vec<String> = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        if word.chars().count() >= 2 && !out.iter().any(|w| w == word) {
            out.push(word.to_owned());
        }
    }
    out
}

/// The index terms of one word: the word itself and its prefixes of
/// `MIN_PREFIX..=MAX_PREFIX` characters (shorter than the word).
pub fn terms_of(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = vec![word.to_owned()];
    let longest = MAX_PREFIX.min(chars.len().saturating_sub(1));
    for len in MIN_PREFIX..=longest {
        out.push(chars[..len].iter().collect());
    }
    out
}

/// Whether query token `token` matches the (folded) word `word`: the same
/// word, or a prefix of it of `MIN_PREFIX..=MAX_PREFIX` characters. This is
/// exactly "`token` is one of `terms_of(word)`", so a posting lookup and an
/// in-memory check always agree.
pub fn matches(token: &str, word: &str) -> bool {
    if token == word {
        return true;
    }
    let len = token.chars().count();
    (MIN_PREFIX..=MAX_PREFIX).contains(&len) && word.starts_with(token)
}

/// What a product contributes to the index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexedText {
    /// Searchable words of the name.
    pub name_words: Vec<String>,
    /// Searchable words of the description not already in the name.
    pub text_words: Vec<String>,
    /// Every term of those words, distinct: one posting each.
    pub terms: Vec<String>,
}

impl IndexedText {
    /// Takes words in priority order while their terms fit the budget. A
    /// word is searchable only if all its terms are indexed, so lookups
    /// and in-memory matching agree on it.
    pub fn of(name: &str, description: &str) -> Self {
        let mut out = Self::default();
        let name_words = words(name);
        let text_words: Vec<String> = words(description)
            .into_iter()
            .filter(|w| !name_words.contains(w))
            .collect();
        for (word, in_name) in name_words
            .into_iter()
            .map(|w| (w, true))
            .chain(text_words.into_iter().map(|w| (w, false)))
        {
            if out.name_words.len() + out.text_words.len() >= MAX_WORDS {
                break;
            }
            let new_terms: Vec<String> = terms_of(&word)
                .into_iter()
                .filter(|t| !out.terms.contains(t))
                .collect();
            if out.terms.len() + new_terms.len() > MAX_TERMS {
                continue;
            }
            out.terms.extend(new_terms);
            if in_name {
                out.name_words.push(word);
            } else {
                out.text_words.push(word);
            }
        }
        out
    }
}

/// The keywords of a query: its words, at most [`MAX_QUERY_TOKENS`].
pub fn query_tokens(q: &str) -> Result<Vec<String>, &'static str> {
    let tokens = words(q);
    if tokens.is_empty() {
        return Err("must contain a word of at least 2 letters or digits");
    }
    if tokens.len() > MAX_QUERY_TOKENS {
        return Err("must have at most 10 words");
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Café CRÈME brûlée"), "cafe creme brulee");
        assert_eq!(fold("Ångström naïve Ñandú"), "angstrom naive nandu");
        // Precomposed and decomposed input fold alike.
        assert_eq!(fold("cafe\u{301}"), fold("caf\u{e9}"));
    }

    #[test]
    fn splits_on_punctuation_and_drops_one_char_words() {
        assert_eq!(
            words("Stoneware mug, 350 ml. (Hand-made!) a x"),
            ["stoneware", "mug", "350", "ml", "hand", "made"]
        );
        assert_eq!(words("mug MUG Mug"), ["mug"]);
        assert!(words("!!! - a").is_empty());
        // Non-Latin letters are letters too.
        assert_eq!(words("東京 tokyo"), ["東京", "tokyo"]);
    }

    #[test]
    fn terms_are_the_word_and_its_bounded_prefixes() {
        assert_eq!(terms_of("mug"), ["mug"]);
        assert_eq!(terms_of("cafe"), ["cafe", "caf"]);
        assert_eq!(terms_of("ab"), ["ab"]);
        let long = terms_of("internationalisation");
        assert_eq!(long.len(), 1 + (MAX_PREFIX - MIN_PREFIX + 1));
        assert!(long.contains(&"internatio".to_owned()));
        assert!(!long.contains(&"internation".to_owned()));
    }

    #[test]
    fn matching_is_exactly_membership_in_the_terms() {
        let words = ["cafe", "stoneware", "internationalisation", "ab", "東京都"];
        let tokens = [
            "ca",
            "caf",
            "cafe",
            "cafes",
            "sto",
            "stonewar",
            "stoneware",
            "internatio",
            "internation",
            "ab",
            "a",
            "東京",
            "東京都",
        ];
        for w in words {
            let terms = terms_of(w);
            for t in tokens {
                assert_eq!(
                    matches(t, w),
                    terms.contains(&t.to_owned()),
                    "token {t:?} word {w:?}"
                );
            }
        }
        assert!(matches("caf", "cafe"));
        assert!(!matches("ca", "cafe"));
    }

    #[test]
    fn indexed_text_prefers_the_name_and_respects_the_budget() {
        let text = IndexedText::of("Café Mug", "A mug for café au lait; stoneware.");
        assert_eq!(text.name_words, ["cafe", "mug"]);
        assert_eq!(text.text_words, ["for", "au", "lait", "stoneware"]);
        assert!(text.terms.contains(&"caf".to_owned()));
        assert!(text.terms.contains(&"stonewa".to_owned()));
        let distinct: std::collections::BTreeSet<_> = text.terms.iter().collect();
        assert_eq!(distinct.len(), text.terms.len());

        let long: String = (0..1000).map(|i| format!("word{i} ")).collect();
        let capped = IndexedText::of("Name", &long);
        assert!(capped.terms.len() <= MAX_TERMS);
        assert!(capped.name_words.len() + capped.text_words.len() <= MAX_WORDS);
        assert_eq!(capped.name_words, ["name"]);
        // Every searchable word has all of its terms indexed.
        for w in capped.name_words.iter().chain(&capped.text_words) {
            for t in terms_of(w) {
                assert!(capped.terms.contains(&t), "{t} of {w}");
            }
        }
    }

    #[test]
    fn query_tokens_are_validated() {
        assert_eq!(query_tokens("Café  MUG!").expect("ok"), ["cafe", "mug"]);
        assert!(query_tokens("").is_err());
        assert!(query_tokens("a ! ?").is_err());
        assert!(query_tokens("a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11").is_err());
    }
}
