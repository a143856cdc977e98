package io.tessera.cli;

import io.tessera.core.format.Units;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.NativeKernels;
import io.tessera.core.kernel.NativeVariant;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelInfo;
import io.tessera.core.model.QuantizedSize;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.model.RopeScaling;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tessera info}: a model's shape, types, size and memory needs, from its header alone. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a model's architecture, hyperparameters, tensor types, parameter count, file size and "
                + "the memory it needs. Reads only the header.")
final class InfoCommand implements Callable<Integer> {

    @Parameters(paramLabel = "PATH", arity = "0..1",
            description = "GGUF file, Hugging Face checkpoint directory or llama2.c checkpoint.")
    Path file;

    @Option(names = "--system", description = "Show this machine instead: CPU features and the kernels Tessera "
            + "would run (--kernels auto).")
    boolean system;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--quantize", paramLabel = "TYPE",
            description = "Also show what the weights take quantized to TYPE (as run/serve --quantize or convert --type "
                    + "would hold them): Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M, F16, BF16 or F32.")
    String quantize;

    /**
     * snake_case field names and lower-case enum values, like every other JSON Tessera writes (the
     * model config is a record whose components are camelCase).
     */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(EnumFeature.WRITE_ENUMS_TO_LOWERCASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    @Override
    public Integer call() throws Exception {
        if (system) {
            return system();
        }
        if (file == null) {
            throw new IllegalArgumentException("info: give a model PATH, or --system");
        }
        ModelInfo info = ModelInfo.read(file);
        ModelConfig c = info.config();
        long kvF16PerToken = c.kvBytesPerToken(2);
        long kvF32PerToken = c.kvBytesPerToken(4);
        QuantizedSize.Summary quantized = null;
        if (quantize != null) {
            quantized = QuantizedSize.of(c, info.tiedOutput(), QuantizeOption.parse(quantize));
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("file", file.toString());
            o.put("format", info.format().name().toLowerCase());
            o.put("file_bytes", info.fileSize());
            o.put("config", c);
            o.put("tied_output", info.tiedOutput());
            o.put("parameters", info.parameters());
            o.put("active_parameters", info.activeParameters());
            o.put("weights_bytes", info.weightBytes());
            o.put("tensors_by_type", info.tensorsByType());
            o.put("bytes_by_type", info.bytesByType());
            o.put("kv_cache_bytes_per_token_f16", kvF16PerToken);
            o.put("kv_cache_bytes_per_token_f32", kvF32PerToken);
            if (quantized != null) {
                o.put("quantize", WeightTypes.parse(quantize).name());
                o.put("quantized_matrix_bytes", quantized.bytes());
                o.put("quantized_bytes_by_type", quantized.bytesByType());
            }
            System.out.println(JSON.writeValueAsString(o));
            return 0;
        }
        System.out.printf("file            %s (%s, %s)%n", file, info.format().name().toLowerCase(), Units.bytes(info.fileSize()));
        System.out.printf("architecture    %s%n", c.architecture());
        System.out.printf("parameters      %s (%,d)%n", Units.count(info.parameters()), info.parameters());
        System.out.printf("layers          %d%n", c.layers());
        System.out.printf("embedding       %d%n", c.dim());
        System.out.printf("feed-forward    %d%n", c.hiddenDim());
        if (c.moe().enabled()) {
            System.out.printf("experts         %d of %d per token, %d wide%s; %s parameters active per token (%,d)%n",
                    c.moe().expertsUsed(), c.moe().experts(), c.moe().expertHiddenDim(),
                    c.moe().sharedHiddenDim() > 0 ? ", shared expert " + c.moe().sharedHiddenDim() : "",
                    Units.count(info.activeParameters()), info.activeParameters());
        }
        System.out.printf("heads           %d query, %d key/value (head dim %d)%n", c.heads(), c.kvHeads(), c.headDim());
        System.out.printf("vocabulary      %d%n", c.vocabSize());
        System.out.printf("context         %d%n", c.contextLength());
        System.out.printf("rope            %s, base %.0f%s%s%n", c.ropeStyle().name().toLowerCase(), c.ropeTheta(),
                c.attention().rotaryDim(c.headDim()) == c.headDim() ? ""
                        : ", first " + c.attention().rotaryDim(c.headDim()) + " of " + c.headDim() + " dims",
                ropeScaling(c.ropeScaling()));
        System.out.printf("attention       %s%n", attentionOptions(c));
        System.out.printf("rms epsilon     %g%n", c.rmsEps());
        System.out.printf("output head     %s%n", info.tiedOutput() ? "tied to the embedding" : "separate");
        StringBuilder types = new StringBuilder();
        info.tensorsByType().forEach((t, n) -> types.append(types.isEmpty() ? "" : ", ").append(n).append(" × ")
                .append(t).append(" (").append(Units.bytes(info.bytesByType().get(t))).append(')'));
        System.out.printf("tensor types    %s%n", types);
        System.out.printf("memory          weights %s; KV cache per 1k tokens of context: %s in F16, %s in F32%n",
                Units.bytes(info.weightBytes()), Units.bytes(kvF16PerToken * 1024), Units.bytes(kvF32PerToken * 1024));
        if (quantized != null) {
            StringBuilder q = new StringBuilder();
            QuantizedSize.Summary summary = quantized;
            summary.bytesByType().forEach((t, b) -> q.append(q.isEmpty() ? "" : ", ")
                    .append(summary.matricesByType().get(t)).append(" × ").append(t).append(" (")
                    .append(Units.bytes(b)).append(')'));
            System.out.printf("quantized       %s: matrices %s (%s)%n", WeightTypes.parse(quantize).name(),
                    Units.bytes(quantized.bytes()), q);
        }
        return 0;
    }

    /** {@code --system}: the CPU's features as the native library reads them and the kernels auto picks. */
    private int system() throws Exception {
        NativeKernels best = Kernels.best();
        String kernels = best != null ? best.toString() : "java";
        String cpu = best != null ? best.cpu().toString() : "unknown (" + Kernels.unavailableReason() + ")";
        List<String> variants = new ArrayList<>();
        for (NativeVariant v : NativeVariant.values()) {
            if (best != null && v.runsOn(best.cpu())) {
                variants.add(v.id());
            }
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
            o.put("processors", Runtime.getRuntime().availableProcessors());
            o.put("cpu_features", best != null ? best.cpu().names() : List.of());
            o.put("native_variants_runnable", variants);
            o.put("kernels", kernels);
            if (best == null) {
                o.put("native_unavailable", Kernels.unavailableReason());
            }
            System.out.println(JSON.writeValueAsString(o));
            return 0;
        }
        System.out.printf("os              %s %s, %d processors%n", System.getProperty("os.name"),
                System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors());
        System.out.printf("cpu features    %s%n", cpu);
        System.out.printf("native variants %s%n", variants.isEmpty() ? "none" : String.join(", ", variants));
        System.out.printf("kernels         %s%s%n", kernels, best != null ? "" : " (" + Kernels.unavailableReason() + ")");
        return 0;
    }

    /** The rope scaling, e.g. {@code , scaling yarn x4.0 over 32768 (magnitude 1.139)}; empty for none. */
    private static String ropeScaling(RopeScaling s) {
        if (s.type() == RopeScaling.Type.NONE) {
            return "";
        }
        String text = ", scaling " + s.type().name().toLowerCase() + " x" + s.factor();
        if (s.originalContext() > 0) {
            text += " over " + s.originalContext();
        }
        return s.attentionFactor() != 1f ? text + String.format(" (magnitude %.4f)", s.attentionFactor()) : text;
    }

    /** The attention block's options a family set, or "plain". */
    private static String attentionOptions(ModelConfig c) {
        AttentionOptions o = c.attention();
        List<String> parts = new ArrayList<>();
        if (o.qkvBias()) {
            parts.add("Q/K/V biases");
        }
        if (o.qkNorm()) {
            parts.add("per-head Q/K norm");
        }
        if (o.slidingWindow() > 0) {
            parts.add("sliding window " + o.slidingWindow());
        }
        if (o.logitSoftcap() > 0) {
            parts.add("score soft-cap " + o.logitSoftcap());
        }
        return parts.isEmpty() ? "plain" : String.join(", ", parts);
    }
}
