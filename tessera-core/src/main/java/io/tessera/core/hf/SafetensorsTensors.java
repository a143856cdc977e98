package io.tessera.core.hf;

import io.tessera.core.arch.TensorNames;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a Hugging Face checkpoint (one or several safetensors files), looked up by their
 * GGUF names through {@link HfTensorNames} and checked against the configuration's shapes.
 * Matrices are views of the files' memory mappings in their stored type (F32, F16 or BF16: a
 * row-major {@code [rows, cols]} safetensors tensor has exactly the bytes of a GGML tensor of dims
 * {@code {cols, rows}}), never copies; vectors are widened to floats.
 *
 * @param directory the checkpoint directory, the model's source
 * @param byName checkpoint tensor name → the file that holds it
 * <p>The configuration adds what the weight files do not say: the family's names, the offset
 * of its norm weights (Gemma's {@code 1 + w}, added to the copied norm vectors only) and the
 * vectors it gives itself (longrope's factor lists).
 *
 * <p>FP8 E4M3 matrices (with {@code weight_scale} or {@code weight_scale_inv}, see
 * {@link HfQuantization}) are the exception: their codes and scales are rearranged once into
 * {@link GgmlType#FP8} blocks in memory of their own ({@link Fp8Weights}), and the mapped pages
 * released.
 *
 * @param config the checkpoint's configuration (tied embeddings, names, norm offset, generated vectors)
 * @param quantization what {@code quantization_config} says (FP8 scale blocks)
 * @param used checkpoint names of the tensors bound so far
 * @param arena holds the FP8 matrices
 */
record SafetensorsTensors(Path directory, Map<String, SafetensorsFile> byName, List<SafetensorsFile> files,
        HfConfig config, HfQuantization quantization, Set<String> used, Arena arena) implements TensorSource {

    /** Scales of static activation and KV-cache quantization, which Tessera does not use. */
    private static final List<String> UNUSED_SCALES = List.of(".input_scale", ".k_scale", ".v_scale",
            ".output_scale");

    SafetensorsTensors(Path directory, Map<String, SafetensorsFile> byName, List<SafetensorsFile> files,
            HfConfig config, HfQuantization quantization) {
        this(directory, byName, files, config, quantization, new HashSet<>(), Arena.ofShared());
    }

    @Override
    public Path path() {
        return directory;
    }

    @Override
    public boolean has(String name) {
        if (config.tiedEmbeddings() && name.equals(TensorNames.OUTPUT)) {
            return false;
        }
        if (config.generatedVectors().containsKey(name)) {
            return true;
        }
        String hf = config.names().name(name);
        return hf != null && byName.containsKey(hf);
    }

    @Override
    public Tensor matrix(String name, int rows, int cols) throws ModelFormatException {
        Located t = locate(name);
        long[] shape = t.info.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new ModelFormatException(t.file.path(), "tensor '" + t.info.name() + "'", "shape "
                    + Arrays.toString(shape) + " does not match config.json, expected [" + rows + ", " + cols + "]");
        }
        boolean int8 = t.info.dtype() == SafetensorsDtype.I8;
        boolean fp8 = t.info.dtype() == SafetensorsDtype.F8_E4M3 || t.info.dtype() == SafetensorsDtype.F8_E5M2;
        if ((int8 || fp8) && quantization.quantized() && quantization.int8() != int8) {
            throw new ModelFormatException(t.file.path(), "tensor '" + t.info.name() + "'", "is " + t.info.dtype()
                    + " but quantization_config says " + (quantization.int8() ? "int8" : "FP8") + " weights");
        }
        if (fp8) {
            Located scale = scaleOf(t.info.name(), "FP8 (" + t.info.dtype() + ")");
            return Fp8Weights.pack(name, t.file, t.info, scale.file, scale.info, quantization, rows, cols, arena);
        }
        if (int8) {
            Located scale = scaleOf(t.info.name(), "int8 (I8)");
            return Int8Weights.of(name, t.file, t.info, scale.file, scale.info, quantization, rows, cols);
        }
        return t.tensor(name, new long[] {cols, rows});
    }

    /** The scale of an FP8 or int8 weight: {@code <name>_scale_inv} (fine-grained FP8) or {@code <name>_scale}. */
    private Located scaleOf(String weight, String kind) throws ModelFormatException {
        for (String suffix : new String[] {"_scale_inv", "_scale"}) {
            SafetensorsFile file = byName.get(weight + suffix);
            if (file != null) {
                used.add(weight + suffix);
                return new Located(file, file.tensor(weight + suffix));
            }
        }
        throw new ModelFormatException(directory, "tensor '" + weight + "'", "is " + kind + " but neither '"
                + weight + "_scale_inv' nor '" + weight + "_scale' is in the checkpoint");
    }

    @Override
    public float[] vector(String name, int length) throws ModelFormatException {
        float[] generated = config.generatedVectors().get(name);
        if (generated != null) {
            if (generated.length != length) {
                throw new ModelFormatException(directory.resolve(HfCheckpoint.CONFIG), name, generated.length
                        + " values, expected " + length);
            }
            return generated.clone();
        }
        Located t = locate(name);
        long[] shape = t.info.shape();
        // a one-row matrix is a vector too: Qwen 2 MoE's shared_expert_gate is a Linear of one output
        boolean oneRow = shape.length == 2 && shape[0] == 1 && shape[1] == length;
        if (!oneRow && (shape.length != 1 || shape[0] != length)) {
            throw new ModelFormatException(t.file.path(), "tensor '" + t.info.name() + "'", "shape "
                    + Arrays.toString(shape) + " does not match config.json, expected [" + length + "]");
        }
        float[] out = new float[length];
        MatMul.row(t.tensor(name, new long[] {length}), 0, out, 0);
        if (config.normWeightOffset() != 0f && name.endsWith("norm.weight")) {
            for (int i = 0; i < length; i++) {
                out[i] += config.normWeightOffset();
            }
        }
        return out;
    }

    /**
     * The checkpoint's tensors no binding asked for (old checkpoints' rotary caches, a tied head
     * and the parts outside the language model excepted).
     */
    List<String> unused() {
        String head = config.names().name(TensorNames.OUTPUT);
        return byName.keySet().stream()
                .filter(n -> !used.contains(n) && !n.endsWith(".rotary_emb.inv_freq")
                        && !(config.tiedEmbeddings() && n.equals(head))
                        && !(quantization.quantized() && UNUSED_SCALES.stream().anyMatch(n::endsWith))
                        && config.ignoredPrefixes().stream().noneMatch(n::startsWith))
                .sorted().toList();
    }

    @Override
    public AutoCloseable resources() {
        return () -> {
            files.forEach(SafetensorsFile::close);
            arena.close();
        };
    }

    private Located locate(String ggufName) throws ModelFormatException {
        String hf = config.names().name(ggufName);
        SafetensorsFile file = hf == null ? null : byName.get(hf);
        if (file == null) {
            throw new ModelFormatException(directory, "tensor '" + (hf == null ? ggufName : hf) + "'",
                    "missing from the checkpoint's safetensors files");
        }
        used.add(hf);
        return new Located(file, file.tensor(hf));
    }

    private record Located(SafetensorsFile file, SafetensorsTensorInfo info) {

        Tensor tensor(String ggufName, long[] dims) throws ModelFormatException {
            GgmlType type = switch (info.dtype()) {
                case F32 -> GgmlType.F32;
                case F16 -> GgmlType.F16;
                case BF16 -> GgmlType.BF16;
                case F8_E4M3, F8_E5M2, I8 -> throw new ModelFormatException(file.path(), "tensor '" + info.name() + "'",
                        "dtype " + info.dtype() + " is read only for matrices, with their scales");
                default -> throw new ModelFormatException(file.path(), "tensor '" + info.name() + "'", "dtype "
                        + info.dtype() + " is not supported (supported: F32, F16, BF16, and F8_E4M3, F8_E5M2 or "
                        + "I8 matrices with their scales)");
            };
            try {
                return new Tensor(ggufName, type, dims, file.tensorData(info.name()));
            } catch (IOException e) {
                throw new ModelFormatException(file.path(), "tensor '" + info.name() + "'",
                        "cannot be mapped: " + e.getMessage(), e);
            }
        }
    }
}
