package io.tessera.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What llama.cpp's {@code SpecialVocab} takes from a checkpoint directory besides the tokens: the
 * special ids named by tokenizer_config.json ({@code bos_token}...) looked up among
 * tokenizer.json's added tokens, else config.json's {@code *_token_id}; whether BOS/EOS are added,
 * from tokenizer_config.json's {@code add_*_token} or else the post-processor's template; and the
 * chat template (tokenizer_config.json's, else {@code chat_template.jinja}), a list of named
 * templates becoming {@code tokenizer.chat_template} (the default) and
 * {@code tokenizer.chat_template.NAME}.
 */
final class HfSpecialVocab {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TYPES = List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");
    /** GGUF's key of each special token type (llama.cpp's spelling, "seperator" included). */
    private static final Map<String, String> ID_KEYS = Map.of(
            "bos", "tokenizer.ggml.bos_token_id", "eos", "tokenizer.ggml.eos_token_id",
            "unk", "tokenizer.ggml.unknown_token_id", "sep", "tokenizer.ggml.seperator_token_id",
            "pad", "tokenizer.ggml.padding_token_id", "cls", "tokenizer.ggml.cls_token_id",
            "mask", "tokenizer.ggml.mask_token_id");

    private final Map<String, Integer> ids = new LinkedHashMap<>();
    private final Map<String, Boolean> add = new LinkedHashMap<>();
    private JsonNode chatTemplate;

    private HfSpecialVocab() {
    }

    /**
     * @param tokenizer tokenizer.json's root, or null when the directory has none
     * @param vocabSize ids at or beyond it are left out, as llama.cpp skips them
     */
    static HfSpecialVocab read(Path dir, JsonNode tokenizer, int vocabSize) throws IOException {
        HfSpecialVocab v = new HfSpecialVocab();
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile) : null;
        JsonNode added = tokenizer == null ? JSON.createArrayNode() : tokenizer.path("added_tokens");
        if (tokenizer != null) {
            v.readTemplateFlags(tokenizer.path("post_processor"), config);
        }
        if (config != null) {
            v.chatTemplate = config.get("chat_template");
            for (String type : TYPES) {
                JsonNode flag = config.path("add_" + type + "_token");
                if (flag.isBoolean()) {
                    v.add.put(type, flag.asBoolean());
                }
                String content = tokenContent(config.path(type + "_token"));
                for (JsonNode t : added) {
                    if (content != null && content.equals(t.path("content").asText(null))) {
                        v.set(type, t.path("id").asInt(-1), vocabSize);
                        break;
                    }
                }
            }
        }
        if ((v.chatTemplate == null || v.chatTemplate.isNull()) && Files.isRegularFile(dir.resolve("chat_template.jinja"))) {
            v.chatTemplate = JSON.getNodeFactory().textNode(Files.readString(dir.resolve("chat_template.jinja")));
        }
        Path modelConfig = dir.resolve("config.json");
        if (Files.isRegularFile(modelConfig)) {
            JsonNode c = readJson(modelConfig);
            for (String type : TYPES) {
                JsonNode id = c.path(type + "_token_id");
                if (id.isInt()) {
                    v.set(type, id.asInt(), vocabSize);
                }
            }
        }
        return v;
    }

    private void set(String type, int id, int vocabSize) {
        if (id >= 0 && id < vocabSize) {
            ids.putIfAbsent(type, id);
        }
    }

    /** The id of a special token type ("bos", "eos"...), or -1. */
    int id(String type) {
        return ids.getOrDefault(type, -1);
    }

    void write(GgufWriter w) {
        ids.forEach((type, id) -> w.putUInt32(ID_KEYS.get(type), id));
        add.forEach((type, flag) -> {
            if (type.equals("bos") || type.equals("eos") || type.equals("sep")) {
                w.putBool("tokenizer.ggml.add_" + type + "_token", flag);
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
    }

    /**
     * llama.cpp's crude reading of a TemplateProcessing post-processor: a special token first in
     * the single-sequence template means BOS is added, one last that EOS is.
     */
    private void readTemplateFlags(JsonNode post, JsonNode config) {
        if (post.isMissingNode() || post.isNull()) {
            return;
        }
        JsonNode processors = post.has("processors") ? post.path("processors") : JSON.createArrayNode().add(post);
        String bos = config == null ? null : tokenContent(config.path("bos_token"));
        String eos = config == null ? null : tokenContent(config.path("eos_token"));
        for (JsonNode p : processors) {
            JsonNode single = p.path("single");
            if (!p.path("type").asText("").equals("TemplateProcessing") || single.size() <= 1) {
                continue;
            }
            String first = single.get(0).path("SpecialToken").path("id").asText(null);
            if (first != null) {
                add.put("bos", config == null || first.equals(bos));
            }
            String last = single.get(single.size() - 1).path("SpecialToken").path("id").asText(null);
            if (last != null) {
                add.put("eos", config == null || last.equals(eos));
            }
        }
    }

    private static String tokenContent(JsonNode entry) {
        if (entry.isTextual()) {
            return entry.asText();
        }
        return entry.isObject() && entry.path("content").isTextual() ? entry.path("content").asText() : null;
    }

    static JsonNode readJson(Path file) throws IOException {
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
