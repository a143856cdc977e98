package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The byte-level BPE tokenizer of a Hugging Face checkpoint directory ({@code tokenizer.json},
 * {@code tokenizer_config.json}, {@code config.json}) as the GGUF metadata llama.cpp's converter
 * writes for it ({@code _set_vocab_gpt2} and {@code SpecialVocab}):
 * <ul>
 *   <li>{@code tokenizer.ggml.model} {@code gpt2}, {@code pre} as {@link LlamaCppPreTokenizerNames}
 *       recognises it;
 *   <li>one token per embedding row ({@code vocab_size} of config.json): ids no token has become
 *       {@code [PADn]} of type unused; added tokens are control tokens when special or looking
 *       special ({@code <|...|>}), else user-defined; the rest normal;
 *   <li>the merges in rank order (pairs of the newer format joined by a space, spaces inside
 *       them written as U+0120);
 *   <li>the special ids, their add flags and the chat template ({@link HfSpecialVocab}).
 * </ul>
 * Not carried over, as llama.cpp does not: the normalizer and the added tokens' lstrip/rstrip
 * flags.
 */
public final class HfByteLevelGgufVocabulary implements GgufTokenizerMetadata {

    private final String pre;
    private final String[] tokens;
    private final int[] types;
    private final String[] merges;
    private final HfSpecialVocab special;
    private final Boolean addSpacePrefix;

    private HfByteLevelGgufVocabulary(String pre, String[] tokens, int[] types, String[] merges,
            HfSpecialVocab special, Boolean addSpacePrefix) {
        this.pre = pre;
        this.tokens = tokens;
        this.types = types;
        this.merges = merges;
        this.special = special;
        this.addSpacePrefix = addSpacePrefix;
    }

    /** Whether the directory's tokenizer.json is a byte-level BPE (not SentencePiece-style with byte fallback). */
    public static boolean isByteLevel(Path dir) throws IOException {
        JsonNode root = HfSpecialVocab.readJson(dir.resolve("tokenizer.json"));
        JsonNode model = root.path("model");
        return model.path("type").asText("BPE").equals("BPE") && !model.path("byte_fallback").asBoolean(false)
                && root.path("decoder").path("type").asText("").equals("ByteLevel");
    }

    /**
     * Reads the directory's tokenizer for a model of {@code vocabSize} embedding rows.
     *
     * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix} to write, or null for none
     */
    public static HfByteLevelGgufVocabulary read(Path dir, int vocabSize, Boolean addSpacePrefix)
            throws IOException {
        Path json = dir.resolve("tokenizer.json");
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode root = HfSpecialVocab.readJson(json);
        if (!isByteLevel(dir)) {
            throw new IOException(json + ": not a byte-level BPE tokenizer (its model uses byte_fallback or its "
                    + "decoder is not ByteLevel); only byte-level vocabularies are converted to GGUF so far");
        }
        BpeTokenizer tokenizer = TokenizerJson.read(json, configFile);
        String pre;
        try {
            pre = LlamaCppPreTokenizerNames.recognise(tokenizer, root.path("pre_tokenizer"));
        } catch (IllegalArgumentException e) {
            throw new IOException(json + ": " + e.getMessage(), e);
        }

        Map<Integer, String> byId = new HashMap<>();
        root.path("model").path("vocab").properties().forEach(e -> byId.put(e.getValue().asInt(), e.getKey()));
        Map<String, JsonNode> added = new LinkedHashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            String content = t.path("content").asText();
            byId.put(t.path("id").asInt(), content);
            added.putIfAbsent(content, t);
        }
        int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        if (maxId >= vocabSize) {
            throw new IOException(json + ": token id " + maxId + " is beyond the model's " + vocabSize
                    + " embedding rows (config.json vocab_size)");
        }
        String[] tokens = new String[vocabSize];
        int[] types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            String token = byId.get(id);
            if (token == null) {
                tokens[id] = "[PAD" + id + "]";
                types[id] = Vocabulary.UNUSED;
            } else if (added.containsKey(token)) {
                boolean control = added.get(token).path("special").asBoolean(false) || looksSpecial(token);
                tokens[id] = control ? token : token.replace(Vocabulary.SPM_SPACE, ' ');
                types[id] = control ? Vocabulary.CONTROL : Vocabulary.USER_DEFINED;
            } else {
                tokens[id] = token;
                types[id] = Vocabulary.NORMAL;
            }
        }
        return new HfByteLevelGgufVocabulary(pre, tokens, types, merges(json, root.path("model").path("merges")),
                HfSpecialVocab.read(dir, root, Integer.MAX_VALUE), addSpacePrefix);
    }

    /** The pre-tokenizer name written ({@code tokenizer.ggml.pre}). */
    public String pre() {
        return pre;
    }

    @Override
    public int size() {
        return tokens.length;
    }

    @Override
    public void write(GgufWriter w) {
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", pre);
        w.putStringArray("tokenizer.ggml.tokens", tokens);
        w.putIntArray("tokenizer.ggml.token_type", types);
        w.putStringArray("tokenizer.ggml.merges", merges);
        special.write(w);
        if (addSpacePrefix != null) {
            w.putBool("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        }
    }

    /** Tokens some models leave unmarked that llama.cpp's converter treats as control tokens. */
    static boolean looksSpecial(String token) {
        return token.equals("<pad>") || token.equals("<mask>") || token.equals("<2mass>") || token.equals("[@BOS@]")
                || (token.startsWith("<|") && token.endsWith("|>"))
                || (token.startsWith("<\uFF5C") && token.endsWith("\uFF5C>"))
                || (token.startsWith("<unused") && token.endsWith(">"));
    }

    private static String[] merges(Path json, JsonNode merges) throws IOException {
        String[] lines = new String[merges.size()];
        for (int i = 0; i < lines.length; i++) {
            JsonNode m = merges.get(i);
            if (m.isTextual()) {
                lines[i] = m.asText();
            } else if (m.isArray() && m.size() == 2) {
                // the newer format allows spaces inside a part; GGUF separates parts by a space
                lines[i] = m.get(0).asText().replace(' ', '\u0120') + " " + m.get(1).asText().replace(' ', '\u0120');
            } else {
                throw new IOException(json + ": model.merges[" + i + "] is neither \"a b\" nor a pair");
            }
        }
        return lines;
    }
}
