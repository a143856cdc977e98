package io.tessera.core.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.quant.Int8Rows;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.util.List;

/**
 * compressed-tensors' int8 W8A8 scheme as llm-compressor writes it (its {@code W8A8} preset, the
 * output of its SmoothQuant and GPTQ int8 recipes) and vLLM serves: {@code weight} I8 of shape
 * [rows, cols], {@code weight_scale} F32 [rows, 1] (one per output channel, max|w| / 127), the
 * activations quantized dynamically per token; {@code format: int-quantized}. Every linear layer
 * is converted (int8 needs no block of columns); {@code lm_head} is left out as llm-compressor does.
 *
 * @param outlierThreshold the LLM.int8() threshold written as {@value HfQuantization#OUTLIER_THRESHOLD_KEY},
 *     or 0 to write none (other loaders ignore the key and run plain W8A8)
 */
record Int8Scheme(float outlierThreshold) implements LinearQuantization {

    @Override
    public SafetensorsDtype dtype() {
        return SafetensorsDtype.I8;
    }

    @Override
    public boolean converts(int cols) {
        return true;
    }

    @Override
    public String suffix() {
        return "_scale";
    }

    @Override
    public Fp8Scales.Scales of(String name, int rows, int cols, SafetensorsWriter.Rows src) throws IOException {
        float[] scale = new float[rows];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            src.row(r, row);
            try {
                scale[r] = Int8Rows.scaleFor(Int8Rows.absMax(row, 0, cols));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tensor '" + name + "' row " + r + ": " + e.getMessage(), e);
            }
        }
        return new Fp8Scales.Scales(scale, 1, cols, rows, 1);
    }

    @Override
    public ObjectNode quantizationConfig(ObjectMapper json, List<String> notConverted) {
        ObjectNode q = json.createObjectNode();
        q.put("quant_method", "compressed-tensors").put("format", "int-quantized")
                .put("quantization_status", "compressed");
        ObjectNode group = q.putObject("config_groups").putObject("group_0");
        group.putArray("targets").add("Linear");
        group.putObject("weights").put("num_bits", 8).put("type", "int").put("strategy", "channel")
                .put("symmetric", true).put("dynamic", false);
        group.putObject("input_activations").put("num_bits", 8).put("type", "int").put("strategy", "token")
                .put("symmetric", true).put("dynamic", true);
        var ignore = q.putArray("ignore").add("lm_head");
        notConverted.forEach(ignore::add);
        if (outlierThreshold > 0) {
            q.put(HfQuantization.OUTLIER_THRESHOLD_KEY, outlierThreshold);
        }
        return q;
    }
}
