package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
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
 *   <li>the special ids named by tokenizer_config.json ({@code bos_token}...) looked up among the
 *       added tokens, else config.json's {@code *_token_id}; whether BOS/EOS are added, from
 *       tokenizer_config.json's {@code add_*_token} or else the post-processor's template;
 *   <li>the chat template (tokenizer_config.json's, else {@code chat_template.jinja}); a list of
 *       named templates becomes {@code tokenizer.chat_template} (the default) and
 *       {@code tokenizer.chat_template.NAME}.
 * </ul>
 * Not carried over, as llama.cpp does not: the normalizer and the added tokens' lstrip/rstrip
 * flags.
 */
public final class HfByteLevelGgufVocabulary implements GgufTokenizerMetadata {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SPECIAL_TYPES = List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");
    /** GGUF's key of each special token type (llama.cpp's spelling, "seperator" included). */
    private static final Map<String, String> ID_KEYS = Map.of(
            "bos", "tokenizer.ggml.bos_token_id", "eos", "tokenizer.ggml.eos_token_id",
            "unk", "tokenizer.ggml.unknown_token_id", "sep", "tokenizer.ggml.seperator_token_id",
            "pad", "tokenizer.ggml.padding_token_id", "cls", "tokenizer.ggml.cls_token_id",
            "mask", "tokenizer.ggml.mask_token_id");

    private final String pre;
    private final String[] tokens;
    private final int[] types;
    private final String[] merges;
    private final Map<String, Integer> specialIds;
    private final Map<String, Boolean> addSpecial;
    private final JsonNode chatTemplate;
    private final Boolean addSpacePrefix;

    private HfByteLevelGgufVocabulary(String pre, String[] tokens, int[] types, String[] merges,
            Map<String, Integer> specialIds, Map<String, Boolean> addSpecial, JsonNode chatTemplate,
            Boolean addSpacePrefix) {
        this.pre = pre;
        this.tokens = tokens;
        this.types = types;
        this.merges = merges;
        this.specialIds = specialIds;
        this.addSpecial = addSpecial;
        this.chatTemplate = chatTemplate;
        this.addSpacePrefix = addSpacePrefix;
    }

    /** Whether the directory's tokenizer.json is a byte-level BPE (not SentencePiece-style with byte fallback). */
    public static boolean isByteLevel(Path dir) throws IOException {
        JsonNode root = readJson(dir.resolve("tokenizer.json"));
        JsonNode model = root.path("model");
        return model.path("type").asText("BPE").equals("BPE") && !model.path("byte_fallback").asBoolean(false)
                && root.path("decoder").path("type").asText("").equals("ByteLevel");
    }

    /**
     * Reads the directory's tokenizer for a model of {@code vocabSize} embedding rows.
     *
     * @param writeAddSpacePrefix write tokenizer_config.json's {@code add_prefix_space} as
     *     {@code tokenizer.ggml.add_space_prefix}, as llama.cpp does for its {@code llama} family
     */
    public static HfByteLevelGgufVocabulary read(Path dir, int vocabSize, boolean writeAddSpacePrefix)
            throws IOException {
        Path json = dir.resolve("tokenizer.json");
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode root = readJson(json);
        JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile) : null;
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
        Map<String, Integer> specialIds = new LinkedHashMap<>();
        Map<String, Boolean> addSpecial = new LinkedHashMap<>();
        readTemplateFlags(root.path("post_processor"), config, addSpecial);
        if (config != null) {
            for (String type : SPECIAL_TYPES) {
                JsonNode add = config.path("add_" + type + "_token");
                if (add.isBoolean()) {
                    addSpecial.put(type, add.asBoolean());
                }
                String content = tokenContent(config.path(type + "_token"));
                if (content != null && added.containsKey(content)) {
                    specialIds.putIfAbsent(type, added.get(content).path("id").asInt());
                }
            }
        }
        Path modelConfig = dir.resolve("config.json");
        if (Files.isRegularFile(modelConfig)) {
            JsonNode c = readJson(modelConfig);
            for (String type : SPECIAL_TYPES) {
                JsonNode id = c.path(type + "_token_id");
                if (id.isInt() && id.asInt() >= 0) {
                    specialIds.putIfAbsent(type, id.asInt());
                }
            }
        }
        JsonNode template = config == null ? null : config.get("chat_template");
        if ((template == null || template.isNull()) && Files.isRegularFile(dir.resolve("chat_template.jinja"))) {
            template = JSON.getNodeFactory().textNode(Files.readString(dir.resolve("chat_template.jinja")));
        }
        JsonNode prefixSpace = config == null ? null : config.get("add_prefix_space");
        Boolean addSpacePrefix = writeAddSpacePrefix && prefixSpace != null && prefixSpace.isBoolean()
                ? prefixSpace.asBoolean() : null;
        return new HfByteLevelGgufVocabulary(pre, tokens, types, merges(json, root.path("model").path("merges")),
                specialIds, addSpecial, template, addSpacePrefix);
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
        specialIds.forEach((type, id) -> w.putUInt32(ID_KEYS.get(type), id));
        addSpecial.forEach((type, add) -> {
            if (type.equals("bos") || type.equals("eos") || type.equals("sep")) {
                w.putBool("tokenizer.ggml.add_" + type + "_token", add);
            }
        });
        if (chatTemplate != null && chatTemplate.isTextual()) {
            w.putString("tokenizer.chat_template", chatTemplate.asText());
        } else if (chatTemplate != null && chatTemplate.isArray()) {
            List<String> names = new ArrayList<>();
            for (JsonNode named : chatTemplate) {
                String name = named.path("name").asText("");
                String text = named.path("template").asText("");
                if (name.equals("default")) {
                    w.putString("tokenizer.chat_template", text);
                } else if (!name.isEmpty()) {
                    w.putString("tokenizer.chat_template." + name, text);
                    names.add(name);
                }
            }
            if (!names.isEmpty()) {
                w.putStringArray("tokenizer.chat_templates", names.toArray(String[]::new));
            }
        }
        if (addSpacePrefix != null) {
            w.putBool("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        }
    }

    /**
     * llama.cpp's crude reading of a TemplateProcessing post-processor: a special token first in
     * the single-sequence template means BOS is added, one last that EOS is.
     */
    private static void readTemplateFlags(JsonNode post, JsonNode config, Map<String, Boolean> addSpecial) {
        if (post.isMissingNode() || post.isNull()) {
            return;
        }
        JsonNode processors = post.has("processors") ? post.path("processors") : JSON.createArrayNode().add(post);
        String bos = config == null ? null : tokenContent(config.path("bos_token"));
        String eos = config == null ? null : tokenContent(config.path("eos_token"));
        for (JsonNode p : processors) {
            if (!p.path("type").asText("").equals("TemplateProcessing")) {
                continue;
            }
            JsonNode single = p.path("single");
            if (single.size() <= 1) {
                continue;
            }
            String first = single.get(0).path("SpecialToken").path("id").asText(null);
            if (first != null) {
                addSpecial.put("bos", config == null || first.equals(bos));
            }
            String last = single.get(single.size() - 1).path("SpecialToken").path("id").asText(null);
            if (last != null) {
                addSpecial.put("eos", config == null || last.equals(eos));
            }
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

    private static String tokenContent(JsonNode entry) {
        if (entry.isTextual()) {
            return entry.asText();
        }
        return entry.isObject() && entry.path("content").isTextual() ? entry.path("content").asText() : null;
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new IOException(file + ": not a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
    }
}
