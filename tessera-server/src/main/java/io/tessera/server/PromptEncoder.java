package io.tessera.server;

import io.tessera.core.tokenizer.Tokenizer;

/**
 * Prompt text to token ids, refusing text too long to fit the context whatever its tokens before
 * spending time on encoding it (the body size limit alone lets megabytes through).
 */
final class PromptEncoder {

    private final ServedModel model;
    /** Longest text a prompt within the context can have: the context times the longest token piece. */
    private final long maxPromptChars;

    PromptEncoder(ServedModel model) {
        this.model = model;
        this.maxPromptChars = (long) model.contextLength() * longestPiece(model.tokenizer());
    }

    /** A token decodes to at most as many characters as its piece has. */
    private static int longestPiece(Tokenizer tok) {
        int longest = 1;
        for (int id = 0; id < tok.vocabSize(); id++) {
            String p = tok.piece(id);
            longest = Math.max(longest, p == null ? 0 : p.length());
        }
        return longest;
    }

    /** Refuses text that cannot fit the context, naming {@code param}. */
    void checkPromptChars(String text, String param) {
        if (text.length() > maxPromptChars) {
            throw ApiException.badParam(param, "This model's maximum context length is " + model.contextLength()
                    + " tokens, and your " + param + " of " + text.length() + " characters cannot fit in it. Please"
                    + " reduce the length of the " + param + ".");
        }
    }

    /** A rendered chat prompt (the {@code messages} field). */
    int[] encodeChat(String prompt) {
        checkPromptChars(prompt, "messages");
        return model.encodeChatPrompt(prompt);
    }

    /** A completion prompt, with the tokenizer's leading special tokens. */
    int[] encodePrompt(String text) {
        return encode(text, "prompt", true);
    }

    /** Text of the field {@code param}, with or without the tokenizer's special tokens. */
    int[] encode(String text, String param, boolean addSpecial) {
        checkPromptChars(text, param);
        return model.tokenizer().encode(text, addSpecial, false);
    }
}
