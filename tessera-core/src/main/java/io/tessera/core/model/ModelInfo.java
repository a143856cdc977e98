package io.tessera.core.model;

import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufTensorInfo;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a model file holds, read from its header alone (no weight is touched): the configuration,
 * the parameter count, and the bytes of each tensor type.
 *
 * @param tensorsByType type name → number of tensors of that type
 * @param bytesByType type name → bytes of the tensors of that type
 */
public record ModelInfo(Path file, ModelLoader.Format format, long fileSize, ModelConfig config, long parameters,
        long weightBytes, Map<String, Integer> tensorsByType, Map<String, Long> bytesByType, boolean tiedOutput) {

    /**
     * Parameters one token's computation uses: of a mixture-of-experts model, every weight but the
     * experts a token is not routed to ({@link ModelConfig#activeParameterCount}); of a dense model, all.
     */
    public long activeParameters() {
        return parameters - (config.parameterCount(tiedOutput) - config.activeParameterCount(tiedOutput));
    }

    public static ModelInfo read(Path file) throws IOException {
        ModelLoader.Format format = ModelLoader.detect(file);
        if (format == ModelLoader.Format.HUGGING_FACE) {
            return io.tessera.core.hf.HfCheckpoint.info(file);
        }
        long size = Files.size(file);
        Map<String, Integer> count = new TreeMap<>();
        Map<String, Long> bytes = new TreeMap<>();
        long params = 0;
        long weightBytes = 0;
        if (format == ModelLoader.Format.GGUF) {
            try (GgufFile gguf = GgufFile.open(file)) {
                ModelConfig cfg = GgufModelLoader.config(gguf);
                for (GgufTensorInfo t : gguf.tensorInfos()) {
                    count.merge(t.type().name(), 1, Integer::sum);
                    bytes.merge(t.type().name(), t.byteSize(), Long::sum);
                    params += t.elementCount();
                    weightBytes += t.byteSize();
                }
                boolean tied = gguf.tensorInfo("output.weight").isEmpty();
                return new ModelInfo(file, format, size, cfg, params, weightBytes, count, bytes, tied);
            }
        }
        try (Model m = Llama2cLoader.load(file)) {
            for (Tensor t : m.matrices()) {
                count.merge(t.type().name(), 1, Integer::sum);
                bytes.merge(t.type().name(), t.data().byteSize(), Long::sum);
                params += t.elementCount();
                weightBytes += t.data().byteSize();
            }
            long norms = (2L * m.config().layers() + 1) * m.config().dim();
            return new ModelInfo(file, format, size, m.config(), params + norms, weightBytes + 4 * norms, count, bytes,
                    m.tiedOutput());
        }
    }
}
