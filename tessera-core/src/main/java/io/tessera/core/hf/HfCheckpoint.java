package io.tessera.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.arch.TensorNames;
import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelInfo;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A Hugging Face checkpoint directory: {@code config.json}, the weights in {@code *.safetensors}
 * (one file, or shards listed by {@code model.safetensors.index.json}), {@code tokenizer.json} and
 * {@code tokenizer_config.json} (BOS/EOS, chat template), optionally {@code generation_config.json}
 * (its {@code eos_token_id}, one id or a list).
 */
public final class HfCheckpoint {

    public static final String CONFIG = "config.json";
    public static final String INDEX = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfCheckpoint() {
    }

    /** Whether {@code path} is a directory holding a {@code config.json}. */
    public static boolean isCheckpoint(Path path) {
        return Files.isDirectory(path) && Files.isRegularFile(path.resolve(CONFIG));
    }

    /** The configuration only: no weight is mapped. */
    public static HfConfig config(Path dir) throws IOException {
        return HfConfig.read(dir.resolve(CONFIG));
    }

    /**
     * Maps the weights and binds them through the family named in {@code config.json}. A tensor
     * the family did not bind (a layer past {@code num_hidden_layers}, an unknown part) is refused
     * by name, as in GGUF files.
     */
    public static Model load(Path dir) throws IOException {
        return load(dir, LoadOptions.AS_STORED);
    }

    /** As {@link #load(Path)}, the weights held as {@code options} say (e.g. quantized at load). */
    public static Model load(Path dir, LoadOptions options) throws IOException {
        HfConfig cfg = config(dir);
        HfQuantization quantization = HfQuantization.read(dir.resolve(CONFIG));
        List<SafetensorsFile> files = new ArrayList<>();
        SafetensorsTensors tensors = null;
        try {
            Map<String, SafetensorsFile> byName = new HashMap<>();
            for (Path p : weightFiles(dir)) {
                SafetensorsFile f;
                try {
                    f = SafetensorsFile.open(p);
                } catch (IllegalArgumentException e) {
                    throw new ModelFormatException(p, "header", e.getMessage(), e);
                }
                files.add(f);
                for (String name : f.tensors().keySet()) {
                    SafetensorsFile before = byName.putIfAbsent(name, f);
                    if (before != null) {
                        throw new ModelFormatException(p, "tensor '" + name + "'",
                                "also stored in " + before.path().getFileName());
                    }
                }
            }
            cfg = cfg.withNamesFound(byName.keySet());
            tensors = new SafetensorsTensors(dir, byName, files, cfg, quantization);
            Model model = cfg.family().bind(cfg.config(), options.view(tensors, cfg.config()));
            List<String> unused = tensors.unused();
            if (!unused.isEmpty()) {
                throw new ModelFormatException(dir, "tensor '" + unused.get(0) + "'", "not used by the "
                        + cfg.family().name() + " architecture with " + cfg.config().layers() + " layers ("
                        + unused.size() + " such tensor(s))");
            }
            return model;
        } catch (IOException | RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            if (tensors != null) {
                tensors.arena().close();
            }
            throw e;
        }
    }

