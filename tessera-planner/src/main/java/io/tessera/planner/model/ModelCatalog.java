package io.tessera.planner.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves a {@code --model} argument to a {@link ModelSpec}: a preset name ({@code llama-3.1-8b}),
 * a bare parameter count ({@code 6b}, {@code 6e9}) for rule-of-thumb questions, or a path to a
 * Hugging Face {@code config.json}, a safetensors file, a GGUF file, or a directory holding them.
 */
public final class ModelCatalog {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PARAMS = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([bm])|(\\d+(?:\\.\\d+)?e\\d+)",
            Pattern.CASE_INSENSITIVE);

    /** A preset: its shape and the source of its numbers. */
    public record Preset(String name, List<String> aliases, String source, String check, ModelSpec shape) {
    }

    private static volatile Map<String, Preset> presets;

    private ModelCatalog() {
    }

    public static Map<String, Preset> presets() {
        Map<String, Preset> p = presets;
        if (p == null) {
            try (InputStream in = ModelCatalog.class.getResourceAsStream("/io/tessera/planner/models.json")) {
                if (in == null) {
                    throw new IllegalStateException("models.json missing from the planner's resources");
                }
                JsonNode root = JSON.readTree(in);
                Map<String, Preset> m = new LinkedHashMap<>();
                root.path("models").fields().forEachRemaining(e -> {
                    List<String> aliases = new ArrayList<>();
                    e.getValue().path("aliases").forEach(a -> aliases.add(a.asText().toLowerCase(Locale.ROOT)));
                    ModelSpec shape = HfConfig.parse(e.getKey(), e.getValue().get("config"));
                    m.put(e.getKey(), new Preset(e.getKey(), aliases, e.getValue().path("source").asText(),
                            e.getValue().path("check").asText(), shape));
                });
                p = Map.copyOf(m);
                presets = p;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    /** The preset with this name or alias, or null. */
    public static Preset preset(String name) {
        String k = name.toLowerCase(Locale.ROOT).trim();
        Map<String, Preset> all = presets();
        Preset p = all.get(k);
        if (p != null) {
            return p;
        }
        for (Preset x : all.values()) {
            if (x.aliases().contains(k)) {
                return x;
            }
        }
        return null;
    }

    /** Resolves a {@code --model} argument (see the class comment). */
    public static ModelSpec resolve(String spec) throws IOException {
        Preset p = preset(spec);
        if (p != null) {
            return p.shape();
        }
        Path path = Path.of(spec);
        if (Files.exists(path)) {
            return ModelFiles.read(path);
        }
        Matcher m = PARAMS.matcher(spec.trim());
        if (m.matches()) {
            double count = m.group(3) != null ? Double.parseDouble(m.group(3))
                    : Double.parseDouble(m.group(1)) * (m.group(2).equalsIgnoreCase("b") ? 1e9 : 1e6);
            return ModelSpec.generic(Math.round(count));
        }
        List<String> names = new ArrayList<>(presets().keySet());
        names.sort(null);
        throw new IllegalArgumentException("unknown model '" + spec + "': not a preset (" + String.join(", ", names)
                + "), not a file, not a parameter count like 6b");
    }

    /** Reads a shape from a Hugging Face config.json file. */
    public static ModelSpec fromConfigJson(Path file) throws IOException {
        JsonNode n;
        try {
            n = JSON.readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        String name = file.getParent() != null && file.getParent().getFileName() != null
                ? file.getParent().getFileName().toString().toLowerCase(Locale.ROOT) : "model";
        return HfConfig.parse(name, n);
    }

    static IllegalArgumentException missing(String what, String where) {
        return new IllegalArgumentException(where + ": missing " + what);
    }

    static int require(JsonNode n, String where, String... keys) {
        for (String k : keys) {
            JsonNode v = n.get(k);
            if (v != null && v.canConvertToInt()) {
                return v.asInt();
            }
        }
        throw missing(String.join(" or ", keys), where);
    }

    static int optional(JsonNode n, int dflt, String... keys) {
        for (String k : keys) {
            JsonNode v = n.get(k);
            if (v != null && v.canConvertToInt() && !v.isNull()) {
                return v.asInt();
            }
        }
        return dflt;
    }
}
