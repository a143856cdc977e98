package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline stages the real tokenizers do not use (each Split behavior, invert, Digits, NFKC,
 * regex Replace, Metaspace's prepend schemes, fuse_unk, byte_fallback, ignore_merges,
 * lstrip/rstrip/single_word/normalized added tokens, BOS/EOS templates, a Sequence post-processor),
 * in small synthetic tokenizer.json files, each checked against Hugging Face's tokenizers on the
 * corpus.
 */
class HfPipelineFeaturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> WORDS = List.of("the", " the", "ing", " and", "hello", " world", "12", "123",
            "日本", " x", "ab", "abab", "--", "é");

    @TempDir
    Path dir;

    @Test
    void byteLevelWithEverySplitBehavior() throws IOException {
        ObjectNode root = byteLevelBase();
        root.set("normalizer", obj("type", "Sequence").set("normalizers", arr(
                obj("type", "NFKC"),
                obj("type", "Replace").put("content", " ").set("pattern", obj("Regex", " {3,}")))));
        root.set("pre_tokenizer", obj("type", "Sequence").set("pretokenizers", arr(
                split(obj("Regex", "\\p{N}+"), "MergedWithPrevious", false),
                split(obj("String", "-"), "MergedWithNext", false),
                split(obj("Regex", "[,;]"), "Contiguous", false),
                split(obj("String", "!"), "Removed", false),
                split(obj("Regex", "[\\p{Han}\\p{Hiragana}]+"), "Isolated", false),
                obj("type", "Digits").put("individual_digits", true),
                obj("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true))));
        template(root, "<bos>", "<eos>");
        compareWithHuggingFace(root, List.of("<bos>", "[LS]", "[RS]", "word", "ＡＢ", "<tool>"));
    }

    @Test
    void byteLevelWithInvertedSplitsAndIgnoreMerges() throws IOException {
        ObjectNode root = byteLevelBase();
        ((ObjectNode) root.get("model")).put("ignore_merges", true);
        root.set("pre_tokenizer", obj("type", "Sequence").set("pretokenizers", arr(
                split(obj("Regex", "\\s+"), "Removed", true),
                split(obj("Regex", "[a-z]+"), "Contiguous", true),
                split(obj("Regex", "\\d"), "MergedWithNext", true),
                obj("type", "Digits").put("individual_digits", false),
                obj("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false))));
        // As in Meta's Llama 3.x tokenizer.json: ByteLevel then a BOS template, in a Sequence.
        template(root, "<bos>", null);
        ObjectNode sequence = obj("type", "Sequence");
        sequence.set("processors", arr(obj("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", false).put("use_regex", true), (ObjectNode) root.get("post_processor")));
        root.set("post_processor", sequence);
        compareWithHuggingFace(root, List.of("<bos>", "word", "<tool>"));
    }

    @Test
    void sentencePieceStyleWithFusedUnknownsAndPrependFirst() throws IOException {
        ObjectNode root = metaspaceBase(false, true);
        root.set("pre_tokenizer", obj("type", "Metaspace").put("replacement", "\u2581")
                .put("prepend_scheme", "first").put("split", true));
        root.set("decoder", obj("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "first").put("split", true));
        template(root, "<s>", null);
        compareWithHuggingFace(root, List.of("<s>", "</s>"));
    }

    @Test
    void sentencePieceStyleWithByteFallbackAndPrependAlways() throws IOException {
        ObjectNode root = metaspaceBase(true, false);
        root.set("pre_tokenizer", obj("type", "Sequence").set("pretokenizers", arr(
                obj("type", "Digits").put("individual_digits", true),
                obj("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "always").put("split", false))));
        root.set("decoder", obj("type", "Sequence").set("decoders", arr(
                obj("type", "Replace").put("content", " ").set("pattern", obj("String", "\u2581")),
                obj("type", "ByteFallback"), obj("type", "Fuse"),
                obj("type", "Strip").put("content", " ").put("start", 1).put("stop", 0))));
        template(root, "<s>", "</s>");
        compareWithHuggingFace(root, List.of("<s>", "</s>"));
    }

    @Test
    void unsupportedPartsAreRefusedNamingTheField() throws IOException {
        ObjectNode root = byteLevelBase();
        root.set("pre_tokenizer", obj("type", "Sequence").set("pretokenizers", arr(obj("type", "UnicodeScripts"))));
        IOException e = assertThrows(IOException.class, () -> TokenizerJson.read(write(root), null));
        assertTrue(e.getMessage().contains("pre_tokenizer.pretokenizers[0].type 'UnicodeScripts'"), e.getMessage());

        ObjectNode wordPiece = byteLevelBase();
        ((ObjectNode) wordPiece.get("model")).put("type", "WordPiece");
        e = assertThrows(IOException.class, () -> TokenizerJson.read(write(wordPiece), null));
        assertTrue(e.getMessage().contains("model.type 'WordPiece'"), e.getMessage());

        ObjectNode badMerge = byteLevelBase();
        ((ArrayNode) badMerge.get("model").get("merges")).add("zz qq");
        e = assertThrows(IOException.class, () -> TokenizerJson.read(write(badMerge), null));
        assertTrue(e.getMessage().contains("model.merges") || e.getMessage().contains("not in the vocabulary"),
                e.getMessage());

        ObjectNode hugeId = byteLevelBase();
        ((ObjectNode) hugeId.get("model").get("vocab")).put("far", 2_000_000_000);
        e = assertThrows(IOException.class, () -> TokenizerJson.read(write(hugeId), null));
        assertTrue(e.getMessage().contains("token id 2000000000 is far beyond"), e.getMessage());

        ObjectNode badRegex = byteLevelBase();
        badRegex.set("pre_tokenizer", split(obj("Regex", "(unclosed"), "Isolated", false));
        e = assertThrows(IOException.class, () -> TokenizerJson.read(write(badRegex), null));
        assertTrue(e.getMessage().contains("pre_tokenizer.pattern"), e.getMessage());
    }

    private void compareWithHuggingFace(ObjectNode root, List<String> specials) throws IOException {
        Path file = write(root);
        BpeTokenizer tok = TokenizerJson.read(file, null);
        List<String> texts = new ArrayList<>(TokenizerCorpus.texts(specials));
        texts.addAll(List.of("word words sword word.", "a[LS]  b   [RS]c  [LS][RS] ", " [LS]x", "ＡＢ AB ab",
                "1-2-3--4,,5;;6!!7", "the theing and hello world 123 12 1 日本語 ひらがな", "  <tool>  <tool>x<tool>"));
        List<String> mismatches = new ArrayList<>();
        try (HfOracle oracle = HfOracle.load(file)) {
            for (String text : texts) {
                for (boolean special : new boolean[] {true, false}) {
                    int[] want = oracle.encode(text, special);
                    int[] got = tok.encode(text, special, true);
                    if (!Arrays.equals(want, got)) {
                        mismatches.add(text + "\n  hf:      " + Arrays.toString(want) + "\n  tessera: " + Arrays.toString(got));
                    }
                }
                int[] ids = tok.encode(text, true, true);
                String want = oracle.decode(ids, true);
                if (!want.equals(tok.decode(ids))) {
                    mismatches.add("decode of " + text + ": hf '" + want + "' tessera '" + tok.decode(ids) + "'");
                }
            }
        }
        assertEquals(List.of(), mismatches, mismatches.size() + " of " + texts.size() + " texts differ");
    }

    private Path write(ObjectNode root) throws IOException {
        Path file = Files.createTempFile(dir, "tokenizer", ".json");
        Files.writeString(file, JSON.writeValueAsString(root));
        return file;
    }

    /** All 256 byte characters, merges building {@link #WORDS}, and added tokens of every kind. */
    private static ObjectNode byteLevelBase() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), vocab.size());
        ArrayNode merges = JSON.createArrayNode();
        for (String word : WORDS) {
            chainMerges(ByteLevelAlphabet.encode(word), vocab, merges);
        }
        ArrayNode added = arr(
                added(vocab.size(), "<bos>", true, false, false, false, false),
                added(vocab.size() + 1, "<eos>", true, false, false, false, false),
                added(vocab.size() + 2, "[LS]", true, true, false, false, false),
                added(vocab.size() + 3, "[RS]", true, false, true, false, false),
                added(vocab.size() + 4, "word", false, false, false, true, true),
                added(vocab.size() + 5, "ＡＢ", false, false, false, false, true),
                added(vocab.size() + 6, "<tool>", false, true, true, false, false));
        ObjectNode root = obj("version", "1.0");
        root.set("added_tokens", added);
        root.set("model", model(vocab, merges).put("byte_fallback", false).put("fuse_unk", false));
        root.set("decoder", obj("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true));
        return root;
    }

    /** SentencePiece-style: U+2581, ASCII letters, optionally byte tokens, an unknown token. */
    private static ObjectNode metaspaceBase(boolean byteFallback, boolean fuseUnk) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("<unk>", 0);
        vocab.put("<s>", 1);
        vocab.put("</s>", 2);
        if (byteFallback) {
            for (int b = 0; b < 256; b++) vocab.put(Vocabulary.bytePiece(b), vocab.size());
        }
        vocab.putIfAbsent("\u2581", vocab.size());
        for (char c = 'a'; c <= 'z'; c++) vocab.putIfAbsent(String.valueOf(c), vocab.size());
        for (char c = '0'; c <= '9'; c++) vocab.putIfAbsent(String.valueOf(c), vocab.size());
        ArrayNode merges = JSON.createArrayNode();
        for (String word : List.of("\u2581the", "ing", "\u2581and", "\u2581hello", "\u2581world", "ab", "abab")) {
            chainMerges(word, vocab, merges);
        }
        ObjectNode root = obj("version", "1.0");
        root.set("added_tokens", arr(added(0, "<unk>", true, false, false, false, false),
                added(1, "<s>", true, false, false, false, false), added(2, "</s>", true, false, false, false, false)));
        root.set("model", model(vocab, merges).put("unk_token", "<unk>").put("byte_fallback", byteFallback)
                .put("fuse_unk", fuseUnk));
        return root;
    }

    private static void chainMerges(String word, Map<String, Integer> vocab, ArrayNode merges) {
        String left = word.substring(0, Character.charCount(word.codePointAt(0)));
        for (int i = left.length(); i < word.length(); ) {
            String right = word.substring(i, i + Character.charCount(word.codePointAt(i)));
            vocab.putIfAbsent(right, vocab.size());
            String merged = left + right;
            if (!vocab.containsKey(merged)) {
                vocab.put(merged, vocab.size());
                merges.add(left + " " + right);
            }
            left = merged;
            i += right.length();
        }
    }

    private static ObjectNode model(Map<String, Integer> vocab, ArrayNode merges) {
        ObjectNode model = obj("type", "BPE");
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        model.set("merges", merges);
        return model;
    }

    private static void template(ObjectNode root, String bos, String eos) {
        ArrayNode single = arr(special(bos), obj("Sequence", null).set("Sequence", obj("id", "A").put("type_id", 0)));
        ObjectNode specials = JSON.createObjectNode();
        int bosId = idOf(root, bos);
        specials.set(bos, specialEntry(bos, bosId));
        if (eos != null) {
            single.add(special(eos));
            specials.set(eos, specialEntry(eos, idOf(root, eos)));
        }
        ObjectNode post = obj("type", "TemplateProcessing");
        post.set("single", single);
        post.set("pair", single);
        post.set("special_tokens", specials);
        root.set("post_processor", post);
    }

    private static ObjectNode specialEntry(String name, int id) {
        ObjectNode n = obj("id", name);
        n.set("ids", JSON.createArrayNode().add(id));
        n.set("tokens", JSON.createArrayNode().add(name));
        return n;
    }

    private static ObjectNode special(String name) {
        ObjectNode n = JSON.createObjectNode();
        n.set("SpecialToken", obj("id", name).put("type_id", 0));
        return n;
    }

    private static int idOf(ObjectNode root, String content) {
        for (var t : root.get("added_tokens")) {
            if (t.get("content").asText().equals(content)) return t.get("id").asInt();
        }
        throw new IllegalArgumentException(content);
    }

    private static ObjectNode added(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                                    boolean singleWord, boolean normalized) {
        return obj("content", content).put("id", id).put("special", special).put("lstrip", lstrip)
                .put("rstrip", rstrip).put("single_word", singleWord).put("normalized", normalized);
    }

    private static ObjectNode split(ObjectNode pattern, String behavior, boolean invert) {
        ObjectNode n = obj("type", "Split").put("behavior", behavior).put("invert", invert);
        n.set("pattern", pattern);
        return n;
    }

    private static ObjectNode obj(String key, String value) {
        ObjectNode n = JSON.createObjectNode();
        if (value != null) n.put(key, value);
        return n;
    }

    private static ArrayNode arr(ObjectNode... items) {
        ArrayNode a = JSON.createArrayNode();
        for (ObjectNode i : items) a.add(i);
        return a;
    }
}