    /**
     * What the checkpoint holds, from config.json and the safetensors headers alone: sizes are
     * those of the weight files, types those of their tensors. The tensors outside the language
     * model (a multimodal checkpoint's vision tower) count in the file size only: they are not loaded.
     */
    public static ModelInfo info(Path dir) throws IOException {
        HfConfig cfg = config(dir);
        Map<String, Integer> count = new TreeMap<>();
        Map<String, Long> bytes = new TreeMap<>();
        long size = 0;
        long params = 0;
        long weightBytes = 0;
        java.util.Set<String> heads = new java.util.HashSet<>();
        for (Path p : weightFiles(dir)) {
            size += Files.size(p);
            SafetensorsFile f;
            try {
                f = SafetensorsFile.open(p);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(p, "header", e.getMessage(), e);
            }
            try (f) {
                for (SafetensorsTensorInfo t : f.tensors().values()) {
                    if (cfg.ignoredPrefixes().stream().anyMatch(t.name()::startsWith)) {
                        continue;
                    }
                    count.merge(t.dtype().name(), 1, Integer::sum);
                    bytes.merge(t.dtype().name(), t.byteSize(), Long::sum);
                    params += t.elementCount();
                    weightBytes += t.byteSize();
                    if (t.name().endsWith("lm_head.weight") || t.name().endsWith("embed_tokens.weight")) {
                        heads.add(t.name());
                    }
                }
            }
        }
        boolean hasHead = heads.contains(cfg.withNamesFound(heads).names().name(TensorNames.OUTPUT));
        return new ModelInfo(dir, ModelLoader.Format.HUGGING_FACE, size, cfg.config(), params, weightBytes, count,
                bytes, cfg.tiedEmbeddings() || !hasHead);
    }

    /**
     * The safetensors files of the checkpoint: those the index names (plain file names inside the
     * directory only), else {@code model.safetensors}, else every {@code *.safetensors} file.
     */
    static List<Path> weightFiles(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode map = readJson(index).path("weight_map");
            if (!map.isObject() || map.isEmpty()) {
                throw new ModelFormatException(index, "weight_map", "missing or empty");
            }
            Set<Path> files = new LinkedHashSet<>();
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String name = e.getValue().asText("");
                if (!name.endsWith(".safetensors") || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                    throw new ModelFormatException(index, "weight_map['" + e.getKey() + "']",
                            "'" + name + "' is not a .safetensors file name in this directory");
                }
                Path p = dir.resolve(name);
                if (!Files.isRegularFile(p)) {
                    throw new ModelFormatException(index, "weight_map['" + e.getKey() + "']",
                            "shard '" + name + "' is missing");
                }
                files.add(p);
            }
            return List.copyOf(files);
        }
        if (Files.isRegularFile(dir.resolve(SINGLE_FILE))) {
            return List.of(dir.resolve(SINGLE_FILE));
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> all = s.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p))
                    .sorted().toList();
            if (all.isEmpty()) {
                throw new ModelFormatException(dir, "weights", "no *.safetensors file in the checkpoint directory");
            }
            return all;
        }
    }

    /**
     * The chat template of {@code tokenizer_config.json} ({@code chat_template}: a string, or a list
     * of named templates of which {@code default} is taken), or of {@code chat_template.jinja}
     * (newer checkpoints), or null.
     */
    public static String chatTemplate(Path dir) throws IOException {
        Path config = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(config)) {
            JsonNode t = readJson(config).path("chat_template");
            if (t.isTextual()) {
                return t.asText();
            }
            if (t.isArray()) {
                for (JsonNode named : t) {
                    if (named.path("name").asText("").equals("default") && named.path("template").isTextual()) {
                        return named.path("template").asText();
                    }
                }
            }
        }
        Path jinja = dir.resolve("chat_template.jinja");
        return Files.isRegularFile(jinja) ? Files.readString(jinja) : null;
    }

    /** {@code generation_config.json}'s {@code eos_token_id} (one id or a list); empty when absent. */
    public static List<Integer> eosTokenIds(Path dir) throws IOException {
        Path gen = dir.resolve("generation_config.json");
        if (!Files.isRegularFile(gen)) {
            return List.of();
        }
        JsonNode eos = readJson(gen).path("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        for (JsonNode id : eos.isArray() ? eos : List.of(eos)) {
            if (id.isMissingNode() || id.isNull()) {
                continue;
            }
            if (!id.canConvertToInt() || !id.isIntegralNumber() || id.asInt() < 0) {
                throw new ModelFormatException(gen, "eos_token_id", "must be a token id or a list of them, got " + eos);
            }
            ids.add(id.asInt());
        }
        return List.copyOf(ids);
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new ModelFormatException(file, file.getFileName().toString(), "not a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(file, file.getFileName().toString(), "not valid JSON: "
                    + e.getOriginalMessage());
        }
    }
}
