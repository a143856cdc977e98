package io.tessera.planner.model;

import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.model.GgufModelLoader;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Reads a model's shape from files on disk: config.json, safetensors headers, GGUF headers. */
public final class ModelFiles {

    private static final Pattern LAYER = Pattern.compile("(?:model\\.)?layers\\.(\\d+)\\.(.*)");
    private static final Pattern EXPERT = Pattern.compile(".*\\.experts\\.(\\d+)\\..*");

    private ModelFiles() {
    }

    public static ModelSpec read(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path config = path.resolve("config.json");
            if (Files.isRegularFile(config)) {
                return ModelCatalog.fromConfigJson(config);
            }
            List<Path> st = safetensorsIn(path);
            if (!st.isEmpty()) {
                return fromSafetensors(st, null);
            }
            try (Stream<Path> s = Files.list(path)) {
                Path gguf = s.filter(p -> p.toString().endsWith(".gguf")).sorted().findFirst().orElse(null);
                if (gguf != null) {
                    return fromGguf(gguf);
                }
            }
            throw new IllegalArgumentException(path + ": no config.json, *.safetensors or *.gguf in this directory");
        }
        String n = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".json")) {
            return ModelCatalog.fromConfigJson(path);
        }
        if (n.endsWith(".safetensors")) {
            Path dir = path.toAbsolutePath().getParent();
            Path config = dir.resolve("config.json");
            ModelSpec hint = Files.isRegularFile(config) ? ModelCatalog.fromConfigJson(config) : null;
            return fromSafetensors(List.of(path), hint);
        }
        if (n.endsWith(".gguf")) {
            return fromGguf(path);
        }
        throw new IllegalArgumentException(path + ": not a config.json, .safetensors or .gguf file");
    }

    private static List<Path> safetensorsIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    /**
     * Reads the shape from a GGUF header as Tessera's loader reads it (the family's keys, experts
     * included: their width, a shared expert counted as that many experts' worth of width, the
     * leading dense layers).
     */
    static ModelSpec fromGguf(Path path) throws IOException {
        try (GgufFile f = GgufFile.open(path)) {
            ModelConfig c = GgufModelLoader.config(f);
            GgufMetadata md = f.metadata();
            MoeOptions moe = c.moe();
            int experts = moe.experts();
            int width = experts > 0 ? moe.expertHiddenDim() : 0;
            int shared = experts > 0 && moe.sharedHiddenDim() > 0
                    ? Math.max(1, Math.round((float) moe.sharedHiddenDim() / width)) : 0;
            boolean tied = f.tensorInfo("output.weight").isEmpty();
            boolean bias = f.tensorInfo("blk.0.attn_q.bias").isPresent();
            String name = md.getString("general.name", path.getFileName().toString()).toLowerCase(Locale.ROOT).replace(' ', '-');
            return new ModelSpec(name, c.dim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(), c.hiddenDim(),
                    c.vocabSize(), tied, true, bias, c.contextLength(), experts, moe.expertsUsed(), shared, width,
                    experts > 0 ? moe.leadingDenseLayers() : 0, 0, 0, 0, 0, 0, 0);
        }
    }

    /**
     * Infers the shape from the tensor names and shapes of Hugging Face-style safetensors files
     * (several shards allowed). Head counts are not visible in the shapes: {@code hint} (a
     * config.json beside the file) supplies them when present; otherwise a head dimension of 128
     * (64 when 128 does not divide) is assumed.
     */
    public static ModelSpec fromSafetensors(List<Path> files, ModelSpec hint) throws IOException {
        Map<String, long[]> shapes = new HashMap<>();
        for (Path f : files) {
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                for (SafetensorsTensorInfo t : sf.tensors().values()) {
                    shapes.put(t.name(), t.shape());
                }
            }
        }
        String where = files.getFirst().toString();
        long[] emb = find(shapes, "model.embed_tokens.weight", "transformer.wte.weight", "tok_embeddings.weight");
        if (emb == null || emb.length != 2) {
            throw new IllegalArgumentException(where + ": no token embedding tensor (model.embed_tokens.weight)");
        }
        int vocab = (int) emb[0];
        int hidden = (int) emb[1];
        int layers = 0;
        int experts = 0;
        int firstMoe = Integer.MAX_VALUE;
        for (String name : shapes.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.matches()) {
                int l = Integer.parseInt(m.group(1));
                layers = Math.max(layers, l + 1);
                Matcher e = EXPERT.matcher(name);
                if (e.matches()) {
                    experts = Math.max(experts, Integer.parseInt(e.group(1)) + 1);
                    firstMoe = Math.min(firstMoe, l);
                }
            }
        }
        if (layers == 0) {
            throw new IllegalArgumentException(where + ": no layers.N.* tensors");
        }
        long[] q = layerTensor(shapes, "self_attn.q_proj.weight");
        long[] k = layerTensor(shapes, "self_attn.k_proj.weight");
        if (q == null || k == null) {
            throw new IllegalArgumentException(where + ": no self_attn.q_proj/k_proj weights in layer 0");
        }
        int headDim = hint != null ? hint.headDim() : (q[0] % 128 == 0 && k[0] % 128 == 0 ? 128 : 64);
        int heads = (int) (q[0] / headDim);
        int kvHeads = (int) (k[0] / headDim);
        long[] gate = layerTensor(shapes, "mlp.gate_proj.weight");
        long[] up = layerTensor(shapes, "mlp.up_proj.weight");
        int inter = gate != null ? (int) gate[0] : up != null ? (int) up[0] : 4 * hidden;
        boolean gated = gate != null || experts > 0;
        int moeInter = 0;
        int perTok = 0;
        if (experts > 0) {
            long[] w1 = null;
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                String n = e.getKey();
                if (n.contains(".experts.0.") && (n.endsWith("w1.weight") || n.endsWith("gate_proj.weight"))) {
                    w1 = e.getValue();
                    break;
                }
            }
            if (w1 == null) {
                throw new IllegalArgumentException(where + ": MoE experts without w1/gate_proj weights");
            }
            moeInter = (int) w1[0];
            perTok = hint != null && hint.expertsPerToken() > 0 ? hint.expertsPerToken() : 2;
            if (gate == null) {
                inter = moeInter;
            }
        }
        boolean tied = find(shapes, "lm_head.weight", "output.weight") == null;
        boolean bias = layerTensor(shapes, "self_attn.q_proj.bias") != null;
        String name = hint != null ? hint.name() : files.getFirst().getFileName().toString().replaceAll("(-\\d+-of-\\d+)?\\.safetensors$", "");
        int maxCtx = hint != null ? hint.maxContext() : 4096;
        int dense = experts > 0 ? Math.min(firstMoe, layers) : 0;
        return new ModelSpec(name, hidden, layers, heads, kvHeads, headDim, inter, vocab, tied, gated, bias, maxCtx,
                experts, perTok, 0, moeInter, dense, 0, 0, 0, 0, 0, 0);
    }

    private static long[] find(Map<String, long[]> shapes, String... names) {
        for (String n : names) {
            long[] s = shapes.get(n);
            if (s != null) {
                return s;
            }
        }
        return null;
    }

    private static long[] layerTensor(Map<String, long[]> shapes, String suffix) {
        return find(shapes, "model.layers.0." + suffix, "layers.0." + suffix);
    }

    static List<String> names(Map<String, long[]> shapes) {
        return new ArrayList<>(shapes.keySet());
    }
}
