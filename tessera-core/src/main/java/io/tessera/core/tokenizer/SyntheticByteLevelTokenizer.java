package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A made-up byte-level BPE tokenizer of any size, written as a Hugging Face {@code tokenizer.json}
 * and {@code tokenizer_config.json}, for synthetic checkpoints whose real tokenizer is not at hand:
 * BOS and EOS ({@code <|bos|>}, {@code <|eos|>}), GPT-2's 256 byte characters, then pieces grown
 * one frequent letter (or space) at a time, each with the merge that makes it. Any text encodes
 * (every byte is a token) and round-trips.
 */
public final class SyntheticByteLevelTokenizer {

    public static final String BOS = "<|bos|>";
    public static final String EOS = "<|eos|>";

    /** A plain chat template using only the BOS token, so that any vocabulary can render it. */
    public static final String CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}{{ message['role'] }}: "
            + "{{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

    private static final String GROWTH = " etaoinshrdlucmfwypvbgkjqxz";
    private static final int FIRST_PIECE = 2 + 256;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SyntheticByteLevelTokenizer() {
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} of {@code vocabSize} tokens into {@code dir}. */
    public static void write(Path dir, int vocabSize) throws IOException {
        if (vocabSize < FIRST_PIECE) {
            throw new IllegalArgumentException("a byte-level vocabulary needs at least " + FIRST_PIECE
                    + " tokens, got " + vocabSize);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), 2 + b);
        }
        List<String> merges = new ArrayList<>();
        List<String> grown = new ArrayList<>();
        for (char c : GROWTH.toCharArray()) {
            grown.add(String.valueOf(ByteLevelAlphabet.charOf(c)));
        }
        // Piece k's prefix was made before it and is extended by each growth character in turn;
        // two pieces of one length differ in their prefix or their last character, so all are new.
        for (int from = 0; vocab.size() + 2 < vocabSize; from++) {
            String prefix = grown.get(from);
            for (int i = 0; i < GROWTH.length() && vocab.size() + 2 < vocabSize; i++) {
                String last = String.valueOf(ByteLevelAlphabet.charOf(GROWTH.charAt(i)));
                String piece = prefix + last;
                vocab.put(piece, vocab.size() + 2);
                merges.add(prefix + " " + last);
                grown.add(piece);
            }
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        addSpecial(added, 0, BOS);
        addSpecial(added, 1, EOS);
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel());
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addAll(single.deepCopy());
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bosEntry = post.putObject("special_tokens").putObject(BOS);
        bosEntry.put("id", BOS);
        bosEntry.putArray("ids").add(0);
        bosEntry.putArray("tokens").add(BOS);
        root.set("decoder", byteLevel());
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);

        ObjectNode config = JSON.createObjectNode();
        config.put("bos_token", BOS);
        config.put("eos_token", EOS);
        config.put("add_bos_token", true);
        config.put("chat_template", CHAT_TEMPLATE);
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
    }

    private static void addSpecial(ArrayNode added, int id, String content) {
        added.addObject().put("id", id).put("content", content).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
    }

    private static ObjectNode byteLevel() {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", false);
        n.put("trim_offsets", true);
        n.put("use_regex", true);
        return n;
    }
}
