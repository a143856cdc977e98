package io.tessera.core.tokenizer;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer stored in a GGUF file's {@code tokenizer.ggml.*} metadata: model {@code llama}
 * (SentencePiece BPE, see {@link GgufVocabulary}) or {@code gpt2} (byte-level BPE: tokens written
 * in GPT-2's byte alphabet, {@code merges} in rank order, {@code token_type}, and the
 * pre-tokenizer named by {@code pre}). Control tokens become special added tokens, user-defined
 * ones plain added tokens, as llama.cpp treats them.
 */
public final class GgufTokenizers {

    private GgufTokenizers() {
    }

    public static Tokenizer read(GgufMetadata md) throws ModelFormatException {
        String model = md.getString("tokenizer.ggml.model");
        return switch (model) {
            case "llama" -> new SentencePieceBpeTokenizer(GgufVocabulary.read(md));
            case "gpt2" -> readBpe(md);
            default -> throw new ModelFormatException(md.file(), "tokenizer.ggml.model", "tokenizer model '" + model
                    + "' is not supported (supported: llama, the SentencePiece BPE of Llama 1/2 and Mistral; "
                    + "gpt2, the byte-level BPE of Llama 3, Qwen, DeepSeek and others)");
        };
    }

    /** The number of tokens the metadata declares, without building the tokenizer. */
    public static int vocabularySize(GgufMetadata md) throws ModelFormatException {
        return md.getStringArray("tokenizer.ggml.tokens").length;
    }

    private static BpeTokenizer readBpe(GgufMetadata md) throws ModelFormatException {
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        int[] types = md.findIntArray("tokenizer.ggml.token_type").orElse(null);
        if (types != null && types.length != tokens.length) {
            throw new ModelFormatException(md.file(), "tokenizer.ggml.token_type", types.length
                    + " entries for " + tokens.length + " tokens");
        }
        String[] mergeLines = md.getStringArray("tokenizer.ggml.merges");
        String pre = md.getString("tokenizer.ggml.pre", "default");
        PreTokenizer preTokenizer;
        try {
            preTokenizer = GgufBpePreTokenizers.forName(pre);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(md.file(), "tokenizer.ggml.pre", e.getMessage());
        }
        Map<String, Integer> vocab = HashMap.newHashMap(tokens.length);
        List<AddedToken> added = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            int type = types == null ? Vocabulary.NORMAL : types[id];
            if ((type == Vocabulary.CONTROL || type == Vocabulary.USER_DEFINED) && !tokens[id].isEmpty()) {
                added.add(new AddedToken(id, tokens[id], type == Vocabulary.CONTROL, false, false, false, false));
            } else {
                vocab.putIfAbsent(tokens[id], id);
            }
        }
        List<String[]> merges = new ArrayList<>(mergeLines.length);
        for (int i = 0; i < mergeLines.length; i++) {
            // As llama.cpp reads them: the first space after the first character separates the parts.
            int space = mergeLines[i].indexOf(' ', 1);
            if (space < 0) {
                throw new ModelFormatException(md.file(), "tokenizer.ggml.merges", "merge " + i + " '"
                        + mergeLines[i] + "' is not two tokens separated by a space");
            }
            merges.add(new String[] {mergeLines[i].substring(0, space), mergeLines[i].substring(space + 1)});
        }
        int bos = md.getInt("tokenizer.ggml.bos_token_id", -1);
        int eos = md.getInt("tokenizer.ggml.eos_token_id", -1);
        boolean llama3 = GgufBpePreTokenizers.LLAMA3_NAMES.contains(pre);
        boolean addBos = md.getBoolean("tokenizer.ggml.add_bos_token", llama3);
        boolean addEos = md.getBoolean("tokenizer.ggml.add_eos_token", false);
        try {
            BpeModel bpe = new BpeModel(vocab, merges, null, false, false, llama3, null, null);
            return new BpeTokenizer(bpe, null, preTokenizer, added,
                    addBos && bos >= 0 ? new int[] {bos} : new int[0],
                    addEos && eos >= 0 ? new int[] {eos} : new int[0],
                    new TokenDecoder(List.of(new TokenDecoder.ByteLevel()), false), bos, eos);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(md.file(), "tokenizer.ggml.*", e.getMessage());
        }
    }

    /**
     * Stores a byte-level BPE tokenizer as GGUF metadata (model {@code gpt2}), as llama.cpp's
     * converter does: every id's token, its type (special added tokens are control tokens, other
     * added tokens user-defined), the merges, and {@code pre} naming the pre-tokenizer.
     */
    public static void writeBpe(BpeTokenizer tokenizer, String pre, GgufWriter w) {
        GgufBpePreTokenizers.regexes(pre); // refuses an unknown name before anything is written
        int n = tokenizer.vocabSize();
        String[] tokens = new String[n];
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            AddedToken added = tokenizer.addedToken(id);
            tokens[id] = tokenizer.piece(id);
            types[id] = added == null ? (tokens[id].isEmpty() ? Vocabulary.UNUSED : Vocabulary.NORMAL)
                    : added.special() ? Vocabulary.CONTROL : Vocabulary.USER_DEFINED;
        }
        List<String[]> merges = tokenizer.model().merges();
        String[] mergeLines = new String[merges.size()];
        for (int i = 0; i < mergeLines.length; i++) {
            mergeLines[i] = merges.get(i)[0] + " " + merges.get(i)[1];
        }
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", pre);
        w.putStringArray("tokenizer.ggml.tokens", tokens);
        w.putIntArray("tokenizer.ggml.token_type", types);
        w.putStringArray("tokenizer.ggml.merges", mergeLines);
        if (tokenizer.bos() >= 0) w.putUInt32("tokenizer.ggml.bos_token_id", tokenizer.bos());
        if (tokenizer.eos() >= 0) w.putUInt32("tokenizer.ggml.eos_token_id", tokenizer.eos());
        int[] prefix = tokenizer.templatePrefix();
        int[] suffix = tokenizer.templateSuffix();
        w.putBool("tokenizer.ggml.add_bos_token", prefix.length > 0 && prefix[0] == tokenizer.bos());
        w.putBool("tokenizer.ggml.add_eos_token", suffix.length > 0 && suffix[suffix.length - 1] == tokenizer.eos());
    }
}
