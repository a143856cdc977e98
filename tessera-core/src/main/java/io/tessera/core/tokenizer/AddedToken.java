package io.tessera.core.tokenizer;

/**
 * A token matched literally in the text before the model sees it (tokenizer.json's
 * {@code added_tokens}): special ones (BOS, chat markers...) decode to nothing and are matched
 * only when special tokens are parsed; the others always.
 *
 * @param lstrip the match takes the white space on its left with it
 * @param rstrip the match takes the white space on its right with it
 * @param singleWord matches only where it is not part of a longer word
 * @param normalized matched in the normalized text (against its normalized content) instead of the raw text
 */
public record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                         boolean singleWord, boolean normalized) {
    public AddedToken {
        if (content == null || content.isEmpty()) {
            throw new IllegalArgumentException("added token " + id + " has no content");
        }
        if (id < 0) {
            throw new IllegalArgumentException("added token '" + content + "' has a negative id " + id);
        }
    }
}
