package io.tessera.server;

import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.engine.Pooling;

/**
 * What the server needs to know of the model its engine runs.
 *
 * @param name the model id clients send ({@code --served-model-name}, else the file name)
 * @param tokenizer the model's tokenizer
 * @param contextLength tokens of prompt and output together at most
 * @param chatTemplate the template chat messages are rendered with
 * @param pooling how {@code /v1/embeddings} pools the final hidden states
 */
public record ServedModel(String name, Tokenizer tokenizer, int contextLength, ChatTemplate chatTemplate,
                          Pooling pooling) {

    public ServedModel {
        pooling = pooling == null ? Pooling.DEFAULT : pooling;
    }

    /**
     * A served model whose chat template is {@code template} (the model's {@code tokenizer.chat_template},
     * or null for the documented fallback), pooling embeddings by {@link Pooling#DEFAULT}.
     */
    public static ServedModel of(String name, Tokenizer tokenizer, int contextLength, String template) {
        // a tokenizer may name no BOS (Qwen's) or no EOS: the template then sees an empty string
        String bos = tokenizer.bos() >= 0 ? tokenizer.piece(tokenizer.bos()) : "";
        String eos = tokenizer.eos() >= 0 ? tokenizer.piece(tokenizer.eos()) : "";
        return new ServedModel(name, tokenizer, contextLength, new ChatTemplate(template, bos, eos), Pooling.DEFAULT);
    }

    public ServedModel withPooling(Pooling p) {
        return new ServedModel(name, tokenizer, contextLength, chatTemplate, p);
    }

    /**
     * The tokens of a rendered chat prompt: a model's own template writes its special tokens as text
     * (parsed back into their ids, nothing added); the fallback template writes none, so BOS is added.
     */
    public int[] encodeChatPrompt(String rendered) {
        return chatTemplate.isFallback() ? tokenizer.encode(rendered, true, false)
                : tokenizer.encode(rendered, false, true);
    }
}
