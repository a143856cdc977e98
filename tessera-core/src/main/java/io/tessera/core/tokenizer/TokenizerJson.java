package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a Hugging Face {@code tokenizer.json} (and, when present, the {@code tokenizer_config.json}
 * beside it, for the BOS and EOS tokens) into a {@link BpeTokenizer}.
 *
 * <p>Supported: model BPE; normalizers NFC, NFKC, NFD, NFKD, Lowercase, Strip, Replace, Prepend,
 * Sequence; pre-tokenizers Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit,
 * Punctuation, Sequence; post-processors TemplateProcessing, ByteLevel, RobertaProcessing,
 * BertProcessing, Sequence; decoders ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
 * Sequence. Anything else is refused with an error naming the field, as is a malformed file.
 */
public final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerJson() {
    }

    /** Reads {@code tokenizer.json}; {@code config} is tokenizer_config.json, or null. */
    public static BpeTokenizer read(Path tokenizerJson, Path config) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new IOException(tokenizerJson + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode cfg = null;
        if (config != null && Files.isRegularFile(config)) {
            try {
                cfg = JSON.readTree(config.toFile());
            } catch (IOException e) {
                throw new IOException(config + ": not valid JSON: " + e.getMessage(), e);
            }
        }
        try {
            return parse(root, cfg);
        } catch (IllegalArgumentException e) {
            throw new IOException(tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Reads a model directory's tokenizer.json and tokenizer_config.json. */
    public static BpeTokenizer readDirectory(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new IOException(dir + ": no tokenizer.json in this directory");
        }
        return read(json, dir.resolve("tokenizer_config.json"));
    }

    static BpeTokenizer parse(JsonNode root, JsonNode config) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("the tokenizer is not a JSON object");
        }
        JsonNode modelNode = root.path("model");
        BpeModel model = model(modelNode);
        Normalizer normalizer = normalizer(root.path("normalizer"), "normalizer");
        PreTokenizer preTokenizer = preTokenizer(root.path("pre_tokenizer"), "pre_tokenizer");
        List<AddedToken> added = addedTokens(root.path("added_tokens"), model);
        Map<String, Integer> ids = new HashMap<>(model.vocab());
        for (AddedToken t : added) ids.put(t.content(), t.id());
        IntList prefix = new IntList(4);
        IntList suffix = new IntList(4);
        postProcessor(root.path("post_processor"), "post_processor", ids, prefix, suffix);
        TokenDecoder decoder = decoder(root.path("decoder"));
        int bos = configToken(config, "bos_token", ids);
        if (bos == -2) bos = prefix.size() > 0 ? prefix.get(0) : -1;
        int eos = configToken(config, "eos_token", ids);
        if (eos == -2) eos = -1;
        return new BpeTokenizer(model, normalizer, preTokenizer, added, prefix.toArray(), suffix.toArray(),
                decoder, bos, eos);
    }

    /** The id of a token named in tokenizer_config.json; -2 if not named, -1 if named as null. */
    private static int configToken(JsonNode config, String field, Map<String, Integer> ids) {
        if (config == null || !config.has(field)) return -2;
        JsonNode v = config.get(field);
        if (v.isNull()) return -1;
        String content = v.isObject() ? v.path("content").asText(null) : v.isTextual() ? v.asText() : null;
        if (content == null) {
            throw new IllegalArgumentException("tokenizer_config.json: " + field + " is neither a string nor {\"content\": ...}");
        }
        Integer id = ids.get(content);
        if (id == null) {
            throw new IllegalArgumentException("tokenizer_config.json: " + field + " '" + content + "' is not a token");
        }
        return id;
    }

    private static BpeModel model(JsonNode m) {
        if (!m.isObject()) {
            throw new IllegalArgumentException("model: missing");
        }
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new IllegalArgumentException("model.type '" + type + "' is not supported (only BPE is)");
        }
        JsonNode dropout = m.path("dropout");
        if (!dropout.isMissingNode() && !dropout.isNull() && dropout.asDouble() != 0) {
            throw new IllegalArgumentException("model.dropout " + dropout + " is not supported (BPE dropout is for training)");
        }
        JsonNode vocabNode = m.path("vocab");
        if (!vocabNode.isObject()) {
            throw new IllegalArgumentException("model.vocab: missing or not an object");
        }
        Map<String, Integer> vocab = HashMap.newHashMap(vocabNode.size());
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new IllegalArgumentException("model.vocab['" + e.getKey() + "']: id " + e.getValue()
                        + " is not a non-negative integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        JsonNode mergesNode = m.path("merges");
        List<String[]> merges = new ArrayList<>(mergesNode.size());
        for (int i = 0; i < mergesNode.size(); i++) {
            JsonNode merge = mergesNode.get(i);
            String[] parts;
            if (merge.isTextual()) {
                parts = merge.asText().split(" ", -1);
            } else if (merge.isArray()) {
                parts = new String[merge.size()];
                for (int k = 0; k < parts.length; k++) parts[k] = merge.get(k).asText();
            } else {
                parts = new String[0];
            }
            if (parts.length != 2) {
                throw new IllegalArgumentException("model.merges[" + i + "]: " + merge + " is not a pair of tokens");
            }
            merges.add(parts);
        }
        return new BpeModel(vocab, merges, text(m, "unk_token"), m.path("fuse_unk").asBoolean(false),
                m.path("byte_fallback").asBoolean(false), m.path("ignore_merges").asBoolean(false),
                text(m, "continuing_subword_prefix"), text(m, "end_of_word_suffix"));
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isTextual() ? v.asText() : null;
    }

    private static String type(JsonNode node, String where) {
        JsonNode t = node.path("type");
        if (!t.isTextual()) {
            throw new IllegalArgumentException(where + ": no type");
        }
        return t.asText();
    }

    private static Normalizer normalizer(JsonNode n, String where) {
        if (n.isMissingNode() || n.isNull()) return null;
        return switch (type(n, where)) {
            case "NFC" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFC);
            case "NFKC" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFKC);
            case "NFD" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFD);
            case "NFKD" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Strip" -> new Normalizer.Strip(n.path("strip_left").asBoolean(true), n.path("strip_right").asBoolean(true));
            case "Replace" -> new Normalizer.Replace(pattern(n.path("pattern"), where + ".pattern"),
                    required(n, "content", where));
            case "Prepend" -> new Normalizer.Prepend(required(n, "prepend", where));
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                JsonNode list = n.path("normalizers");
                for (int i = 0; i < list.size(); i++) {
                    Normalizer step = normalizer(list.get(i), where + ".normalizers[" + i + "]");
                    if (step != null) steps.add(step);
                }
                yield new Normalizer.Sequence(List.copyOf(steps));
            }
            default -> throw new IllegalArgumentException(where + ".type '" + n.path("type").asText()
                    + "' is not supported (supported: NFC, NFKC, NFD, NFKD, Lowercase, Strip, Replace, Prepend, Sequence)");
        };
    }

    private static String required(JsonNode n, String field, String where) {
        JsonNode v = n.path(field);
        if (!v.isTextual()) {
            throw new IllegalArgumentException(where + "." + field + ": missing or not a string");
        }
        return v.asText();
    }

    /** A {"String": s} or {"Regex": r} pattern. */
    private static Pattern pattern(JsonNode p, String where) {
        if (p.has("String")) {
            return Pattern.compile(Pattern.quote(p.get("String").asText()));
        }
        if (p.has("Regex")) {
            try {
                return OnigPattern.compile(p.get("Regex").asText());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException(where + ": expected {\"String\": ...} or {\"Regex\": ...}, got " + p);
    }

    private static PreTokenizer preTokenizer(JsonNode n, String where) {
        if (n.isMissingNode() || n.isNull()) return null;
        return switch (type(n, where)) {
            case "Split" -> new PreTokenizer.Split(new PreTokenizer.RegexFinder(pattern(n.path("pattern"), where + ".pattern")),
                    behavior(n, where), n.path("invert").asBoolean(false));
            case "ByteLevel" -> new PreTokenizer.ByteLevel(n.path("add_prefix_space").asBoolean(true),
                    n.path("use_regex").asBoolean(true));
            case "Metaspace" -> metaspace(n, where);
            case "Digits" -> new PreTokenizer.Split(new PreTokenizer.CharFinder(TokenizerJson::isNumeric),
                    n.path("individual_digits").asBoolean(false) ? PreTokenizer.Behavior.ISOLATED
                            : PreTokenizer.Behavior.CONTIGUOUS, false);
            case "Whitespace" -> new PreTokenizer.Split(new PreTokenizer.RegexFinder(
                    OnigPattern.compile("\\w+|[^\\w\\s]+")), PreTokenizer.Behavior.REMOVED, true);
            case "WhitespaceSplit" -> new PreTokenizer.Split(new PreTokenizer.CharFinder(Character::isWhitespace),
                    PreTokenizer.Behavior.REMOVED, false);
            case "Punctuation" -> new PreTokenizer.Split(new PreTokenizer.CharFinder(TokenizerJson::isPunctuation),
                    n.has("behavior") ? behavior(n, where) : PreTokenizer.Behavior.ISOLATED, false);
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                JsonNode list = n.path("pretokenizers");
                for (int i = 0; i < list.size(); i++) {
                    PreTokenizer step = preTokenizer(list.get(i), where + ".pretokenizers[" + i + "]");
                    if (step != null) steps.add(step);
                }
                yield new PreTokenizer.Sequence(List.copyOf(steps));
            }
            default -> throw new IllegalArgumentException(where + ".type '" + n.path("type").asText()
                    + "' is not supported (supported: Split, ByteLevel, Metaspace, Digits, Whitespace, "
                    + "WhitespaceSplit, Punctuation, Sequence)");
        };
    }

    /** Rust's {@code char::is_numeric}: general categories Nd, Nl and No. */
    private static boolean isNumeric(int c) {
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    private static boolean isPunctuation(int c) {
        int t = Character.getType(c);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION
                || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION || (c < 128 && !Character.isLetterOrDigit(c) && c > ' ' && c != 127);
    }

    private static PreTokenizer.Behavior behavior(JsonNode n, String where) {
        try {
            return PreTokenizer.Behavior.parse(n.path("behavior").asText(""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ".behavior: " + e.getMessage(), e);
        }
    }

    private static PreTokenizer.Prepend prependScheme(JsonNode n, String where) {
        if (n.has("prepend_scheme")) {
            return switch (n.get("prepend_scheme").asText()) {
                case "always" -> PreTokenizer.Prepend.ALWAYS;
                case "first" -> PreTokenizer.Prepend.FIRST;
                case "never" -> PreTokenizer.Prepend.NEVER;
                default -> throw new IllegalArgumentException(where + ".prepend_scheme '" + n.get("prepend_scheme").asText()
                        + "' is not one of always, first, never");
            };
        }
        return n.path("add_prefix_space").asBoolean(true) ? PreTokenizer.Prepend.ALWAYS : PreTokenizer.Prepend.NEVER;
    }

    private static PreTokenizer metaspace(JsonNode n, String where) {
        String replacement = n.path("replacement").asText("\u2581");
        if (replacement.length() != 1) {
            throw new IllegalArgumentException(where + ".replacement '" + replacement + "' is not one character");
        }
        return new PreTokenizer.Metaspace(replacement.charAt(0), prependScheme(n, where), n.path("split").asBoolean(true));
    }

    private static void postProcessor(JsonNode n, String where, Map<String, Integer> ids, IntList prefix, IntList suffix) {
        if (n.isMissingNode() || n.isNull()) return;
        switch (type(n, where)) {
            case "ByteLevel" -> { }
            case "TemplateProcessing" -> {
                JsonNode single = n.path("single");
                JsonNode specials = n.path("special_tokens");
                boolean seenSequence = false;
                IntList before = new IntList(4);
                IntList after = new IntList(4);
                for (int i = 0; i < single.size(); i++) {
                    JsonNode item = single.get(i);
                    if (item.has("Sequence")) {
                        seenSequence = true;
                    } else if (item.has("SpecialToken")) {
                        String name = item.get("SpecialToken").path("id").asText();
                        JsonNode tokenIds = specials.path(name).path("ids");
                        if (!tokenIds.isArray()) {
                            throw new IllegalArgumentException(where + ".special_tokens: '" + name + "' is missing");
                        }
                        for (JsonNode id : tokenIds) (seenSequence ? after : before).add(id.asInt());
                    } else {
                        throw new IllegalArgumentException(where + ".single[" + i + "]: " + item
                                + " is neither a Sequence nor a SpecialToken");
                    }
                }
                wrap(prefix, suffix, before.toArray(), after.toArray());
            }
            case "RobertaProcessing", "BertProcessing" -> {
                int cls = n.path("cls").path(1).asInt(-1);
                int sep = n.path("sep").path(1).asInt(-1);
                if (cls < 0 || sep < 0) {
                    throw new IllegalArgumentException(where + ": cls and sep must be [token, id] pairs");
                }
                wrap(prefix, suffix, new int[] {cls}, new int[] {sep});
            }
            case "Sequence" -> {
                JsonNode list = n.path("processors");
                for (int i = 0; i < list.size(); i++) {
                    postProcessor(list.get(i), where + ".processors[" + i + "]", ids, prefix, suffix);
                }
            }
            default -> throw new IllegalArgumentException(where + ".type '" + n.path("type").asText()
                    + "' is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, "
                    + "BertProcessing, Sequence)");
        }
    }

    /** A later processor wraps what the earlier ones produced. */
    private static void wrap(IntList prefix, IntList suffix, int[] before, int[] after) {
        int[] oldPrefix = prefix.toArray();
        int[] oldSuffix = suffix.toArray();
        IntList p = new IntList(before.length + oldPrefix.length);
        p.addAll(before);
        p.addAll(oldPrefix);
        IntList s = new IntList(after.length + oldSuffix.length);
        s.addAll(oldSuffix);
        s.addAll(after);
        prefix.clear();
        prefix.addAll(p.toArray());
        suffix.clear();
        suffix.addAll(s.toArray());
    }

    private static TokenDecoder decoder(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) return TokenDecoder.PLAIN;
        List<TokenDecoder.Step> steps = new ArrayList<>();
        boolean strip = decoderSteps(n, "decoder", steps);
        return new TokenDecoder(List.copyOf(steps), strip);
    }

    /** Adds the steps of a decoder; returns whether it strips the first token's leading space. */
    private static boolean decoderSteps(JsonNode n, String where, List<TokenDecoder.Step> steps) {
        switch (type(n, where)) {
            case "ByteLevel" -> steps.add(new TokenDecoder.ByteLevel());
            case "ByteFallback" -> steps.add(new TokenDecoder.ByteFallback());
            case "Fuse" -> { }
            case "Replace" -> {
                JsonNode p = n.path("pattern");
                if (!p.has("String")) {
                    throw new IllegalArgumentException(where + ".pattern: only {\"String\": ...} is supported in a decoder");
                }
                steps.add(new TokenDecoder.Replace(p.get("String").asText(), required(n, "content", where)));
            }
            case "Metaspace" -> {
                String replacement = n.path("replacement").asText("\u2581");
                steps.add(new TokenDecoder.Replace(replacement, " "));
                return prependScheme(n, where) != PreTokenizer.Prepend.NEVER;
            }
            case "Strip" -> {
                int start = n.path("start").asInt(0);
                int stop = n.path("stop").asInt(0);
                if (!n.path("content").asText(" ").equals(" ") || start > 1 || stop != 0) {
                    throw new IllegalArgumentException(where + ": only Strip of one leading space is supported, got " + n);
                }
                return start == 1;
            }
            case "Sequence" -> {
                boolean strip = false;
                JsonNode list = n.path("decoders");
                for (int i = 0; i < list.size(); i++) {
                    strip |= decoderSteps(list.get(i), where + ".decoders[" + i + "]", steps);
                }
                return strip;
            }
            default -> throw new IllegalArgumentException(where + ".type '" + n.path("type").asText()
                    + "' is not supported (supported: ByteLevel, ByteFallback, Fuse, Replace, Metaspace, Strip, Sequence)");
        }
        return false;
    }

    private static List<AddedToken> addedTokens(JsonNode list, BpeModel model) {
        List<AddedToken> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode t = list.get(i);
            String where = "added_tokens[" + i + "]";
            String content = required(t, "content", where);
            boolean special = t.path("special").asBoolean(false);
            int id = t.path("id").asInt(-1);
            if (id < 0) {
                id = model.id(content);
                if (id < 0) throw new IllegalArgumentException(where + ": no id");
            }
            try {
                out.add(new AddedToken(id, content, special, t.path("lstrip").asBoolean(false),
                        t.path("rstrip").asBoolean(false), t.path("single_word").asBoolean(false),
                        t.path("normalized").asBoolean(!special)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        return out;
    }
}
