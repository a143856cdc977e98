package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The SentencePiece tokenizer of a Hugging Face checkpoint directory ({@code tokenizer.model},
 * with {@code added_tokens.json} and tokenizer_config.json's {@code added_tokens_decoder}) as the
 * GGUF metadata llama.cpp's converter writes for it ({@code _set_vocab_sentencepiece}): model
 * {@code llama}, pre-tokenizer {@code default}, one token per embedding row with its score and
 * type (unknown, control, unused and byte pieces keep their type, every other piece is normal;
 * ids the model file does not fill are {@code [PADn]}, unused, score -10000), added tokens scored
 * -1000 as control tokens when special or looking special, else user-defined; then the special
 * ids, their add flags and the chat template ({@link HfSpecialVocab}).
 */
public final class HfSentencePieceGgufVocabulary implements GgufTokenizerMetadata {

    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    private final HfSpecialVocab special;
    private final Boolean addSpacePrefix;

    private HfSentencePieceGgufVocabulary(String[] tokens, float[] scores, int[] types, HfSpecialVocab special,
            Boolean addSpacePrefix) {
        this.tokens = tokens;
        this.scores = scores;
        this.types = types;
        this.special = special;
        this.addSpacePrefix = addSpacePrefix;
    }

    /**
     * @param vocabSize the model's embedding rows (config.json {@code vocab_size})
     * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix} to write, or null for none
     */
    public static HfSentencePieceGgufVocabulary read(Path dir, int vocabSize, Boolean addSpacePrefix)
            throws IOException {
        List<SentencePieceModelFile.Piece> pieces = SentencePieceModelFile.read(dir.resolve("tokenizer.model"));
        String[] tokens = new String[vocabSize];
        float[] scores = new float[vocabSize];
        int[] types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            if (id < pieces.size()) {
                SentencePieceModelFile.Piece p = pieces.get(id);
                tokens[id] = p.text();
                scores[id] = p.score();
                // llama.cpp asks the processor for unknown, control, unused and byte; user-defined reads as normal
                types[id] = p.type() == Vocabulary.USER_DEFINED ? Vocabulary.NORMAL : p.type();
            } else {
                tokens[id] = "[PAD" + id + "]";
                scores[id] = -10000f;
                types[id] = Vocabulary.UNUSED;
            }
        }
        Path addedFile = dir.resolve("added_tokens.json");
        if (Files.isRegularFile(addedFile)) {
            for (Map.Entry<String, JsonNode> e : HfSpecialVocab.readJson(addedFile).properties()) {
                int id = e.getValue().asInt(-1);
                if (id >= 0 && id < vocabSize) {
                    tokens[id] = e.getKey();
                    scores[id] = -1000f;
                    types[id] = Vocabulary.USER_DEFINED;
                }
            }
        }
        Path configFile = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(configFile)) {
            for (Map.Entry<String, JsonNode> e : HfSpecialVocab.readJson(configFile).path("added_tokens_decoder")
                    .properties()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException bad) {
                    throw new IOException(configFile + ": added_tokens_decoder key '" + e.getKey() + "' is not an id");
                }
                String content = e.getValue().path("content").asText(null);
                if (id < 0 || id >= vocabSize || content == null || content.isEmpty()) {
                    continue;
                }
                boolean control = e.getValue().path("special").asBoolean(false)
                        || HfByteLevelGgufVocabulary.looksSpecial(content);
                tokens[id] = control ? content : content.replace(Vocabulary.SPM_SPACE, ' ');
                types[id] = control ? Vocabulary.CONTROL : Vocabulary.USER_DEFINED;
                scores[id] = -1000f;
            }
        }
        Path json = dir.resolve("tokenizer.json");
        JsonNode tokenizer = Files.isRegularFile(json) ? HfSpecialVocab.readJson(json) : null;
        return new HfSentencePieceGgufVocabulary(tokens, scores, types, HfSpecialVocab.read(dir, tokenizer, vocabSize),
                addSpacePrefix);
    }

    @Override
    public int size() {
        return tokens.length;
    }

    @Override
    public void write(GgufWriter w) {
        w.putString("tokenizer.ggml.model", "llama");
        w.putString("tokenizer.ggml.pre", "default");
        w.putStringArray("tokenizer.ggml.tokens", tokens);
        w.putFloatArray("tokenizer.ggml.scores", scores);
        w.putIntArray("tokenizer.ggml.token_type", types);
        special.write(w);
        if (addSpacePrefix != null) {
            w.putBool("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        }
    }
}
